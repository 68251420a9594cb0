"""Impression-level REINFORCE on the built-in simulator: online, warm-started, offline; references.

What it measures (issue "REINFORCE that learns long-term value"), each over ``--seeds`` seeds,
the mean with a 95% Student-t interval over seeds, the clickbait share of every greedy policy's
slates and the training seconds:

* ``references``: random, most-popular, the supervised SASRec next-item model (trained on a
  popularity-logged click log, the tuned recipe of ``tfrec.training.supervised``), the history-only
  myopic and far-sighted oracles (interests estimated from the observed window, items and
  satiation known) and the true-state oracles;
* ``online``: ``train_in_simulator`` from scratch and warm-started from the supervised encoder,
  for each advantage estimator of ``--estimators`` (``baseline``: return minus a learned state
  value; ``slateq``: the SlateQ critic), learning curve PNG;
* ``offline``: an exploratory biased impression log (popularity softmax mixed with
  ``--log-epsilon`` uniform slates, exact propensities), then (a) supervised on its clicks,
  (b) the uncorrected slate gradient, (c) the per-slate π/β correction, (d) the per-item top-K
  correction, and the SlateQ critic.

Every policy is evaluated greedily by ``tfrec.evaluation.rollouts.evaluate_policy`` on the same
``--eval-episodes`` users (environment seed 99). ``--simulator alt`` runs all of it on a second,
non-default configuration. The last line printed is one JSON object with every figure.

    .venv/bin/python benchmarks/reinforce_slate.py                 # everything, 5 seeds
    .venv/bin/python benchmarks/reinforce_slate.py --parts online --seeds 1 --quick
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TF-Agents needs Keras 2 (see tfrec/__init__)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfrec.environments import (  # noqa: E402
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    UserConfig,
)
from tfrec.evaluation import reference_policies  # noqa: E402
from tfrec.evaluation.rollouts import (  # noqa: E402
    clickbait_shares,
    evaluate_policy,
    mean_confidence_interval,
)
from tfrec.policies import (  # noqa: E402
    EpsilonPopularityPolicy,
    GreedyTopKPolicy,
    PopularitySoftmaxPolicy,
    generate_logged_data,
)
from tfrec.training import (  # noqa: E402
    AgentConfig,
    EncoderConfig,
    OfflineConfig,
    OnlineConfig,
    SupervisedConfig,
    build_agent,
    build_encoder,
    train_from_log,
    train_in_simulator,
    train_supervised,
    warm_start_encoder,
)

EVAL_SEED = 99
ENV_BATCH = 64
ESTIMATORS = {"baseline": None, "slateq": "slateq"}


def simulator(name: str) -> InterestEvolutionConfig:
    """``default`` (the library default) or ``alt`` (smaller catalog, other users)."""
    if name == "default":
        return InterestEvolutionConfig()
    return InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=500, num_topics=8, num_clickbait_topics=2),
        users=UserConfig(budget=80.0, no_click_logit=2.0, satiation_weight=1.5),
        max_len=20,
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    seeds: tuple[int, ...]
    config: InterestEvolutionConfig
    eval_episodes: int
    online_iterations: int
    log_episodes: int
    offline_steps: int
    supervised_epochs: int
    log_epsilon: float
    encoder: EncoderConfig


def env(settings: Settings, seed: int) -> InterestEvolutionEnv:
    return InterestEvolutionEnv(settings.config, batch_size=ENV_BATCH, seed=seed)


def judge(
    settings: Settings, policy: Any, name: str, eval_env: InterestEvolutionEnv | None = None
) -> dict[str, Any]:
    """Greedy return on the shared evaluation users, its CI, and the clickbait shares.

    ``eval_env``: the environment an oracle was built on (oracles read its current users);
    a fresh one with the evaluation seed otherwise.
    """
    eval_env = eval_env if eval_env is not None else env(settings, EVAL_SEED)
    result = evaluate_policy(eval_env, policy, settings.eval_episodes, seed=EVAL_SEED, name=name)
    bait = clickbait_shares(eval_env, policy, min(settings.eval_episodes, 256), seed=EVAL_SEED)
    return {
        "return": result.mean_return,
        "ci95": result.return_half_width,
        "ctr": result.ctr,
        "clickbait_shown": bait["shown"],
        "clickbait_clicked": bait["clicked"],
    }


def over_seeds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95% t-interval over seeds of each run's return; means of the rest."""
    returns = np.array([r["return"] for r in rows])
    if len(returns) >= 2:
        mean, low, high = mean_confidence_interval(returns)
    else:
        mean = low = high = float(returns[0])
    out = {"mean": mean, "low": low, "high": high, "per_seed": returns.tolist()}
    for key in (
        "clickbait_shown",
        "clickbait_clicked",
        "seconds",
        "ctr",
        "value_bias_vs_quality",
        "value_bias_vs_length",
        "click_bias_vs_appeal",
    ):
        if key in rows[0]:
            out[key] = float(np.mean([r[key] for r in rows]))
    return out


def supervised_config(settings: Settings, seed: int) -> SupervisedConfig:
    """The supervised SASRec recipe with the agents' encoder architecture (warm-startable)."""
    enc = settings.encoder
    return SupervisedConfig(
        encoder=dataclasses.replace(enc, dropout=0.1, repeat_bias=False),
        learning_rate=1e-3,  # the simulator recipe (tuned at 1e-3; the sequential default is 2e-3)
        epochs=settings.supervised_epochs,
        patience=2,
        batch_size=64,
        seed=seed,
    )


def supervised_model(settings: Settings, seed: int) -> Any:
    """The supervised next-item model on a popularity-logged click log of ``seed``."""
    log_env = env(settings, 1000 + seed)
    logged = generate_logged_data(log_env, settings.log_episodes, seed=1000 + seed)
    start = time.perf_counter()
    run = train_supervised(
        logged.log, supervised_config(settings, seed), vocabulary=log_env.vocabulary
    )
    return run, time.perf_counter() - start


def references(settings: Settings) -> dict[str, Any]:
    eval_env = env(settings, EVAL_SEED)
    out = {}
    for name, policy in reference_policies(eval_env, seed=0).items():
        out[name] = judge(settings, policy, name, eval_env)
    rows = []
    for seed in settings.seeds:
        run, seconds = supervised_model(settings, seed)
        rows.append(
            {
                **judge(
                    settings, GreedyTopKPolicy.from_encoder(run.encoder, eval_env.slate_size), "sup"
                ),
                "seconds": seconds,
            }
        )
    out["supervised"] = over_seeds(rows)
    return out


def critic_diagnostics(agent: Any, sim: InterestEvolutionEnv) -> dict[str, float]:
    """What the SlateQ critic learned about items: correlation of its per-item value bias with
    the true item quality and length, and of its click bias with the true appeal."""
    critic = agent.actor_network.slate_critic
    if critic is None:
        return {}
    value_bias = critic.value_table.output_bias.numpy()[2:]
    click_bias = critic.click_table.output_bias.numpy()[2:]
    catalog = sim.catalog
    return {
        "value_bias_vs_quality": float(np.corrcoef(value_bias, catalog.quality)[0, 1]),
        "value_bias_vs_length": float(np.corrcoef(value_bias, catalog.length)[0, 1]),
        "click_bias_vs_appeal": float(np.corrcoef(click_bias, catalog.appeal)[0, 1]),
    }


def online(settings: Settings, estimators: list[str], plot: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    curves: dict[str, list[list[float]]] = {}
    steps: dict[str, list[int]] = {}
    for start in ("scratch", "warm"):
        for estimator in estimators:
            key = f"{start}/{estimator}"
            rows = []
            for seed in settings.seeds:
                tf.keras.utils.set_random_seed(seed)
                train_env = env(settings, seed)
                encoder = build_encoder(settings.encoder, train_env.vocab_size)
                if start == "warm":
                    run, _ = supervised_model(settings, seed)
                    warm_start_encoder(encoder, run.encoder)
                agent = build_agent(
                    AgentConfig(
                        slate_size=train_env.slate_size,
                        learning_rate=3e-3,
                        critic=ESTIMATORS[estimator],
                    ),
                    encoder,
                    settings.encoder.max_len,
                    seed=seed,
                )
                history = train_in_simulator(
                    agent,
                    train_env,
                    OnlineConfig(
                        num_iterations=settings.online_iterations,
                        collect_steps_per_iteration=50,
                        train_steps_per_iteration=8,
                        batch_size=64,
                        buffer_capacity=256,
                        eval_every=max(1, settings.online_iterations // 6),
                        eval_episodes=128,
                        seed=seed,
                        progress=False,
                    ),
                    eval_env=env(settings, 500 + seed),
                )
                rows.append(
                    {
                        **judge(settings, agent.policy, key),
                        "seconds": history.seconds,
                        **critic_diagnostics(agent, train_env),
                    }
                )
                curves.setdefault(key, []).append(history.eval_returns)
                steps[key] = history.eval_steps
                print(
                    f"  {key} seed {seed}: {rows[-1]['return']:.2f} "
                    f"({history.seconds:.0f} s, clickbait {rows[-1]['clickbait_shown']:.0%})",
                    flush=True,
                )
            out[key] = over_seeds(rows)
            out[key]["curve_steps"] = steps[key]
            out[key]["curve_mean"] = np.mean(curves[key], axis=0).tolist()
    if plot is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7, 4))
        axis = figure.subplots()
        for key, values in curves.items():
            axis.plot(steps[key], np.mean(values, axis=0), marker="o", label=key)
        axis.set_xlabel("gradient step")
        axis.set_ylabel(f"greedy return (mean of {len(settings.seeds)} seeds)")
        axis.legend()
        plot.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(plot, dpi=110, bbox_inches="tight")
    return out


def offline(settings: Settings) -> dict[str, Any]:
    variants = {
        "(b) uncorrected": dict(correction="none"),
        "(c) pi/beta per slate": dict(correction="importance"),
        "(d) top-K per item": dict(correction="topk", slate_model="independent"),
        "slateq critic": dict(critic="slateq"),
    }
    out: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ["(a) supervised", *variants]}
    for seed in settings.seeds:
        log_env = env(settings, 2000 + seed)
        behaviour = EpsilonPopularityPolicy(
            PopularitySoftmaxPolicy(
                log_env.time_step_spec(), log_env.action_spec(), log_env.item_popularity()
            ),
            epsilon=settings.log_epsilon,
            seed=seed,
        )
        logged = generate_logged_data(
            log_env, settings.log_episodes, seed=2000 + seed, impressions=True, policy=behaviour
        )
        clicks = logged.log.df[logged.log.df["clicked"] == 1]
        from tfrec.data import InteractionLog

        click_log = InteractionLog.from_dataframe(clicks[["user", "item", "timestamp", "reward"]])
        start = time.perf_counter()
        sup = train_supervised(
            click_log, supervised_config(settings, seed), vocabulary=log_env.vocabulary
        )
        rows["(a) supervised"].append(
            {
                **judge(
                    settings, GreedyTopKPolicy.from_encoder(sup.encoder, log_env.slate_size), "a"
                ),
                "seconds": time.perf_counter() - start,
            }
        )
        for name, options in variants.items():
            start = time.perf_counter()
            result = train_from_log(
                logged.log,
                AgentConfig(slate_size=log_env.slate_size, learning_rate=3e-3, **options),
                settings.encoder,
                OfflineConfig(
                    max_steps=settings.config.max_steps,
                    batch_size=64,
                    num_train_steps=settings.offline_steps,
                    seed=seed,
                    progress=False,
                ),
                vocabulary=log_env.vocabulary,
            )
            rows[name].append(
                {
                    **judge(settings, result.agent.policy, name),
                    "seconds": time.perf_counter() - start,
                }
            )
        print(
            f"  offline seed {seed}: "
            + ", ".join(f"{n} {r[-1]['return']:.2f}" for n, r in rows.items()),
            flush=True,
        )
        out["log_true_value"] = out.get("log_true_value", []) + [logged.true_value]
    for name, values in rows.items():
        out[name] = over_seeds(values)
    return out


def print_table(title: str, rows: dict[str, Any]) -> None:
    print(f"\n{title}")
    print(f"{'policy':28s} {'return':>8s} {'95% CI':>18s} {'clickbait shown':>16s} {'seconds':>8s}")
    for name, row in rows.items():
        if not isinstance(row, dict):
            continue
        if "mean" in row:
            ci = f"[{row['low']:.2f}, {row['high']:.2f}]"
            value = row["mean"]
        else:
            ci = f"± {row['ci95']:.2f} (episodes)"
            value = row["return"]
        seconds = f"{row['seconds']:.0f}" if "seconds" in row else ""
        print(f"{name:28s} {value:8.2f} {ci:>18s} {row['clickbait_shown']:16.1%} {seconds:>8s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["references", "online", "offline"],
        choices=["references", "online", "offline"],
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--simulator", choices=["default", "alt"], default="default")
    parser.add_argument(
        "--estimators", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS)
    )
    parser.add_argument("--online-iterations", type=int, default=120)
    parser.add_argument("--offline-steps", type=int, default=400)
    parser.add_argument("--log-episodes", type=int, default=2000)
    parser.add_argument("--log-epsilon", type=float, default=0.1)
    parser.add_argument("--eval-episodes", type=int, default=512)
    parser.add_argument("--plot", default="docs/benchmarks/reinforce_slate_curve.png")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args()
    config = simulator(args.simulator)
    settings = Settings(
        seeds=tuple(range(args.seeds)),
        config=config,
        eval_episodes=64 if args.quick else args.eval_episodes,
        online_iterations=4 if args.quick else args.online_iterations,
        log_episodes=200 if args.quick else args.log_episodes,
        offline_steps=10 if args.quick else args.offline_steps,
        supervised_epochs=1 if args.quick else 10,
        log_epsilon=args.log_epsilon,
        encoder=EncoderConfig(
            max_len=config.max_len,
            dim=32,
            num_layers=1,
            num_heads=2,
            dropout=0.0,
            use_output_bias=True,
        ),
    )
    started = time.perf_counter()
    report: dict[str, Any] = {
        "simulator": args.simulator,
        "seeds": list(settings.seeds),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "loadavg_start": os.getloadavg(),
    }
    if "references" in args.parts:
        report["references"] = references(settings)
        print_table(
            "references (greedy; oracles read the true state, history-* estimate it)",
            report["references"],
        )
    if "online" in args.parts:
        report["online"] = online(settings, args.estimators, Path(args.plot) if args.plot else None)
        print_table(f"online, {settings.online_iterations} iterations", report["online"])
    if "offline" in args.parts:
        report["offline"] = offline(settings)
        print_table(f"offline, impression log eps={args.log_epsilon}", report["offline"])
    report["seconds"] = time.perf_counter() - started
    report["loadavg_end"] = os.getloadavg()
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
