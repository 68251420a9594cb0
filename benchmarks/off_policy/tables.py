"""The benchmark's report as readable tables (one function per part)."""

from __future__ import annotations

from typing import Any

from .step_time import STEP_OPTIMIZERS


def _print_ope_trained(row: dict[str, Any]) -> None:
    _print_estimators(
        [row], "7. OPE of the trained (d) policy, k i.i.d. draws from π (relative errors)"
    )


def print_tables(report: dict[str, Any]) -> None:
    """Readable tables of the report (of the parts it holds, in the order of the parts)."""
    printers = {
        "estimators": _print_estimators,
        "learners": _print_learners,
        "online": _print_online,
        "step_time": _print_step_time,
        "peaked": _print_peaked,
        "bounds": _print_bounds,
        "log_content": _print_log_content,
        "ope_trained": _print_ope_trained,
    }
    for key, printer in printers.items():
        if key in report:
            printer(report[key])


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


def _print_bounds(part: dict[str, dict[str, float]]) -> None:
    print("\n== 6. Oracles with and without the user's interests (part 3's evaluation) ==")
    for name, r in part.items():
        print(f"{name:34} {r['return']:7.2f} [{r['lower']:6.2f}, {r['upper']:6.2f}]")
