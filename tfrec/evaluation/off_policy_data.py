"""Logged data for off-policy estimation: rewards and the importance ratios of the logged actions.

:class:`OffPolicyData` holds validated arrays in one of two forms, chosen by their shape:

* **per-step** (contextual bandit), ``[num_rows]``: each row is one independent decision;
* **per-trajectory**, ``[num_episodes, num_steps]`` (+ ``mask``): each row is one episode, padded
  after its end.

Build it from the probabilities (:meth:`OffPolicyData.from_probs`) or log-probabilities
(:meth:`OffPolicyData.from_log_probs`) of the logged actions under the target and the behaviour
policy; the estimators of :mod:`tfrec.evaluation.off_policy` read it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["OffPolicyData"]


def _as_float_array(name: str, x: object) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}: {err}") from err
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape [num_rows] (per-step) or [num_episodes, num_steps] "
            f"(per-trajectory), got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): there is nothing to estimate.")
    return arr


def _check_finite(name: str, arr: np.ndarray, mask: np.ndarray) -> None:
    bad = ~np.isfinite(arr) & mask
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (first at index {index}: "
            f"{arr[index]}); drop those rows or fill them before estimating."
        )


@dataclasses.dataclass(frozen=True)
class OffPolicyData:
    """Validated logged data for off-policy estimation.

    Build it with :meth:`from_probs` or :meth:`from_log_probs`; the constructor is not meant to
    be called directly.

    Attributes:
      rewards: float64 ``[n]`` or ``[num_episodes, num_steps]``; 0 where masked.
      ratios: importance ratios ``pi(a|s) / beta(a|s)`` of the logged actions, same shape;
        1 where masked (so per-decision products stay constant after an episode ends).
      mask: bool, same shape; True for real steps.
    """

    rewards: np.ndarray
    ratios: np.ndarray
    mask: np.ndarray

    @property
    def per_trajectory(self) -> bool:
        """True for the ``[num_episodes, num_steps]`` form."""
        return self.rewards.ndim == 2

    @property
    def num_units(self) -> int:
        """Number of independent units: rows (per-step) or episodes (per-trajectory)."""
        return int(self.rewards.shape[0])

    @classmethod
    def from_log_probs(
        cls,
        rewards: np.ndarray,
        target_log_probs: np.ndarray,
        behavior_log_probs: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> OffPolicyData:
        """Builds the data from log-probabilities of the logged actions.

        Log-probabilities avoid underflow for slates, whose probabilities can be tiny.

        Args:
          rewards: ``[n]`` or ``[num_episodes, num_steps]`` observed rewards.
          target_log_probs: same shape, ``log pi(a|s)`` of the logged action under the target
            policy (``-inf`` allowed: the target never takes that action).
          behavior_log_probs: same shape, ``log beta(a|s)`` (the logged propensity); must be
            finite (the behaviour policy took the action, so its probability is > 0).
          mask: optional bool/0-1 array of the same shape, True for real steps (per-trajectory
            padding after an episode ends is False).

        Returns:
          The validated :class:`OffPolicyData`.

        Raises:
          ValueError: on mismatched shapes, non-finite rewards or behaviour log-probabilities,
            or positive log-probabilities.
        """
        r, lp, lb, m = cls._arrays(
            rewards,
            mask,
            ("target_log_probs", target_log_probs),
            ("behavior_log_probs", behavior_log_probs),
        )
        _check_finite("behavior_log_probs (log propensities)", lb, m)
        if np.isnan(lp[m]).any():
            raise ValueError("target_log_probs contains NaN; every logged action needs a value.")
        for name, arr in (("target_log_probs", lp), ("behavior_log_probs", lb)):
            if (arr[m] > 1e-6).any():
                raise ValueError(
                    f"{name} has positive values (max {arr[m].max():.3g}): pass "
                    "log-probabilities (<= 0), not logits or probabilities."
                )
        ratios = np.where(m, np.exp(np.where(m, lp - lb, 0.0)), 1.0)
        return cls(rewards=np.where(m, r, 0.0), ratios=ratios, mask=m)

    @classmethod
    def from_probs(
        cls,
        rewards: np.ndarray,
        target_probs: np.ndarray,
        behavior_probs: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> OffPolicyData:
        """Builds the data from probabilities of the logged actions.

        Args:
          rewards: ``[n]`` or ``[num_episodes, num_steps]`` observed rewards.
          target_probs: same shape, ``pi(a|s)`` of the logged action under the target policy,
            in ``[0, 1]``.
          behavior_probs: same shape, ``beta(a|s)``, the logged propensity, in ``(0, 1]``.
          mask: optional bool/0-1 array of the same shape, True for real steps.

        Returns:
          The validated :class:`OffPolicyData`.

        Raises:
          ValueError: on mismatched shapes, probabilities outside their range, or a zero or
            negative propensity (which makes importance weighting impossible).
        """
        r, p, b, m = cls._arrays(
            rewards, mask, ("target_probs", target_probs), ("behavior_probs", behavior_probs)
        )
        _check_finite("target_probs", p, m)
        _check_finite("behavior_probs (propensities)", b, m)
        bad = m & (b <= 0.0)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"behavior_probs has {int(bad.sum())} zero or negative propensities (first at "
                f"index {index}: {b[index]}). A logged action must have had a positive "
                "probability under the behaviour policy; fix the logging or drop those rows."
            )
        for name, arr in (("target_probs", p), ("behavior_probs", b)):
            if ((arr[m] < 0.0) | (arr[m] > 1.0 + 1e-6)).any():
                raise ValueError(
                    f"{name} must be probabilities in [0, 1], got range "
                    f"[{arr[m].min():.3g}, {arr[m].max():.3g}]."
                )
        ratios = np.where(m, p / np.where(m, b, 1.0), 1.0)
        return cls(rewards=np.where(m, r, 0.0), ratios=ratios, mask=m)

    @classmethod
    def _arrays(
        cls,
        rewards: object,
        mask: np.ndarray | None,
        target: tuple[str, object],
        behavior: tuple[str, object],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """float64 rewards, target and behaviour arrays and the bool mask: one shape, finite
        rewards (``target`` / ``behavior``: ``(argument name, values)``)."""
        r = _as_float_array("rewards", rewards)
        t = _as_float_array(*target)
        b = _as_float_array(*behavior)
        m = cls._mask(mask, r.shape)
        cls._check_shapes(r=r, target=t, behavior=b)
        _check_finite("rewards", r, m)
        return r, t, b, m

    @staticmethod
    def _mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        if mask is None:
            return np.ones(shape, dtype=bool)
        m = np.asarray(mask)
        if m.shape != shape:
            raise ValueError(f"mask has shape {m.shape}, but rewards have shape {shape}.")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("mask must be boolean or 0/1.")
        m = m.astype(bool)
        if len(shape) == 1 and not m.all():
            raise ValueError(
                "a per-step (1-D) mask must be all True: drop the masked rows instead."
            )
        return m

    @staticmethod
    def _check_shapes(**arrays: np.ndarray) -> None:
        shapes = {name: a.shape for name, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"rewards and probabilities must have the same shape, got {shapes}.")

    def take(self, units: np.ndarray) -> OffPolicyData:
        """The data of the given unit indices (rows or episodes), e.g. a bootstrap resample."""
        return OffPolicyData(self.rewards[units], self.ratios[units], self.mask[units])

    def step_values(self, name: str, values: object) -> np.ndarray:
        """Checks one value per logged step (e.g. a reward model's prediction), 0 where masked.

        Args:
          name: the argument's name, for the error message.
          values: ``[n]`` or ``[num_episodes, num_steps]``, the data's shape.

        Returns:
          float64 array of the data's shape, 0 on masked steps.

        Raises:
          ValueError: if the shape differs from the data's or a real step's value is not finite.
        """
        arr = _as_float_array(name, values)
        if arr.shape != self.rewards.shape:
            raise ValueError(
                f"{name} has shape {arr.shape}, but the data has shape {self.rewards.shape}: "
                "give one reward-model prediction per logged step."
            )
        _check_finite(name, arr, self.mask)
        return np.where(self.mask, arr, 0.0)
