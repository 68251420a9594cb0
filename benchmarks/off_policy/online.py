"""Part 3: the online training curve.

REINFORCE (top-K correction) trained in the simulator with the Boltzmann collect policy; the
greedy policy's return against the far-sighted reference, saved as a PNG
(:func:`tfrec.plots.plot_return_curve`). Ablations: ``--online-gamma`` and ``--online-reward
budget-shaped`` (train on the far-sighted oracle's per-click value, evaluate on the true return).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import tensorflow as tf

from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation import clickbait_shares, evaluate_policy
from tfrec.plots import plot_return_curve
from tfrec.policies import far_sighted_policy, oracle_myopic_policy, random_slate_policy
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.config import AgentConfig, OnlineConfig
from tfrec.training.online import train_in_simulator

from .behavior import BudgetShapedEnv
from .settings import Settings

ONLINE_RECIPE = {"train_steps_per_iteration": 2, "max_steps": 50, "buffer_capacity": 500}
"""Part 3's online training, beside ``OnlineConfig``'s defaults (10 collect steps, batch 32)."""
EVAL_EPISODES = 128
"""Episodes of each evaluation during training."""


def online_curve(
    settings: Settings, plot: Path | None, gamma: float = 0.9, reward: str = "engagement"
) -> dict[str, Any]:
    """Part 3: online REINFORCE (top-K) learning curve vs the far-sighted reference.

    Args:
      settings: sizes.
      plot: where to save the curve (None: no plot).
      gamma: the agent's discount.
      reward: ``"engagement"`` (the simulator's reward) or ``"budget-shaped"`` (train on
        :class:`~off_policy.behavior.BudgetShapedEnv`; evaluation always uses the true return).
    """
    env_class = BudgetShapedEnv if reward == "budget-shaped" else InterestEvolutionEnv
    env = env_class(InterestEvolutionConfig(), batch_size=32, seed=0)
    eval_env = InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=64, seed=1)
    tf.keras.utils.set_random_seed(0)
    encoder = build_encoder(settings.encoder, env.vocab_size)
    agent = build_agent(
        AgentConfig(
            slate_size=env.slate_size,
            correction="topk",
            learning_rate=3e-3,
            gamma=gamma,
            experience="clicks",
        ),
        encoder,
        settings.encoder.max_len,
    )
    start = time.perf_counter()
    history = train_in_simulator(
        agent,
        env,
        OnlineConfig(
            num_iterations=settings.online_iterations,
            eval_every=max(settings.online_iterations // 10, 1),
            eval_episodes=EVAL_EPISODES,
            progress=False,
            **ONLINE_RECIPE,
        ),
        eval_env=eval_env,
    )
    seconds = time.perf_counter() - start
    reference = evaluate_policy(eval_env, far_sighted_policy(eval_env), 512, seed=99)
    random_ref = evaluate_policy(
        eval_env,
        random_slate_policy(eval_env.time_step_spec(), eval_env.action_spec(), seed=0),
        512,
        seed=99,
    )
    myopic = evaluate_policy(eval_env, oracle_myopic_policy(eval_env), 512, seed=99)
    learned_bait = clickbait_shares(eval_env, agent.policy, 256)
    steps = [int(s) for s in history.eval_steps]
    returns = [float(r) for r in history.eval_returns]
    if plot is not None:
        plot_return_curve(
            steps,
            returns,
            plot,
            references={
                "far-sighted reference": reference.mean_return,
                "oracle-myopic": myopic.mean_return,
                "random slates": random_ref.mean_return,
            },
            title=f"Online training on the default simulator (gamma={gamma:g}, reward={reward})",
            label="REINFORCE top-K (online, greedy eval)",
            ylabel="mean episode return (engagement minutes)",
        )
    return {
        "gamma": gamma,
        "reward": reward,
        "iterations": settings.online_iterations,
        "steps": steps,
        "returns": returns,
        "final_return": returns[-1],
        "best_return": max(returns),
        "far_sighted_return": reference.mean_return,
        "random_return": random_ref.mean_return,
        "oracle_myopic_return": myopic.mean_return,
        "final_fraction_of_reference": returns[-1] / reference.mean_return,
        "final_fraction_of_oracle_myopic": returns[-1] / myopic.mean_return,
        "learned_clickbait_share_shown": learned_bait["shown"],
        "learned_clickbait_share_clicked": learned_bait["clicked"],
        "seconds": seconds,
    }
