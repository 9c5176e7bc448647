"""Files the notebooks load at run time, shipped inside the package.

They are package data (``pyproject.toml``, ``[tool.setuptools.package-data]``),
read with :mod:`importlib.resources`, so a notebook works with only the
installed wheel around it (on Colab, for instance):

* ``comparison_full_budget.json`` — notebook 07's full-budget results, written by
  ``python -m chapter_utils.tooling.benchmark comparison``
  (:func:`chapter_utils.evaluation.comparison.save` / ``load``).
"""
