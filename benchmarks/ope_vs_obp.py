"""tfrec's off-policy estimators against Open Bandit Pipeline (obp 0.5.7) on the same inputs.

Three data sets, each estimator computed by both libraries from the same arrays:

* obp's ``SyntheticSlateBanditDataset`` (10 actions, slates of 3 without replacement, binary
  rewards; reward structures ``--structures``): slate standard / independent / reward-interaction
  IPS, their self-normalised forms, cascade DR with obp's ``SlateRegressionModel`` (Ridge) Q table;
  both against the ground truth ``calc_ground_truth_policy_value``.
* obp's ``SyntheticBanditDataset`` (single slot): IPS, capped IPS (``lambda_``), SNIPS, DR (obp's
  ``RegressionModel``, logistic regression); against ``calc_ground_truth_policy_value``.
* the Open Bandit Dataset sample in ``../shared/data/open-bandit/`` (campaign "all"): the click
  rate of the Bernoulli-TS policy estimated from the uniform-random log (the BTS action
  distribution from ``obp.policy.BernoulliTS(is_zozotown_prior=True, campaign="all")``), against
  the BTS log's own mean click rate.

obp lives in its own virtual environment, ``~/.cache/tfrec/obp-venv`` (``TFREC_OBP_VENV`` overrides) (created on the first run:
``pip install --no-deps --ignore-requires-python obp==0.5.7`` plus CPU torch, pandas<3 and obp's
other imports); this script re-runs itself there with ``--obp-worker DIR`` and the two sides
exchange arrays as ``.npz``. Intervals: tfrec's normal (CLT) interval; obp's bootstrap
(``estimate_interval``, 2,000 resamples, of the per-slate terms: for the self-normalised forms it
ignores the normaliser's variability, which tfrec's delta-method interval includes). tfrec's own
Plackett-Luce propensities of the logged slates are checked against obp's enumeration, and a
cascade DR with tfrec's ``LinearCascadeModel`` is added. The BTS action distribution is saved to
``runs/ope_vs_obp/bts_action_dist.npy``. The last line printed is one JSON object.

    .venv/bin/python benchmarks/ope_vs_obp.py
    .venv/bin/python benchmarks/ope_vs_obp.py --rounds 2000 --structures independent
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Outside the checkout, so that no third-party file lies in the project tree (override with
# TFREC_OBP_VENV).
VENV = Path(
    os.environ.get("TFREC_OBP_VENV", Path.home() / ".cache" / "tfrec" / "obp-venv")
).expanduser()
OBD = ROOT.parent / "shared" / "data" / "open-bandit"
OBP_PACKAGES = [
    "torch==2.13.0",
    "pandas<3",
    "numpy<2.4",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "tqdm",
    "pyyaml",
]
STRUCTURES = ["cascade_additive", "independent", "standard_additive", "standard_decay"]
# (obp 0.5.7's "cascade_decay" gives exactly the expected rewards of "independent": not used.)
SLATE_PAIRS = {  # tfrec name -> (obp class, obp's pscore keyword prefix)
    "sips": "SlateStandardIPS",
    "snsips": "SelfNormalizedSlateStandardIPS",
    "iips": "SlateIndependentIPS",
    "sniips": "SelfNormalizedSlateIndependentIPS",
    "rips": "SlateRewardInteractionIPS",
    "snrips": "SelfNormalizedSlateRewardInteractionIPS",
}
PSCORE = {"sips": "pscore", "iips": "pscore_item_position", "rips": "pscore_cascade"}
CAP = 10.0
BOOT = 2000


# ---------------------------------------------------------------------------- the obp side (venv)


def _interval(estimator: object, **kwargs: object) -> list[float]:
    ci = estimator.estimate_interval(n_bootstrap_samples=BOOT, random_state=0, **kwargs)
    return [float(ci["95.0% CI (lower)"]), float(ci["95.0% CI (upper)"])]


def obp_slate(structure: str, rounds: int, seed: int, out: Path) -> dict:
    from obp import ope
    from obp.dataset import (
        SyntheticSlateBanditDataset,
        linear_behavior_policy_logit,
        logistic_reward_function,
    )
    from sklearn.linear_model import Ridge

    k, m = 3, 10
    data = SyntheticSlateBanditDataset(
        n_unique_action=m,
        len_list=k,
        dim_context=2,
        reward_type="binary",
        reward_structure=structure,
        click_model=None,
        random_state=seed,
        behavior_policy_function=linear_behavior_policy_logit,
        base_reward_function=logistic_reward_function,
    )
    fb = data.obtain_batch_bandit_feedback(n_rounds=rounds, return_pscore_item_position=True)
    logit = linear_behavior_policy_logit(fb["context"], fb["action_context"], random_state=seed + 7)
    e_pscore, e_item_position, e_cascade = data.obtain_pscore_given_evaluation_policy_logit(
        fb["action"], logit, return_pscore_item_position=True
    )
    dist = data.calc_evaluation_policy_action_dist(fb["action"], logit)
    targets = {"pscore": e_pscore, "pscore_item_position": e_item_position}
    targets["pscore_cascade"] = e_cascade
    model = ope.SlateRegressionModel(base_model=Ridge(), len_list=k, n_unique_action=m)
    q_hat = model.fit_predict(
        context=fb["context"],
        action=fb["action"],
        reward=fb["reward"],
        pscore_cascade=fb["pscore_cascade"],
        evaluation_policy_pscore_cascade=e_cascade,
        evaluation_policy_action_dist=dist,
    )
    common = {"slate_id": fb["slate_id"], "reward": fb["reward"], "position": fb["position"]}
    result: dict = {"truth": float(data.calc_ground_truth_policy_value(fb["context"], logit))}
    for name, cls in SLATE_PAIRS.items():
        kind = PSCORE[name.removeprefix("sn")]
        est = getattr(ope, cls)(len_list=k)
        kw = {**common, kind: fb[kind], f"evaluation_policy_{kind}": targets[kind]}
        result[name] = [float(est.estimate_policy_value(**kw)), _interval(est, **kw)]
    dr = ope.SlateCascadeDoublyRobust(len_list=k, n_unique_action=m)
    kw = {
        **common,
        "action": fb["action"],
        "pscore_cascade": fb["pscore_cascade"],
        "evaluation_policy_pscore_cascade": e_cascade,
        "q_hat": q_hat,
        "evaluation_policy_action_dist": dist,
    }
    result["cascade-dr"] = [float(dr.estimate_policy_value(**kw)), _interval(dr, **kw)]
    np.savez(
        out / f"slate_{structure}.npz",
        k=k,
        m=m,
        action=fb["action"],
        reward=fb["reward"],
        **{f"b_{key}": fb[key] for key in PSCORE.values()},
        **{f"t_{key}": value for key, value in targets.items()},
        q_hat=q_hat,
        dist=dist,
        logit=logit,
        context=fb["context"],
    )
    return result


def _bandit_estimates(fb: dict, action_dist: np.ndarray, q_hat: np.ndarray) -> dict:
    from obp import ope

    kw = {
        "reward": fb["reward"],
        "action": fb["action"],
        "position": fb.get("position"),
        "pscore": fb["pscore"],
        "action_dist": action_dist,
    }
    estimators = {
        "ips": ope.InverseProbabilityWeighting(),
        "capped_ips": ope.InverseProbabilityWeighting(lambda_=CAP),
        "snips": ope.SelfNormalizedInverseProbabilityWeighting(),
        "dr": ope.DoublyRobust(),
    }
    out = {}
    for name, est in estimators.items():
        extra = {"estimated_rewards_by_reg_model": q_hat} if name == "dr" else {}
        value = est.estimate_policy_value(**kw, **extra)
        out[name] = [float(value), _interval(est, **kw, **extra)]
    return out


def obp_bandit(rounds: int, seed: int, out: Path) -> dict:
    from obp.dataset import SyntheticBanditDataset, linear_behavior_policy, logistic_reward_function
    from obp.ope import RegressionModel
    from sklearn.linear_model import LogisticRegression

    data = SyntheticBanditDataset(
        n_actions=10,
        dim_context=5,
        reward_type="binary",
        reward_function=logistic_reward_function,
        behavior_policy_function=linear_behavior_policy,
        random_state=seed,
    )
    fb = data.obtain_batch_bandit_feedback(n_rounds=rounds)
    # Target: 0.7 greedy on the expected reward + 0.3 uniform.
    best = np.eye(10)[fb["expected_reward"].argmax(axis=1)]
    action_dist = (0.7 * best + 0.3 / 10)[:, :, None]
    model = RegressionModel(n_actions=10, base_model=LogisticRegression(random_state=seed))
    q_hat = model.fit_predict(
        fb["context"], fb["action"], fb["reward"], n_folds=2, random_state=seed
    )
    result = _bandit_estimates(fb, action_dist, q_hat)
    result["truth"] = float(data.calc_ground_truth_policy_value(fb["expected_reward"], action_dist))
    _save_bandit(out / "bandit.npz", fb, action_dist, q_hat)
    return result


def _save_bandit(path: Path, fb: dict, action_dist: np.ndarray, q_hat: np.ndarray) -> None:
    n = len(fb["action"])
    position = fb.get("position")
    position = np.zeros(n, int) if position is None else position
    np.savez(
        path,
        reward=fb["reward"],
        pscore=fb["pscore"],
        target=action_dist[np.arange(n), fb["action"], position],
        q_logged=q_hat[np.arange(n), fb["action"], position],
        q_expected=(action_dist * q_hat).sum(axis=1)[np.arange(n), position],
    )


def obp_open_bandit(out: Path) -> dict:
    from obp.dataset import OpenBanditDataset
    from obp.ope import RegressionModel
    from obp.policy import BernoulliTS
    from sklearn.linear_model import LogisticRegression

    data = OpenBanditDataset(behavior_policy="random", campaign="all", data_path=OBD)
    fb = data.obtain_batch_bandit_feedback()
    bts = BernoulliTS(
        n_actions=data.n_actions,
        len_list=data.len_list,
        is_zozotown_prior=True,
        campaign="all",
        random_state=12345,
    )
    action_dist = bts.compute_batch_action_dist(n_sim=100_000, n_rounds=fb["n_rounds"])
    model = RegressionModel(
        n_actions=data.n_actions,
        len_list=data.len_list,
        action_context=data.action_context,
        base_model=LogisticRegression(max_iter=1000, C=100, random_state=12345),
    )
    q_hat = model.fit_predict(
        fb["context"],
        fb["action"],
        fb["reward"],
        position=fb["position"],
        n_folds=3,
        random_state=12345,
    )
    result = _bandit_estimates(fb, action_dist, q_hat)
    truth = OpenBanditDataset.calc_on_policy_policy_value_estimate(
        behavior_policy="bts", campaign="all", data_path=OBD
    )
    bts_log = OpenBanditDataset(behavior_policy="bts", campaign="all", data_path=OBD)
    n_bts = bts_log.obtain_batch_bandit_feedback()["n_rounds"]
    result["truth"] = float(truth)
    result["truth_stderr"] = float(np.sqrt(truth * (1 - truth) / n_bts))
    result["rounds"] = int(fb["n_rounds"])
    np.save(out / "bts_action_dist.npy", action_dist[0, :, :])
    _save_bandit(out / "open_bandit.npz", fb, action_dist, q_hat)
    return result


def worker(out: Path, rounds: int, seed: int, structures: list[str]) -> None:
    """Runs in the obp venv: computes obp's estimates and saves the shared inputs."""
    report = {"slate": {}, "obp_version": __import__("obp").__version__}
    for structure in structures:
        report["slate"][structure] = obp_slate(structure, rounds, seed, out)
    report["bandit"] = obp_bandit(rounds * 4, seed, out)
    if (OBD / "random" / "all" / "all.csv").exists() and (OBD / "bts" / "all" / "all.csv").exists():
        report["open_bandit"] = obp_open_bandit(out)
    (out / "obp.json").write_text(json.dumps(report))


# ---------------------------------------------------------------------------- the tfrec side


def ensure_venv() -> Path:
    """Creates ``~/.cache/tfrec/obp-venv`` (``TFREC_OBP_VENV`` overrides) with obp 0.5.7 (once); returns its python."""
    python = VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import obp.ope"]).returncode == 0:
        return python
    print(f"creating {VENV} (obp 0.5.7, CPU torch; a few minutes)", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", "--ignore-requires-python", "obp==0.5.7"], check=True)
    subprocess.run([*pip, *OBP_PACKAGES], check=True)
    return python


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def tfrec_propensities(z: dict, k: int) -> dict:
    """tfrec's Plackett-Luce propensities of the logged slates vs obp's (exact enumeration)."""
    from tfrec.evaluation.slate_propensities import plackett_luce_propensities

    logit = z["logit"] - z["logit"].max(axis=1, keepdims=True)
    q = np.exp(logit) / np.exp(logit).sum(axis=1, keepdims=True)
    mine, stderr = plackett_luce_propensities(q, z["action"].reshape(-1, k), num_samples=2000)
    pos = z["t_pscore_item_position"].reshape(-1, k)
    z_score = np.abs(mine.position[:, 2:] - pos[:, 2:]) / np.maximum(stderr[:, 2:], 1e-12)
    return {
        "joint_max_rel_diff": float(np.max(np.abs(mine.joint / z["t_pscore"][::k] - 1))),
        "cascade_max_rel_diff": float(
            np.max(np.abs(mine.cascade / z["t_pscore_cascade"].reshape(-1, k) - 1))
        ),
        "position_1_2_max_rel_diff": float(np.max(np.abs(mine.position[:, :2] / pos[:, :2] - 1))),
        "position_3_mc_within_3_stderr": float(np.mean(z_score < 3)),
        "position_3_mean_stderr": float(stderr[:, 2:].mean()),
    }


def tfrec_slate(path: Path, checks: dict) -> dict:
    from tfrec.evaluation.slate import (
        SlateData,
        SlatePropensities,
        cascade_doubly_robust,
        cascade_model_terms,
        estimate_all,
    )
    from tfrec.evaluation.slate_propensities import LinearCascadeModel

    z = np.load(path)
    k, m = int(z["k"]), int(z["m"])

    def props(prefix: str) -> SlatePropensities:
        return SlatePropensities(
            joint=z[f"{prefix}_pscore"].reshape(-1, k)[:, 0],
            position=z[f"{prefix}_pscore_item_position"].reshape(-1, k),
            cascade=z[f"{prefix}_pscore_cascade"].reshape(-1, k),
        )

    data = SlateData.create(z["reward"].reshape(-1, k), props("b"), props("t"))
    slates = z["action"].reshape(-1, k)
    dist = z["dist"].reshape(-1, k, m)
    terms = cascade_model_terms(z["q_hat"].reshape(-1, k, m), dist, slates)
    out = estimate_all(data, model_terms=terms)
    model = LinearCascadeModel(m).fit(z["context"], slates, data.rewards, target_item_probs=dist)
    out["cascade-dr/lin"] = cascade_doubly_robust(data, *model.predict(z["context"], slates, dist))
    checks.update(tfrec_propensities(z, k))
    return out


def tfrec_bandit(path: Path) -> dict:
    from tfrec.evaluation.off_policy import OffPolicyOptions, capped_ips, doubly_robust, ips, snips
    from tfrec.evaluation.off_policy_data import OffPolicyData

    z = np.load(path)
    data = OffPolicyData.from_probs(z["reward"], z["target"], z["pscore"])
    return {
        "ips": ips(data),
        "capped_ips": capped_ips(data, OffPolicyOptions(cap=CAP)),
        "snips": snips(data),
        "dr": doubly_robust(data, z["q_logged"], z["q_expected"]),
    }


def compare(name: str, ours: dict, theirs: dict, truth: float, rows: list) -> dict:
    print(f"\n{name}: truth {truth:.5f}")
    print(
        f"  {'estimator':<11} {'tfrec':>9} {'95% CI (CLT)':>21} {'obp':>9} {'obp CI (boot)':>21}"
        f" {'rel diff':>9} {'rel err':>8} {'covers':>6} {'ESS':>8}"
    )
    out = {"truth": truth, "estimators": {}}
    for key, est in ours.items():
        mine = {"value": est.value, "ci": [est.lower, est.upper], "ess": est.effective_sample_size}
        line = f"  {key:<11} {est.value:9.5f} [{est.lower:9.5f}, {est.upper:9.5f}]"
        if key in theirs:
            value, ci = theirs[key]
            mine.update(obp=value, obp_ci=ci, rel_diff=rel(est.value, value))
            mine["obp_covers"] = bool(ci[0] <= truth <= ci[1])
            line += f" {value:9.5f} [{ci[0]:9.5f}, {ci[1]:9.5f}] {mine['rel_diff']:9.1e}"
        else:
            line += " " * 42
        mine.update(rel_error=rel(est.value, truth), covers=bool(est.contains(truth)))
        line += (
            f" {mine['rel_error']:8.2%} {str(mine['covers']):>6} {est.effective_sample_size:8.1f}"
        )
        print(line)
        out["estimators"][key] = mine
        rows.append(mine.get("rel_diff", 0.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000, help="slate rounds (bandit: 4x)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--structures", nargs="+", default=STRUCTURES, choices=STRUCTURES)
    parser.add_argument("--obp-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.obp_worker:
        worker(Path(args.obp_worker), args.rounds, args.seed, args.structures)
        return
    started = time.perf_counter()
    report: dict = {"loadavg_start": os.getloadavg(), "rounds": args.rounds, "seed": args.seed}
    python = ensure_venv()
    has_obd = (OBD / "random" / "all" / "all.csv").exists()
    if not has_obd:
        print(f"note: {OBD} is absent: the Open Bandit part is skipped (synthetic parts only).")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cmd = [str(python), __file__, "--obp-worker", tmp, "--rounds", str(args.rounds)]
        cmd += ["--seed", str(args.seed), "--structures", *args.structures]
        subprocess.run(
            cmd, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"}
        )
        theirs = json.loads((out / "obp.json").read_text())
        report["obp_version"] = theirs["obp_version"]
        diffs: list[float] = []
        report["slate"] = {}
        for s in args.structures:
            checks: dict = {}
            ours = tfrec_slate(out / f"slate_{s}.npz", checks)
            truth = theirs["slate"][s]["truth"]
            report["slate"][s] = compare(
                f"SyntheticSlateBanditDataset, {s}", ours, theirs["slate"][s], truth, diffs
            )
            report["slate"][s]["propensity_check"] = checks
            print(f"  tfrec's Plackett-Luce propensities vs obp's: {checks}")
        report["bandit"] = compare(
            "SyntheticBanditDataset",
            tfrec_bandit(out / "bandit.npz"),
            theirs["bandit"],
            theirs["bandit"]["truth"],
            diffs,
        )
        if "open_bandit" in theirs:
            ob = theirs["open_bandit"]
            report["open_bandit"] = compare(
                f"Open Bandit (random log -> BTS), on-policy BTS CTR {ob['truth']:.5f} "
                f"± {1.96 * ob['truth_stderr']:.5f}",
                tfrec_bandit(out / "open_bandit.npz"),
                ob,
                ob["truth"],
                diffs,
            )
            report["open_bandit"]["truth_stderr"] = ob["truth_stderr"]
            report["open_bandit"]["rounds"] = ob["rounds"]
            saved = ROOT / "runs" / "ope_vs_obp" / "bts_action_dist.npy"
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_bytes((out / "bts_action_dist.npy").read_bytes())
            report["open_bandit"]["bts_action_dist"] = str(saved.relative_to(ROOT))
    report["max_rel_diff"] = max(diffs)
    report["seconds"] = time.perf_counter() - started
    report["loadavg_end"] = os.getloadavg()
    print(f"\nmax relative difference tfrec vs obp over every shared estimator: {max(diffs):.2e}")
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
