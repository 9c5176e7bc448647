"""The one documented command that trains and scores the shipped character learners (notebook 09).

    python -m chapter_utils.tooling.train_characters

renders the character family, trains every method in :data:`SETTINGS` (seeded), rounds
the parameters to float16 (the shipped precision), scores every method and baseline on the
same held-out 5-way 1-shot and 5-shot tasks (:func:`chapter_utils.evaluation.characters.held_out_tasks`),
chooses each gradient-based learner's number of adaptation steps on tasks from the
meta-training scripts, and writes ``chapter_utils/data/character_learners.npz`` (parameters and per-task accuracies)
and ``character_learners.json`` (command, date, settings, scores with 95 % intervals,
seconds). Budget: under 30 minutes on 2 CPU cores. ``--scale 0.01 --tasks 20 --out DIR``
gives a smoke run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

from chapter_utils.evaluation import characters as ec
from chapter_utils.evaluation.stats import mean_ci

#: Every shipped method: its learner class, hyperparameters and training budget (iterations).
#: The budgets differ between methods (they were set by hand, not equalised): compare the
#: gradient-based methods' ranking only with the iterations and seconds the record keeps.
SETTINGS = {
    "prototypical network": ("CharacterProtoNet", dict(iterations=3000)),
    "pretrained + fine-tune": ("CharacterPretrained", dict(iterations=3000)),
    "first-order MAML": ("CharacterMAML", dict(iterations=3500)),
    "first-order Meta-SGD": ("CharacterMetaSGD", dict(iterations=1800)),
    "Reptile": ("CharacterReptile", dict(iterations=1200)),
}
#: Held-out tasks per setting, their seed, and the shots scored.
EVAL_TASKS, EVAL_SEED, SHOTS = 200, 0, (1, 5)
#: Adaptation steps at which accuracy is recorded (the table uses each learner's eval_steps).
CURVE_STEPS = (0, 1, 2, 3, 5, 10)
SCRATCH_STEPS = (0, 5, 10, 25)
#: The step counts a learner's ``eval_steps`` is chosen from, on this many meta-training-script
#: tasks per shot setting (:func:`chapter_utils.evaluation.characters.choose_steps`).
STEP_CANDIDATES, VALIDATION_TASKS = (1, 2, 3, 5, 10), 100
SEED = 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of every training budget")
    parser.add_argument("--tasks", type=int, default=EVAL_TASKS, help="held-out tasks per setting")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(ec.__file__), "..", "data"))
    args = parser.parse_args(argv)

    from chapter_utils.learners import characters as lc
    from chapter_utils.tasks.characters import CharacterTasks, character_set

    start_all = time.perf_counter()
    chars = character_set()
    print(f"rendered {chars.images.shape[0]} characters × {chars.images.shape[1]} images "
          f"in {chars.seconds:.1f} s", flush=True)
    train = CharacterTasks("train")
    record = {"command": "python -m chapter_utils.tooling.train_characters"
                         + (f" {' '.join(argv or sys.argv[1:])}" if (argv or sys.argv[1:]) else ""),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores visible",
              "settings": {}, "scores": {}, "curves": {}}
    arrays: dict[str, np.ndarray] = {}
    models = {}
    for name, (cls_name, hyper) in SETTINGS.items():
        cls = getattr(lc, cls_name)
        iterations = max(1, int(round(hyper["iterations"] * args.scale)))
        learner = cls(**{**hyper, "iterations": iterations})
        learner.fit(train, seed=SEED, progress=_printer(name))
        seconds, losses = learner.seconds, np.asarray(learner.losses, np.float32)
        theta = [np.asarray(p, np.float16) for p in learner.theta]
        alpha = [np.asarray(a, np.float16) for a in learner.alpha]
        learner.set_parameters([t.astype(np.float32) for t in theta], [a.astype(np.float32) for a in alpha])
        validation = None
        if getattr(learner, "steps_matter", False):
            # the number of adaptation steps, chosen on meta-training scripts (never the held-out ones)
            steps, validation = ec.choose_steps(learner, STEP_CANDIDATES, tasks=min(VALIDATION_TASKS, args.tasks))
            learner = cls(**{**learner.hyperparameters, "eval_steps": steps}).set_parameters(
                [t.astype(np.float32) for t in theta], [a.astype(np.float32) for a in alpha])
            learner.seconds = seconds
            print(f"  {name}: {steps} adaptation steps chosen on meta-training scripts "
                  f"({ {k: [round(x, 3) for x in v] for k, v in validation.items()} })", flush=True)
        for i, t in enumerate(theta):
            arrays[f"{name}/theta/{i}"] = t
        for i, a in enumerate(alpha):
            arrays[f"{name}/alpha/{i}"] = a
        arrays[f"{name}/losses"] = losses
        record["settings"][name] = {
            "class": cls_name, "hyperparameters": {k: list(v) if isinstance(v, tuple) else v
                                                   for k, v in learner.hyperparameters.items()},
            "seed": SEED, "seconds": round(seconds, 1), "n_theta": len(theta), "n_alpha": len(alpha),
            "steps_validation": None if validation is None else {
                "candidates": list(STEP_CANDIDATES), "tasks": min(VALIDATION_TASKS, args.tasks),
                **{f"{k}-shot": [round(x, 4) for x in v] for k, v in validation.items()}}}
        models[name] = learner
        print(f"{name}: {iterations} iterations in {seconds:.0f} s", flush=True)
    models["pixel nearest neighbour"] = ec.PixelNearestNeighbour()
    steps, validation = ec.choose_steps(ec.FromScratch(), SCRATCH_STEPS[1:], tasks=min(VALIDATION_TASKS, args.tasks))
    models["from scratch"] = ec.FromScratch(steps=steps)
    record["settings"]["from scratch"] = {
        "steps": steps, "inner_lr": models["from scratch"].learner.inner_lr, "seed": 0,
        "steps_validation": {"candidates": list(SCRATCH_STEPS[1:]), "tasks": min(VALIDATION_TASKS, args.tasks),
                             **{f"{k}-shot": [round(x, 4) for x in v] for k, v in validation.items()}}}

    eval_start = time.perf_counter()
    for shots in SHOTS:
        tasks = ec.held_out_tasks(shots, args.tasks, EVAL_SEED)
        for name, model in models.items():
            if name == "from scratch":
                steps, table_steps = SCRATCH_STEPS, model.steps
            elif getattr(model, "steps_matter", False):
                steps, table_steps = CURVE_STEPS, model.eval_steps
            else:
                steps, table_steps = (0,), 0
            acc = ec.accuracy_by_steps(model, tasks, steps)
            table = acc[list(steps).index(table_steps)]
            arrays[f"accuracy/{name}/{shots}"] = table.astype(np.float32)
            mean, half = mean_ci(table)
            record["scores"].setdefault(name, {})[f"{shots}-shot"] = {
                "mean": round(mean, 4), "ci95": round(half, 4), "steps": table_steps}
            record["curves"].setdefault(name, {})[f"{shots}-shot"] = {
                "steps": list(steps), "mean": [round(float(a.mean()), 4) for a in acc],
                "ci95": [round(mean_ci(a)[1], 4) for a in acc]}
            print(f"5-way {shots}-shot {name:24s} {mean:.3f} ± {half:.3f}", flush=True)
    record["evaluation"] = {"tasks_per_setting": args.tasks, "seed": EVAL_SEED, "n_way": 5,
                            "query_per_class": 5, "scripts": list(chars_test_scripts()),
                            "seconds": round(time.perf_counter() - eval_start, 1)}
    record["seconds_total"] = round(time.perf_counter() - start_all, 1)
    os.makedirs(args.out, exist_ok=True)
    np.savez_compressed(os.path.join(args.out, ec.PARAMETERS_FILE), **arrays)
    with open(os.path.join(args.out, ec.RECORD_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
    with open(os.path.join(args.out, ec.FAMILY_FILE), "w", encoding="utf-8") as f:
        json.dump(ec.family_record(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"total {record['seconds_total']:.0f} s; wrote {args.out}", flush=True)


def chars_test_scripts():
    from chapter_utils.tasks.characters import TEST_SCRIPTS
    return TEST_SCRIPTS


def _printer(name: str):
    def progress(i, total, loss):
        if i == 1 or i % max(1, total // 10) == 0 or i == total:
            print(f"  {name} {i}/{total} loss {loss:.3f}", flush=True)
    return progress


if __name__ == "__main__":
    main()
