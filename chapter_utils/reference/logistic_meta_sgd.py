"""Meta-SGD from scratch for the chapter's logistic model (notebook 04, section 7.4).

The model is the chapter's: ``p = sigmoid(x @ θ)`` with θ of shape ``(d, 1)``
and the mean binary cross-entropy ``L``. One Meta-SGD inner step is
``θ' = θ − α ∘ ∇θ L(θ; x_train, y_train)`` and the meta-objective is
``L(θ'; x_test, y_test)``. For this model both meta-gradients have a closed form
(``../shared/chapter7_equations.md``; ``g`` the training gradient, ``H`` the
training Hessian ``xᵀ diag(p(1 − p)) x / k``, ``v = ∇θ' L_test``):

* ``∇α L_test = −v ∘ g``
* ``∇θ L_test = v − H (α ∘ v)``   (first-order Meta-SGD drops ``H (α ∘ v)``)

Several inner steps chain the same two lines backwards through the steps.
Everything here is float64 numpy, vectorised over a leading *task* axis, so a
whole meta-batch costs a handful of batched matrix products.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional, Sequence

import numpy as np

from chapter_utils.checks import Progress, RngLike, as_generator, check_positive_int

Method = Literal["meta-sgd", "scalar", "maml", "chapter"]
#: Draws a meta-batch: ``(n_tasks, k_train, k_test, rng) -> (x_tr, y_tr, x_te, y_te)``.
BatchSampler = Callable[[int, int, int, np.random.Generator],
                        tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------- model
def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function, written so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _logits(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.matmul(x, theta)


def bce_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy of ``sigmoid(x @ θ)`` against ``y``, per task.

    Computed from the logits with ``logaddexp`` so it stays finite where the
    chapter's ``np.log(YHat)`` returns ``-inf``. Shapes: ``θ (…, d, 1)``,
    ``x (…, k, d)``, ``y (…, k, 1)``; returns shape ``(…)``.
    """
    a = _logits(theta, x)
    per_point = y * np.logaddexp(0.0, -a) + (1.0 - y) * np.logaddexp(0.0, a)
    return per_point.mean(axis=(-2, -1))


def accuracy(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fraction of points whose label is on the side of 0.5 that ``θ`` predicts, per task."""
    return ((_logits(theta, x) > 0) == (y > 0.5)).mean(axis=(-2, -1))


def gradient(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``∇θ L = xᵀ (p − y) / k``, per task; shape of ``θ`` broadcast over tasks."""
    p = sigmoid(_logits(theta, x))
    return np.matmul(np.swapaxes(x, -1, -2), p - y) / x.shape[-2]


def hessian_vector(theta: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``H v`` with ``H = xᵀ diag(p (1 − p)) x / k``, without forming ``H``."""
    p = sigmoid(_logits(theta, x))
    return np.matmul(np.swapaxes(x, -1, -2), p * (1.0 - p) * np.matmul(x, v)) / x.shape[-2]


# ------------------------------------------------------------------ meta-gradients
def _check_shapes(theta: np.ndarray, alpha: np.ndarray, x_train: np.ndarray,
                  y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                  batched: bool) -> None:
    lead = 3 if batched else 2
    names = ("x_train", "y_train", "x_test", "y_test")
    arrays = (x_train, y_train, x_test, y_test)
    for name, arr in zip(names, arrays):
        if arr.ndim != lead:
            raise ValueError(f"{name} must have {lead} dimensions, got shape {arr.shape}")
    if theta.ndim != 2 or theta.shape[1] != 1:
        raise ValueError(f"theta must have shape (d, 1), got {theta.shape}")
    d = theta.shape[0]
    if alpha.shape != theta.shape and alpha.size != 1:
        raise ValueError(f"alpha must have theta's shape {theta.shape} (or be a scalar), "
                         f"got {alpha.shape}")
    for xn, yn, x, y in (("x_train", "y_train", x_train, y_train),
                         ("x_test", "y_test", x_test, y_test)):
        if x.shape[-1] != d:
            raise ValueError(f"{xn} has {x.shape[-1]} features but theta has {d}: "
                             f"{xn}.shape={x.shape}, theta.shape={theta.shape}")
        if y.shape[-1] != 1 or y.shape[:-1] != x.shape[:-1]:
            raise ValueError(f"{yn} must have shape {x.shape[:-1] + (1,)} to match {xn}, "
                             f"got {y.shape}")
        if x.shape[-2] == 0:
            raise ValueError(f"{xn} holds no points")
    if batched and not (x_train.shape[0] == x_test.shape[0]):
        raise ValueError(f"x_train and x_test must hold the same number of tasks, got "
                         f"{x_train.shape[0]} and {x_test.shape[0]}")


def batched_meta_gradients(theta: np.ndarray, alpha: np.ndarray, x_train: np.ndarray,
                           y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                           first_order: bool = False, steps: int = 1
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task Meta-SGD meta-gradients for a whole meta-batch at once.

    ``x_train (T, k, d)``, ``y_train (T, k, 1)``, ``x_test (T, q, d)``,
    ``y_test (T, q, 1)``; ``θ`` and ``α`` of shape ``(d, 1)`` (``α`` may be a
    scalar: MAML's step). Runs ``steps`` inner steps
    ``θ ← θ − α ∘ ∇θ L_train`` and back-propagates ``L_test`` by hand.

    Returns ``(grad_theta (T, d, 1), grad_alpha (T, d, 1), test_loss (T,))``;
    average over the first axis for the meta-batch gradient.
    """
    steps = check_positive_int(steps, "steps")
    theta = np.asarray(theta, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    _check_shapes(theta, alpha, x_train, y_train, x_test, y_test, batched=True)
    thetas, grads = [], []
    current = np.broadcast_to(theta, (x_train.shape[0],) + theta.shape)
    for _ in range(steps):
        g = gradient(current, x_train, y_train)
        thetas.append(current)
        grads.append(g)
        current = current - alpha * g
    test_loss = bce_loss(current, x_test, y_test)
    v = gradient(current, x_test, y_test)          # ∇θ' L_test
    grad_alpha = np.zeros_like(v)
    for theta_j, g_j in zip(reversed(thetas), reversed(grads)):
        grad_alpha -= v * g_j                       # ∂θ_{j+1}/∂α = −diag(g_j)
        if not first_order:                         # ∂θ_{j+1}/∂θ_j = I − diag(α) H_j
            v = v - hessian_vector(theta_j, x_train, alpha * v)
    return v, grad_alpha, test_loss


def meta_gradients(theta: np.ndarray, alpha: np.ndarray, x_train: np.ndarray,
                   y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   first_order: bool = False, steps: int = 1
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Exact Meta-SGD meta-gradients for one task of the chapter's model (notebook 04, §3).

    For ``p = sigmoid(x @ θ)``, ``L`` the mean binary cross-entropy and
    ``θ' = θ − α ∘ ∇θ L(θ; x_train, y_train)``, returns the gradients of
    ``L(θ'; x_test, y_test)`` with respect to ``θ`` and ``α`` — both of shape
    ``(d, 1)``, float64. ``first_order=True`` drops the Hessian term
    ``−H (α ∘ ∇θ' L)`` of the θ gradient only (the α gradient has no
    second-order term). ``steps`` chains several inner steps.

    Shapes: ``θ, α (d, 1)``; ``x_train (k, d)``, ``y_train (k, 1)``,
    ``x_test (q, d)``, ``y_test (q, 1)``; a mismatch raises ``ValueError``
    naming the shapes.
    """
    arrays = [np.asarray(a, dtype=float) for a in (x_train, y_train, x_test, y_test)]
    theta = np.asarray(theta, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    _check_shapes(theta, alpha, *arrays, batched=False)
    g_theta, g_alpha, _ = batched_meta_gradients(
        theta, alpha, *(a[None] for a in arrays), first_order=first_order, steps=steps)
    return g_theta[0], g_alpha[0]


def adapt(theta: np.ndarray, alpha: np.ndarray | float, x_train: np.ndarray,
          y_train: np.ndarray, steps: int = 1) -> np.ndarray:
    """θ after ``steps`` inner steps ``θ ← θ − α ∘ ∇θ L_train``; batched over tasks if ``x`` is 3-D."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    current = np.asarray(theta, dtype=float)
    for _ in range(steps):
        current = current - alpha * gradient(current, x_train, y_train)
    return current


# ------------------------------------------------------------------------ training
@dataclass
class MetaTrainResult:
    """What :func:`meta_train` learned and how the training went."""

    method: str
    theta: np.ndarray                 #: learned initial parameters, ``(d, 1)``
    alpha: np.ndarray                 #: learned (or fixed) step sizes, ``(d, 1)``
    query_loss: np.ndarray            #: mean post-adaptation query loss per iteration
    theta_init: np.ndarray            #: the θ training started from, ``(d, 1)``
    seconds: float = 0.0              #: wall-clock training time
    settings: dict = field(default_factory=dict)


def initial_parameters(dim: int, alpha_init: float, rng: np.random.Generator,
                       method: Method = "meta-sgd") -> tuple[np.ndarray, np.ndarray]:
    """The starting θ and α of each method.

    ``"meta-sgd"``, ``"scalar"`` and ``"maml"`` follow the Meta-SGD paper: θ small and
    random (``N(0, 0.01²)`` here), α positive, uniform in
    ``[alpha_init/2, alpha_init·3/2]`` (the single value ``alpha_init`` for ``"scalar"`` and
    ``"maml"``).
    ``"chapter"`` is the book's: ``θ, α ~ N(0, 1)`` — half the rates negative.
    """
    if method == "chapter":
        return rng.normal(size=(dim, 1)), rng.normal(size=(dim, 1))
    if not alpha_init > 0:
        raise ValueError(f"alpha_init must be > 0, got {alpha_init}")
    theta = 0.01 * rng.standard_normal((dim, 1))
    if method in ("scalar", "maml"):
        return theta, np.full((dim, 1), float(alpha_init))
    return theta, rng.uniform(0.5 * alpha_init, 1.5 * alpha_init, size=(dim, 1))


def meta_train(sampler: BatchSampler, dim: int, *, method: Method = "meta-sgd",
               iterations: int = 500, tasks_per_batch: int = 16, shots: int = 10,
               query: int = 10, inner_steps: int = 1, beta: float = 0.5,
               alpha_init: float = 0.1, first_order: bool = False, seed: RngLike = 0,
               progress: Optional[Progress] = None) -> MetaTrainResult:
    """Meta-train the chapter's logistic model on tasks from ``sampler`` (notebook 04, §3–5).

    Methods (the outer step is the chapter's plain gradient step with rate β):

    * ``"meta-sgd"`` — θ and a vector α, exact meta-gradients (``first_order``
      drops the Hessian term).
    * ``"scalar"`` — a *learned scalar α*: one α shared by every coordinate,
      meta-learned with θ (so it is the best scalar this training finds).
    * ``"maml"`` — MAML as the chapter describes it: θ meta-learned, α fixed at
      ``alpha_init`` for every coordinate (a hyperparameter, not learned).
    * ``"chapter"`` — the book's rule: θ, α ~ N(0, 1) and both updated with
      θ's first-order meta-gradient.

    Each task gives ``shots`` support points to adapt on and ``query`` fresh
    points to score the adaptation (10 and 10, as in the chapter's code).

    ``progress(iteration, iterations, loss)`` is called every iteration with the
    mean query loss after adaptation; it may raise to stop training.
    """
    iterations = check_positive_int(iterations, "iterations")
    tasks_per_batch = check_positive_int(tasks_per_batch, "tasks_per_batch")
    shots = check_positive_int(shots, "shots")
    query = check_positive_int(query, "query")
    inner_steps = check_positive_int(inner_steps, "inner_steps")
    if method not in METHOD_NAMES:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHOD_NAMES))}, "
                         f"got {method!r}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    gen = as_generator(seed)
    theta, alpha = initial_parameters(dim, alpha_init, gen, method)
    theta_init = theta.copy()
    if method in ("scalar", "maml"):
        alpha = np.asarray(alpha[0, 0])
    first = first_order or method == "chapter"
    losses = np.empty(iterations)
    start = time.perf_counter()
    for it in range(iterations):
        batch = sampler(tasks_per_batch, shots, query, gen)
        g_theta, g_alpha, loss = batched_meta_gradients(
            theta, alpha, *batch, first_order=first, steps=inner_steps)
        g_theta = g_theta.mean(axis=0)
        theta = theta - beta * g_theta
        if method == "meta-sgd":
            alpha = alpha - beta * g_alpha.mean(axis=0)
        elif method == "scalar":
            alpha = alpha - beta * g_alpha.mean(axis=0).sum()
        elif method == "maml":
            pass  # α is a fixed hyperparameter
        else:  # the chapter's bug: α moves along θ's meta-gradient
            alpha = alpha - beta * g_theta
        losses[it] = loss.mean()
        if progress is not None:
            progress(it + 1, iterations, float(losses[it]))
    alpha = np.broadcast_to(alpha, theta.shape).copy()
    return MetaTrainResult(method, theta, alpha, losses, theta_init, time.perf_counter() - start,
                           dict(iterations=iterations, tasks_per_batch=tasks_per_batch,
                                shots=shots, query=query, inner_steps=inner_steps,
                                beta=beta, alpha_init=alpha_init, first_order=first))


@dataclass
class Evaluation:
    """Held-out scores after adaptation, one value per task."""

    loss: np.ndarray
    accuracy: np.ndarray


def evaluate(theta: np.ndarray, alpha: np.ndarray | float, batch: Sequence[np.ndarray],
             steps: int = 1) -> Evaluation:
    """Adapt ``θ`` to each held-out task with ``steps`` inner steps on its support set,
    then score it on the task's query set. ``batch`` is ``(x_tr, y_tr, x_te, y_te)``."""
    x_tr, y_tr, x_te, y_te = batch
    adapted = adapt(np.broadcast_to(theta, (x_tr.shape[0],) + np.shape(theta)), alpha,
                    x_tr, y_tr, steps)
    return Evaluation(bce_loss(adapted, x_te, y_te), accuracy(adapted, x_te, y_te))


def best_plain_step(theta: np.ndarray, batch: Sequence[np.ndarray], steps: int = 1,
                    grid: Sequence[float] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
                    ) -> tuple[float, Evaluation]:
    """The no-meta-learning baseline: plain gradient steps from ``θ`` with the best
    scalar rate from ``grid`` (chosen on ``batch`` itself, so the baseline is
    flattered, not handicapped). Returns the rate and its evaluation."""
    results = [(lr, evaluate(theta, lr, batch, steps)) for lr in grid]
    return min(results, key=lambda r: float(r[1].loss.mean()))


#: Display names of :func:`meta_train`'s methods, as the plots label them.
METHOD_NAMES = {"meta-sgd": "Meta-SGD", "scalar": "learned scalar α", "maml": "MAML (fixed α)",
                "chapter": "chapter's code"}


@dataclass
class MethodComparison:
    """Meta-SGD, scalar step sizes (learned, or plain MAML's fixed one), the chapter's rule and
    no meta-learning, scored on the same tasks."""

    trained: dict             #: display name -> :class:`MetaTrainResult`
    evaluations: dict         #: display name -> :class:`Evaluation` (incl. "no meta-learning")
    plain_lr: float           #: the step size the no-meta-learning baseline got from its grid
    #: plain MAML's fixed α, if :func:`compare_with_tuned_maml` picked it (else ``None``)
    maml_alpha: Optional[float] = None
    #: the choice behind ``maml_alpha``: grid α -> mean training query loss (:func:`pick_fixed_alpha`)
    maml_scores: dict = field(default_factory=dict)


def compare_methods(sampler: BatchSampler, dim: int, held_out: Sequence[np.ndarray], *,
                    methods: Sequence[str] = ("meta-sgd", "scalar", "chapter"),
                    progress: Optional[Callable[..., None]] = None,
                    **settings) -> MethodComparison:
    """Train each of ``methods`` with the same ``settings`` (see :func:`meta_train`) and
    score all of them, plus plain gradient steps from the same initial θ, on ``held_out``
    after ``settings['inner_steps']`` steps (notebook 04, §4 and the panel of §5).

    ``progress(iteration, total, loss, label)`` receives each method's display name
    as ``label``.
    """
    if not methods or any(m not in METHOD_NAMES for m in methods):
        raise ValueError(f"methods must be a non-empty selection of {', '.join(METHOD_NAMES)}, "
                         f"got {tuple(methods)}")
    trained = {}
    for method in methods:
        name = METHOD_NAMES[method]
        report = None
        if progress is not None:
            def report(i, n, loss, _name=name):
                progress(i, n, loss, _name)
        trained[name] = meta_train(sampler, dim, method=method, progress=report, **settings)
    steps = next(iter(trained.values())).settings["inner_steps"]
    evaluations = {name: evaluate(r.theta, r.alpha, held_out, steps) for name, r in trained.items()}
    # No meta-learning starts where the meta-learners started (the chapter's rule starts elsewhere).
    start = next((r for r in trained.values() if r.method != "chapter"), next(iter(trained.values())))
    plain_lr, evaluations["no meta-learning"] = best_plain_step(start.theta_init, held_out, steps)
    return MethodComparison(trained, evaluations, plain_lr)


# ------------------------------------------------------- plain MAML with a tuned α
#: The fixed step sizes :func:`pick_fixed_alpha` tries for plain MAML (1-2-5 steps).
MAML_ALPHA_GRID = (0.1, 0.2, 0.5, 1.0, 2.0)
#: Notebook 08's grid for plain MAML's fixed α, scored on validation tasks
#: (``pick_fixed_alpha(..., grid=MAML_VALIDATION_GRID, validation=...)``); notebook 04 uses it too.
MAML_VALIDATION_GRID = (0.1, 0.3, 0.5, 0.7, 1.0)


@dataclass
class FixedAlphaChoice:
    """Plain MAML's fixed α, picked from a grid on *training* tasks (:func:`pick_fixed_alpha`)."""

    alpha: float              #: the chosen fixed step size
    scores: dict              #: grid α -> mean query loss over the last meta-iterations (inf if it blew up)
    runs: dict                #: grid α -> :class:`MetaTrainResult`
    last: int                 #: how many final meta-iterations each score averages
    #: what the scores are: ``"training"`` (query loss of the last meta-iterations) or
    #: ``"validation"`` (mean loss on the ``validation`` tasks after adaptation)
    scored_on: str = "training"


def pick_fixed_alpha(sampler: BatchSampler, dim: int, grid: Sequence[float] = MAML_ALPHA_GRID,
                     *, last: Optional[int] = None,
                     validation: Optional[Sequence[np.ndarray]] = None,
                     progress: Optional[Callable[..., None]] = None,
                     **settings) -> FixedAlphaChoice:
    """Choose plain MAML's fixed α without looking at held-out tasks (notebook 04, §7.4.4).

    Trains ``method="maml"`` once per α in ``grid`` with ``settings`` (see
    :func:`meta_train`; ``alpha_init`` is replaced by the grid value) and scores each
    run by its mean post-adaptation query loss over its ``last`` meta-iterations
    (default: the last fifth). Those are fresh tasks from ``sampler`` — training
    tasks — so the held-out tasks play no part in the choice. With ``validation``
    (a batch ``(x_tr, y_tr, x_te, y_te)`` of separate tasks from the training family) each
    run is instead scored by its mean query loss on those tasks after
    ``settings['inner_steps']`` steps — notebook 08's protocol, with
    :data:`MAML_VALIDATION_GRID`. Runs whose losses are not finite score ``inf``.
    ``progress(j, len(grid), best_score_so_far, "MAML (fixed α)")`` is called after each grid value.
    """
    grid = tuple(float(a) for a in grid)
    if not grid or any(not a > 0 for a in grid):
        raise ValueError(f"grid must hold positive step sizes, got {grid}")
    settings = {k: v for k, v in settings.items() if k != "alpha_init"}
    scores, runs = {}, {}
    for j, a in enumerate(grid):
        with np.errstate(all="ignore"):
            run = meta_train(sampler, dim, method="maml", alpha_init=a, **settings)
        n = last if last is not None else max(1, len(run.query_loss) // 5)
        if validation is None:
            tail = run.query_loss[-check_positive_int(n, "last"):]
        else:
            with np.errstate(all="ignore"):
                tail = evaluate(run.theta, run.alpha, validation,
                                run.settings["inner_steps"]).loss
        scores[a] = float(tail.mean()) if np.all(np.isfinite(tail)) else float("inf")
        runs[a] = run
        if progress is not None:
            progress(j + 1, len(grid), min(scores.values()), METHOD_NAMES["maml"])
    best = min(scores, key=scores.get)
    return FixedAlphaChoice(best, scores, runs, n,
                            "training" if validation is None else "validation")


def compare_with_tuned_maml(sampler: BatchSampler, dim: int, held_out: Sequence[np.ndarray], *,
                            methods: Sequence[str] = ("meta-sgd", "scalar", "maml", "chapter"),
                            grid: Sequence[float] = MAML_ALPHA_GRID,
                            validation: Optional[Sequence[np.ndarray]] = None,
                            progress: Optional[Callable[..., None]] = None,
                            **settings) -> MethodComparison:
    """:func:`compare_methods`, except that plain MAML (``"maml"``) gets its fixed α from
    :func:`pick_fixed_alpha` on training tasks instead of ``settings['alpha_init']``
    (which the other methods still start from). The result keeps ``methods``' order and
    records the choice in ``maml_alpha`` and ``maml_scores`` (notebook 04, §7.4.4–7.4.5).
    ``validation`` is passed to :func:`pick_fixed_alpha` (score the grid on validation
    tasks, as notebook 08 does). A one-value ``grid`` trains MAML once with that fixed α —
    what the panel of §7.4.5 does with the α the notebook's grid picked.
    """
    if not methods or any(m not in METHOD_NAMES for m in methods):
        raise ValueError(f"methods must be a non-empty selection of {', '.join(METHOD_NAMES)}, "
                         f"got {tuple(methods)}")
    others = [m for m in methods if m != "maml"]
    base = (compare_methods(sampler, dim, held_out, methods=others, progress=progress, **settings)
            if others else None)
    if "maml" not in methods:
        return base
    choice = pick_fixed_alpha(sampler, dim, grid, validation=validation, progress=progress,
                              **{k: v for k, v in settings.items() if k != "progress"})
    maml = choice.runs[choice.alpha]
    steps = maml.settings["inner_steps"]
    maml_eval = evaluate(maml.theta, maml.alpha, held_out, steps)
    trained, evaluations = {}, {}
    for m in methods:
        key = METHOD_NAMES[m]
        trained[key] = maml if m == "maml" else base.trained[key]
        evaluations[key] = maml_eval if m == "maml" else base.evaluations[key]
    if base is not None:
        evaluations["no meta-learning"] = base.evaluations["no meta-learning"]
        plain_lr = base.plain_lr
    else:
        plain_lr, evaluations["no meta-learning"] = best_plain_step(maml.theta_init, held_out, steps)
    return MethodComparison(trained, evaluations, plain_lr, choice.alpha, choice.scores)
