"""The package's shape: a front door without TensorFlow, layers that only import downward, no cycles."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import chapter_utils

PACKAGE = Path(chapter_utils.__file__).resolve().parent

#: The layers, lowest first: a module may import from its own layer or a lower one, never a higher one.
LAYERS = (
    ("checks", "environment", "data"),
    ("tasks",),
    ("nets",),
    ("learners",),
    ("reference",),
    ("evaluation",),
    ("plotting",),
    ("panels",),
    ("tooling",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    """``chapter_utils.x.y`` → file, for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``path`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names
                    if f"{node.module}.{alias.name}" in modules}
    return out


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


GRAPH = {name: _imports(path, _modules()) for name, path in _modules().items()}


def test_every_module_sits_in_a_known_layer_and_every_folder_says_what_it_holds():
    unplaced = sorted(m for m in GRAPH if _part(m) is not None and _part(m) not in RANK)
    assert not unplaced, f"add these to LAYERS: {unplaced}"
    for folder in (p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")):
        init = folder / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), \
            f"{folder.name}/ needs an __init__.py whose docstring says what it holds"


def test_no_module_imports_upward():
    upward = sorted(f"{a} → {b}" for a, targets in GRAPH.items() for b in targets
                    if _part(a) and _part(b) and RANK[_part(b)] > RANK[_part(a)])
    assert not upward, f"imports into a higher layer: {upward}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt == node or nxt not in GRAPH:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for name in sorted(GRAPH):
        if name not in state:
            cycle = visit(name)
            assert cycle is None, f"import cycle: {' → '.join(cycle)}"


def test_learners_import_no_evaluation_panels_or_tooling():
    bad = sorted(f"{a} → {b}" for a, targets in GRAPH.items() if _part(a) in ("learners", "tasks", "nets")
                 for b in targets if _part(b) in ("evaluation", "panels", "tooling", "plotting"))
    assert not bad, bad


def test_the_front_door_resolves_every_public_name_without_importing_tensorflow_first():
    names = ["SineTasks", "LogisticTasks", "sample_points", "sample_sine_points", "meta_gradients",
             "NavigationTasks", "NavigationTask", "NavigationEnv", "average_return", "QuadraticFamily"]
    code = ("import sys, chapter_utils\n"
            "assert 'tensorflow' not in sys.modules, 'importing the package imported TensorFlow'\n"
            f"from chapter_utils import {', '.join(names)}\n"
            "assert 'tensorflow' not in sys.modules, 'a numpy-only name imported TensorFlow'\n"
            "from chapter_utils import MetaSGD, MAML, Reptile, MetaSGDPolicyGradient, MAMLPolicyGradient\n"
            "print(sorted(set(chapter_utils.__all__) - set(dir(chapter_utils))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    from chapter_utils.reference.logistic_meta_sgd import meta_gradients
    assert chapter_utils.meta_gradients is meta_gradients          # 7.4's exact function, not a copy
    for name in chapter_utils.__all__:
        assert getattr(chapter_utils, name) is not None
    with pytest.raises(AttributeError):
        chapter_utils.NoSuchThing  # noqa: B018
