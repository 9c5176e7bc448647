"""The one documented command that trains the full-budget learners notebooks 02 and 03 load.

    python -m chapter_utils.tooling.train_shipped            # every learner, about 4 min on 2 cores
    python -m chapter_utils.tooling.train_shipped "03 MAML"  # just some (the others' files are kept)

Trains each recipe of :data:`chapter_utils.evaluation.shipped.RECIPES` (class,
hyperparameters, task family, default budget, seed) exactly as the notebook did
before it loaded it, scores it on its held-out tasks and writes
``chapter_utils/data/notebook_learners.{npz,json}`` (:func:`chapter_utils.evaluation.shipped.save`).
Run it with the machine's usual threads (not ``binder/start``'s one-thread setting):
the notebooks' stored outputs were recorded that way, and TensorFlow's sums can
round differently on another thread count.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from chapter_utils.evaluation import shipped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapter_utils.tooling.train_shipped",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"learners to train (default: all): {', '.join(shipped.RECIPES)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in shipped.RECIPES]
    if unknown:
        parser.error(f"unknown learner(s) {', '.join(map(repr, unknown))}; "
                     f"choose from {', '.join(map(repr, shipped.RECIPES))}")
    start = time.perf_counter()
    trained = shipped.train(args.names or tuple(shipped.RECIPES))
    if args.names:                       # keep the learners not retrained
        kept = [n for n in shipped.RECIPES if n not in trained]
        try:
            trained = {**{n: shipped.load(n) for n in kept}, **trained}
        except (FileNotFoundError, ValueError):
            pass
        trained = {n: trained[n] for n in shipped.RECIPES if n in trained}
    shipped.save(trained)
    print(f"wrote {shipped.PARAMETERS_NAME} and {shipped.RECORD_NAME} in {shipped.DATA_DIR} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
