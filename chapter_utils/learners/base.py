"""The one shape every TF2 meta-learner has (notebooks 02, 03, 06, 07; §7.2, §7.3, §7.7).

A learner is the smallest override of :class:`MetaLearner`:

* its hyperparameters are **declared once**, as a tuple of :class:`Hyperparameter`
  (name, default, valid range, one-line doc, the symbol readers know it by), and
  are checked, shown in ``repr`` and read as attributes (``learner.meta_lr``) the
  same way for every learner; a panel builds its sliders from the same
  declarations (:func:`chapter_utils.panels.base.hyperparameter_slider`), so a
  value keeps one name from the slider to the training loop;
* ``fit(tasks, iterations=None, seed=0, progress=None)`` meta-trains from fresh
  parameters and returns the learner; ``initialise(seed)`` gives the same fresh
  parameters untrained (the "random initialisation" baseline);
* the fitted state has the same names everywhere: :attr:`~MetaLearner.theta` (the
  meta-learned start), :attr:`~MetaLearner.alpha` (the inner step sizes: learned
  by Meta-SGD, fixed scalars otherwise), :attr:`~MetaLearner.initial_theta`,
  :attr:`~MetaLearner.losses` (the training loss after adapting, per
  meta-iteration) and :attr:`~MetaLearner.seconds`; using it before ``fit`` raises
  one :class:`NotFittedError`.

The pieces every training loop shares live here too: one Adam update written as
tensor operations (:func:`adam_update`), one step-size schedule
(:func:`schedule`), and the adapt-then-predict loop (:func:`predict_by_steps`).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from chapter_utils.checks import (
    Progress,
    check_positive_int,
    check_progress,
    check_query,
    check_seed,
    check_step_counts,
)
from chapter_utils.environment import import_tensorflow

tf = import_tensorflow()

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8
#: The step-size schedules a learner can anneal with (:func:`schedule`).
SCHEDULES = ("constant", "cosine", "linear")


class NotFittedError(RuntimeError):
    """A learner's parameters were asked for before :meth:`MetaLearner.fit` (or ``initialise``)."""


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of a learner: declared once, checked once, shown everywhere.

    ``kind`` is ``"int"``, ``"float"``, ``"bool"``, ``"choice"`` (one of
    ``choices``) or ``"widths"`` (a tuple of hidden-layer widths). Numbers must
    lie in the range ``[low, high]`` for ints and ``(low, high]`` for floats
    (``None``: unbounded on that side). ``symbol`` is the letter the chapter
    uses (``"β"``), ``log_scale`` marks a rate a slider should move on a log scale.
    """

    name: str
    default: Any
    doc: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    symbol: str = ""
    log_scale: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("int", "float", "bool", "choice", "widths"):
            raise ValueError(f"hyperparameter {self.name!r}: unknown kind {self.kind!r}")
        self.check(self.default)

    @property
    def label(self) -> str:
        """How a slider shows it: ``"β · meta_lr"``, or just the name."""
        return f"{self.symbol} · {self.name}" if self.symbol else self.name

    def range_text(self) -> str:
        """The valid values in words, e.g. ``"(0, ∞)"`` or ``"one of 'relu', 'tanh'"``."""
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "widths":
            return "a sequence of positive layer widths"
        if self.kind == "int":
            if self.high is None:
                return "an integer" + (f" ≥ {self.low:g}" if self.low is not None else "")
            return f"an integer in [{self.low:g}, {self.high:g}]"
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            return f"a finite number > {self.low:g}"
        return f"a number in ({'−∞' if self.low is None else f'{self.low:g}'}, {self.high:g}]"

    def check(self, value: object) -> Any:
        """``value`` normalised (an int, float, bool or tuple), or ``ValueError`` saying what is allowed."""
        bad = ValueError(f"{self.name} must be {self.range_text()}, got {value!r}")
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise bad
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if self.kind == "widths":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise bad
            widths = tuple(value)
            if not all(isinstance(w, Integral) and not isinstance(w, bool) and w > 0 for w in widths):
                raise bad
            return tuple(int(w) for w in widths)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise bad
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise bad
            return int(value)
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise bad
        if (self.low is not None and not value > self.low) or (self.high is not None and value > self.high):
            raise bad
        return float(value)


#: What a hyperparameter that several learners share is, wherever it appears: its kind, valid range,
#: symbol and slider scale. A learner states only its default and what it means there (:func:`shared`).
SHARED: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "hidden": dict(kind="widths"),
    "activation": dict(kind="choice", choices=("relu", "tanh")),
    "meta_batch": dict(kind="int", low=1),
    "shots": dict(kind="int", low=1, symbol="K"),
    "inner_steps": dict(kind="int", low=0),
    "inner_lr": dict(low=0.0, symbol="α", log_scale=True),
    "meta_lr": dict(low=0.0, symbol="β", log_scale=True),
    "anneal": dict(kind="bool"),
    "iterations": dict(kind="int", low=1),
    "jit_compile": dict(kind="bool"),
})


def shared(name: str, default: Any, doc: str, **fields: Any) -> Hyperparameter:
    """The declaration of a hyperparameter several learners share (:data:`SHARED`), with this
    learner's default and doc; ``fields`` narrow it where the learner needs (e.g. ``low=1``)."""
    if name not in SHARED:
        raise ValueError(f"{name!r} is not a shared hyperparameter; declare it with Hyperparameter")
    return Hyperparameter(name, default, doc, **{**SHARED[name], **fields})


def revise(declared: Sequence[Hyperparameter], name: str, **fields: Any) -> tuple[Hyperparameter, ...]:
    """``declared`` with hyperparameter ``name`` changed (its default, doc, symbol, …):
    how a subclass states where its settings differ from its parent's."""
    if name not in {h.name for h in declared}:
        raise ValueError(f"no hyperparameter {name!r} to revise")
    return tuple(dataclasses.replace(h, **fields) if h.name == name else h for h in declared)


class MetaLearner:
    """The base of every TF2 meta-learner: hyperparameters, ``fit``, fitted state, one error.

    A subclass declares :attr:`HYPERPARAMETERS` and :attr:`LABEL` and implements
    :meth:`_start` (fresh θ and α, and the random generator that samples tasks)
    and :meth:`_train` (the training loop, which sets :attr:`losses`). Cross-field
    rules go in :meth:`_check_together`.
    """

    #: The learner's hyperparameters, declared once.
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = ()
    #: Name in figures and tables (a key of :data:`chapter_utils.plotting.COLOURS`).
    LABEL: ClassVar[str] = ""
    #: ``{name: default}``, derived from :attr:`HYPERPARAMETERS`.
    DEFAULTS: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.DEFAULTS = MappingProxyType({h.name: h.default for h in cls.HYPERPARAMETERS})

    def __init__(self, **hyperparameters: Any) -> None:
        unknown = sorted(set(hyperparameters) - set(self.DEFAULTS))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}; "
                             f"{type(self).__name__} takes {', '.join(self.DEFAULTS)}")
        values = {h.name: h.check(hyperparameters.get(h.name, h.default)) for h in self.HYPERPARAMETERS}
        self._check_together(values)
        #: The checked hyperparameters, read-only (also readable as attributes).
        self.hyperparameters: Mapping[str, Any] = MappingProxyType(values)
        self._theta: list | None = None
        self._alpha: list | None = None
        #: θ before meta-training (numpy arrays); ``None`` until ``fit`` or ``initialise``.
        self.initial_theta: list[np.ndarray] | None = None
        #: The training loss after adapting, one value per meta-iteration.
        self.losses = np.empty(0)
        #: Wall-clock seconds of the last ``fit``.
        self.seconds = float("nan")

    # -- hyperparameters ------------------------------------------------------------------
    def _check_together(self, values: dict[str, Any]) -> None:
        """Rules that involve several hyperparameters; raise ``ValueError``. None by default."""

    def __getattr__(self, key: str) -> Any:          # learner.meta_lr, learner.inner_steps, ...
        values = self.__dict__.get("hyperparameters", {})
        if key in values:
            return values[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.hyperparameters.items() if v != self.DEFAULTS[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    @classmethod
    def hyperparameter(cls, name: str) -> Hyperparameter:
        """The declaration of hyperparameter ``name`` (``ValueError`` if there is none)."""
        for h in cls.HYPERPARAMETERS:
            if h.name == name:
                return h
        raise ValueError(f"{cls.__name__} has no hyperparameter {name!r}; it has "
                         f"{', '.join(cls.DEFAULTS)}")

    @classmethod
    def describe(cls) -> str:
        """A table of the hyperparameters: name, symbol, default, valid values, meaning."""
        rows = [f"  {h.name:16s} {h.symbol or '':3s} {h.default!r:12} {h.doc} ({h.range_text()})"
                for h in cls.HYPERPARAMETERS]
        return "\n".join([f"{cls.__name__} hyperparameters:"] + rows)

    @property
    def label(self) -> str:
        """The method's name in figures and tables."""
        return self.LABEL

    # -- fitted state ---------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """Whether the learner has parameters (from ``fit`` or ``initialise``)."""
        return self._theta is not None

    def _require_fit(self) -> None:
        if self._theta is None:
            raise NotFittedError(f"this {type(self).__name__} has no parameters yet: "
                                 "call fit(tasks) first (or initialise(seed) for an untrained one)")

    @property
    def theta(self) -> list[np.ndarray]:
        """The meta-learned starting parameters, one numpy array per tensor (copies)."""
        self._require_fit()
        return [np.array(v) for v in self._theta]

    @property
    def alpha(self) -> list[np.ndarray]:
        """The inner step sizes: one array per θ array (Meta-SGD) or one scalar each (fixed)."""
        self._require_fit()
        return [np.array(a) for a in self._alpha]

    def initialise(self, seed: int = 0) -> MetaLearner:
        """Fresh, untrained parameters seeded by ``seed`` — the θ that ``fit(seed=seed)``
        starts from. Returns ``self``: the "random initialisation" baseline."""
        self._set_parameters(*self._start(check_seed(seed))[:2])
        return self

    def set_parameters(self, theta: Sequence[np.ndarray], alpha: Sequence[np.ndarray]) -> MetaLearner:
        """Load θ and α saved from a learner of the same class and hyperparameters; returns ``self``.

        How shipped, already meta-trained parameters are loaded
        (:func:`chapter_utils.evaluation.comparison.load_learners`, notebook 07).

        Raises:
            ValueError: if the count or a shape of ``theta`` or ``alpha`` differs from
                what this learner's own initialisation makes, or a value is not finite.
        """
        expected_theta, expected_alpha = self._start(0)[:2]
        for name, given, expected in (("theta", theta, expected_theta), ("alpha", alpha, expected_alpha)):
            if len(given) != len(expected):
                raise ValueError(f"{name} needs {len(expected)} arrays for this {type(self).__name__}, "
                                 f"got {len(given)}")
            for i, (g, e) in enumerate(zip(given, expected)):
                if np.shape(g) != np.shape(e):
                    raise ValueError(f"{name}[{i}] must have shape {np.shape(e)}, got {np.shape(g)}")
                if not np.all(np.isfinite(g)):
                    raise ValueError(f"{name}[{i}] has non-finite values")
        dtypes = [np.asarray(e).dtype for e in expected_theta + expected_alpha]
        values = [np.asarray(v, dtype=d) for v, d in zip(list(theta) + list(alpha), dtypes)]
        self._set_parameters(values[:len(theta)], values[len(theta):])
        return self

    def _set_parameters(self, theta: list[np.ndarray], alpha: list[np.ndarray]) -> None:
        self.initial_theta = [np.array(p) for p in theta]
        self._theta, self._alpha = self._wrap(theta, alpha)
        self.losses = np.empty(0)

    def _wrap(self, theta: list[np.ndarray], alpha: list[np.ndarray]) -> tuple[list, list]:
        """How the learner holds θ and α while training (numpy by default; TF variables in some)."""
        return list(theta), list(alpha)

    # -- training ---------------------------------------------------------------------------
    def fit(self, tasks: Any, iterations: int | None = None, seed: int = 0,
            progress: Progress | None = None) -> MetaLearner:
        """Meta-train from fresh parameters (seeded by ``seed``) and return ``self``.

        ``iterations=None`` means the ``iterations`` hyperparameter.
        ``progress(i, total, loss)`` is called as training goes (its loss is the
        one :attr:`losses` records); it may raise to stop training, as the
        panels do on divergence.
        """
        tasks = self._check_tasks(tasks)
        iterations = self.iterations if iterations is None else check_positive_int(iterations, "iterations")
        check_progress(progress)
        seed = check_seed(seed)
        start = time.perf_counter()
        theta, alpha, rng = self._start(seed)
        self._set_parameters(theta, alpha)
        self._train(tasks, iterations, rng, seed, progress)
        self.seconds = time.perf_counter() - start
        return self

    def _check_tasks(self, tasks: Any) -> Any:
        """``tasks``, checked to be a family this learner can sample (``ValueError`` otherwise)."""
        return tasks

    def _start(self, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], np.random.Generator]:
        """Fresh θ, fresh α, and the generator that then samples the training tasks."""
        raise NotImplementedError

    def _train(self, tasks: Any, iterations: int, rng: np.random.Generator, seed: int,
               progress: Progress | None) -> None:
        """The training loop: update ``self._theta`` / ``self._alpha``, set :attr:`losses`."""
        raise NotImplementedError


# -- what every training loop shares ------------------------------------------------------------
def schedule(kind: str, done: np.ndarray | int, total: int) -> np.ndarray:
    """The factor on a step size after ``done`` of ``total`` iterations.

    ``"constant"``: 1; ``"cosine"``: ``½ (1 + cos(π · done / total))``, from 1 to 0
    (Meta-SGD and the RL learners anneal β so); ``"linear"``: ``1 − done / total``
    (Reptile anneals ε so).
    """
    fraction = np.asarray(done) / total
    if kind == "constant":
        return np.ones_like(fraction, dtype=float)
    if kind == "cosine":
        return 0.5 * (1 + np.cos(np.pi * fraction))
    if kind == "linear":
        return 1.0 - fraction
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")


def adam_slots(variables: Sequence) -> tuple[list, list, Any]:
    """Adam's state for ``variables``: first and second moments (zeros) and a step counter."""
    return ([tf.Variable(tf.zeros_like(v)) for v in variables],
            [tf.Variable(tf.zeros_like(v)) for v in variables],
            tf.Variable(tf.zeros((), variables[0].dtype)))


def adam_update(variables: Sequence, grads: Sequence, slots_m: Sequence, slots_v: Sequence,
                step_count: Any, rates: Sequence) -> None:
    """One Adam step, as tensor operations on variables (inside a compiled loop).

    ``rates`` holds one step size per variable (β for θ; Meta-SGD's α and the
    policy's log σ may have their own). Called after the outer tape is closed,
    never inside an inner loop.
    """
    step_count.assign_add(1.0)
    root, denominator = tf.sqrt(1 - ADAM_BETA2 ** step_count), 1 - ADAM_BETA1 ** step_count
    for var, g, m, v, rate in zip(variables, grads, slots_m, slots_v, rates):
        m.assign(ADAM_BETA1 * m + (1 - ADAM_BETA1) * g)
        v.assign(ADAM_BETA2 * v + (1 - ADAM_BETA2) * tf.square(g))
        step = rate * root / denominator          # the bias-corrected step size, rate · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        var.assign_sub(step * m / (tf.sqrt(v) + ADAM_EPSILON))


def predict_by_steps(state: Any, advance: Callable[[Any, int, int], Any],
                     predict: Callable[[Any], np.ndarray], steps: Sequence[int]) -> np.ndarray:
    """The loop inside every learner's ``predict_adapted``: adapt once, predict at each count.

    Starting from ``state`` (the learner's batched parameters, optimiser state,
    …), ``advance(state, done, n)`` takes ``n`` more steps after ``done``;
    ``predict(state)`` gives the ``(T, Q)`` predictions. The step counts are
    visited in increasing order, so 0, 1 and 32 steps cost 32 steps, not 33.
    Returns ``(len(steps), T, Q)`` in the order of ``steps``.
    """
    wanted = check_step_counts(steps)
    done, by_count = 0, {}
    for s in sorted(set(wanted)):
        if s > done:
            state, done = advance(state, done, s - done), s
        by_count[s] = np.asarray(predict(state), dtype=float)
    return np.stack([by_count[s] for s in wanted])


def checked_predictor(forward: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The ``predict(x)`` an ``adapt`` returns: query inputs checked as support inputs are.

    ``forward`` maps a checked, finite 1-D float array to the outputs; a 2-D,
    empty or non-finite input raises ``ValueError`` instead of returning NaN.
    """
    def predict(x_new: np.ndarray) -> np.ndarray:
        return np.asarray(forward(check_query(x_new)), dtype=float)
    return predict
