"""The one documented command that trains the full-budget learners notebooks 02 and 03 load.

    python -m chapter_utils.tooling.train_shipped            # about 3 min on 2 cores

Trains every recipe of :data:`chapter_utils.evaluation.shipped.RECIPES` (class,
hyperparameters, task family, default budget, seed) exactly as the notebook did
before it loaded it, scores it on its held-out tasks and writes
``chapter_utils/data/notebook_learners.{npz,json}`` (:func:`chapter_utils.evaluation.shipped.save`).
All of them every time: the record names one command, date, machine and stack for the file.
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
    parser.parse_args(argv)
    start = time.perf_counter()
    shipped.save(shipped.train())
    print(f"wrote {shipped.PARAMETERS_NAME} and {shipped.RECORD_NAME} in {shipped.DATA_DIR} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
