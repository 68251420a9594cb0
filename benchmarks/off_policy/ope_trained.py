"""Part 7: OPE of the trained policy.

IPS / SNIPS / DR of the (d) learner (as k i.i.d. draws from π,
:class:`tfrec.policies.SampledSlatePolicy`) on a popularity-softmax log, against its rollout
value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfrec.environments import run_episodes
from tfrec.evaluation import SlateEpisodes, additive_item_values, evaluate_policy
from tfrec.policies import PopularitySoftmaxPolicy, SampledSlatePolicy, generate_logged_data
from tfrec.training.config import AgentConfig
from tfrec.training.offline import train_from_log

from .estimators import all_estimates, relative_errors
from .settings import Settings, default_env, offline_config

CHUNK = 4096
"""Logged steps whose π is computed at once."""


def _behavior_episodes(
    env: Any, behavior: Any, num_episodes: int
) -> tuple[SlateEpisodes, dict[str, np.ndarray]]:
    """``num_episodes`` rollouts of ``behavior`` as :class:`SlateEpisodes`, histories kept.

    Returns:
      The episodes and, per logged step, ``episode``, ``step``, ``observation`` (the history),
      ``slates`` and ``reward``.
    """
    steps = list(run_episodes(env, behavior, num_episodes, seed=1))
    episode = np.concatenate([b.episode for b in steps])
    step = np.concatenate([b.step for b in steps])
    observation = np.concatenate([b.observation for b in steps])
    slates = np.concatenate([b.action for b in steps])
    reward = np.concatenate([b.reward for b in steps]).astype(np.float64)
    log_beta = np.log(np.concatenate([b.policy_info["slate_propensity"] for b in steps])).sum(1)
    shape = (num_episodes, int(step.max()) + 1)
    grid = {
        "rewards": np.zeros(shape),
        "slates": np.zeros((*shape, env.slate_size), np.int32),
        "mask": np.zeros(shape, bool),
        "behavior_log_probs": np.zeros(shape),
    }
    grid["rewards"][episode, step] = reward
    grid["slates"][episode, step] = slates
    grid["mask"][episode, step] = True
    grid["behavior_log_probs"][episode, step] = log_beta
    episodes = SlateEpisodes(**grid, episode_ids=np.arange(num_episodes))
    logged_steps = {
        "episode": episode,
        "step": step,
        "observation": observation,
        "slates": slates,
        "reward": reward,
    }
    return episodes, logged_steps


def ope_of_trained_policy(settings: Settings) -> dict[str, Any]:
    """Part 7: IPS / SNIPS / DR of the trained top-K policy on part 1's behaviour log.

    The (d) learner of part 2 (seed 0, default behaviour log) is turned into the stochastic
    policy "k i.i.d. draws from π(·|history)"; its true value comes from rollouts, its estimates
    from a popularity-softmax (τ = 1) impression log of ``ope_episodes`` episodes whose
    histories are kept, so that ``π(slate_t | history_t)`` is exact at every logged step.
    """
    env = default_env(0)
    vocab = env.vocabulary
    popularity = env.item_popularity()
    logged = generate_logged_data(
        env, settings.log_episodes, temperature=0.5, popularity=popularity, seed=11
    )
    trained = train_from_log(
        logged.log,
        AgentConfig(slate_size=env.slate_size, correction="topk"),
        settings.encoder,
        offline_config(settings, 0),
        vocabulary=vocab,
    )
    target = SampledSlatePolicy(
        env.time_step_spec(), env.action_spec(), trained.agent.actor_network, seed=2
    )
    truth = evaluate_policy(env, target, settings.truth_episodes, seed=3, name="target")
    behavior = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), popularity, 1.0, seed=1
    )
    episodes, logged_steps = _behavior_episodes(env, behavior, settings.ope_episodes)
    episode, step = logged_steps["episode"], logged_steps["step"]
    slates = logged_steps["slates"]
    item_values, g_next = additive_item_values(episodes, vocab.size)
    log_pi = np.zeros(episodes.mask.shape)
    expected_value = np.zeros(episodes.mask.shape)  # k * π_t . c
    for start in range(0, len(step), CHUNK):
        part = slice(start, start + CHUNK)
        probs = target.item_probabilities(logged_steps["observation"][part])
        rows = np.arange(probs.shape[0])[:, None]
        with np.errstate(divide="ignore"):
            log_pi[episode[part], step[part]] = np.log(probs[rows, slates[part]]).sum(1)
        expected_value[episode[part], step[part]] = env.slate_size * probs @ item_values
    data = episodes.off_policy_data(log_pi)
    logged_q = np.where(episodes.mask, item_values[episodes.slates].sum(-1) + g_next, 0.0)
    target_v = np.where(episodes.mask, expected_value + g_next, 0.0)
    estimates = all_estimates(data, logged_q, target_v)
    behavior_value = float(np.bincount(episode, logged_steps["reward"]).mean())
    row: dict[str, Any] = {
        "target": "(d) top-K, k i.i.d. draws from π",
        "true_value": truth.mean_return,
        "true_half_width": truth.return_half_width,
        "behavior_value": behavior_value,
        "naive_rel_error": (behavior_value - truth.mean_return) / truth.mean_return,
        "ess": estimates["ips"].effective_sample_size,
        "ope_episodes": settings.ope_episodes,
    }
    row.update(relative_errors(estimates, truth.mean_return))
    return row
