"""Resuming training after a crash: find the newest *intact* checkpoint and restore it.

``tf.train.CheckpointManager`` writes a checkpoint's files first and updates the ``checkpoint``
state file last (atomically), so a process killed while saving leaves the state pointing at the
previous checkpoint. Files can still be damaged afterwards (a full disk, a copy cut short, a
flaky network filesystem): :func:`verify_checkpoint` opens the checkpoint and reads every tensor,
which checks TensorFlow's per-tensor CRC32C checksums, and :func:`restore_newest_valid` falls
back to the previous checkpoint with a :class:`CorruptCheckpointWarning`.

What a resumed offline run gets back (see ``tfrec.training.offline``): the weights, the
optimizer state (slots, iteration count), the agent's ``train_step_counter``, the data
position, which is a function of the step since the input pipeline is a seeded, deterministic
sequence of batches (it is skipped forward by the restored step count), and the random state:
the agent's sampled-softmax generator (an attribute of the agent) and the generators of the
dropout layers, which Keras keeps out of checkpoints on purpose and :func:`random_generators`
hands to the checkpoint explicitly.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import tensorflow as tf

__all__ = [
    "CorruptCheckpointWarning",
    "random_generators",
    "restore_newest_valid",
    "verify_checkpoint",
]


class CorruptCheckpointWarning(RuntimeWarning):
    """A checkpoint listed by the manager could not be read; an older one was used."""


def verify_checkpoint(path: str | Path) -> str | None:
    """Checks that a checkpoint is complete and readable.

    Args:
      path: checkpoint prefix (e.g. ``.../ckpt-40``).

    Returns:
      None when every tensor reads back (checksums verified), else a one-line description of the
      problem (missing index/data file, truncated or corrupt data).
    """
    prefix = str(path)
    if not tf.io.gfile.exists(prefix + ".index"):
        return f"{prefix}.index is missing"
    if not tf.io.gfile.glob(prefix + ".data-*"):
        return f"no {prefix}.data-* file"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    return None


def restore_newest_valid(manager: tf.train.CheckpointManager) -> str | None:
    """Restores the newest checkpoint of ``manager`` that verifies, newest first.

    Each skipped checkpoint emits a :class:`CorruptCheckpointWarning` naming it and the reason.

    Args:
      manager: a checkpoint manager (its ``checkpoint`` is restored in place).

    Returns:
      The path restored, or None when the directory holds no checkpoint.

    Raises:
      ValueError: if checkpoints exist but none of them can be read (the message lists them and
        says how to start over).
    """
    candidates = list(reversed(manager.checkpoints))
    problems = []
    for path in candidates:
        problem = verify_checkpoint(path)
        if problem is None:
            try:
                manager.checkpoint.restore(path).assert_existing_objects_matched()
            except (tf.errors.OpError, AssertionError, ValueError) as error:
                problem = f"restore failed: {str(error).splitlines()[0][:300]}"
        if problem is None:
            return path
        problems.append(f"{path}: {problem}")
        warnings.warn(
            f"checkpoint {path} is unusable ({problem}); trying the previous one.",
            CorruptCheckpointWarning,
            stacklevel=2,
        )
    if problems:
        raise ValueError(
            f"no usable checkpoint in {manager.directory}: " + "; ".join(problems) + ". Remove "
            "the directory (or pass another one) to train from scratch."
        )
    return None


def random_generators(module: tf.Module) -> dict[str, tf.random.Generator]:
    """The ``tf.random.Generator`` of every random Keras layer (Dropout ...) under ``module``.

    With ``tf.keras.backend.experimental.enable_tf_random_generator()`` on before the layers are
    created, each ``Dropout`` draws its masks from a ``tf.random.Generator`` whose state is a
    variable. Keras leaves these out of ``layer.weights`` and checkpoints (for backward
    compatibility); pass this dict to ``tf.train.Checkpoint`` (e.g. as
    ``make_checkpoint_manager(..., rng=random_generators(agent))``) so that a resumed run draws
    the same masks as an uninterrupted one.

    Args:
      module: a built model, network or agent (its layers must have been built).

    Returns:
      ``{"layer_<i>": generator}`` in the deterministic order of ``module.submodules`` (not
      keyed by layer name: Keras numbers names per process, ``dropout_3`` vs ``dropout_7``); empty when the layers use Keras' legacy stateful RNG (no state to save).
    """
    generators = {}
    for layer in module.submodules:
        source = getattr(layer, "_random_generator", None)
        if not isinstance(layer, tf.keras.layers.Layer) or source is None:
            continue
        source._maybe_init()  # noqa: SLF001 (what Layer.build does; idempotent)
        generator = getattr(source, "_generator", None)
        if isinstance(generator, tf.random.Generator):
            generators[f"layer_{len(generators)}"] = generator
    return generators
