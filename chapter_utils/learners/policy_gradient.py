"""Meta-SGD and MAML for reinforcement learning: policy gradients on 2-D navigation (notebook 03, §7.3).

The chapter's five steps of Meta-SGD in RL, as code:

1. initialise the policy parameters θ and a learning rate α of θ's shape
   (:meth:`MetaSGDPolicyGradient.initialise`);
2. sample a meta-batch of tasks — goals (:class:`chapter_utils.tasks.navigation.NavigationTasks`);
3. inner loop: for each task, sample trajectories Dᵢ with θ and take a policy-
   gradient step ``θ'ᵢ = θ − α ∘ ∇θ L(Dᵢ)`` (:func:`adapted_params`);
4. outer loop: sample fresh trajectories D'ᵢ with θ'ᵢ and move θ and α down the
   gradient of ``Σᵢ L(D'ᵢ; θ'ᵢ)`` (:func:`meta_loss`, then Adam);
5. repeat 2–4 (:meth:`MetaSGDPolicyGradient.fit`).

**What the outer gradient includes** (notebook 03, §7.3.4). The loss L is the
REINFORCE surrogate (:func:`chapter_utils.nets.gaussian_policy.surrogate_loss`).
Differentiating it through the inner step — the ``"surrogate"`` estimator, what
the MAML paper's code does — treats Dᵢ as fixed data. But Dᵢ was *sampled
from* θ: moving θ changes which trajectories the inner step learns from, and
that term, ``E[R(D'ᵢ) ∇θ log p(Dᵢ | θ)]``, is missing. The ``"unbiased"``
estimator adds it as a score-function term (the form E-MAML uses; DiCE
reaches the same quantity by another route), with a leave-one-out baseline
over the meta-batch. It is unbiased and, on this budget, far noisier.
``"first_order"`` also drops the second derivatives. α's gradient is exact in
all three up to sampling noise: ``log p(Dᵢ | θ)`` does not depend on α.

Everything for one meta-iteration — the rollouts of all tasks, both loops and
the Adam step — runs as one compiled ``tf.function``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from chapter_utils.checks import Progress, check_positive_int, check_seed, check_steps
from chapter_utils.environment import import_tensorflow, release_memory
from chapter_utils.learners.base import Hyperparameter, MetaLearner, adam_slots, adam_update, revise, schedule, shared
from chapter_utils.nets import gaussian_policy as gp
from chapter_utils.nets import mlp as fmlp
from chapter_utils.tasks import navigation as nav

tf = import_tensorflow()

#: The outer-gradient estimators (module docstring).
ESTIMATORS = ("surrogate", "unbiased", "first_order")
#: ``collect(params, k) → (trajectories, advantages, scale)`` for the k-th batch of a meta-iteration.
Collect = Callable[[list, int], tuple]
#: Goals evaluated per compiled call of :meth:`MetaSGDPolicyGradient.evaluate` (bounds memory).
EVALUATION_CHUNK = 20


# -- the computation (notebook 03, §7.3.3–7.3.4) -----------------------------------------
def adapted_params(params: list, alpha: list, traj: gp.Trajectories, adv,
                   activation: str = "relu", first_order: bool = False) -> list:
    """One inner step ``θ' = θ − α ∘ ∇θ L(D)`` for every task of a batch.

    ``params`` are batched over tasks; the tasks' surrogate losses are summed,
    so each task's copy receives its own gradient. With ``first_order`` the
    gradient is a constant to any outer tape.
    """
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = tf.reduce_sum(gp.surrogate_loss(params, traj, adv, activation))
    grads = tape.gradient(loss, params)
    if first_order:
        grads = [tf.stop_gradient(g) for g in grads]
    return [p - a * g for p, a, g in zip(params, alpha, grads)]


def episode_returns(traj: gp.Trajectories):
    """The mean undiscounted return of each task's episodes: ``(B,)``."""
    return tf.reduce_mean(tf.reduce_sum(traj.rewards, axis=-1), axis=-1)


def meta_loss(theta: list, alpha: list, collect: Collect, batch: int, steps: int,
              estimator: str = "surrogate", activation: str = "relu", clip: float | None = None):
    """The outer loss of one meta-iteration, and the mean return before and after adapting.

    ``collect(params, k)`` samples the k-th set of trajectories with the
    batched ``params`` and returns ``(trajectories, advantages, scale)``, where
    ``scale`` (``(B,)``) is the positive factor ``c`` with ``∇ surrogate = −c ∇J``
    (J the expected return of an episode): the unbiased estimator weighs its
    score term by it, so both terms estimate the same ``c ∇J``. Batches
    ``0 … steps−1`` feed the inner steps; batch ``steps`` scores the adapted
    policies. Returns ``(loss, return before, return after)``, the returns
    being ``(B,)`` per-task means (batch 0 and batch ``steps``). ``clip``:
    the outer loss is PPO's clipped surrogate (for reusing the data over
    several outer steps; :func:`gaussian_policy.surrogate_loss`).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    params = fmlp.tile(theta, batch)
    score = tf.zeros((batch,), theta[0].dtype)
    before = None
    for k in range(steps):
        traj, adv, _ = collect(params, k)
        if before is None:
            before = episode_returns(traj)
        if estimator == "unbiased":
            score += gp.trajectory_log_prob(params, traj, activation)
        params = adapted_params(params, alpha, traj, adv, activation, estimator == "first_order")
    traj, adv, scale = collect(params, steps)
    after = episode_returns(traj)
    loss = tf.reduce_mean(gp.surrogate_loss(params, traj, adv, activation, clip))
    if estimator == "unbiased" and steps > 0:
        others = (tf.reduce_sum(after) - after) / (batch - 1)        # leave-one-out baseline
        loss -= tf.reduce_mean(tf.stop_gradient(scale * (after - others)) * score)
    return loss, (after if before is None else before), after


def navigation_collect(goals, seed, trajectories: int, discount: float,
                        activation: str) -> Collect:
    """``collect(params, k)`` for :func:`meta_loss` on navigation (notebook 03, §7.3.3).

    The k-th batch: ``trajectories`` episodes per goal, rolled out with the
    batched ``params``; the noise is stateless, keyed by ``(seed, k)``, so the
    same call gives the same trajectories. Returns ``(trajectories,
    advantages, scale)`` (:func:`gaussian_policy.advantages`).
    """
    batch = goals.shape[0]

    def collect(params: list, k: int):
        noise = tf.random.stateless_normal((batch, trajectories, nav.HORIZON, 2),
                                           seed=seed + tf.constant([0, 1], seed.dtype) * k,
                                           dtype=goals.dtype)
        traj = gp.rollout(params, goals, noise, activation)
        adv, scale = gp.advantages(traj, discount)
        return traj, adv, scale
    return collect


# Compiled functions are kept for a few recent configurations only: each holds its
# executable, and a notebook that trains several learners would otherwise keep them all.
@lru_cache(maxsize=2)
def _train_step(activation: str, steps: int, estimator: str, trajectories: int,
                discount: float, learns_alpha: bool, epochs: int, clip: float,
                jit_compile: bool) -> Callable:
    """The compiled meta-iteration: rollouts, inner step(s), outer gradient and Adam.

    The trajectories are sampled once and reused for ``epochs`` outer steps
    (the inner step(s) recomputed from the same Dᵢ at the current θ, the outer
    loss PPO-clipped when ``epochs > 1``). One compiled function per static
    configuration, shared by every learner (variables are arguments, not
    captured). Adam is :func:`chapter_utils.learners.base.adam_update`.
    """
    def run(theta, alpha, slots_m, slots_v, step_count, goals, seed, rates):
        # rates: one Adam step size per trainable tensor, θ's then α's (the learner names them)
        trainable = list(theta) + list(alpha) if learns_alpha else list(theta)
        sample = navigation_collect(goals, seed, trajectories, discount, activation)
        cache: dict[int, tuple] = {}

        def collect(params: list, k: int) -> tuple:
            if k not in cache:
                cache[k] = sample(params, k)
            return cache[k]
        for epoch in range(epochs):
            with tf.GradientTape() as outer:
                loss, before, after = meta_loss(theta, alpha, collect, goals.shape[0], steps,
                                                estimator, activation,
                                                clip if epochs > 1 else None)
            if epoch == 0:
                first = (tf.reduce_mean(before), tf.reduce_mean(after))
            grads = outer.gradient(loss, trainable)
            adam_update(trainable, grads, slots_m, slots_v, step_count, rates)
        return first
    return tf.function(run, jit_compile=jit_compile)


@lru_cache(maxsize=4)
def _evaluate_fn(activation: str, max_steps: int, trajectories: int, episodes: int,
                 discount: float) -> Callable:
    """Compiled: returns after 0 … ``max_steps`` adaptation steps for a batch of goals.

    At each step an evaluation batch of ``episodes`` episodes scores the
    current policies; then ``trajectories`` fresh episodes feed the next
    inner step, as in meta-training.
    """
    def run(theta, alpha, goals, seed):
        batch = goals.shape[0]
        collect = navigation_collect(goals, seed, trajectories, discount, activation)
        params = fmlp.tile(theta, batch)
        scores = []
        for k in range(max_steps + 1):
            noise = tf.random.stateless_normal((batch, episodes, nav.HORIZON, 2),
                                               seed=seed + tf.constant([1, 0], seed.dtype) * (k + 1),
                                               dtype=goals.dtype)
            scores.append(episode_returns(gp.rollout(params, goals, noise, activation)))
            if k < max_steps:
                traj, adv, _ = collect(params, k)
                params = adapted_params(params, alpha, traj, adv, activation)
        return tf.stack(scores)
    return tf.function(run)


@lru_cache(maxsize=4)
def _adapt_step_fn(activation: str, trajectories: int, discount: float) -> Callable:
    """Compiled: the ``k``-th inner step for a batch of goals (``params`` batched over them).

    ``k`` is a tensor, so one trace serves every number of steps: :func:`adapt_params` loops
    over it. The k-th step samples the same trajectories (``collect(params, k)``) as the k-th
    inner step of :func:`_evaluate_fn` and of meta-training.
    """
    def run(params, alpha, goals, seed, k):
        traj, adv, _ = navigation_collect(goals, seed, trajectories, discount, activation)(params, k)
        return adapted_params(params, alpha, traj, adv, activation)
    return tf.function(run)


def adapt_params(theta: list, alpha: list, goals, seed, steps: int, activation: str,
                 trajectories: int, discount: float) -> list:
    """``steps`` inner steps from ``theta`` for a batch of ``goals``: the adapted parameters,
    batched over the goals (0 steps: ``theta`` tiled, with no TensorFlow function called).

    One compiled step (:func:`_adapt_step_fn`) run ``steps`` times, not one function per step
    count: a reader who adapts with another number of steps does not wait for a new trace.
    """
    params = fmlp.tile(theta, goals.shape[0])
    if steps:
        step = _adapt_step_fn(activation, trajectories, discount)
        for k in range(steps):
            params = step(params, alpha, goals, seed, tf.constant(k, seed.dtype))
    return params


class MetaSGDPolicyGradient(MetaLearner):
    """Meta-SGD with policy-gradient inner steps, for 2-D navigation (notebook 03, §7.3).

    Hyperparameters: :attr:`HYPERPARAMETERS` (``print(MetaSGDPolicyGradient.describe())``);
    the defaults are the settings notebook 03 uses. The step sizes of α and of the
    policy's log σ are set as fractions of β (``alpha_lr_ratio``, ``log_std_lr_ratio``),
    so moving β moves all three together — the rule lives here, not in a panel.

    After :meth:`fit`: :attr:`theta`, :attr:`alpha`, :attr:`returns_before` and
    :attr:`returns_after` (the meta-batch's mean return before and after
    adaptation, per meta-iteration), :attr:`losses` (minus :attr:`returns_after`)
    and :attr:`seconds`.
    """

    LABEL: ClassVar[str] = "Meta-SGD"
    learns_alpha: ClassVar[bool] = True
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = (
        shared("hidden", (64, 64), "hidden-layer widths of the policy (2 → hidden → 2)"),
        shared("activation", "relu", "hidden-layer activation"),
        shared("meta_batch", 20, "tasks (goals) per meta-iteration"),
        Hyperparameter("trajectories", 40, "episodes per task for each inner step and the outer step",
                       kind="int", low=1),
        shared("inner_steps", 1, "policy-gradient steps in the inner loop in meta-training"),
        shared("inner_lr", 0.01, "initial value of every entry of α", symbol="α₀"),
        shared("meta_lr", 0.003, "Adam's step size for θ, cosine-annealed when anneal"),
        Hyperparameter("alpha_lr_ratio", 0.1, "α's Adam step size as a fraction of β: α's entries "
                       "are about 0.01, and Adam moves every parameter by about its step size",
                       low=0.0),
        Hyperparameter("log_std_lr_ratio", 2.5, "log σ's Adam step size as a fraction of β, so the "
                       "noise that limits the return can shrink within the budget (much faster "
                       "and σ collapses, and meta-training with it)", low=0.0),
        shared("anneal", True, "cosine-anneal every step size to 0 over the budget"),
        Hyperparameter("estimator", "surrogate", "the outer-gradient estimator (module docstring)",
                       kind="choice", choices=ESTIMATORS),
        Hyperparameter("discount", 0.99, "γ of the returns-to-go (returns are reported undiscounted)",
                       low=0.0, high=1.0, symbol="γ"),
        Hyperparameter("init_log_std", -2.3, "the starting policy's log standard deviation"),
        Hyperparameter("last_layer_scale", 0.1, "scale of the starting policy's last layer", low=0.0),
        Hyperparameter("outer_epochs", 1, "outer steps on each meta-batch's trajectories", kind="int",
                       low=1),
        Hyperparameter("clip", 0.2, "PPO clipping of the outer loss when outer_epochs > 1", low=0.0),
        shared("iterations", 400, "default budget of fit (600–800 scored worse than 400 on "
               "held-out goals in tuning)"),
        shared("jit_compile", True, "compile the meta-iteration with XLA"),
    )

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        self.returns_before = np.empty(0)
        self.returns_after = np.empty(0)

    def _check_together(self, values: dict[str, Any]) -> None:
        if values["meta_batch"] < 2 and values["estimator"] == "unbiased":
            raise ValueError("the unbiased estimator's baseline needs meta_batch ≥ 2")
        if values["inner_steps"] == 0 and self.learns_alpha:
            raise ValueError("inner_steps must be ≥ 1 for Meta-SGD: α is learned through the inner step")

    # -- parameters (step 1) -----------------------------------------------------------
    def _start(self, seed: int):
        """Step 1: fresh θ (:func:`chapter_utils.nets.gaussian_policy.init_policy`) and
        α = ``inner_lr`` everywhere (a scalar per θ array for MAML)."""
        theta = gp.init_policy(self.hidden, seed, log_std=self.init_log_std,
                               last_layer_scale=self.last_layer_scale)
        if self.learns_alpha:
            alpha = [np.full_like(p, self.inner_lr) for p in theta]
        else:
            alpha = [np.float32(self.inner_lr) for _ in theta]
        return theta, alpha, np.random.default_rng([seed, 1])

    def _wrap(self, theta, alpha):
        return ([tf.Variable(p) for p in theta],
                [tf.Variable(a) if self.learns_alpha else tf.constant(a) for a in alpha])

    def _set_parameters(self, theta, alpha) -> None:
        super()._set_parameters(theta, alpha)
        self.returns_before = self.returns_after = np.empty(0)

    def _rates(self, factor: float) -> list:
        """Adam's step size for every trainable tensor, by name: β for θ, β · ``log_std_lr_ratio``
        for the policy's log σ, β · ``alpha_lr_ratio`` for α; all times the schedule's ``factor``."""
        own = {"log_std": self.meta_lr * self.log_std_lr_ratio * factor}
        theta_rates = [own.get(name, self.meta_lr * factor)
                       for name in gp.parameter_names(len(self.hidden) + 1)]
        alpha_rates = [self.meta_lr * self.alpha_lr_ratio * factor] * len(theta_rates)
        return [tf.constant(r, tf.float32)
                for r in theta_rates + (alpha_rates if self.learns_alpha else [])]

    # -- meta-training (steps 2–5) --------------------------------------------------------
    def _check_tasks(self, tasks: Any) -> Any:
        tasks = nav.NavigationTasks() if tasks is None else tasks
        if not callable(getattr(tasks, "sample_goals", None)):
            raise ValueError(f"tasks must have a sample_goals(n, rng) method, got {tasks!r}")
        return tasks

    def fit(self, tasks: Any = None, iterations: int | None = None, seed: int = 0,
            progress: Progress | None = None) -> MetaSGDPolicyGradient:
        """Meta-train from fresh parameters (seeded by ``seed``) and return ``self``.

        ``tasks`` is a task family with ``sample_goals(n, rng)``
        (:class:`chapter_utils.tasks.navigation.NavigationTasks`; ``None`` means the
        default family). ``progress(i, total, loss)`` is called after every
        meta-iteration with minus the return after adapting; it may raise to stop
        training. Training stops early once a return is no longer finite.
        """
        return super().fit(tasks, iterations, seed, progress)

    def _train(self, tasks: Any, iterations: int, rng: np.random.Generator, seed: int,
               progress: Progress | None) -> None:
        release_memory()            # start from the heap the last run left, not on top of it
        trainable = self._theta + (self._alpha if self.learns_alpha else [])
        slots_m, slots_v, step_count = adam_slots(trainable)
        step = _train_step(self.activation, self.inner_steps, self.estimator, self.trajectories,
                           self.discount, self.learns_alpha, self.outer_epochs, self.clip,
                           self.jit_compile)
        kind = "cosine" if self.anneal else "constant"
        before, after = [], []
        for i in range(iterations):
            goals = tf.constant(tasks.sample_goals(self.meta_batch, rng), tf.float32)
            b, a = step(self._theta, self._alpha, slots_m, slots_v, step_count, goals,
                        tf.constant([seed, 3 * i], tf.int64),
                        self._rates(float(schedule(kind, i, iterations))))
            before.append(float(b))
            after.append(float(a))
            if progress is not None:
                progress(i + 1, iterations, -after[-1])
            if not (np.isfinite(after[-1]) and np.isfinite(before[-1])):
                break
        self.returns_before, self.returns_after = np.array(before), np.array(after)
        self.losses = -self.returns_after
        release_memory()

    # -- adaptation and evaluation ----------------------------------------------------------
    def adapt(self, task: Any, steps: int = 1, seed: int = 0) -> gp.GaussianPolicy:
        """Adapt to one task: ``steps`` policy-gradient steps, each on ``trajectories``
        fresh episodes; returns the adapted policy (a function from observations
        ``(n, 2)`` to sampled actions ``(n, 2)``). θ and α are not changed."""
        self._require_fit()
        goal = nav.check_goals(getattr(task, "goal", task), "task.goal")
        if goal.shape[0] != 1:
            raise ValueError("adapt takes one task; use evaluate for many goals")
        steps, seed = check_steps(steps), check_seed(seed)
        params = adapt_params(self._theta, self._alpha, tf.constant(goal, tf.float32),
                              tf.constant([seed, 7], tf.int64), steps, self.activation,
                              self.trajectories, self.discount)
        return gp.GaussianPolicy([p[0].numpy() for p in params], self.activation, seed)

    def adapted_parameters(self, goals: object, steps: int = 1, seed: int = 0) -> list[np.ndarray]:
        """The parameters after ``steps`` inner steps on each goal, as in :meth:`adapt`.

        ``goals``: ``(n, 2)``. Returns one numpy array per θ array with a leading
        goal axis (``[W1 (n, 2, h), …, log_std (n, 2)]``) — e.g. the adapted
        noise ``np.exp(params[-1])`` (notebook 03, §7.3.5). Goals go in chunks of
        :data:`EVALUATION_CHUNK`, each with its own noise seed.
        """
        self._require_fit()
        goals = nav.check_goals(goals)
        steps, seed = check_steps(steps), check_seed(seed)
        chunks = [adapt_params(self._theta, self._alpha,
                               tf.constant(goals[i:i + EVALUATION_CHUNK], tf.float32),
                               tf.constant([seed, 13 + 2 * i], tf.int64), steps, self.activation,
                               self.trajectories, self.discount)
                  for i in range(0, len(goals), EVALUATION_CHUNK)]
        return [np.concatenate([c[j].numpy() for c in chunks]) for j in range(len(chunks[0]))]

    def evaluate(self, goals: object, steps: Sequence[int] = (0, 1, 2, 3), episodes: int = 40,
                 seed: int = 0) -> np.ndarray:
        """Average return of ``episodes`` episodes per goal after each number of steps.

        ``goals``: ``(n, 2)``. Returns ``(len(steps), n)``. The same adaptation
        as :meth:`adapt`, for all goals at once in one compiled call.
        """
        self._require_fit()
        goals = nav.check_goals(goals)
        steps = [check_steps(s) for s in steps]
        if not steps:
            raise ValueError("steps must name at least one step count")
        episodes, seed = check_positive_int(episodes, "episodes"), check_seed(seed)
        run = _evaluate_fn(self.activation, max(steps), self.trajectories, episodes,
                           self.discount)
        # goals in chunks: the inner gradient of every goal's trajectories at once would hold
        # gigabytes of activations for a few hundred goals (each chunk its own noise seed)
        chunks = range(0, len(goals), EVALUATION_CHUNK)
        scores = [run(self._theta, self._alpha,
                      tf.constant(goals[i:i + EVALUATION_CHUNK], tf.float32),
                      tf.constant([seed, 11 + 2 * i], tf.int64)).numpy() for i in chunks]
        return np.concatenate(scores, axis=1).astype(float)[steps]


class MAMLPolicyGradient(MetaSGDPolicyGradient):
    """MAML for RL: :class:`MetaSGDPolicyGradient` with α a fixed scalar, ``inner_lr`` (notebook 03)."""

    LABEL: ClassVar[str] = "MAML"
    learns_alpha: ClassVar[bool] = False
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = revise(
        MetaSGDPolicyGradient.HYPERPARAMETERS, "inner_lr", symbol="α",
        doc="α, the fixed step size of every inner policy-gradient step (not learned)")

    def with_step_size(self, inner_lr: float) -> MAMLPolicyGradient:
        """The same θ adapted with another fixed step size (a fine-tuning sweep, notebook 03).

        Returns a new learner sharing this one's θ; neither changes the other's α.
        """
        self._require_fit()
        other = type(self)(**{**self.hyperparameters, "inner_lr": inner_lr})
        other._theta = self._theta
        other._alpha = [tf.constant(np.float32(other.inner_lr)) for _ in self._theta]
        return other


class PretrainedPolicyGradient(MAMLPolicyGradient):
    """One policy trained on all tasks jointly (no inner step in training), then
    fine-tuned at test time with policy-gradient steps of size ``inner_lr``:
    the "pretrained" baseline of the MAML paper (notebook 03)."""

    LABEL: ClassVar[str] = "pretrained"
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = revise(
        MAMLPolicyGradient.HYPERPARAMETERS, "inner_steps", default=0)
