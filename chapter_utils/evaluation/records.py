"""The shipped records' files: a JSON record and an ``.npz`` of learners' θ and α, in ``chapter_utils/data/``.

Used by :mod:`chapter_utils.evaluation.comparison` (notebook 07's full-budget
results and sine learners) and :mod:`chapter_utils.evaluation.shipped` (the
learners notebooks 02 and 03 load): one place that says how a learner's
parameters are stored (``"<name>|theta|<i>"``, ``"<name>|alpha|<i>"``), how the
files are read — from the installed package through :mod:`importlib.resources`
(so they load from a wheel, on Colab, with no repository around) or from a
folder — and what every record says about where it was made.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chapter_utils.environment import machine_line, stack_versions

#: The package's data folder in the source tree: where the commands that make the records write.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def header(command: str) -> dict[str, Any]:
    """What every record says first: the command that made it, when, where, and with which
    TensorFlow and numpy (:func:`chapter_utils.environment.same_stack` compares against it)."""
    return {"command": command, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_line(), "versions": stack_versions()}


def read_json(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """The JSON record ``name``: the installed package's copy, or the one in ``data_dir``."""
    if data_dir is None:
        text = (resources.files("chapter_utils.data") / name).read_text(encoding="utf-8")
    else:
        text = (Path(data_dir) / name).read_text(encoding="utf-8")
    return json.loads(text)


def read_arrays(name: str, data_dir: Path | None = None) -> dict[str, np.ndarray]:
    """The ``.npz`` file ``name``: the installed package's copy, or the one in ``data_dir``."""
    if data_dir is None:
        with (resources.files("chapter_utils.data") / name).open("rb") as handle:
            return dict(np.load(handle))
    return dict(np.load(Path(data_dir) / name))


def pack(name: str, learner: Any) -> dict[str, np.ndarray]:
    """``learner``'s θ and α as ``.npz`` entries under ``name``."""
    arrays = {}
    for i, (t, a) in enumerate(zip(learner.theta, learner.alpha)):
        arrays[f"{name}|theta|{i}"], arrays[f"{name}|alpha|{i}"] = t, a
    return arrays


def unpack(arrays: dict[str, np.ndarray], name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The θ and α that :func:`pack` stored under ``name`` (``ValueError`` if there are none)."""
    count = sum(key.startswith(f"{name}|theta|") for key in arrays)
    if not count:
        raise ValueError(f"no parameters stored under {name!r}")
    return ([arrays[f"{name}|theta|{i}"] for i in range(count)],
            [arrays[f"{name}|alpha|{i}"] for i in range(count)])


def write(data_dir: Path, record_name: str, record: dict[str, Any],
          arrays_name: str | None = None, arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``record`` as JSON (and ``arrays`` as a compressed ``.npz``) into ``data_dir``;
    return the record's path."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if arrays_name is not None:
        np.savez_compressed(data_dir / arrays_name, **(arrays or {}))
    path = data_dir / record_name
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
