"""Off-policy correction benchmark (Chen et al., WSDM 2019, arXiv 1812.02353) on the simulator.

Usage::

    .venv/bin/python benchmarks/off_policy_correction.py [--quick] [--seeds 5] [--plot PATH]

Eight parts, on the default ``InterestEvolutionEnv`` (1,000 items, slates of K = 5) except part 5:

1. **Off-policy estimators vs truth.** An impression log of the popularity-softmax behaviour
   policy; for several target policies (slates of i.i.d. draws from another item distribution)
   IPS / capped IPS / SNIPS / DR (per-decision, exact slate ratios) and the one-step
   approximation are compared with the target's true value from simulator rollouts.
2. **Learning from biased logs.** A click log of a biased behaviour policy (popularity softmax
   at ``--behavior-temperature``); per seed, trains (a) the supervised next-item Transformer,
   (b) REINFORCE without correction, (c) with the capped π/β correction, (d) with the top-K
   correction (K = slate size), all from scratch with the same encoder; evaluates each greedy
   top-K policy online (mean return over ``--eval-episodes`` episodes) and by NDCG@10 on
   held-out logged episodes. The table gives the mean over seeds ± the 95% t-interval of that
   mean (seed-to-seed variation), next to the reference policies, and statistics of the π/β
   weights on the training log (ESS, capped fraction). ``--behavior personalized`` logs with
   :class:`~tfrec.environments.PersonalizedSoftmaxPolicy` instead (user-dependent, biased).
3. **Online training curve.** REINFORCE (top-K correction) trained in the simulator with the
   Boltzmann collect policy; the greedy policy's return against the far-sighted reference;
   saved as a PNG. Ablations: ``--online-gamma`` and ``--online-reward budget-shaped`` (train on
   the far-sighted oracle's per-click value, evaluate on the true return).
4. **Step time at scale.** One training step of the agent (sampled softmax above 100k items) at
   a 10k-item and a 1M-item catalog (median of timed steps after warm-up), with the default
   Adam optimizer and with Adagrad (whose sparse update touches only the rows in the batch).
5. **A peaked policy.** (c) and (d) again on a 50-item catalog, where π can concentrate and the
   top-K multiplier ``λ_K = K (1 - π)^(K-1)`` differs from ``K``: return, mean max π and
   ``λ_K / K`` of π's top item.
6. **What a history-only policy can reach.** Oracles that know the items but not the user's
   interests, or estimate them from the observed history, myopic and far-sighted.
7. **OPE of the trained policy.** IPS / SNIPS / DR of the (d) learner (as k i.i.d. draws from
   π) on a popularity-softmax log, against its rollout value.
8. **What the training logs hold.** Clickbait share of the logged clicks and how much of the
   return's variance the clicked item explains; clickbait share of the oracles' slates.

The machine may be shared: the load average is printed. The very last line is one JSON object
with every figure of the tables.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads (as tfrec does)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tf_agents.policies import py_policy  # noqa: E402
from tf_agents.trajectories import policy_step  # noqa: E402
from tf_agents.utils import common  # noqa: E402

from tfrec.agents.corrections import DEFAULT_WEIGHT_CAP, topk_multiplier  # noqa: E402
from tfrec.data import (  # noqa: E402
    ItemVocabulary,
    build_sequences,
    generate_log,
    leave_last_out,
    session_dataset,
)
from tfrec.environments import (  # noqa: E402
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    run_episodes,
)
from tfrec.evaluation.off_policy import (  # noqa: E402
    OffPolicyOptions,
    capped_ips,
    doubly_robust,
    ips,
    snips,
)
from tfrec.evaluation.ranking import evaluate_ranking  # noqa: E402
from tfrec.evaluation.rollouts import (  # noqa: E402
    clickbait_shares,
    evaluate_policy,
    mean_confidence_interval,
)
from tfrec.evaluation.slate_episodes import (  # noqa: E402
    SlateEpisodes,
    additive_item_values,
    additive_slate_model,
    independent_slate_log_probs,
)
from tfrec.networks.actor import ActorNetwork  # noqa: E402
from tfrec.policies import (  # noqa: E402
    PersonalizedSoftmaxPolicy,
    PopularitySoftmaxPolicy,
    generate_logged_data,
)
from tfrec.policies.reference import (  # noqa: E402
    HistoryInferredOracle,
    MostPopularPolicy,
    OraclePolicy,
    UserBlindView,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)
from tfrec.policies.topk import GreedyTopKPolicy  # noqa: E402
from tfrec.specs import time_step_spec  # noqa: E402
from tfrec.training.builders import build_agent, build_encoder  # noqa: E402
from tfrec.training.config import (  # noqa: E402
    AgentConfig,
    EncoderConfig,
    OfflineConfig,
    OnlineConfig,
)
from tfrec.training.offline import train_from_log  # noqa: E402
from tfrec.training.online import train_in_simulator  # noqa: E402
from tfrec.training.supervised import SupervisedConfig, train_next_item_model  # noqa: E402

BATCH = 256
METHODS = {
    "(b) REINFORCE, no correction": "none",
    "(c) REINFORCE, pi/beta": "importance",
    "(d) REINFORCE, top-K": "topk",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` shrinks them)."""

    seeds: int
    ope_episodes: int
    truth_episodes: int
    log_episodes: int
    heldout_episodes: int
    eval_episodes: int
    offline_steps: int
    supervised_epochs: int
    online_iterations: int
    timing_steps: int
    first_seed: int = 0
    encoder: EncoderConfig = EncoderConfig(max_len=20, dim=32, num_layers=1, num_heads=2)


FULL = Settings(
    seeds=5,
    ope_episodes=10_000,
    truth_episodes=5_000,
    log_episodes=3_000,
    heldout_episodes=500,
    eval_episodes=512,
    offline_steps=300,
    supervised_epochs=8,
    online_iterations=150,
    timing_steps=5,
)
QUICK = dataclasses.replace(
    FULL,
    seeds=2,
    ope_episodes=3_000,
    truth_episodes=2_000,
    log_episodes=1_000,
    heldout_episodes=300,
    eval_episodes=256,
    offline_steps=60,
    supervised_epochs=2,
    online_iterations=20,
    timing_steps=2,
)


def default_env(seed: int) -> InterestEvolutionEnv:
    """The default simulator with a batch of ``BATCH`` users."""
    return InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=BATCH, seed=seed)


@dataclasses.dataclass(frozen=True)
class Behavior:
    """The logging policy of part 2 (``--behavior`` and its weights)."""

    kind: str = "popularity"
    temperature: float = 0.5
    interest_weight: float = 1.0
    popularity_weight: float = 1.0

    def policy(self, env: InterestEvolutionEnv, popularity: np.ndarray, seed: int) -> Any:
        """The behaviour policy on ``env`` (the personalised one reads ``env``'s users)."""
        if self.kind == "personalized":
            return PersonalizedSoftmaxPolicy(
                env, popularity, self.interest_weight, self.popularity_weight, seed=seed
            )
        return PopularitySoftmaxPolicy(
            env.time_step_spec(), env.action_spec(), popularity, self.temperature, seed=seed
        )

    def describe(self) -> str:
        if self.kind == "personalized":
            return (
                f"personalised softmax({self.interest_weight:g} * click logit + "
                f"{self.popularity_weight:g} * log popularity)"
            )
        return f"popularity softmax, tau={self.temperature:g}"


class BudgetShapedEnv(InterestEvolutionEnv):
    """The default simulator whose reward is the far-sighted oracle's per-step value.

    A click on item ``j`` earns ``reward_j + (budget_effect_j - no_click_budget_effect)``, a step
    without a click 0: exactly the values :func:`far_sighted_policy` maximises step by step
    (``budget_value = 1``), so the budget refund of a high-quality item is paid *at the click*
    instead of as a longer session later. Training on it and evaluating on the true return
    separates "cannot plan the budget" from "cannot infer the user from the history".
    """

    def _respond(
        self, users: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position, reward, done = super()._respond(users, rows)
        clicked = rows[np.arange(users.size), np.maximum(position, 0)]
        bonus = self.item_budget_effects()[clicked] - self.no_click_budget_effect
        return position, (reward + np.where(position >= 0, bonus, 0.0)).astype(np.float32), done


# ------------------------------------------------------------------------------ part 1: OPE


def all_estimates(data: Any, logged_q: np.ndarray, target_v: np.ndarray) -> dict[str, Any]:
    """IPS, capped IPS, SNIPS, doubly robust and one-step SNIPS of one target on one log."""
    return {
        "ips": ips(data),
        "capped_ips": capped_ips(data),
        "snips": snips(data),
        "dr": doubly_robust(data, logged_q, target_v),
        "snips_one_step": snips(data, OffPolicyOptions(ratio_mode="one_step")),
    }


def estimator_accuracy(settings: Settings) -> list[dict[str, Any]]:
    """OPE estimates of several i.i.d.-slate targets against their rollout values."""
    env = default_env(0)
    popularity = env.item_popularity()
    logged = generate_logged_data(
        env, settings.ope_episodes, impressions=True, popularity=popularity, seed=1
    )
    episodes = SlateEpisodes.from_impressions(logged.log, env.vocabulary, env.slate_size)
    behavior = logged.behavior_probabilities
    quality = env.catalog.quality.astype(np.float64)
    targets = {
        "popularity, tau=0.8": popularity ** (1 / 0.8),
        "popularity, tau=0.5": popularity ** (1 / 0.5),
        "quality tilt, a=0.5": behavior * np.exp(0.5 * quality),
        "quality tilt, a=1": behavior * np.exp(1.0 * quality),
        "quality tilt, a=2": behavior * np.exp(2.0 * quality),
    }
    rows = []
    for name, weights in targets.items():
        policy = PopularitySoftmaxPolicy(
            env.time_step_spec(), env.action_spec(), weights / weights.sum(), 1.0, seed=2
        )
        truth = evaluate_policy(env, policy, settings.truth_episodes, seed=3, name=name)
        item_probs = np.concatenate([[0.0, 0.0], policy.probabilities])
        data = episodes.off_policy_data(independent_slate_log_probs(item_probs, episodes.slates))
        logged_q, target_v = additive_slate_model(episodes, item_probs)
        estimates = all_estimates(data, logged_q, target_v)
        row: dict[str, Any] = {
            "target": name,
            "true_value": truth.mean_return,
            "true_half_width": truth.return_half_width,
            "behavior_value": logged.true_value,
            "ess": estimates["ips"].effective_sample_size,
        }
        for key, est in estimates.items():
            row[key] = est.value
            row[f"{key}_half_width"] = est.upper - est.value
            row[f"{key}_rel_error"] = (est.value - truth.mean_return) / truth.mean_return
        row["naive_rel_error"] = (logged.true_value - truth.mean_return) / truth.mean_return
        rows.append(row)
    return rows


# ------------------------------------------------------------------ part 2: biased-log training


def greedy_policy(encoder: tf.keras.Model, env: InterestEvolutionEnv) -> GreedyTopKPolicy:
    """Greedy top-K policy over an encoder's tied-embedding softmax (for the supervised model)."""
    spec = time_step_spec(env.max_len, env.vocab_size)
    network = ActorNetwork(spec.observation, encoder, behavior_head=False)
    return GreedyTopKPolicy(spec, network, env.slate_size)


def heldout_ndcg(scorer: Any, heldout: Any, max_len: int) -> float:
    """NDCG@10 of the last click of each held-out episode given the earlier ones."""
    metrics = evaluate_ranking(scorer, heldout.padded_histories(max_len), heldout.targets, ks=(10,))
    return float(metrics["ndcg@10"])


def concentration(network: ActorNetwork, heldout: Any, max_len: int, k: int) -> dict[str, float]:
    """How peaked π is on held-out histories: mean max π and mean ``λ_K / K`` of its top item.

    ``λ_K(π) = K (1 - π)^(K-1)`` equals ``K`` while ``π ≪ 1/K``: when even the top item's π is
    small, the top-K correction is the π/β correction times a constant.
    """
    histories = tf.constant(heldout.padded_histories(max_len))
    probs = tf.nn.softmax(network(histories, training=False)[0].logits)
    top = tf.reduce_max(probs, axis=-1)
    return {
        "mean_max_pi": float(tf.reduce_mean(top)),
        "mean_top_item_lambda_over_k": float(tf.reduce_mean(topk_multiplier(top, k)) / k),
    }


def weight_statistics(
    network: ActorNetwork, dataset: tf.data.Dataset, k: int, cap: float = DEFAULT_WEIGHT_CAP
) -> dict[str, float]:
    """What the corrections do on the training log under the trained π.

    Over the logged clicks of ``dataset`` (real steps only): π/β at the logged item (median,
    mean, 99th percentile), the fraction of weights above the cap ``c``, and the Kish effective
    sample size, as a fraction of the clicks, of the capped weights ``min(π/β, c)`` and of the
    top-K weights ``λ_K · min(π/β, c)``. ESS/n near 1: the weights barely reweight the log (little
    correction); near 0: a few clicks carry the gradient.
    """
    ratios, lambdas = [], []
    for batch in dataset:
        real = ~batch.is_boundary()
        states = network.states(batch.observation, training=False)
        logits = network.logits_from_states(tf.reshape(states, [-1, network.state_dim]))
        log_pi = -tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(batch.action, [-1]), logits=logits
        )
        log_pi = tf.boolean_mask(log_pi, tf.reshape(real, [-1]))
        log_beta = tf.boolean_mask(batch.policy_info["log_propensity"], real)
        ratios.append(np.exp(log_pi.numpy().astype(np.float64) - log_beta.numpy()))
        lambdas.append(topk_multiplier(tf.exp(log_pi), k).numpy())
    ratio, lam = np.concatenate(ratios), np.concatenate(lambdas)
    capped = np.minimum(ratio, cap)

    def ess_fraction(w: np.ndarray) -> float:
        return float(w.sum() ** 2 / (w.size * (w**2).sum()))

    return {
        "weight_median": float(np.median(ratio)),
        "weight_mean": float(ratio.mean()),
        "weight_p99": float(np.quantile(ratio, 0.99)),
        "fraction_capped": float((ratio > cap).mean()),
        "ess_fraction_capped": ess_fraction(capped),
        "ess_fraction_topk": ess_fraction(capped * lam),
    }


def train_and_evaluate(settings: Settings, behavior: Behavior) -> dict[str, Any]:
    """Part 2: the four learners on a biased click log, per seed."""
    env = default_env(0)
    vocab = env.vocabulary
    popularity = env.item_popularity()
    logged = generate_logged_data(
        env, settings.log_episodes, policy=behavior.policy(env, popularity, 11), seed=11
    )
    heldout_log = generate_logged_data(
        env, settings.heldout_episodes, policy=behavior.policy(env, popularity, 12), seed=12
    )
    diagnostic_batches = session_dataset(
        build_sequences(logged.log, vocab), settings.encoder.max_len, 20, 64, shuffle=False
    ).take(8)
    _, _, heldout = leave_last_out(build_sequences(heldout_log.log, vocab), min_length=3)
    train_seqs, valid, _ = leave_last_out(build_sequences(logged.log, vocab), min_length=3)
    enc = settings.encoder
    max_len = enc.max_len
    results: dict[str, list[dict[str, float]]] = {"(a) supervised Transformer": []}
    results.update({name: [] for name in METHODS})
    eval_env = default_env(1000)
    for seed in range(settings.first_seed, settings.first_seed + settings.seeds):
        tf.keras.utils.set_random_seed(seed)
        model, _ = train_next_item_model(
            train_seqs,
            valid,
            SupervisedConfig(
                encoder=dataclasses.replace(enc, repeat_bias=False, use_output_bias=False),
                learning_rate=1e-3,  # the simulator recipe (tuned at 1e-3; the sequential default is 2e-3)
                epochs=settings.supervised_epochs,
                patience=2,
                seed=seed,
            ),
            vocab.size,
        )
        rollout = evaluate_policy(
            eval_env, greedy_policy(model.encoder, env), settings.eval_episodes, seed=100 + seed
        )
        supervised_bait = clickbait_shares(eval_env, greedy_policy(model.encoder, env), 256)
        results["(a) supervised Transformer"].append(
            {
                "return": rollout.mean_return,
                "clickbait_shown": supervised_bait["shown"],
                "ndcg@10": heldout_ndcg(model.encoder.score_items, heldout, max_len),
            }
        )
        for name, correction in METHODS.items():
            trained = train_from_log(
                logged.log,
                AgentConfig(slate_size=env.slate_size, correction=correction),
                enc,
                OfflineConfig(
                    max_steps=20,
                    batch_size=32,
                    num_train_steps=settings.offline_steps,
                    seed=seed,
                    progress=False,
                ),
                vocabulary=vocab,
            )
            network = trained.agent.actor_network
            rollout = evaluate_policy(
                eval_env, trained.agent.policy, settings.eval_episodes, seed=100 + seed
            )
            bait = clickbait_shares(eval_env, trained.agent.policy, 256)
            results[name].append(
                {
                    "return": rollout.mean_return,
                    "clickbait_shown": bait["shown"],
                    "ndcg@10": heldout_ndcg(
                        lambda h, net=network: net(h, training=False)[0].logits, heldout, max_len
                    ),
                    "final_mean_weight": trained.history.losses["mean_weight"][-1],
                    "final_mean_log_pi": trained.history.losses["mean_log_pi"][-1],
                    **concentration(network, heldout, max_len, env.slate_size),
                    **weight_statistics(network, diagnostic_batches, env.slate_size),
                }
            )
            print(f"  seed {seed} {name}: {results[name][-1]}", flush=True)
        print(f"  seed {seed} (a): {results['(a) supervised Transformer'][-1]}", flush=True)

    spec = (eval_env.time_step_spec(), eval_env.action_spec())
    references = {
        "behaviour (logging) policy": behavior.policy(eval_env, popularity, 5),
        "random": random_slate_policy(*spec, seed=5),
        "most-popular": MostPopularPolicy(*spec, popularity),
        "oracle-myopic": oracle_myopic_policy(eval_env),
        "far-sighted reference": far_sighted_policy(eval_env),
    }
    reference_rows = {}
    for name, policy in references.items():
        r = evaluate_policy(eval_env, policy, settings.eval_episodes * 2, seed=99, name=name)
        reference_rows[name] = {
            "return": r.mean_return,
            "lower": r.return_lower,
            "upper": r.return_upper,
        }
    summary = {}
    for name, per_seed in results.items():
        returns = np.array([r["return"] for r in per_seed])
        ndcgs = np.array([r["ndcg@10"] for r in per_seed])
        row = {"per_seed_return": returns.tolist(), "per_seed_ndcg@10": ndcgs.tolist()}
        for key in (
            "clickbait_shown",
            "final_mean_weight",
            "final_mean_log_pi",
            "mean_max_pi",
            "weight_median",
            "weight_mean",
            "weight_p99",
            "fraction_capped",
            "ess_fraction_capped",
            "ess_fraction_topk",
        ):
            if key in per_seed[0]:
                row[key] = float(np.mean([r[key] for r in per_seed]))
        for key, values in (("return", returns), ("ndcg@10", ndcgs)):
            if len(values) >= 2:
                mean, lower, upper = mean_confidence_interval(values)
            else:
                mean = lower = upper = float(values[0])
            row.update({key: mean, f"{key}_lower": lower, f"{key}_upper": upper})
        summary[name] = row
    log_propensity = logged.log.df["propensity"].to_numpy(np.float64)
    return {
        "behavior": dataclasses.asdict(behavior),
        "behavior_description": behavior.describe(),
        "behavior_temperature": behavior.temperature,
        "log_propensity_median": float(np.median(log_propensity)),
        "log_propensity_max_over_min": float(log_propensity.max() / log_propensity.min()),
        "log_clicks": len(logged.log),
        "log_episodes": settings.log_episodes,
        "behavior_true_value": logged.true_value,
        "learners": summary,
        "references": reference_rows,
    }


# --------------------------------------------------------------------- part 3: online curve


def online_curve(
    settings: Settings, plot: Path | None, gamma: float = 0.9, reward: str = "engagement"
) -> dict[str, Any]:
    """Part 3: online REINFORCE (top-K) learning curve vs the far-sighted reference.

    Args:
      settings: sizes.
      plot: where to save the curve (None: no plot).
      gamma: the agent's discount.
      reward: ``"engagement"`` (the simulator's reward) or ``"budget-shaped"`` (train on
        :class:`BudgetShapedEnv`; evaluation always uses the true return).
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
            collect_steps_per_iteration=10,
            train_steps_per_iteration=2,
            batch_size=32,
            max_steps=50,
            buffer_capacity=500,
            eval_every=max(settings.online_iterations // 10, 1),
            eval_episodes=128,
            progress=False,
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
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        ax.plot(steps, returns, marker="o", label="REINFORCE top-K (online, greedy eval)")
        ax.axhline(reference.mean_return, color="green", ls="--", label="far-sighted reference")
        ax.axhline(myopic.mean_return, color="orange", ls="-.", label="oracle-myopic")
        ax.axhline(random_ref.mean_return, color="gray", ls=":", label="random slates")
        ax.set_xlabel("training steps")
        ax.set_ylabel("mean episode return (engagement minutes)")
        ax.set_title(
            f"Online training on the default simulator (gamma={gamma:g}, reward={reward})",
            fontsize=10,
        )
        ax.legend(loc="center right")
        fig.tight_layout()
        plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot, dpi=120)
        plt.close(fig)
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


# ------------------------------------------------------------- part 6: what history-only can reach


def log_statistics(log: Any, env: InterestEvolutionEnv, gamma: float = 0.9) -> dict[str, float]:
    """What a click log can teach: clickbait share of the clicks, and item signal in the returns.

    ``G_t`` is the discounted return (``gamma``) of each click within its episode, as the
    learners see it. "between-item share" is the fraction of the variance of ``G`` explained by
    the clicked item's identity (its chance level with ``m`` distinct items and ``n`` clicks is
    about ``m / n``).
    """
    df = log.df
    episode = df["user"].str.removeprefix("episode_").astype(int).to_numpy()
    order = np.lexsort((df["timestamp"].to_numpy(), episode))
    episode = episode[order]
    rows = df["item"].str.removeprefix("item_").astype(int).to_numpy()[order]
    reward = df["reward"].to_numpy(np.float64)[order]
    returns = np.zeros(len(reward))
    running = 0.0
    for i in range(len(reward) - 1, -1, -1):
        if i == len(reward) - 1 or episode[i + 1] != episode[i]:
            running = 0.0
        running = reward[i] + gamma * running
        returns[i] = running
    counts = np.bincount(rows, minlength=env.num_items)
    sums = np.bincount(rows, returns, minlength=env.num_items)
    item_mean = np.divide(sums, counts, out=np.zeros(env.num_items), where=counts > 0)
    centred = returns - returns.mean()
    between = float((counts * (item_mean - returns.mean()) ** 2).sum() / (centred**2).sum())
    return {
        "clicks": int(len(rows)),
        "clickbait_share_of_clicks": float(env.catalog.is_clickbait[rows].mean()),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "corr_return_quality": float(np.corrcoef(returns, env.catalog.quality[rows])[0, 1]),
        "between_item_share": between,
        "between_item_chance": float((counts > 0).sum() / len(rows)),
    }


def log_content(settings: Settings, behavior: Behavior) -> dict[str, Any]:
    """Part 8: the content of part 2's training logs (both behaviours) and the oracles' slates."""
    env = default_env(0)
    popularity = env.item_popularity()
    out: dict[str, Any] = {}
    for b in (
        Behavior("popularity", behavior.temperature),
        dataclasses.replace(behavior, kind="personalized"),
    ):
        logged = generate_logged_data(
            env, settings.log_episodes, policy=b.policy(env, popularity, 11), seed=11
        )
        out[b.describe()] = {**log_statistics(logged.log, env), "true_value": logged.true_value}
    eval_env = default_env(1000)
    out["oracles"] = {
        "far-sighted": clickbait_shares(eval_env, far_sighted_policy(eval_env), 512),
        "oracle-myopic": clickbait_shares(eval_env, oracle_myopic_policy(eval_env), 512),
    }
    out["catalog_clickbait_share"] = float(env.catalog.is_clickbait.mean())
    return out


def _print_log_content(part: dict[str, Any]) -> None:
    print("\n== 8. What the training logs hold (G = discounted return of a click, gamma 0.9) ==")
    print(
        f"{'behaviour':62} {'clicks':>7} {'clickbait':>9} {'G mean':>7} {'G std':>6}"
        f" {'corr(G,q)':>9} {'item R2':>8} {'chance':>7}"
    )
    for name, r in part.items():
        if name in ("oracles", "catalog_clickbait_share"):
            continue
        print(
            f"{name:62} {r['clicks']:7d} {r['clickbait_share_of_clicks']:9.1%}"
            f" {r['return_mean']:7.2f} {r['return_std']:6.2f} {r['corr_return_quality']:9.3f}"
            f" {r['between_item_share']:8.3f} {r['between_item_chance']:7.3f}"
        )
    for name, r in part["oracles"].items():
        print(
            f"{name}: clickbait share of shown items {r['shown']:.1%}, of clicks {r['clicked']:.1%}"
        )
    print(f"catalog: {part['catalog_clickbait_share']:.0%} of the items are clickbait")


def reference_bounds(settings: Settings) -> dict[str, dict[str, float]]:
    """Part 6: oracle policies with and without the user's interests, myopic and far-sighted.

    Same evaluation simulator and episodes as part 3's references (seed 1, 512 episodes).
    """
    eval_env = InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=64, seed=1)
    spec = (eval_env.time_step_spec(), eval_env.action_spec())
    blind = UserBlindView(eval_env)
    policies = {
        "far-sighted (true interests)": far_sighted_policy(eval_env),
        "far-sighted, user-blind": OraclePolicy(blind, budget_value=1.0),
        "oracle-myopic (true interests)": oracle_myopic_policy(eval_env),
        "myopic, user-blind": OraclePolicy(blind, budget_value=0.0),
        "far-sighted, interests from history": HistoryInferredOracle(eval_env, 1.0),
        "myopic, interests from history": HistoryInferredOracle(eval_env, 0.0),
        "most-popular": MostPopularPolicy(*spec, eval_env.item_popularity()),
        "random": random_slate_policy(*spec, seed=0),
    }
    out = {}
    for name, policy in policies.items():
        r = evaluate_policy(eval_env, policy, 512, seed=99, name=name)
        out[name] = {"return": r.mean_return, "lower": r.return_lower, "upper": r.return_upper}
    return out


def _print_bounds(part: dict[str, dict[str, float]]) -> None:
    print("\n== 6. Oracles with and without the user's interests (part 3's evaluation) ==")
    for name, r in part.items():
        print(f"{name:34} {r['return']:7.2f} [{r['lower']:6.2f}, {r['upper']:6.2f}]")


# ------------------------------------------------------------ part 7: OPE of the trained policy


class SampledSlatePolicy(py_policy.PyPolicy):
    """Slates of ``k`` items drawn i.i.d. from a trained actor's ``π(·|history)``.

    The stochastic policy an off-policy estimator can evaluate on an i.i.d.-slate log (a greedy
    top-K slate has probability ~0 of appearing in such a log).

    Args:
      network: the trained actor.
      env: the simulator (specs).
      seed: seed of the sampler.
    """

    def __init__(self, network: ActorNetwork, env: InterestEvolutionEnv, seed: int = 0):
        super().__init__(env.time_step_spec(), env.action_spec())
        self._network = network
        self._k = env.slate_size
        self._rng = np.random.default_rng(seed)

    def item_probabilities(self, observation: np.ndarray) -> np.ndarray:
        """float64 ``[n, vocab_size]`` ``π(·|history)`` of histories ``[n, max_len]``."""
        logits = self._network(tf.constant(observation, tf.int32), training=False)[0].logits
        return tf.nn.softmax(tf.cast(logits, tf.float64)).numpy()

    def _action(self, time_step: Any, policy_state: Any) -> policy_step.PolicyStep:
        probs = self.item_probabilities(np.asarray(time_step.observation))
        cumulative = np.cumsum(probs, axis=1)
        u = self._rng.random((probs.shape[0], self._k)) * cumulative[:, -1:]
        items = np.minimum((cumulative[:, None, :] <= u[:, :, None]).sum(-1), probs.shape[1] - 1)
        return policy_step.PolicyStep(items.astype(np.int32), policy_state, ())


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
        OfflineConfig(
            max_steps=20,
            batch_size=32,
            num_train_steps=settings.offline_steps,
            seed=0,
            progress=False,
        ),
        vocabulary=vocab,
    )
    target = SampledSlatePolicy(trained.agent.actor_network, env, seed=2)
    truth = evaluate_policy(env, target, settings.truth_episodes, seed=3, name="target")
    behavior = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), popularity, 1.0, seed=1
    )
    steps = list(run_episodes(env, behavior, settings.ope_episodes, seed=1))
    episode = np.concatenate([b.episode for b in steps])
    step = np.concatenate([b.step for b in steps])
    observation = np.concatenate([b.observation for b in steps])
    slates = np.concatenate([b.action for b in steps])
    reward = np.concatenate([b.reward for b in steps]).astype(np.float64)
    log_beta = np.log(np.concatenate([b.policy_info["slate_propensity"] for b in steps])).sum(1)
    shape = (settings.ope_episodes, int(step.max()) + 1)
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
    episodes = SlateEpisodes(**grid, episode_ids=np.arange(settings.ope_episodes))
    item_values, g_next = additive_item_values(episodes, vocab.size)
    log_pi = np.zeros(shape)
    expected_value = np.zeros(shape)  # k * π_t . c
    for start in range(0, len(step), 4096):
        part = slice(start, start + 4096)
        probs = target.item_probabilities(observation[part])
        rows = np.arange(probs.shape[0])[:, None]
        with np.errstate(divide="ignore"):
            log_pi[episode[part], step[part]] = np.log(probs[rows, slates[part]]).sum(1)
        expected_value[episode[part], step[part]] = env.slate_size * probs @ item_values
    data = episodes.off_policy_data(log_pi)
    logged_q = np.where(episodes.mask, item_values[episodes.slates].sum(-1) + g_next, 0.0)
    target_v = np.where(episodes.mask, expected_value + g_next, 0.0)
    estimates = all_estimates(data, logged_q, target_v)
    behavior_value = float(np.bincount(episode, reward).mean())
    row: dict[str, Any] = {
        "target": "(d) top-K, k i.i.d. draws from π",
        "true_value": truth.mean_return,
        "true_half_width": truth.return_half_width,
        "behavior_value": behavior_value,
        "naive_rel_error": (behavior_value - truth.mean_return) / truth.mean_return,
        "ess": estimates["ips"].effective_sample_size,
        "ope_episodes": settings.ope_episodes,
    }
    for key, est in estimates.items():
        row[key] = est.value
        row[f"{key}_rel_error"] = (est.value - truth.mean_return) / truth.mean_return
    return row


# ----------------------------------------------------------------------- part 4: step time

STEP_OPTIMIZERS = ("adam", "adagrad", "lazy_adam")


def step_time(dataset: tf.data.Dataset, vocab_size: int, optimizer: str, steps: int) -> float:
    """Median seconds of one ``agent.train`` step (after 2 warm-up steps)."""
    tf.keras.utils.set_random_seed(0)
    encoder = build_encoder(
        EncoderConfig(max_len=20, dim=32, num_layers=1, num_heads=2), vocab_size
    )
    learning_rate = 0.05 if optimizer == "adagrad" else 1e-3
    agent = build_agent(
        AgentConfig(correction="topk", optimizer=optimizer, learning_rate=learning_rate),
        encoder,
        20,
    )
    train = common.function(agent.train)
    batches = list(dataset.repeat().take(steps + 2))
    for batch in batches[:2]:  # tracing + creation of the optimizer slots
        train(batch)
    times = []
    for batch in batches[2:]:
        start = time.perf_counter()
        float(train(batch).loss)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def step_times(settings: Settings) -> dict[str, float]:
    """Part 4: step time at 10k and 1M items: default Adam, sparse-update Adagrad and LazyAdam."""
    out = {}
    for num_items in (10_000, 1_000_000):
        log = generate_log(num_users=256, num_items=num_items, interactions_per_user=20, seed=0)
        vocab = ItemVocabulary.from_items(np.array([f"item_{j}" for j in range(num_items)]))
        dataset = session_dataset(
            build_sequences(log, vocab), max_len=20, max_steps=20, batch_size=32, seed=0
        )
        for optimizer in STEP_OPTIMIZERS:
            out[f"{optimizer}_{num_items}"] = step_time(
                dataset, vocab.size, optimizer, settings.timing_steps
            )
    for optimizer in STEP_OPTIMIZERS:
        out[f"{optimizer}_ratio"] = out[f"{optimizer}_1000000"] / out[f"{optimizer}_10000"]
    return out


# --------------------------------------------------------- part 5: a peaked policy (small catalog)


def peaked_catalog(settings: Settings, num_items: int = 50) -> dict[str, Any]:
    """Part 5: (c) vs (d) where π can concentrate: a ``num_items`` catalog, same learners.

    On 1,000 items π stays near uniform, so ``λ_K ≈ K`` and (d) is (c) up to a constant; here the
    top item's π can approach ``1/K`` and the multiplier differs from item to item.
    """
    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=num_items))
    env = InterestEvolutionEnv(config, batch_size=BATCH, seed=0)
    eval_env = InterestEvolutionEnv(config, batch_size=BATCH, seed=1000)
    popularity = env.item_popularity()
    logged = generate_logged_data(env, settings.log_episodes, popularity=popularity, seed=11)
    heldout_log = generate_logged_data(env, 300, popularity=popularity, seed=12)
    _, _, heldout = leave_last_out(build_sequences(heldout_log.log, env.vocabulary), min_length=3)
    enc = settings.encoder
    rows: dict[str, list[dict[str, float]]] = {"importance": [], "topk": []}
    for seed in range(min(settings.seeds, 3)):
        for correction in rows:
            tf.keras.utils.set_random_seed(seed)
            trained = train_from_log(
                logged.log,
                AgentConfig(slate_size=env.slate_size, correction=correction),
                enc,
                OfflineConfig(
                    max_steps=20,
                    batch_size=32,
                    num_train_steps=settings.offline_steps,
                    seed=seed,
                    progress=False,
                ),
                vocabulary=env.vocabulary,
            )
            rollout = evaluate_policy(
                eval_env, trained.agent.policy, settings.eval_episodes, seed=100 + seed
            )
            rows[correction].append(
                {
                    "return": rollout.mean_return,
                    **concentration(
                        trained.agent.actor_network, heldout, enc.max_len, env.slate_size
                    ),
                }
            )
            print(f"  peaked seed {seed} {correction}: {rows[correction][-1]}", flush=True)
    references = {
        "random": random_slate_policy(eval_env.time_step_spec(), eval_env.action_spec(), seed=5),
        "oracle-myopic": oracle_myopic_policy(eval_env),
    }
    out: dict[str, Any] = {"num_items": num_items, "log_clicks": len(logged.log)}
    for correction, per_seed in rows.items():
        returns = np.array([r["return"] for r in per_seed])
        row = {"per_seed_return": returns.tolist()}
        if len(returns) >= 2:
            mean, lower, upper = mean_confidence_interval(returns)
        else:
            mean = lower = upper = float(returns[0])
        row.update({"return": mean, "return_lower": lower, "return_upper": upper})
        for key in ("mean_max_pi", "mean_top_item_lambda_over_k"):
            row[key] = float(np.mean([r[key] for r in per_seed]))
        out[correction] = row
    for name, policy in references.items():
        out[name] = evaluate_policy(eval_env, policy, settings.eval_episodes, seed=99).mean_return
    return out


# --------------------------------------------------------------------------------- report


def print_tables(report: dict[str, Any]) -> None:
    """Readable tables of the report."""
    if "estimators" in report:
        _print_estimators(report["estimators"])
    if "learners" in report:
        _print_learners(report["learners"])
    if "online" in report:
        _print_online(report["online"])
    if "step_time" in report:
        _print_step_time(report["step_time"])
    if "peaked" in report:
        _print_peaked(report["peaked"])
    if "bounds" in report:
        _print_bounds(report["bounds"])
    if "log_content" in report:
        _print_log_content(report["log_content"])
    if "ope_trained" in report:
        _print_estimators(
            [report["ope_trained"]],
            "7. OPE of the trained (d) policy, k i.i.d. draws from π (relative errors)",
        )


def _print_peaked(part: dict[str, Any]) -> None:
    print(f"\n== 5. Peaked policy: (c) vs (d) on a {part['num_items']}-item catalog ==")
    print(
        f"{'correction':12} {'return (95% CI over seeds)':>30} {'mean max pi':>12} {'lambda/K':>9}"
    )
    for name in ("importance", "topk"):
        r = part[name]
        print(
            f"{name:12} {r['return']:10.2f} [{r['return_lower']:6.2f}, {r['return_upper']:6.2f}]"
            f"{'':8} {r['mean_max_pi']:12.3f} {r['mean_top_item_lambda_over_k']:9.3f}"
        )
    print(f"random {part['random']:.2f}, oracle-myopic {part['oracle-myopic']:.2f}")


def _print_estimators(
    rows: list[dict[str, Any]],
    title: str = "1. Off-policy estimators vs simulator truth (relative error of the estimate)",
) -> None:
    print(f"\n== {title} ==")
    print(
        f"{'target':22} {'true value':>14} {'ESS':>7} {'naive':>7} {'IPS':>7} {'capIPS':>7}"
        f" {'SNIPS':>7} {'DR':>7} {'1-step':>7}"
    )
    for r in rows:
        print(
            f"{r['target']:22} {r['true_value']:8.2f} ±{r['true_half_width']:4.2f} "
            f"{r['ess']:7.1f} {r['naive_rel_error']:+7.1%} {r['ips_rel_error']:+7.1%} "
            f"{r['capped_ips_rel_error']:+7.1%} {r['snips_rel_error']:+7.1%} "
            f"{r['dr_rel_error']:+7.1%} {r['snips_one_step_rel_error']:+7.1%}"
        )


def _print_learners(part: dict[str, Any]) -> None:
    print(
        f"\n== 2. Learning from a biased log (behaviour = {part['behavior_description']}; "
        f"{part['log_episodes']} episodes, {part['log_clicks']} clicks; logged propensity median "
        f"{part['log_propensity_median']:.2e}, max/min {part['log_propensity_max_over_min']:.0f}) =="
    )
    print(
        f"{'policy':32} {'return (mean ± 95% CI over seeds)':>34} {'NDCG@10 held-out':>18}"
        f" {'max pi':>7} {'clickbait shown':>15}"
    )
    for name, r in part["learners"].items():
        half = (r["return_upper"] - r["return_lower"]) / 2
        max_pi = f"{r['mean_max_pi']:7.4f}" if "mean_max_pi" in r else f"{'':7}"
        print(
            f"{name:32} {r['return']:14.2f} ± {half:5.2f} [{r['return_lower']:6.2f}, "
            f"{r['return_upper']:6.2f}] {r['ndcg@10']:18.4f} {max_pi}"
            f" {r.get('clickbait_shown', float('nan')):15.1%}"
        )
    for name, r in part["references"].items():
        half = (r["upper"] - r["lower"]) / 2
        print(f"{name:32} {r['return']:14.2f} ± {half:5.2f} (episodes CI)")
    print(
        "\nπ/β on the training log under the trained π (mean over seeds; ESS/n: Kish effective "
        "sample size of the weights over the clicks):"
    )
    print(
        f"{'policy':32} {'median':>8} {'mean':>8} {'p99':>8} {'>cap':>7} {'ESS/n capped':>13}"
        f" {'ESS/n top-K':>12}"
    )
    for name, r in part["learners"].items():
        if "weight_median" not in r:
            continue
        print(
            f"{name:32} {r['weight_median']:8.3f} {r['weight_mean']:8.3f} {r['weight_p99']:8.2f}"
            f" {r['fraction_capped']:7.2%} {r['ess_fraction_capped']:13.3f}"
            f" {r['ess_fraction_topk']:12.3f}"
        )


def _print_online(curve: dict[str, Any]) -> None:
    print(
        f"\n== 3. Online training (REINFORCE top-K, greedy evaluation; gamma={curve['gamma']:g}, "
        f"training reward={curve['reward']}, {curve['iterations']} iterations) =="
    )
    print("  steps:   " + " ".join(f"{s:7d}" for s in curve["steps"]))
    print("  return:  " + " ".join(f"{r:7.2f}" for r in curve["returns"]))
    print(
        f"  far-sighted reference {curve['far_sighted_return']:.2f}, oracle-myopic "
        f"{curve['oracle_myopic_return']:.2f}, random {curve['random_return']:.2f}; final = "
        f"{curve['final_fraction_of_reference']:.1%} of the far-sighted reference, "
        f"{curve['final_fraction_of_oracle_myopic']:.1%} of the oracle-myopic "
        f"({curve['seconds']:.0f} s of training)"
    )
    print(
        f"  trained greedy policy: clickbait share of shown items "
        f"{curve['learned_clickbait_share_shown']:.1%}, of clicks "
        f"{curve['learned_clickbait_share_clicked']:.1%} (256 episodes)"
    )


def _print_step_time(t: dict[str, float]) -> None:
    print("\n== 4. One training step (batch 32 x 21 steps, dim 32) ==")
    print(f"{'optimizer':10} {'10k items':>10} {'1M items':>10} {'ratio':>7}")
    for opt in STEP_OPTIMIZERS:
        print(
            f"{opt:10} {t[f'{opt}_10000']:9.3f}s {t[f'{opt}_1000000']:9.3f}s "
            f"{t[f'{opt}_ratio']:6.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per learner")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="part 2 trains seeds first-seed .. first-seed + seeds - 1 (to extend a run)",
    )
    parser.add_argument(
        "--offline-steps", type=int, default=None, help="gradient steps per REINFORCE learner"
    )
    parser.add_argument(
        "--online-iterations", type=int, default=None, help="online collect/train iterations"
    )
    parser.add_argument(
        "--behavior",
        choices=("popularity", "personalized"),
        default="popularity",
        help="part 2's logging policy: popularity softmax (ignores the user) or personalised "
        "softmax(a * true click logit + b * log popularity)",
    )
    parser.add_argument(
        "--behavior-temperature",
        type=float,
        default=0.5,
        help="temperature of the popularity-softmax behaviour",
    )
    parser.add_argument(
        "--behavior-interest-weight", type=float, default=1.0, help="a of the personalised one"
    )
    parser.add_argument(
        "--behavior-popularity-weight", type=float, default=1.0, help="b of the personalised one"
    )
    parser.add_argument(
        "--online-gamma", type=float, default=0.9, help="discount of the online learner (part 3)"
    )
    parser.add_argument(
        "--online-reward",
        choices=("engagement", "budget-shaped"),
        default="engagement",
        help="part 3's training reward: the simulator's, or the far-sighted oracle's per-click "
        "value (evaluation always uses the true return)",
    )
    parser.add_argument(
        "--plot",
        type=str,
        default=str(Path(__file__).resolve().parents[1] / "docs" / "off_policy_curve.png"),
        help="where to save the online-training curve ('' = no plot)",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=(),
        choices=(
            "ope",
            "learners",
            "online",
            "timing",
            "peaked",
            "bounds",
            "ope-trained",
            "log-content",
        ),
        help="parts not to run",
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    if args.seeds is not None:
        settings = dataclasses.replace(settings, seeds=args.seeds)
    settings = dataclasses.replace(settings, first_seed=args.first_seed)
    if args.offline_steps is not None:
        settings = dataclasses.replace(settings, offline_steps=args.offline_steps)
    if args.online_iterations is not None:
        settings = dataclasses.replace(settings, online_iterations=args.online_iterations)
    behavior = Behavior(
        args.behavior,
        args.behavior_temperature,
        args.behavior_interest_weight,
        args.behavior_popularity_weight,
    )
    plot = Path(args.plot) if args.plot else None
    start = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "off_policy_correction",
        "quick": args.quick,
        "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "encoder"},
        "encoder": dataclasses.asdict(settings.encoder),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "loadavg_start": list(os.getloadavg()),
        },
    }
    parts = (
        ("ope", "estimators", lambda: estimator_accuracy(settings)),
        ("learners", "learners", lambda: train_and_evaluate(settings, behavior)),
        (
            "online",
            "online",
            lambda: online_curve(settings, plot, args.online_gamma, args.online_reward),
        ),
        ("timing", "step_time", lambda: step_times(settings)),
        ("peaked", "peaked", lambda: peaked_catalog(settings)),
        ("bounds", "bounds", lambda: reference_bounds(settings)),
        ("ope-trained", "ope_trained", lambda: ope_of_trained_policy(settings)),
        ("log-content", "log_content", lambda: log_content(settings, behavior)),
    )
    for flag, key, run in parts:
        if flag in args.skip:
            continue
        part_start = time.perf_counter()
        print(f"[{key}] running ...", flush=True)
        report[key] = run()
        report.setdefault("seconds", {})[key] = time.perf_counter() - part_start
        print(f"[{key}] {report['seconds'][key]:.0f} s, load {os.getloadavg()}", flush=True)
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["seconds"]["total"] = time.perf_counter() - start
    print_tables(report)
    print(
        f"\nload average (1/5/15 min): start {report['machine']['loadavg_start']}, end "
        f"{report['machine']['loadavg_end']}; total {report['seconds']['total']:.0f} s"
    )
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
