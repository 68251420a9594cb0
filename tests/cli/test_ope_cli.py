"""``tfrec evaluate --ope``: the estimator table of a model's slate policy on an impression log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfrec import cli
from tfrec.encoders import SequenceEncoder
from tfrec.export import save_model_dir


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv
    from tfrec.environments.catalog import CatalogConfig
    from tfrec.policies import generate_logged_data

    root = tmp_path_factory.mktemp("ope")
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=20, num_topics=2, num_clickbait_topics=1), max_len=4
    )
    env = InterestEvolutionEnv(config, batch_size=4, seed=0)
    logged = generate_logged_data(env, 8, impressions=True, seed=0)
    log_path = root / "impressions.csv"
    logged.log.to_csv(log_path)
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(
        vocab_size=env.vocab_size, max_len=4, dim=8, num_layers=1, num_heads=2, dropout=0.0
    )
    encoder(tf.zeros([1, 4], tf.int32))
    model = save_model_dir(root / "model", encoder, env.vocabulary, {"algo": "test"})
    return log_path, model, encoder, env.vocabulary


def test_ope_json_matches_an_independent_computation(setup, capsys):
    log_path, model, encoder, vocabulary = setup
    argv = ["evaluate", "--model", str(model), "--log", str(log_path), "--ope"]
    assert cli.main([*argv, "--ope-epsilon", "0.2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["ope"]
    table = {(r["unit"], r["estimator"]): r for r in rows}
    names = {"logged", "sips", "snsips", "iips", "sniips", "pi"}
    assert names <= {e for u, e in table if u == "slate"}
    assert names <= {e for u, e in table if u == "session"}

    # Independent IPS per slate, recomputed from the CSV: mean_i sum_k q(a_ik) r_ik / beta_ik.
    from tfrec.cli.ope import target_item_probs
    from tfrec.data import ImpressionLog, impression_steps

    df = pd.read_csv(log_path)
    log = ImpressionLog.from_dataframe(df)
    steps = impression_steps(log, vocabulary, max_steps=len(log.df))
    q = target_item_probs(encoder, steps.histories(4), 0.2)
    k = log.slate_size
    ordered = log.df
    qa = np.take_along_axis(q, steps.slates.astype(int), axis=1).ravel()
    terms = qa / ordered["position_propensity"].to_numpy(np.float64) * ordered["reward"]
    expected = terms.to_numpy().reshape(-1, k).sum(axis=1).mean()
    assert table[("slate", "iips")]["value"] == pytest.approx(expected, rel=1e-9)
    logged_mean = ordered["reward"].sum() / log.num_slates
    assert table[("slate", "logged")]["value"] == pytest.approx(logged_mean, rel=1e-6)
    for row in rows:
        if row["estimator"] != "logged":
            assert row["lower"] <= row["value"] <= row["upper"]
            assert 0.0 <= row["ess"] <= log.num_slates  # Kish; PI weights can be negative


def test_ope_prints_a_table(setup, capsys):
    log_path, model, _, _ = setup
    argv = ["evaluate", "--model", str(model), "--log", str(log_path), "--ope"]
    assert cli.main([*argv, "--ope-slate-model", "plackett_luce", "--ope-samples", "20"]) == 0
    out = capsys.readouterr().out
    assert "off-policy estimates of the model's slate policy" in out
    assert "sniips" in out and "session" in out


def test_ope_needs_an_impression_log(setup, tmp_path, capsys):
    _, model, _, _ = setup
    clicks = tmp_path / "clicks.csv"
    pd.DataFrame({"user": ["u", "u"], "item": ["item_0", "item_1"], "timestamp": [0, 1]}).to_csv(
        clicks, index=False
    )
    assert cli.main(["evaluate", "--model", str(model), "--log", str(clicks), "--ope"]) != 0
    assert "is not an impression log" in capsys.readouterr().err
