"""Held-out evaluation of few-shot character classifiers, the baselines, and the shipped learners
(notebook 09; the draw-your-own panel, :mod:`chapter_utils.panels.drawing`).

* :func:`held_out_tasks` — the fixed 5-way K-shot tasks on the held-out scripts that every
  method is scored on (same tasks for every method);
* :func:`accuracy_by_steps` — per-task query accuracy after each number of adaptation steps;
* :class:`PixelNearestNeighbour` and :class:`FromScratch` — baselines with the learners'
  ``adapt`` interface;
* :data:`CHARACTER_LEARNERS`, :func:`load_character_learner`, :func:`character_baselines` —
  the learners and baselines trained by ``python -m chapter_utils.tooling.train_characters``
  and shipped in ``chapter_utils/data/character_learners.{npz,json}``.

Importing this module imports no TensorFlow (the learners are imported on first load).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np

from chapter_utils.checks import check_positive_int, check_step_counts

#: The shipped files (in ``chapter_utils/data``).
PARAMETERS_FILE, RECORD_FILE = "character_learners.npz", "character_learners.json"
#: The rendered family the shipped learners were trained and scored on (fingerprint, sizes, matplotlib).
FAMILY_FILE = "character_family.json"
#: The gradient-based meta-learners shipped (names as in tables).
META_LEARNERS = ("first-order Meta-SGD", "first-order MAML", "Reptile")
#: Class (in :mod:`chapter_utils.learners.characters`) of every shipped method.
CLASSES = {"first-order Meta-SGD": "CharacterMetaSGD", "first-order MAML": "CharacterMAML",
           "Reptile": "CharacterReptile", "prototypical network": "CharacterProtoNet",
           "pretrained + fine-tune": "CharacterPretrained"}


# -- the held-out protocol ------------------------------------------------------------------------
def held_out_tasks(shots: int, tasks: int = 200, seed: int = 0, n_way: int = 5, query: int = 5
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``tasks`` N-way K-shot tasks from the held-out scripts, fixed by ``seed`` and ``shots``:
    support ``(T, N·K, 28, 28)``, labels, query ``(T, N·Q, 28, 28)``, labels. The first ``t``
    tasks of a call are the same whatever ``tasks`` is (so a smaller sample is a prefix)."""
    return _fixed_tasks("test", shots, tasks, seed, n_way, query)


def validation_tasks(shots: int, tasks: int = 100, seed: int = 0, n_way: int = 5, query: int = 5
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fixed tasks from the **meta-training** scripts, used only to choose each learner's number
    of adaptation steps before the held-out scripts are touched (:func:`choose_steps`)."""
    return _fixed_tasks("train", shots, tasks, seed, n_way, query)


def _fixed_tasks(split, shots, tasks, seed, n_way, query):
    from chapter_utils.tasks.characters import CharacterTasks

    family = CharacterTasks(split)
    rng = np.random.default_rng([seed, shots, n_way, query, 9 if split == "test" else 8])
    parts = [family.sample(1, n_way, shots, query, rng) for _ in range(check_positive_int(tasks, "tasks"))]
    return tuple(np.concatenate(p) for p in zip(*parts))


def choose_steps(model: Any, candidates: Sequence[int], shots: Sequence[int] = (1, 5),
                 tasks: int = 100) -> tuple[int, dict[int, list[float]]]:
    """The number of adaptation steps, among ``candidates``, with the best mean accuracy over
    :func:`validation_tasks` (meta-training scripts) at the given shots; also the accuracies
    ``{shots: [mean per candidate]}``. Ties go to the fewer steps."""
    wanted = check_step_counts(candidates)
    scores = {k: [float(a.mean()) for a in accuracy_by_steps(model, validation_tasks(k, tasks), wanted)]
              for k in shots}
    mean = np.mean([scores[k] for k in shots], axis=0)
    return int(wanted[int(np.argmax(mean))]), scores


def accuracy_by_steps(model: Any, task_set: Sequence[np.ndarray], steps: Sequence[int],
                      chunk: int = 10) -> np.ndarray:
    """Per-task query accuracy ``(len(steps), T)`` of ``model.predict_adapted`` on ``task_set``
    (from :func:`held_out_tasks`), ``chunk`` tasks adapting at once."""
    xs, ys, xq, yq = task_set
    wanted = check_step_counts(steps)
    out = []
    for start in range(0, xs.shape[0], chunk):
        sl = slice(start, start + chunk)
        p = model.predict_adapted(xs[sl], ys[sl], xq[sl], wanted)      # (S, t, Q, N)
        out.append((p.argmax(-1) == yq[sl][None]).mean(-1))
    return np.concatenate(out, axis=1)


# -- baselines --------------------------------------------------------------------------------
class PixelNearestNeighbour:
    """A query image gets the label of the nearest support image in pixel space (Euclidean);
    its "probabilities" are one-hot. No training; ``steps`` is ignored."""

    LABEL = "pixel nearest neighbour"
    label = LABEL
    steps_matter = False

    def predict_adapted(self, x_support, y_support, x_query, steps=(0,)):
        wanted = check_step_counts(steps)
        n_way = int(np.max(y_support)) + 1
        s = x_support.reshape(*x_support.shape[:2], -1).astype(float)
        q = x_query.reshape(*x_query.shape[:2], -1).astype(float)
        d = (q ** 2).sum(-1)[..., None] - 2 * q @ np.swapaxes(s, 1, 2) + (s ** 2).sum(-1)[:, None, :]
        nearest = np.take_along_axis(y_support, d.argmin(-1), axis=1)
        p = np.eye(n_way)[nearest]
        return np.stack([p for _ in wanted])

    def adapt(self, images, labels, steps=None) -> Callable[[np.ndarray], np.ndarray]:
        """``predict(images) -> (n, N)`` one-hot rows (the nearest support image's class)."""
        from chapter_utils.learners.characters import check_images, check_labelled

        x, y, _ = check_labelled(images, labels)
        if steps is not None:
            from chapter_utils.checks import check_steps
            check_steps(steps, "steps")

        def predict(query):
            q = check_images(query, "query images")
            return self.predict_adapted(x[None], y[None], q[None])[0, 0]
        return predict


class FromScratch:
    """A conv net with fresh random weights (seeded) and a zero head, trained on the support set
    alone by ``steps`` SGD steps of size ``inner_lr`` — no meta-training, no pretraining."""

    LABEL = "from scratch"
    label = LABEL
    steps_matter = True

    def __init__(self, steps: int = 25, inner_lr: float = 0.4, seed: int = 0, channels: int = 32):
        from chapter_utils.learners.characters import CharacterMAML

        self.learner = CharacterMAML(inner_lr=inner_lr, eval_steps=steps, channels=channels)
        self.learner.initialise(seed)
        self.steps = steps

    def predict_adapted(self, x_support, y_support, x_query, steps):
        return self.learner.predict_adapted(x_support, y_support, x_query, steps)

    def adapt(self, images, labels, steps=None):
        return self.learner.adapt(images, labels, self.steps if steps is None else steps)


# -- the shipped learners -----------------------------------------------------------------------
def _data_path(name: str):
    return resources.files("chapter_utils.data").joinpath(name)


@lru_cache(maxsize=1)
def shipped_record() -> dict:
    """The JSON record of the full training run (command, date, settings, scores, seconds)."""
    return json.loads(_data_path(RECORD_FILE).read_text(encoding="utf-8"))


def _ranked() -> tuple[str, ...]:
    """The meta-learners ordered by their **validation** accuracy (tasks from the meta-training
    scripts, :func:`validation_tasks`) at the step count each adapts with, mean of 1- and 5-shot;
    the held-out scores play no part in the ranking."""
    try:
        scores = validation_ranking_scores()
    except (FileNotFoundError, KeyError, OSError):
        return META_LEARNERS
    return tuple(sorted(META_LEARNERS, key=scores.get, reverse=True))


def validation_ranking_scores() -> dict[str, float]:
    """For each shipped meta-learner, the score :data:`CHARACTER_LEARNERS` is ranked by: mean
    validation accuracy (meta-training scripts; 1- and 5-shot) at its chosen step count."""
    settings = shipped_record()["settings"]
    out = {}
    for name in META_LEARNERS:
        v, steps = settings[name]["steps_validation"], settings[name]["hyperparameters"]["eval_steps"]
        i = v["candidates"].index(steps)
        out[name] = float(np.mean([v[k][i] for k in v if k.endswith("-shot")]))
    return out


#: The shipped meta-trained (gradient-based) learners, best first — ranked on **validation**
#: tasks from the meta-training scripts (mean of 5-way 1-shot and 5-shot accuracy at each
#: learner's step count), never on the held-out scripts.
CHARACTER_LEARNERS: tuple[str, ...] = _ranked()


def _build(name: str):
    from chapter_utils.learners import characters as lc

    record = shipped_record()["settings"].get(name)
    if record is None or name not in CLASSES:
        raise ValueError(f"no shipped character learner {name!r}; shipped: "
                         f"{', '.join(shipped_record()['settings'])}")
    learner = getattr(lc, CLASSES[name])(**{k: tuple(v) if isinstance(v, list) else v
                                             for k, v in record["hyperparameters"].items()})
    with _data_path(PARAMETERS_FILE).open("rb") as f:
        data = np.load(f)
        theta = [data[f"{name}/theta/{i}"] for i in range(record["n_theta"])]
        alpha = [data[f"{name}/alpha/{i}"] for i in range(record["n_alpha"])]
        losses = data[f"{name}/losses"] if f"{name}/losses" in data.files else None
    learner.set_parameters(theta, alpha)
    if losses is not None:                 # the training curve, as a fitted learner has it
        learner.losses = losses.astype(float)
    learner.seconds = float(record["seconds"])
    return learner


@cache
def _cached(name: str):
    return _build(name)


def load_character_learner(name: str | None = None):
    """The shipped meta-trained learner ``name`` (default: the best, ``CHARACTER_LEARNERS[0]``),
    ready to ``adapt(images, labels, steps=None)``. Also loads the shipped baselines
    ``"prototypical network"`` and ``"pretrained + fine-tune"``. Loaded once per process."""
    name = CHARACTER_LEARNERS[0] if name is None else name
    if name not in CLASSES:
        raise ValueError(f"name must be one of {', '.join(CLASSES)}, got {name!r}")
    return _cached(name)


def character_baselines() -> dict[str, Any]:
    """The baselines with the learners' ``adapt`` interface, by name: pixel nearest neighbour,
    the prototypical network and the pretrained + fine-tuned net (shipped), a net from scratch."""
    return {"pixel nearest neighbour": PixelNearestNeighbour(),
            "prototypical network": load_character_learner("prototypical network"),
            "pretrained + fine-tune": load_character_learner("pretrained + fine-tune"),
            "from scratch": FromScratch(steps=shipped_record()["settings"]["from scratch"]["steps"])}


def shipped_accuracies() -> dict[tuple[str, int], np.ndarray]:
    """Per-task held-out accuracies the training run recorded, by ``(method, shots)``:
    the numbers behind the shipped table (same tasks, :func:`held_out_tasks`, for every method)."""
    with _data_path(PARAMETERS_FILE).open("rb") as f:
        data = np.load(f)
        return {(key.split("/")[1], int(key.split("/")[2])): np.asarray(data[key], float)
                for key in data.files if key.startswith("accuracy/")}


def shipped_family() -> dict:
    """The record of the rendered family the shipped learners were trained and scored on:
    ``fingerprint`` (:meth:`chapter_utils.tasks.characters.CharacterSet.fingerprint`),
    ``characters`` and the ``matplotlib`` that rendered it."""
    return json.loads(_data_path(FAMILY_FILE).read_text(encoding="utf-8"))


def family_record() -> dict:
    """The same record for the family this machine renders (what the training command writes)."""
    import matplotlib

    from chapter_utils.tasks.characters import character_set

    family = character_set()
    return {"fingerprint": family.fingerprint(), "characters": len(family.chars),
            "matplotlib": matplotlib.__version__}


def shipped_sizes() -> dict[str, int]:
    """Bytes of the shipped files."""
    return {name: len(_data_path(name).read_bytes()) for name in (PARAMETERS_FILE, RECORD_FILE)}
