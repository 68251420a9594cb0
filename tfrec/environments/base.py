"""The batched slate-recommendation ``PyEnvironment`` every tfrec simulator builds on.

It owns the mechanics the simulators share (specs, history windows, per-element auto-reset,
step cap, ``get_info``); a simulator implements only its users: :meth:`_start_users` (new users
and their observed history) and :meth:`_respond` (choice, reward, transition, termination).

Contract (``docs/architecture.md``): observation ``history`` int32 ``[B, max_len]`` (consumed item
indices, left-padded, most recent last), action int32 slate ``[B, k]`` of indices
``2 .. vocab_size - 1`` (duplicates allowed), reward float32 ``[B]``. Each batch element resets on
its own: the step after its ``LAST`` step returns ``FIRST`` with a new user and ignores that
element's action. ``get_info()`` returns ``clicked_item`` int32 ``[B]`` (0 = no click) and
``click_position`` int32 ``[B]`` (-1 = none) of the last step.
"""

from __future__ import annotations

import abc
import copy
from typing import Any

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED, PAD_INDEX, history_spec, slate_action_spec

_FIRST = np.int32(ts.StepType.FIRST)
_MID = np.int32(ts.StepType.MID)
_LAST = np.int32(ts.StepType.LAST)


def catalog_vocabulary(num_items: int) -> Any:
    """The ``ItemVocabulary`` of a simulated catalog: id ``item_<j>`` has index ``j + 2``.

    Args:
      num_items: catalog size.

    Returns:
      A :class:`tfrec.data.ItemVocabulary`.
    """
    from tfrec.data import ItemVocabulary  # local: tfrec.data loads pandas

    ids = np.array([f"item_{j}" for j in range(num_items)])
    vocab = ItemVocabulary(ids)
    if not np.array_equal(vocab.lookup(ids), np.arange(num_items) + FIRST_ITEM_INDEX):
        raise RuntimeError("ItemVocabulary did not keep the catalog order.")
    return vocab


def left_pad(windows: np.ndarray, max_len: int) -> np.ndarray:
    """Left-pads (or left-truncates) item-index windows to ``max_len`` columns.

    Args:
      windows: int ``[n, L]`` item indices, most recent last.
      max_len: output width.

    Returns:
      int32 ``[n, max_len]``: the last ``max_len`` items, padded with ``PAD_INDEX`` on the left.
    """
    windows = np.asarray(windows, dtype=np.int32)
    out = np.full((windows.shape[0], max_len), PAD_INDEX, np.int32)
    width = min(max_len, windows.shape[1])
    if width:
        out[:, max_len - width :] = windows[:, windows.shape[1] - width :]
    return out


class SlateEnvironment(py_environment.PyEnvironment, abc.ABC):
    """Batched slate environment with independent per-element episodes.

    Args:
      num_items: catalog size ``N`` (vocabulary size ``N + 2``).
      config: the simulator's config (kept as ``self.config``); it holds ``slate_size`` (``k``,
        items per recommended slate), ``max_len`` (width of the observed history window) and
        ``max_steps`` (step cap of an episode: truncation, discount 1).
      batch_size: ``B``, users simulated in parallel.
      seed: seed of the environment's random generator.
    """

    def __init__(self, num_items: int, config: Any, batch_size: int, seed: int | None):
        super().__init__(handle_auto_reset=False)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if config.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {config.max_steps}.")
        self.config = config
        self._num_items = int(num_items)
        self._vocab_size = self._num_items + NUM_RESERVED
        self._slate_size = int(config.slate_size)
        self._max_len = int(config.max_len)
        self._max_steps = int(config.max_steps)
        self._batch_size = int(batch_size)
        self._observation_spec = history_spec(self._max_len, self._vocab_size)
        self._action_spec = slate_action_spec(self._slate_size, self._vocab_size)
        self._rng = np.random.default_rng(seed)
        self._vocabulary = None
        b = self._batch_size
        self._history = np.zeros((b, self._max_len), np.int32)
        self._steps = np.zeros(b, np.int64)
        self._step_type = np.full(b, _FIRST, np.int32)
        self._info = {
            "clicked_item": np.zeros(b, np.int32),
            "click_position": np.full(b, -1, np.int32),
        }

    # -- TF-Agents interface ----------------------------------------------------------------
    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def observation_spec(self) -> array_spec.BoundedArraySpec:
        return self._observation_spec

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return self._action_spec

    def get_info(self) -> dict[str, np.ndarray]:
        """``{"clicked_item": int32 [B] (0 = none), "click_position": int32 [B] (-1 = none)}``."""
        return {k: v.copy() for k, v in self._info.items()}

    def get_state(self) -> dict[str, Any]:
        """A deep copy of the simulator's state (users, histories, random generator, step counts).

        With :meth:`set_state` it lets a training loop checkpoint and resume a simulation exactly
        (``tfrec.training.online.train_in_simulator``).
        """
        return copy.deepcopy(vars(self))

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`get_state` returned (on an environment of the same configuration)."""
        vars(self).update(copy.deepcopy(state))

    def seed(self, seed: int | None) -> None:
        """Re-seeds the random generator (takes effect from the next reset/step)."""
        self._rng = np.random.default_rng(seed)

    # -- contract properties ----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of item indices including the reserved 0 (pad) and 1 (OOV)."""
        return self._vocab_size

    @property
    def num_items(self) -> int:
        """Catalog size ``N``."""
        return self._num_items

    @property
    def max_len(self) -> int:
        """Width of the observed history window."""
        return self._max_len

    @property
    def slate_size(self) -> int:
        """Items per slate ``k``."""
        return self._slate_size

    @property
    def max_steps(self) -> int:
        """Step cap of an episode."""
        return self._max_steps

    @property
    def vocabulary(self) -> Any:
        """:class:`tfrec.data.ItemVocabulary` over ``item_<j>`` (index ``j + 2``)."""
        if self._vocabulary is None:
            self._vocabulary = catalog_vocabulary(self._num_items)
        return self._vocabulary

    @property
    def steps_taken(self) -> np.ndarray:
        """int64 ``[B]`` steps taken in each element's current episode."""
        return self._steps.copy()

    # -- simulator hooks --------------------------------------------------------------------
    @abc.abstractmethod
    def _start_users(self, users: np.ndarray) -> np.ndarray:
        """Starts new users in the given batch slots.

        Args:
          users: int ``[n]`` batch indices.

        Returns:
          int32 ``[n, max_len]`` their initial observed history (see :func:`left_pad`).
        """

    @abc.abstractmethod
    def _respond(
        self, users: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lets users react to slates and updates their state.

        Args:
          users: int ``[n]`` batch indices of the users in an episode.
          rows: int ``[n, k]`` catalog rows (item index - 2) of their slates.

        Returns:
          ``(position int32 [n] (-1 = no click), reward float32 [n], terminated bool [n])``.
        """

    # -- mechanics --------------------------------------------------------------------------
    def _restart(self, users: np.ndarray) -> None:
        self._history[users] = self._start_users(users)
        self._steps[users] = 0
        self._step_type[users] = _FIRST

    def _time_step(self, reward: np.ndarray, discount: np.ndarray) -> ts.TimeStep:
        return ts.TimeStep(
            step_type=self._step_type.copy(),
            reward=reward,
            discount=discount,
            observation=self._history.copy(),
        )

    def _reset(self) -> ts.TimeStep:
        b = self._batch_size
        self._restart(np.arange(b))
        self._info["clicked_item"][:] = 0
        self._info["click_position"][:] = -1
        return self._time_step(np.zeros(b, np.float32), np.ones(b, np.float32))

    def _check_action(self, action: np.ndarray) -> np.ndarray:
        action = np.asarray(action)
        expected = (self._batch_size, self._slate_size)
        if action.shape != expected:
            raise ValueError(
                f"action must be a slate of item indices shaped [batch_size, slate_size] = "
                f"{list(expected)}, got shape {list(action.shape)}."
            )
        if not np.issubdtype(action.dtype, np.integer):
            raise TypeError(f"action must hold integer item indices, got dtype {action.dtype}.")
        low, high = action.min(), action.max()
        if low < FIRST_ITEM_INDEX or high >= self._vocab_size:
            raise ValueError(
                f"action holds item index {low if low < FIRST_ITEM_INDEX else high}, outside "
                f"[{FIRST_ITEM_INDEX}, {self._vocab_size - 1}] (0 = padding and 1 = OOV are not "
                "recommendable; catalog item j has index j + 2)."
            )
        return action

    def _step(self, action: np.ndarray) -> ts.TimeStep:
        action = self._check_action(action)
        b = self._batch_size
        reward = np.zeros(b, np.float32)
        discount = np.ones(b, np.float32)
        clicked = self._info["clicked_item"]
        position = self._info["click_position"]
        clicked[:] = 0
        position[:] = -1

        ended = self._step_type == _LAST
        active = np.flatnonzero(~ended)
        if active.size:
            slate = action[active]
            pos, rew, terminated = self._respond(active, slate - FIRST_ITEM_INDEX)
            reward[active] = rew
            position[active] = pos
            click = pos >= 0
            users = active[click]
            items = slate[click, pos[click]]
            clicked[users] = items
            window = self._history[users]
            window[:, :-1] = window[:, 1:]
            window[:, -1] = items
            self._history[users] = window
            self._steps[active] += 1
            done = terminated | (self._steps[active] >= self._max_steps)
            self._step_type[active] = np.where(done, _LAST, _MID)
            discount[active] = np.where(terminated, 0.0, 1.0)
        if ended.any():
            self._restart(np.flatnonzero(ended))
        return self._time_step(reward, discount)
