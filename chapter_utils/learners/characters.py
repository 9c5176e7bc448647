"""Meta-learners for few-shot character classification with the 4-block conv net (notebook 09).

The sine learners (:mod:`~chapter_utils.learners.meta_sgd`, :mod:`~chapter_utils.learners.reptile`)
are written for a 1-D regression MLP and a ``sample_batch`` task family; the algorithms
are the same here, on images, so these are the smallest subclasses of the one learner
shape (:class:`~chapter_utils.learners.base.MetaLearner`): declared hyperparameters,
``fit`` / ``initialise``, ``theta`` / ``alpha`` / ``losses`` / ``seconds``.

* :class:`CharacterMetaSGD` — (first-order) Meta-SGD: θ and a learned step size α per body parameter;
  first-order by default (the meta-gradient does not differentiate through the inner
  gradients — second order costs several times as much per iteration on a CPU);
* :class:`CharacterMAML` — the same with α a fixed scalar: first-order MAML by default;
* :class:`CharacterReptile` — Reptile: plain SGD on each task, θ moved toward the results;
* :class:`CharacterProtoNet` — a prototypical network (Snell et al., 2017) on the same
  body: a metric learner, the reference the gradient-based methods are measured against;
* :class:`CharacterPretrained` — the body trained as one classifier of all meta-training
  characters, then fine-tuned on each task like the others (a transfer baseline).

Two things are shared by all gradient-based learners. θ is the conv body only: every
task's classifier head starts at **zero** (the "zeroing trick" of Kao et al., 2022;
labels are permuted at random between tasks, so no learned head start can favour a
class). And the tasks of a meta-batch adapt at once, one network per task, in one
XLA-compiled ``tf.function``.

Every learner has ``adapt(images, labels, steps=None)`` → ``predict(images)`` giving
class probabilities, the entry point of :func:`chapter_utils.load_character_learner`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar, Optional

import numpy as np

from chapter_utils.checks import Progress, check_step_counts, check_steps
from chapter_utils.environment import import_tensorflow
from chapter_utils.learners.base import (
    Hyperparameter,
    MetaLearner,
    adam_slots,
    adam_update,
    predict_by_steps,
    schedule,
    shared,
)
from chapter_utils.nets import conv

tf = import_tensorflow()

SIZE = conv.SIZE


# -- checking what a reader (or the drawing panel) passes to adapt -------------------------------
def check_images(images: object, name: str = "images") -> np.ndarray:
    """``images`` as float32 ``(n, 28, 28)`` in [0, 1], or ``ValueError`` saying what was expected."""
    try:
        arr = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a float array of shape (n, {SIZE}, {SIZE})") from None
    if arr.ndim != 3 or arr.shape[1:] != (SIZE, SIZE) or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, {SIZE}, {SIZE}) with n ≥ 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must hold finite values in [0, 1] (ink 1 on background 0)")
    return arr


def check_labelled(images: object, labels: object) -> tuple[np.ndarray, np.ndarray, int]:
    """Support images and labels checked together: labels integers 0..N−1, each present,
    N ≥ 2, one label per image. Returns ``(images, labels, N)``."""
    x = check_images(images)
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"labels must be a 1-D array with one label per image ({x.shape[0]}), "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels must be integers 0..N−1, got dtype {y.dtype}")
    n_way = int(y.max()) + 1 if y.size else 0
    if y.min() < 0 or set(y.tolist()) != set(range(n_way)) or n_way < 2:
        raise ValueError("labels must be the integers 0..N−1 with every class present and N ≥ 2, "
                         f"got {sorted(set(y.tolist()))}")
    return x, y.astype(np.int32), n_way


def _check_task_family(tasks: Any) -> Any:
    if not callable(getattr(tasks, "sample", None)):
        raise ValueError("tasks must have a sample(tasks, n_way, shots, query, rng) method "
                         f"(chapter_utils.tasks.characters.CharacterTasks), got {tasks!r}")
    return tasks


# -- the compiled pieces ----------------------------------------------------------------------
def _sgd_steps(body, head, alpha, x, y, steps, first_order=True):
    """``steps`` steps p ← p − α ∘ ∇p L_support for a batch of tasks (one network each)."""
    params = list(body) + list(head)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = tf.reduce_sum(conv.cross_entropy(params[:-2], params[-2:], x, y))
        grads = tape.gradient(loss, params)
        if first_order:
            grads = [tf.stop_gradient(g) for g in grads]
        params = [p - a * g for p, a, g in zip(params, alpha, grads)]
    return params[:-2], params[-2:]


def _batched_start(theta, n_tasks: int, n_way: int):
    body = conv.tile(theta, n_tasks)
    f = conv.feature_size(int(theta[-1].shape[0]))
    head = [tf.zeros([n_tasks, f, n_way], theta[0].dtype), tf.zeros([n_tasks, n_way], theta[0].dtype)]
    return body, head


@cache
def _adapt_step() -> Callable:
    """Compiled: one SGD step of batched body and head (evaluation and adapt)."""
    def run(body, head, alpha, x, y):
        return _sgd_steps(body, head, alpha, x, y, 1)
    return tf.function(run)


def _adapt(body, head, alpha, x, y, steps: int):
    step = _adapt_step()
    for _ in range(steps):
        body, head = step(body, head, alpha, x, y)
    return body, head


@cache
def _probabilities_fn() -> Callable:
    def run(body, head, x):
        return tf.nn.softmax(conv.logits(body, head, x), axis=-1)
    return tf.function(run)


@cache
def _maml_iteration(n_way: int, steps: int, first_order: bool, learns_alpha: bool,
                    jit_compile: bool) -> Callable:
    """Compiled: one (first-order) MAML / Meta-SGD meta-iteration with its Adam update."""
    def run(theta, alpha, slots_m, slots_v, step_count, xs, ys, xq, yq, meta_lr):
        trainable = list(theta) + (list(alpha) if learns_alpha else [])
        with tf.GradientTape() as outer:
            body, head = _batched_start(theta, xs.shape[0], n_way)
            body, head = _sgd_steps(body, head, alpha, xs, ys, steps, first_order)
            per_task = conv.cross_entropy(body, head, xq, yq)
            loss = tf.reduce_mean(per_task)
        grads = outer.gradient(loss, trainable)
        adam_update(trainable, grads, slots_m, slots_v, step_count, [meta_lr] * len(trainable))
        return loss
    return tf.function(run, jit_compile=jit_compile)


@cache
def _reptile_iteration(n_way: int, steps: int, jit_compile: bool) -> Callable:
    """Compiled: one Reptile meta-iteration, θ ← θ + ε · mean over tasks of (θ*ᵢ − θ)."""
    def run(theta, x, y, lr, eps):
        body, head = _batched_start(theta, x.shape[0], n_way)
        alpha = [lr] * (len(theta) + 2)
        body, head = _sgd_steps(body, head, alpha, x, y, steps)
        loss = tf.reduce_mean(conv.cross_entropy(body, head, x, y))     # after adapting
        for p, adapted in zip(theta, body):
            p.assign_add(eps * tf.reduce_mean(adapted - p[None], axis=0))
        return loss
    return tf.function(run, jit_compile=jit_compile)


@cache
def _proto_iteration(n_way: int, jit_compile: bool) -> Callable:
    """Compiled: one prototypical-network step (Adam) on a batch of episodes."""
    def run(theta, slots_m, slots_v, step_count, xs, ys, xq, yq, meta_lr):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(_proto_loss(theta, xs, ys, xq, yq, n_way))
        grads = tape.gradient(loss, list(theta))
        adam_update(list(theta), grads, slots_m, slots_v, step_count, [meta_lr] * len(theta))
        return loss
    return tf.function(run, jit_compile=jit_compile)


def _prototype_logits(theta, xs, ys, xq, n_way: int):
    """Negative squared distances from query features to class means of support features."""
    fs, fq = conv.features(theta, xs), conv.features(theta, xq)          # (B, M, F)
    onehot = tf.one_hot(ys, n_way, dtype=fs.dtype)                       # (B, M, N)
    protos = tf.matmul(onehot, fs, transpose_a=True) / tf.reduce_sum(onehot, axis=1)[..., None]
    d = (tf.reduce_sum(fq ** 2, -1)[..., None] - 2 * tf.matmul(fq, protos, transpose_b=True)
         + tf.reduce_sum(protos ** 2, -1)[:, None, :])
    return -d


def _proto_loss(theta, xs, ys, xq, yq, n_way: int):
    z = _prototype_logits(theta, xs, ys, xq, n_way)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yq, logits=z), -1)


@cache
def _pretrain_step(jit_compile: bool) -> Callable:
    def run(params, slots_m, slots_v, step_count, x, y, lr):
        with tf.GradientTape() as tape:
            loss = conv.cross_entropy(params[:-2], params[-2:], x, y)
        grads = tape.gradient(loss, list(params))
        adam_update(list(params), grads, slots_m, slots_v, step_count, [lr] * len(params))
        return loss
    return tf.function(run, jit_compile=jit_compile)


# -- the learners -------------------------------------------------------------------------------
def _iterate(iterations: int, one_iteration: Callable[[int], Any],
             progress: Optional[Progress]) -> np.ndarray:
    """Run ``one_iteration(i)`` for ``i = 0 … iterations − 1`` (each returns that iteration's
    loss), report each loss to ``progress`` and stop at the first loss that is not a number.
    The training loop every character learner shares; returns the losses."""
    losses = []
    for i in range(iterations):
        loss = float(one_iteration(i))
        losses.append(loss)
        if progress is not None:
            progress(i + 1, iterations, loss)
        if not np.isfinite(loss):
            break
    return np.array(losses)


class CharacterLearner(MetaLearner):
    """What the character learners share: the conv body θ, the task sampling, ``adapt``.

    Subclasses implement ``_train``. Adaptation: the head starts at zero, then
    ``steps`` steps p ← p − α ∘ ∇p L_support on body and head (α: :attr:`alpha`).
    """

    LABEL: ClassVar[str] = ""
    #: Whether ``adapt`` takes gradient steps (``False``: the prototype rule).
    steps_matter: ClassVar[bool] = True
    COMMON: ClassVar[tuple[Hyperparameter, ...]] = (
        Hyperparameter("channels", 32, "filters per conv block", kind="int", low=1),
        Hyperparameter("n_way", 5, "classes per meta-training task (N)", kind="int", low=2),
        shared("shots", 5, "support images per class (K) in meta-training"),
        Hyperparameter("query", 5, "query images per class that score an adaptation", kind="int",
                       low=1),
        shared("meta_batch", 5, "tasks per meta-iteration"),
    )

    def _check_tasks(self, tasks: Any) -> Any:
        return _check_task_family(tasks)

    def _sample(self, tasks, rng, n=None):
        xs, ys, xq, yq = tasks.sample(n or self.meta_batch, self.n_way, self.shots, self.query, rng)
        return [tf.constant(a) for a in (xs, ys, xq, yq)]

    def _alpha_for(self, n_feature: int) -> list:
        """α as the inner loop uses it: one entry per body tensor, then the head's two."""
        return [tf.constant(a) for a in self._alpha]

    def _start(self, seed: int):
        theta = conv.init_body(self.channels, np.random.default_rng([int(seed), 0]))
        alpha = [np.float32(self.hyperparameters.get("inner_lr", 0.0)) for _ in range(len(theta) + 2)]
        return theta, alpha, np.random.default_rng([int(seed), 1])

    def _wrap(self, theta, alpha):
        return [tf.Variable(p) for p in theta], [tf.Variable(a) for a in alpha]

    # -- adaptation ------------------------------------------------------------------------
    def default_steps(self) -> int:
        return self.hyperparameters.get("eval_steps", 0)

    def predict_adapted(self, x_support: np.ndarray, y_support: np.ndarray, x_query: np.ndarray,
                        steps: Sequence[int]) -> np.ndarray:
        """Class probabilities of ``x_query (T, Q, 28, 28)`` after adapting to each of T support
        sets ``(T, M, 28, 28)`` with labels ``(T, M)``, after each count in ``steps``.
        Returns ``(len(steps), T, Q, N)``."""
        self._require_fit()
        n_way = int(np.max(y_support)) + 1
        xs, ys = tf.constant(x_support, tf.float32), tf.constant(y_support, tf.int32)
        xq = tf.constant(x_query, tf.float32)
        alpha = self._alpha_for(0)
        return predict_by_steps(_batched_start(self._theta, x_support.shape[0], n_way),
                                lambda state, done, n: _adapt(*state, alpha, xs, ys, n),
                                lambda state: _probabilities_fn()(*state, xq).numpy(), steps)

    def adapt(self, images: np.ndarray, labels: np.ndarray, steps: int | None = None
              ) -> Callable[[np.ndarray], np.ndarray]:
        """Adapt to one task from its support set; return ``predict(images) -> (n, N)``
        probabilities (rows sum to 1). ``images`` ``(n, 28, 28)`` floats in [0, 1], ink 1;
        ``labels`` integers 0..N−1, every class present. ``steps=None``: the learner's default.

        Raises:
            ValueError: for a bad shape, range or label set (saying what was expected).
        """
        self._require_fit()
        x, y, n_way = check_labelled(images, labels)
        steps = self.default_steps() if steps is None else check_steps(steps, "steps")
        return self._adapted_predictor(x, y, n_way, steps)

    def _adapted_predictor(self, x, y, n_way, steps):
        body, head = _batched_start(self._theta, 1, n_way)
        if steps:
            body, head = _adapt(body, head, self._alpha_for(0), tf.constant(x[None]),
                                tf.constant(y[None]), steps)

        def predict(query: np.ndarray) -> np.ndarray:
            q = check_images(query, "query images")
            return _probabilities_fn()(body, head, tf.constant(q[None])).numpy()[0].astype(float)
        return predict


class CharacterMetaSGD(CharacterLearner):
    """Meta-SGD on characters: θ (the conv body) and α, a learned step size per body parameter.

    α has one entry per body parameter (same shapes as θ); the head's α is one value per
    feature (shape ``(F, 1)``, shared by the N classes) and a single value for all N biases
    (shape ``(1,)``), since labels are permuted between tasks. ``first_order=True`` (default)
    stops the gradient through every inner gradient, so the meta-gradient drops the second
    derivatives. α's meta-gradient is then exact only with one inner step: with several, the
    effect of α on the later inner gradients is dropped too. :attr:`label` is then
    "first-order Meta-SGD".
    """

    LABEL: ClassVar[str] = "Meta-SGD"
    learns_alpha: ClassVar[bool] = True
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = CharacterLearner.COMMON + (
        shared("inner_steps", 5, "inner steps during meta-training", low=1),
        shared("inner_lr", 0.4, "initial value of every entry of α", symbol="α₀"),
        shared("meta_lr", 0.001, "Adam's step size for the outer update"),
        shared("anneal", True, "cosine-anneal β to 0 over the budget of a fit"),
        shared("iterations", 2000, "default budget of fit (meta-iterations)"),
        Hyperparameter("eval_steps", 5, "inner steps adapt takes by default", kind="int", low=0),
        Hyperparameter("first_order", True, "drop the second-order term of the meta-gradient",
                       kind="bool"),
        shared("jit_compile", False,
               "compile the meta-iteration with XLA (slower here: XLA unrolls the per-task convolutions)"),
    )

    @property
    def label(self) -> str:
        return f"first-order {self.LABEL}" if self.first_order else self.LABEL

    def _start(self, seed: int):
        theta, _, rng = super()._start(seed)
        f = conv.feature_size(self.channels)
        lr = np.float32(self.inner_lr)
        if self.learns_alpha:
            alpha = [np.full_like(p, lr) for p in theta] + [np.full((f, 1), lr, np.float32),
                                                             np.full((1,), lr, np.float32)]
        else:
            alpha = [lr for _ in range(len(theta) + 2)]
        return theta, alpha, rng

    def _train(self, tasks, iterations, rng, seed, progress):
        trainable = self._theta + (self._alpha if self.learns_alpha else [])
        slots_m, slots_v, count = adam_slots(trainable)
        step = _maml_iteration(self.n_way, self.inner_steps, self.first_order, self.learns_alpha,
                               self.jit_compile)
        alpha = self._alpha if self.learns_alpha else [tf.constant(a) for a in self._alpha]
        kind = "cosine" if self.anneal else "constant"

        def one(i: int) -> float:
            lr = np.float32(self.meta_lr * schedule(kind, i, iterations))
            return step(self._theta, alpha, slots_m, slots_v, count, *self._sample(tasks, rng),
                        tf.constant(lr))
        self.losses = _iterate(iterations, one, progress)


class CharacterMAML(CharacterMetaSGD):
    """MAML on characters: Meta-SGD with α a fixed scalar ``inner_lr`` (first-order by default)."""

    LABEL: ClassVar[str] = "first-order MAML"
    learns_alpha: ClassVar[bool] = False

    @property
    def label(self) -> str:
        return "first-order MAML" if self.first_order else "MAML"


class CharacterReptile(CharacterLearner):
    """Reptile on characters: ``inner_steps`` SGD steps on each task's images (support and
    query together), then θ ← θ + ε · mean(θ*ᵢ − θ), ε annealed linearly to 0."""

    LABEL: ClassVar[str] = "Reptile"
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = CharacterLearner.COMMON + (
        shared("inner_steps", 5, "SGD steps on each task in meta-training", low=1),
        shared("inner_lr", 0.4, "step size of the inner loop, also used by adapt"),
        Hyperparameter("epsilon", 1.0, "the outer step size, annealed linearly to 0", low=0.0,
                       symbol="ε", log_scale=True),
        shared("iterations", 2000, "default budget of fit (meta-iterations)"),
        Hyperparameter("eval_steps", 5, "SGD steps adapt takes by default", kind="int", low=0),
        shared("jit_compile", False,
               "compile the meta-iteration with XLA (slower here: XLA unrolls the per-task convolutions)"),
    )

    def _train(self, tasks, iterations, rng, seed, progress):
        step = _reptile_iteration(self.n_way, self.inner_steps, self.jit_compile)
        lr = tf.constant(np.float32(self.inner_lr))

        def one(i: int) -> float:
            xs, ys, xq, yq = self._sample(tasks, rng)
            x, y = tf.concat([xs, xq], axis=1), tf.concat([ys, yq], axis=1)
            eps = np.float32(self.epsilon * schedule("linear", i, iterations))
            return step(self._theta, x, y, lr, tf.constant(eps))
        self.losses = _iterate(iterations, one, progress)


class CharacterProtoNet(CharacterLearner):
    """A prototypical network (Snell et al., 2017) on the same conv body: a class is the mean
    feature vector of its support images; a query goes to the nearest mean (squared distance).
    No gradient steps at test time (``steps`` is ignored by ``adapt``)."""

    LABEL: ClassVar[str] = "prototypical network"
    steps_matter: ClassVar[bool] = False
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = CharacterLearner.COMMON + (
        shared("meta_lr", 0.001, "Adam's step size"),
        shared("iterations", 1000, "default budget of fit (episode batches)"),
        shared("jit_compile", False, "compile the training step with XLA"),
    )

    def _train(self, tasks, iterations, rng, seed, progress):
        slots_m, slots_v, count = adam_slots(self._theta)
        step = _proto_iteration(self.n_way, self.jit_compile)

        def one(i: int) -> float:
            lr = np.float32(self.meta_lr * schedule("cosine", i, iterations))
            return step(self._theta, slots_m, slots_v, count, *self._sample(tasks, rng),
                        tf.constant(lr))
        self.losses = _iterate(iterations, one, progress)

    def predict_adapted(self, x_support, y_support, x_query, steps=(0,)):
        self._require_fit()
        wanted = check_step_counts(steps)
        n_way = int(np.max(y_support)) + 1
        z = _prototype_logits(self._theta, tf.constant(x_support, tf.float32),
                              tf.constant(y_support, tf.int32), tf.constant(x_query, tf.float32), n_way)
        p = tf.nn.softmax(z, axis=-1).numpy()
        return np.stack([p for _ in wanted])

    def _adapted_predictor(self, x, y, n_way, steps):
        xs, ys = tf.constant(x[None]), tf.constant(y[None])

        def predict(query: np.ndarray) -> np.ndarray:
            q = check_images(query, "query images")
            z = _prototype_logits(self._theta, xs, ys, tf.constant(q[None]), n_way)
            return tf.nn.softmax(z, axis=-1).numpy()[0].astype(float)
        return predict


class CharacterPretrained(CharacterLearner):
    """The body trained as one classifier of every meta-training character (minibatches of
    ``batch`` images, Adam), then — like the meta-learners — adapted per task from a zero head
    by ``eval_steps`` SGD steps of size ``inner_lr`` on body and head."""

    LABEL: ClassVar[str] = "pretrained + fine-tune"
    HYPERPARAMETERS: ClassVar[tuple[Hyperparameter, ...]] = CharacterLearner.COMMON + (
        Hyperparameter("batch", 64, "images per training step", kind="int", low=1),
        shared("meta_lr", 0.001, "Adam's step size"),
        shared("inner_lr", 0.4, "step size of fine-tuning (adapt), as the meta-learners' α"),
        shared("iterations", 1000, "default budget of fit (training steps)"),
        Hyperparameter("eval_steps", 5, "SGD steps adapt takes by default", kind="int", low=0),
        shared("jit_compile", False, "compile the training step with XLA"),
    )

    def _train(self, tasks, iterations, rng, seed, progress):
        images = tasks.set.images[tasks.classes]                    # (C, V, 28, 28) uint8
        n_classes, variants = images.shape[:2]
        f = conv.feature_size(self.channels)
        head = [tf.Variable(np.zeros((f, n_classes), np.float32)),
                tf.Variable(np.zeros(n_classes, np.float32))]
        params = self._theta + head
        slots_m, slots_v, count = adam_slots(params)
        step = _pretrain_step(self.jit_compile)

        def one(i: int) -> float:
            c = rng.integers(n_classes, size=self.batch)
            v = rng.integers(variants, size=self.batch)
            x = tf.constant(images[c, v].astype(np.float32) / 255.0)
            lr = np.float32(self.meta_lr * schedule("cosine", i, iterations))
            return step(params, slots_m, slots_v, count, x, tf.constant(c.astype(np.int32)),
                        tf.constant(lr))
        self.losses = _iterate(iterations, one, progress)
