"""What every attack shares: the model in inference mode, the cross-entropy of the logits as the
loss, its gradient w.r.t. the input, clipping to the data range, targeted vs untargeted, its own
random stream, and one compiled `tf.function` per attack so a batch runs as one graph."""

from __future__ import annotations

import copy
import weakref

import keras
import numpy as np
import tensorflow as tf

from pipeline.attacks import randomness
from pipeline.inference import CountedApart, model_cache
from pipeline.registry import Registry

# The attacks a config can name (`adversarial.attack`, `trainer.adversarial.attack`): each
# attack's module registers its class.
ATTACKS: Registry[type[Attack]] = Registry("attack")


class Attack:
    """Base: `attack(x, y, seed=None) -> x_adv` on a batch. Subclasses write `budget(x)` and
    `perturb(x, y, keys, *budget)` (traced once for every batch size and budget).

    Args:
        model: a Keras model emitting logits.
        clip: the data's value range; adversarial images never leave it.
        targeted: `y` holds the classes to reach, and the loss is descended instead.
        jit_compile: compile the attack's graph with XLA.
        seed: seeds the attack's random stream (random starts), so that a sequence of calls is
            reproducible; None draws the stream's seed from NumPy's global generator.
        batch_size: the most examples the model sees at once; a larger call runs in batches
            (None: the whole call is one batch).
    """

    # The constructor argument that sets the attack's budget (`robust_accuracy` sweeps it); None:
    # the attack has no budget to sweep.
    budget_name: str | None = "eps"
    # Whether a call can run inside a traced function (adversarial training's step); attacks that
    # choose which examples to attack again between runs (APGD) run eagerly.
    in_graph: bool = True
    # Attributes besides `budget_name` that reach the graph only through `budget(x)`, as tensors.
    budget_inputs: tuple[str, ...] = ()
    # Whether `compiled` converts Python control flow on tensors (AutoGraph). Attacks whose loops
    # are `tf.while_loop`s turn it off: converting their source takes most of a first trace.
    autograph: bool = True

    def __init__(
        self,
        model: keras.Model,
        clip: tuple[float, float] = (0.0, 1.0),
        targeted: bool = False,
        jit_compile: bool = False,
        seed: int | None = None,
        batch_size: int | None = None,
    ):
        if batch_size is not None and batch_size < 1:
            raise ValueError(
                f"Invalid value for argument `batch_size`. Expected >= 1. Received: batch_size={batch_size}"
            )
        if clip[0] >= clip[1]:
            raise ValueError(
                f"Invalid value for argument `clip`. Expected (low, high) with low < high. Received: clip={clip}"
            )
        self.model = model
        self.clip = (float(clip[0]), float(clip[1]))
        self.targeted = targeted
        self.batch_size = batch_size
        # An unseeded attack draws its stream's seed from NumPy (seeded by keras.utils.set_random_seed).
        self._stream = tf.random.Generator.from_seed(np.random.randint(2**31) if seed is None else seed)
        self.jit_compile = jit_compile

    def compiled(self, method: str = "perturb"):
        """The attack's `method` as a compiled function: one graph for every batch size and
        budget, shared by every attack of this class on this model with the same settings (a new
        attack object, an AutoAttack made again, reuses the graphs instead of tracing them). The
        settings are the attack's attributes of simple types (numbers, strings, flags, classes,
        tuples), except the budget and the batch size, which the graph takes as inputs or never
        sees. Kept as long as the model lives (`inference.model_cache`)."""
        key = ("attack", type(self), method, self._graph_settings())
        graphs = model_cache(self.model)
        if key not in graphs:
            template = copy.copy(self)  # holds the model weakly, as the cache must
            template.model = weakref.proxy(self.model)
            function = CountedApart(getattr(template, method))
            graphs[key] = AnyBatch(
                tf.function(function, reduce_retracing=True, jit_compile=self.jit_compile, autograph=self.autograph)
            )
        return graphs[key]

    def _graph_settings(self) -> tuple:
        outside = {"model", "batch_size", self.budget_name, *self.budget_inputs}
        simple = (bool, int, float, str, type, type(None), tuple)
        return tuple(
            sorted((k, v) for k, v in vars(self).items() if k not in outside and isinstance(v, simple) and _hashable(v))
        )

    def __call__(self, x, y, seed=None, keys=None) -> tf.Tensor:
        """The adversarial batch. `seed`: a stateless seed (2 integers) for the attack's random
        draws; None takes the next from the attack's stream. Pass it inside a traced function
        (a training step), where the stream would otherwise be read at tracing only once.
        `keys`: instead, one uint32 key per example (`randomness.content_keys`), so that each
        example's draws do not depend on its batch."""
        x, y = self.inputs(x, y)
        return self.in_batches(self.compiled(), x, y, self.keys(x, seed, keys), *self.budget(x))

    @staticmethod
    def inputs(x, y) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.cast(tf.convert_to_tensor(x), tf.float32), class_indices(y)

    def in_batches(self, fn, *rows: tf.Tensor):
        """`fn(*rows)` on slices of at most `batch_size` rows, its outputs (a tensor or a structure
        of them) concatenated."""
        n = rows[0].shape[0]
        if self.batch_size is None or n is None or n <= self.batch_size:
            return fn(*rows)
        parts = [fn(*(r[s : s + self.batch_size] for r in rows)) for s in range(0, n, self.batch_size)]
        return tf.nest.map_structure(lambda *p: tf.concat(p, axis=0), *parts)

    def until_done(self, segment, inputs: tuple, state, bounds: list[int], done, result):
        """Run `segment(*inputs, state, first, last) -> state` over each span of `bounds` on the examples
        not `done(state)` yet (the others leave the batch between spans); per example, `result`
        of its last state."""
        rows = tf.range(tf.shape(inputs[0])[0])
        out = result(state)
        for first, last in zip(bounds, bounds[1:], strict=False):
            keep = tf.where(~done(state))[:, 0]
            if tf.size(keep) == 0:
                break
            inputs, state, rows = _gather((inputs, state, rows), keep)
            state = self._span(segment, inputs, state, first, last)
            out = _scatter(out, rows, result(state))
        return out

    def _span(self, segment, inputs: tuple, state, first: int, last: int):
        span, n = (tf.constant(first), tf.constant(last)), len(inputs)

        def run(*rows):
            return segment(*rows[:n], tf.nest.pack_sequence_as(state, list(rows[n:])), *span)

        return self.in_batches(run, *inputs, *tf.nest.flatten(state))

    def keys(self, x: tf.Tensor, seed=None, keys=None) -> tf.Tensor:
        """(N,) uint32: the per-example keys of the random draws (`randomness`)."""
        if keys is not None:
            return tf.cast(tf.convert_to_tensor(keys), tf.uint32)
        seed = self._stream.make_seeds(1)[:, 0] if seed is None else tf.cast(seed, tf.int64)
        return randomness.batch_keys(seed, tf.shape(x)[0])

    def budget(self, x: tf.Tensor) -> tuple:
        """The budget as tensors, one value per example, passed to `perturb` after (x, y, keys),
        so that a new budget (`attack.eps = ...`) reuses the compiled graph."""
        return ()

    def perturb(self, x: tf.Tensor, y: tf.Tensor, keys: tf.Tensor, *budget: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def per_example(self, value, x: tf.Tensor) -> tf.Tensor:
        """A scalar or one value per example, as (N, 1, ..., 1) float32 to broadcast over `x`."""
        value = tf.cast(value, tf.float32) if tf.is_tensor(value) else tf.constant(np.asarray(value, np.float32))
        return example_rows(tf.broadcast_to(value, tf.shape(x)[:1]), x)

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.model(x, training=False), tf.float32)

    def loss(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """Per-example cross-entropy of the logits; its negative when targeted, so that every
        attack ascends `loss`."""
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(y, self.logits(x))
        return -ce if self.targeted else ce

    def gradient(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """d loss / d x, (N, ...) float32; zero where the model passes no gradient (masking)."""
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            total = tf.reduce_sum(self.loss(x, y))
        return tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def clip_to_range(self, x: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(x, *self.clip)


class AnyBatch:
    """A `tf.function` whose first trace takes any number of examples: the batches an attack
    runs on shrink as examples fall, and one general trace serves them all (instead of one for
    the first size and a relaxed one for the next)."""

    def __init__(self, function):
        self.function, self.traced = function, False

    def __call__(self, *args):
        if not self.traced:
            self.function.get_concrete_function(*tf.nest.map_structure(_any_batch, args))
            self.traced = True
        return self.function(*args)

    def experimental_get_tracing_count(self) -> int:
        return self.function.experimental_get_tracing_count()


def _any_batch(value):
    if not tf.is_tensor(value):
        return value
    shape = value.shape
    return tf.TensorSpec([None, *shape[1:]] if shape.rank else [], value.dtype)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def example_rows(values: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """One value (or mask entry) per example, shaped (N, 1, ..., 1) to broadcast over, or select
    whole examples of, `x`."""
    return tf.reshape(values, [-1] + [1] * (x.shape.rank - 1))


def class_indices(y, classes: int | None = None) -> tf.Tensor:
    """Labels as (N,) int32 class indices, from indices ((N,) or (N, 1)) or one-hot rows (N, C);
    `classes`: the model's class count, which one-hot rows must match."""
    y = tf.convert_to_tensor(y)
    if y.shape.rank == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.shape.rank == 2:
        if classes is not None and y.shape[1] != classes:
            raise ValueError(f"one-hot labels have {y.shape[1]} columns but the model outputs {classes} classes")
        y = tf.argmax(y, axis=1)
    elif y.shape.rank != 1:
        raise ValueError(
            f"labels must be class indices, shape (N,), or one-hot rows, shape (N, classes); got shape {tuple(y.shape)}"
        )
    return tf.cast(y, tf.int32)


def _gather(structure, index: tf.Tensor):
    return tf.nest.map_structure(lambda t: tf.gather(t, index), structure)


def _scatter(out, rows: tf.Tensor, new):
    """`out` with its rows `rows` replaced by `new` (matching structures)."""
    return tf.nest.map_structure(lambda o, r: tf.tensor_scatter_nd_update(o, rows[:, None], r), out, new)
