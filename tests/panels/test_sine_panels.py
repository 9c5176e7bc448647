"""Each sine panel (notebook 02, notebook 06, the playground) reports its own learner's step counts."""
from __future__ import annotations

import re

import pytest

pytest.importorskip("ipywidgets")


def _steps(message: str) -> tuple[int, int]:
    match = re.search(r"trained with (\d+) inner steps?; held-out MSE with K = \d+ after (\d+) adaptation", message)
    assert match, message
    return int(match.group(1)), int(match.group(2))


def test_the_two_panels_in_one_kernel_report_their_own_step_counts():
    import matplotlib
    matplotlib.use("Agg")
    from chapter_utils.panels.sine import meta_sgd_panel, reptile_panel

    meta_sgd, reptile = meta_sgd_panel(), reptile_panel()          # as the playground builds them
    meta_sgd.controls["iterations"].value = 250
    reptile.controls["iterations"].value = 250
    meta_sgd.controls["inner_steps"].value = 2
    reptile.controls["inner_steps"].value = 3
    assert meta_sgd.train() is not None and reptile.train() is not None
    assert meta_sgd.last_message.startswith("Done") and "Meta-SGD trained" in meta_sgd.last_message
    assert reptile.last_message.startswith("Done") and "Reptile trained" in reptile.last_message
    # Meta-SGD is scored after the steps its α was trained for; Reptile after its eval_steps (32).
    assert _steps(meta_sgd.last_message) == (2, 2)
    assert _steps(reptile.last_message) == (3, reptile.last_result[0].eval_steps) == (3, 32)
    meta_sgd.controls["inner_steps"].value = 1                      # a change in one panel ...
    meta_sgd.train()
    assert _steps(meta_sgd.last_message) == (1, 1)
    assert _steps(reptile.last_message) == (3, 32)                  # ... leaves the other's report alone
