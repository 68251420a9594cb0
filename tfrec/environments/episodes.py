"""Running a fixed number of complete episodes of a policy on a batched slate environment.

Shared by evaluation (:func:`tfrec.evaluation.rollouts.evaluate_policy`) and logged-data
generation (:func:`tfrec.policies.generate_logged_data`). Episodes are selected without
length bias: episode ``r`` of batch slot ``i`` has the global id ``r * B + i`` and is included
iff that id is ``< num_episodes`` (slots are i.i.d., so this does not favour the short episodes
that finish first, unlike "stop after the first ``n`` finished episodes").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
from tf_agents.policies import py_policy, py_tf_eager_policy, tf_policy
from tf_agents.trajectories import time_step as ts


@dataclasses.dataclass(frozen=True)
class StepBatch:
    """One environment step of the included, running episodes (``n`` of the ``B`` slots).

    Attributes:
      episode: int64 ``[n]`` global episode ids.
      step: int64 ``[n]`` 0-based step index inside the episode.
      observation: int32 ``[n, max_len]`` history before the step.
      action: int32 ``[n, k]`` the slate shown.
      reward: float32 ``[n]``.
      last: bool ``[n]`` whether the episode ended with this step.
      clicked_item: int32 ``[n]`` clicked item index (0 = none).
      click_position: int32 ``[n]`` clicked slate position (-1 = none).
      policy_info: the policy's ``PolicyStep.info`` entries that are arrays with a leading batch
        dimension ``B``, restricted to the ``n`` slots (e.g. the behaviour policies'
        ``"slate_propensity"`` float64 ``[n, k]``); empty for policies without such info.
    """

    episode: np.ndarray
    step: np.ndarray
    observation: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    last: np.ndarray
    clicked_item: np.ndarray
    click_position: np.ndarray
    policy_info: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def as_py_policy(policy: Any) -> py_policy.PyPolicy:
    """Returns ``policy`` as a py policy (TF policies: ``PyTFEagerPolicy``, no extra batching).

    Args:
      policy: a TF-Agents ``PyPolicy`` or ``TFPolicy``.

    Returns:
      A ``PyPolicy`` that takes batched numpy time steps.
    """
    if isinstance(policy, py_policy.PyPolicy):
        return policy
    if isinstance(policy, tf_policy.TFPolicy):
        # The environments are batched: time steps already carry the batch dimension.
        return py_tf_eager_policy.PyTFEagerPolicy(
            policy, use_tf_function=True, batch_time_steps=False
        )
    raise TypeError(
        f"policy must be a TF-Agents PyPolicy or TFPolicy, got {type(policy).__name__}; wrap a "
        "Keras model in a policy (e.g. tfrec.policies) first."
    )


def _batched_info(info: Any, batch_size: int, keep: np.ndarray) -> dict[str, np.ndarray]:
    """Entries of a dict ``PolicyStep.info`` with leading dimension ``batch_size``, at ``keep``."""
    if not isinstance(info, dict):
        return {}
    out = {}
    for key, value in info.items():
        value = np.asarray(value)
        if value.ndim >= 1 and value.shape[0] == batch_size:
            out[key] = value[keep]
    return out


def run_episodes(
    env: Any,
    policy: Any,
    num_episodes: int,
    seed: int | None = 0,
    max_total_steps: int | None = None,
) -> Iterator[StepBatch]:
    """Steps ``env`` with ``policy`` until ``num_episodes`` episodes are complete.

    Args:
      env: a batched tfrec environment (batched ``PyEnvironment`` with ``get_info()``); it is
        re-seeded with ``seed`` (unless None) and reset.
      policy: ``PyPolicy`` or ``TFPolicy`` taking the environment's batched time steps.
      num_episodes: number of complete episodes (>= 1).
      seed: environment seed.
      max_total_steps: safety cap on environment steps (default:
        ``2 * (ceil(num_episodes / B) + 1) * (env.max_steps + 1)``).

    Yields:
      A :class:`StepBatch` per environment step (slots not included or restarting are left out).

    Raises:
      RuntimeError: the cap was reached before all episodes ended.
    """
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}.")
    if not getattr(env, "batched", False):
        raise ValueError(
            f"{type(env).__name__} is not a batched environment; tfrec rollouts need one "
            "(e.g. InterestEvolutionEnv(batch_size=...))."
        )
    py_pol = as_py_policy(policy)
    b = env.batch_size
    if max_total_steps is None:
        max_total_steps = 2 * (-(-num_episodes // b) + 1) * (getattr(env, "max_steps", 1000) + 1)
    if seed is not None:
        env.seed(seed)
    time_step = env.reset()
    policy_state = py_pol.get_initial_state(b)
    slots = np.arange(b)
    episode = slots.astype(np.int64)  # global id of the running episode in each slot
    step = np.zeros(b, np.int64)
    finished = 0
    for _ in range(max_total_steps):
        if finished >= num_episodes:
            return
        out = py_pol.action(time_step, policy_state)
        policy_state = out.state
        action = np.asarray(out.action)
        # Slots whose previous step was LAST restart now (their action is ignored).
        acting = (episode < num_episodes) & (time_step.step_type != ts.StepType.LAST)
        observation = time_step.observation
        time_step = env.step(action)
        info = env.get_info()
        last = time_step.step_type == ts.StepType.LAST
        yield StepBatch(
            episode=episode[acting],
            step=step[acting],
            observation=observation[acting],
            action=action[acting],
            reward=time_step.reward[acting],
            last=last[acting],
            clicked_item=info["clicked_item"][acting],
            click_position=info["click_position"][acting],
            policy_info=_batched_info(out.info, b, acting),
        )
        step[acting] += 1
        done = acting & last
        finished += int(done.sum())
        episode[done] += b
        step[done] = 0
    if finished < num_episodes:
        raise RuntimeError(
            f"stopped after {max_total_steps} environment steps with {finished}/{num_episodes} "
            "episodes finished: the environment does not end episodes (check its step cap), or "
            "raise max_total_steps."
        )
