"""Slate off-policy estimates of a trained REINFORCE policy on tfrec's simulator vs rollouts.

1. Trains impression-level REINFORCE online as in ``docs/benchmarks/reinforce.md`` (SlateQ
   critic, learning rate 3e-3, ``train_in_simulator`` with 50 collect / 8 train steps per
   iteration, Plackett-Luce collect slates) for ``--iterations``; the actor is cached in
   ``--cache``.
2. Targets: stochastic policies of the trained actor, ``SlateSamplingPolicy`` with ``q = (1 -
   eps) pi + eps uniform`` and ``K`` i.i.d. draws (``slate_model="independent"``, so that every
   propensity is exact), for each ``--target-epsilon``, and the trained policy mixed into the
   logging policy, ``K`` i.i.d. draws from ``lam q + (1 - lam) beta`` for each ``--mix``; truth =
   mean return of ``--truth-episodes`` rollouts (95% CI).
3. Log: ``--log-episodes`` episodes of the default logging policy (``PopularitySoftmaxPolicy``,
   temperature 1, i.i.d. slates: every propensity kind is exact), with each step's history.
4. Estimates: ``tfrec.evaluation.slate`` estimators (standard / independent / pseudo-inverse /
   reward-interaction IPS, self-normalised forms, cascade DR with ``LinearCascadeModel`` on
   step / return-so-far features fitted on the logged reward to go, the session's later steps
   included for ``horizon=all`` and excluded otherwise) in the per-decision form over
   sessions, with ``rho_{<t}`` over all earlier slates (``horizon=all``, unbiased) or only the
   last ``h`` (``--horizons``, biased, lower variance); CLT intervals; ESS of each.

The last line printed is one JSON object.

    .venv/bin/python benchmarks/ope_simulator.py                  # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/ope_simulator.py --quick          # smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TF-Agents needs Keras 2 (see tfrec/__init__)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tf_agents.policies import py_policy  # noqa: E402
from tf_agents.trajectories import policy_step  # noqa: E402
from tf_agents.trajectories import time_step as ts  # noqa: E402

from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv  # noqa: E402
from tfrec.environments.episodes import run_episodes  # noqa: E402
from tfrec.evaluation.rollouts import evaluate_policy  # noqa: E402
from tfrec.evaluation.slate import (  # noqa: E402
    SlateData,
    SlateOptions,
    estimate_all,
)
from tfrec.evaluation.slate_propensities import (  # noqa: E402
    LinearCascadeModel,
    independent_propensities,
)
from tfrec.policies import PopularitySoftmaxPolicy  # noqa: E402
from tfrec.policies.slate_sampling import SlateSamplingPolicy  # noqa: E402
from tfrec.specs import FIRST_ITEM_INDEX  # noqa: E402
from tfrec.training import (  # noqa: E402
    AgentConfig,
    EncoderConfig,
    OnlineConfig,
    build_agent,
    build_encoder,
    train_in_simulator,
)

BATCH = 64
CHUNK = 2048


def train(
    config: InterestEvolutionConfig, iterations: int, seed: int, cache: Path | None
) -> object:
    """The REINFORCE issue's learner (SlateQ critic), restored from ``cache`` when it is there."""
    tf.keras.utils.set_random_seed(seed)
    env = InterestEvolutionEnv(config, batch_size=BATCH, seed=seed)
    encoder_config = EncoderConfig(
        max_len=config.max_len,
        dim=32,
        num_layers=1,
        num_heads=2,
        dropout=0.0,
        use_output_bias=True,
    )
    encoder = build_encoder(encoder_config, env.vocab_size)
    agent = build_agent(
        AgentConfig(slate_size=env.slate_size, learning_rate=3e-3, critic="slateq"),
        encoder,
        config.max_len,
        seed=seed,
    )
    checkpoint = tf.train.Checkpoint(actor=agent.actor_network)
    if cache is not None and (cache / "checkpoint").exists():
        checkpoint.restore(tf.train.latest_checkpoint(str(cache))).expect_partial()
        print(f"restored the trained actor from {cache}", flush=True)
        return agent
    history = train_in_simulator(
        agent,
        env,
        OnlineConfig(
            num_iterations=iterations,
            collect_steps_per_iteration=50,
            train_steps_per_iteration=8,
            batch_size=64,
            buffer_capacity=256,
            eval_every=max(1, iterations),
            eval_episodes=64,
            seed=seed,
            progress=False,
        ),
        eval_env=InterestEvolutionEnv(config, batch_size=BATCH, seed=500 + seed),
    )
    print(
        f"trained {iterations} iterations in {history.seconds:.0f} s; greedy returns "
        f"{[round(r, 2) for r in history.eval_returns]}",
        flush=True,
    )
    if cache is not None:
        checkpoint.save(str(cache / "actor"))
    return agent


@dataclasses.dataclass
class Log:
    episode: np.ndarray  # [n]
    step: np.ndarray  # [n]
    observation: np.ndarray  # [n, max_len]
    slates: np.ndarray  # [n, K] item indices
    rewards: np.ndarray  # [n, K] reward at the clicked position
    beta: np.ndarray  # [vocab] behaviour item distribution


def collect_log(config: InterestEvolutionConfig, episodes: int, seed: int) -> Log:
    env = InterestEvolutionEnv(config, batch_size=BATCH, seed=seed)
    behavior = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), env.item_popularity(), 1.0, seed=seed
    )
    batches = list(run_episodes(env, behavior, episodes, seed=seed))
    cat = {
        f: np.concatenate([getattr(b, f) for b in batches])
        for f in ("episode", "step", "observation", "action", "reward", "click_position")
    }
    order = np.lexsort((cat["step"], cat["episode"]))
    cat = {key: value[order] for key, value in cat.items()}
    n, k = cat["action"].shape
    rewards = np.zeros((n, k))
    hit = cat["click_position"] >= 0
    rewards[np.flatnonzero(hit), cat["click_position"][hit]] = cat["reward"][hit]
    beta = np.zeros(env.vocab_size)
    beta[FIRST_ITEM_INDEX:] = behavior.probabilities
    return Log(cat["episode"], cat["step"], cat["observation"], cat["action"], rewards, beta)


def features(log: Log) -> tuple[np.ndarray, np.ndarray]:
    """Per-slate context ``[n, 5]`` (step, return so far, clicks so far) and the later return."""
    slate_reward = log.rewards.sum(axis=1)
    new = np.r_[True, log.episode[1:] != log.episode[:-1]]
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    csum = np.cumsum(slate_reward)
    so_far = csum - slate_reward - (csum - slate_reward)[starts][group]
    clicks = np.cumsum(slate_reward > 0)
    clicks_so_far = clicks - (slate_reward > 0) - (clicks - (slate_reward > 0))[starts][group]
    total = np.bincount(group, slate_reward)[group]
    later = total - so_far - slate_reward
    t = log.step / 50.0
    x = np.stack([t, t**2, so_far / 60.0, (so_far / 60.0) ** 2, clicks_so_far / 10.0], axis=1)
    return x, later


class BehaviorMixPolicy(py_policy.PyPolicy):
    """``K`` i.i.d. draws from ``lam * q_trained + (1 - lam) * beta``: the trained policy mixed
    into the logging policy, so that every logged slate keeps a ratio ``>= (1 - lam)^K``.

    Args:
      env: the simulator (specs).
      trained: the trained ``SlateSamplingPolicy`` (its ``item_log_probs``).
      beta: float ``[vocab]`` the logging policy's item distribution.
      lam: share of the trained policy.
      seed: seed of the sampler.
    """

    def __init__(self, env, trained, beta: np.ndarray, lam: float, seed: int = 0) -> None:
        super().__init__(env.time_step_spec(), env.action_spec())
        self._trained, self._beta, self._lam = trained, beta, float(lam)
        self._k = int(env.action_spec().shape[0])
        self._rng = np.random.default_rng(seed)

    def item_log_probs(self, time_step: ts.TimeStep) -> np.ndarray:
        obs = tf.constant(np.asarray(time_step.observation), tf.int32)
        step = ts.restart(obs, batch_size=obs.shape[0])
        q = np.exp(self._trained.item_log_probs(step).numpy().astype(np.float64))
        q = self._lam * q / q.sum(axis=1, keepdims=True) + (1.0 - self._lam) * self._beta
        with np.errstate(divide="ignore"):
            return np.log(q)

    def _action(self, time_step: ts.TimeStep, policy_state: object) -> policy_step.PolicyStep:
        q = np.exp(self.item_log_probs(time_step))
        cumulative = np.cumsum(q, axis=1)
        u = self._rng.random((q.shape[0], self._k)) * cumulative[:, -1:]
        items = np.stack([np.searchsorted(c, d, side="right") for c, d in zip(cumulative, u)])
        items = np.minimum(items, q.shape[1] - 1).astype(np.int32)
        return policy_step.PolicyStep(items, policy_state, ())


def evaluate_target(
    log: Log, policy: SlateSamplingPolicy, x: np.ndarray, models: list[LinearCascadeModel]
) -> tuple[object, list[tuple[np.ndarray, np.ndarray]]]:
    """The target's propensities of the logged slates and each cascade model's two terms."""
    joint, position, cascade = [], [], []
    terms: list[list[list[np.ndarray]]] = [[[], []] for _ in models]
    for start in range(0, len(log.step), CHUNK):
        part = slice(start, start + CHUNK)
        obs = tf.constant(log.observation[part], tf.int32)
        step = ts.restart(obs, batch_size=obs.shape[0])
        log_q = policy.item_log_probs(step)
        q = np.exp(np.asarray(log_q.numpy() if hasattr(log_q, "numpy") else log_q, np.float64))
        q /= q.sum(axis=1, keepdims=True)
        props = independent_propensities(q, log.slates[part])
        joint.append(props.joint)
        position.append(props.position)
        cascade.append(props.cascade)
        for model, (logged, expected) in zip(models, terms):
            pair = model.predict(x[part], log.slates[part], q)
            logged.append(pair[0])
            expected.append(pair[1])
    from tfrec.evaluation.slate import SlatePropensities

    target = SlatePropensities(
        joint=np.concatenate(joint),
        position=np.concatenate(position),
        cascade=np.concatenate(cascade),
    )
    return target, [(np.concatenate(a), np.concatenate(b)) for a, b in terms]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument(
        "--cache", default="runs/ope_simulator/actor", help="trained-actor checkpoint ('' = none)"
    )
    parser.add_argument("--log-episodes", type=int, default=2000)
    parser.add_argument("--truth-episodes", type=int, default=1000)
    parser.add_argument("--target-epsilon", type=float, nargs="*", default=[0.05, 0.5])
    parser.add_argument(
        "--mix", type=float, nargs="*", default=[0.2], help="lam of lam*trained + (1-lam)*beta"
    )
    parser.add_argument("--horizons", type=int, nargs="+", default=[0, 1, 3])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-seed", type=int, help="seed of the logged episodes (1000 + seed)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.iterations, args.log_episodes, args.truth_episodes = 2, 128, 128
    started = time.perf_counter()
    config = InterestEvolutionConfig()
    report: dict = {"loadavg_start": os.getloadavg(), "args": vars(args)}
    cache = Path(f"{args.cache}-{args.iterations}it-seed{args.seed}") if args.cache else None
    agent = train(config, args.iterations, args.seed, cache)
    log_seed = 1000 + args.seed if args.log_seed is None else args.log_seed
    log = collect_log(config, args.log_episodes, seed=log_seed)
    x, later = features(log)
    behavior = independent_propensities(log.beta, log.slates)
    report["behavior_value"] = float(log.rewards.sum() / args.log_episodes)
    report["log_slates"] = int(len(log.step))
    print(
        f"log: {args.log_episodes} episodes, {len(log.step)} slates, behaviour value "
        f"{report['behavior_value']:.2f}",
        flush=True,
    )
    # The per-decision DR's model predicts the value to go (later steps included); the
    # truncated forms (h < all) correct each step on its own, so theirs stops at the slate.
    models = [
        LinearCascadeModel(len(log.beta), ridge=1.0).fit(x, log.slates, log.rewards, **extra)
        for extra in ({"continuation": later}, {})
    ]
    report["targets"] = {}
    targets = [(f"eps={eps}", eps, None) for eps in args.target_epsilon]
    targets += [(f"mix lam={lam}", 0.05, lam) for lam in args.mix]
    for key, eps, lam in targets:
        policy = SlateSamplingPolicy(
            agent.collect_policy.time_step_spec,
            agent.actor_network,
            log.slates.shape[1],
            epsilon=eps,
            slate_model="independent",
            seed=7,
        )
        if lam is not None:
            sim = InterestEvolutionEnv(config, batch_size=BATCH, seed=99)
            policy = BehaviorMixPolicy(sim, policy, log.beta, lam, seed=7)
        truth = evaluate_policy(
            InterestEvolutionEnv(config, batch_size=BATCH, seed=99),
            policy,
            args.truth_episodes,
            seed=99,
        )
        target, (full_terms, step_terms) = evaluate_target(log, policy, x, models)
        data = SlateData.create(log.rewards, behavior, target, sessions=log.episode)
        rows = {}
        for horizon in [None, *args.horizons]:
            options = SlateOptions(horizon=horizon)
            label = "all" if horizon is None else str(horizon)
            terms = full_terms if horizon is None else step_terms
            found = estimate_all(data, options, model_terms=terms)
            for name, est in found.items():
                rows[f"{name} h={label}"] = {
                    "value": est.value,
                    "lower": est.lower,
                    "upper": est.upper,
                    "ess": est.effective_sample_size,
                    "rel_error": (est.value - truth.mean_return) / truth.mean_return,
                    "covers": bool(est.contains(truth.mean_return)),
                }
        naive = (report["behavior_value"] - truth.mean_return) / truth.mean_return
        print(
            f"\ntarget {key}: true value {truth.mean_return:.2f} ± "
            f"{truth.return_half_width:.2f} ({args.truth_episodes} rollouts); naive "
            f"(behaviour value) {naive:+.1%}"
        )
        print(
            f"  {'estimator':<18} {'value':>8} {'95% CI (CLT)':>19} {'rel err':>8} "
            f"{'covers':>6} {'ESS':>9}"
        )
        for name, r in rows.items():
            print(
                f"  {name:<18} {r['value']:8.2f} [{r['lower']:7.2f}, {r['upper']:7.2f}] "
                f"{r['rel_error']:+8.1%} {str(r['covers']):>6} {r['ess']:9.1f}"
            )
        report["targets"][key] = {
            "true_value": truth.mean_return,
            "true_half_width": truth.return_half_width,
            "naive_rel_error": naive,
            "estimates": rows,
        }
    report["seconds"] = time.perf_counter() - started
    report["loadavg_end"] = os.getloadavg()
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
