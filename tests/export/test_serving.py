"""export_for_serving with the real SequenceEncoder: loads in plain TensorFlow, core ops only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfrec.export import export_for_serving, read_warmup_requests
from tfrec.export.warmup import WARMUP_DIR, WARMUP_FILE

K = 4  # the k of the `export_dir` fixture
MAX_LEN = 5  # the encoder's window
NUM_ITEMS = 40
ROWS = [
    ["item_3", "item_7", "item_1"],
    ["", "", "item_12", "not-an-item"],
    ["item_5", "item_6", "item_7", "item_8", "item_9", "item_10", "item_11"],  # > max_len
    ["item_2", "item_2", "item_2", "", ""],  # duplicates, trailing padding
]


def _pad(rows: list[list[str]]) -> np.ndarray:
    width = max(len(r) for r in rows)
    return np.array([[""] * (width - len(r)) + r for r in rows], dtype=object)


# Runs in a fresh interpreter that imports tensorflow only.
_FRESH = r"""
import json, sys
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

export_dir, rows = sys.argv[1], json.loads(sys.argv[2])
model = tf.saved_model.load(export_dir)
out = model.signatures["serving_default"](history=tf.constant(rows))
proto = saved_model_pb2.SavedModel.FromString(open(export_dir + "/saved_model.pb", "rb").read())
ops = set()
for graph in proto.meta_graphs:
    ops |= {n.op for n in graph.graph_def.node}
    for fn in graph.graph_def.library.function:
        ops |= {n.op for n in fn.node_def}
print(json.dumps({
    "item_ids": out["item_ids"].numpy().astype(str).tolist(),
    "scores": out["scores"].numpy().tolist(),
    "ops": sorted(ops),
    "non_core_ops": sorted(op for op in ops if not hasattr(tf.raw_ops, op)),
    "loaded": sorted(m for m in ("tfrec", "tf_agents", "tensorflow_probability", "keras", "tf_keras")
                     if m in sys.modules),
}))
"""


def _plain_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def test_layout(export_dir: Path, encoder, vocab) -> None:
    assert (vocab.num_items, encoder.max_len) == (NUM_ITEMS, MAX_LEN)
    assert export_dir.name == "1"
    for part in (
        "saved_model.pb",
        "variables",
        f"{WARMUP_DIR}/{WARMUP_FILE}",
        "extras/encoder.keras",
    ):
        assert (export_dir / part).exists(), part
    lines = (export_dir / "assets" / "vocabulary.txt").read_text().splitlines()
    assert len(lines) == NUM_ITEMS and lines[0] == "item_0"
    assert not [p for p in os.listdir(export_dir.parent) if not p.isdigit()]  # no temporary folder
    meta = json.loads((export_dir / "assets.extra" / "tfrec_export.json").read_text())
    assert (meta["item_table_shards"], meta["num_items"], meta["repeat_bias"]) == (3, 40, False)


@pytest.mark.smoke
def test_in_process_matches_model(export_dir: Path, vocab, expected_topk) -> None:
    model = tf.saved_model.load(str(export_dir))
    out = model.signatures["serving_default"](history=tf.constant(_pad(ROWS)))
    ids, scores = expected_topk(ROWS)
    np.testing.assert_array_equal(out["item_ids"].numpy().astype(str), ids)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5, atol=1e-5)
    # serving_indices answers the same with indices.
    indices = np.array([[0, 0, *vocab.lookup(r[-MAX_LEN:])] for r in [["item_3", "item_7"]]])
    by_index = model.signatures["serving_indices"](history=tf.constant(indices, tf.int32))
    expected_ids, _ = expected_topk([["item_3", "item_7"]])
    np.testing.assert_array_equal(vocab.to_ids(by_index["item_indices"].numpy()), expected_ids)


@pytest.mark.smoke
def test_fresh_process_with_plain_tensorflow_and_core_ops(export_dir: Path, expected_topk) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FRESH, str(export_dir), json.dumps(_pad(ROWS).tolist())],
        capture_output=True,
        text=True,
        timeout=300,
        env=_plain_env(),
        cwd=export_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert not {"tfrec", "tf_agents", "tensorflow_probability"} & set(out["loaded"])
    ids, scores = expected_topk(ROWS)
    assert out["item_ids"] == ids.tolist()
    np.testing.assert_allclose(out["scores"], scores, rtol=1e-5, atol=1e-5)
    assert out["non_core_ops"] == []
    assert {"LookupTableFindV2", "InitializeTableFromTextFileV2", "TopKV2", "MatMul"} <= set(
        out["ops"]
    )


def test_saved_model_cli_lists_signatures(export_dir: Path) -> None:
    cli = Path(sys.executable).with_name("saved_model_cli")
    text = subprocess.run(
        [str(cli), "show", "--dir", str(export_dir), "--tag_set", "serve", "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        env=_plain_env(),
        check=True,
    ).stdout

    def tensor(signature: str, kind: str, key: str) -> tuple[str, str]:
        block = text.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
        match = re.search(
            rf"{kind}\['{key}'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([-\d, ]+)\)", block
        )
        assert match, f"{signature} {kind} {key} missing in:\n{block}"
        return match.group(1), match.group(2)

    assert tensor("serving_default", "inputs", "history") == ("DT_STRING", "-1, -1")
    assert tensor("serving_default", "outputs", "item_ids") == ("DT_STRING", f"-1, {K}")
    assert tensor("serving_default", "outputs", "scores") == ("DT_FLOAT", f"-1, {K}")
    assert tensor("serving_indices", "inputs", "history") == ("DT_INT32", "-1, -1")
    assert tensor("serving_indices", "outputs", "item_indices") == ("DT_INT32", f"-1, {K}")
    assert tensor("serving_indices", "outputs", "scores") == ("DT_FLOAT", f"-1, {K}")


def test_warmup_requests_parse_and_run(export_dir: Path) -> None:
    requests = read_warmup_requests(export_dir / WARMUP_DIR / WARMUP_FILE)
    assert len(requests) >= 3
    model = tf.saved_model.load(str(export_dir))
    for request in requests:
        assert request.model_spec.name == "sasrec"
        signature = model.signatures[request.model_spec.signature_name]
        history = tf.make_ndarray(request.inputs["history"])
        out = signature(history=tf.constant(history))
        assert out["item_ids"].shape == (history.shape[0], K)
        assert all(i.startswith(b"item_") for i in out["item_ids"].numpy().ravel())


def test_odd_requests_return_valid_answers(export_dir: Path, vocab, expected_topk) -> None:
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    long = [f"item_{i}" if i % 7 else "unknown" for i in rng.integers(0, NUM_ITEMS, 10_000)]
    cases = {
        "empty": [[""]],
        "no column": np.zeros((2, 0), dtype=object),
        "all unknown": [["nope", "nada", ""]],
        "10,000 items": [long],
        "mixed lengths": _pad([["item_1"], ["item_4", "item_5", "item_6"], []]).tolist(),
        "duplicates": [["item_9"] * 8],
    }
    for name, rows in cases.items():
        rows = np.asarray(rows, dtype=object)
        out = serve(history=tf.constant(rows, tf.string))
        ids, scores = out["item_ids"].numpy().astype(str), out["scores"].numpy()
        assert ids.shape == scores.shape == (rows.shape[0], K), name
        assert np.isfinite(scores).all() and (np.diff(scores, axis=1) <= 0).all(), name
        assert all(len(set(row)) == K and all(i in vocab for i in row) for row in ids), name
        if rows.shape[1]:
            expected, _ = expected_topk([list(r) for r in rows])
            np.testing.assert_array_equal(ids, expected, err_msg=name)
    # Unknown ids are dropped, not mapped to OOV: same answer as without them.
    with_unknown = serve(history=tf.constant([["x", "item_3", "y", "item_4"]]))["item_ids"]
    without = serve(history=tf.constant([["item_3", "item_4"]]))["item_ids"]
    np.testing.assert_array_equal(with_unknown.numpy(), without.numpy())


def test_exclude_history_and_next_version(export_dir: Path, encoder, vocab, expected_topk) -> None:
    k = NUM_ITEMS - 2
    path = export_for_serving(
        encoder,
        vocab,
        base_dir=export_dir.parent,
        k=k,
        exclude_history=True,
        warmup=False,
        save_keras=False,
    )
    assert path.name == "2"
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    history = ["item_1", "item_2", "item_3", "item_4"]
    out = serve(history=tf.constant([history, ["", "", "", "item_5"]]))
    ids = out["item_ids"].numpy().astype(str)
    expected, _ = expected_topk([history], k=NUM_ITEMS - 4, exclude_history=True)
    np.testing.assert_array_equal(ids[0, : NUM_ITEMS - 4], expected[0])
    # Only 36 items are left to recommend: the 2 remaining slots are empty with the minimum score.
    assert ids[0, NUM_ITEMS - 4 :].tolist() == ["", ""]
    assert (out["scores"].numpy()[0, NUM_ITEMS - 4 :] == np.finfo(np.float32).min).all()
    assert "item_5" not in ids[1] and len(set(ids[1])) == k


def test_learned_repeat_bias_travels_into_the_export(vocab, expected_topk, tmp_path) -> None:
    from tfrec.encoders import SequenceEncoder

    tf.keras.utils.set_random_seed(5)
    model = SequenceEncoder(vocab.size, max_len=MAX_LEN, dim=8, num_layers=1, repeat_bias=True)
    model(np.zeros((1, MAX_LEN), np.int32))
    # A large positive weight puts every history item of the window first: easy to check by hand.
    model.repeat_weight.assign(50.0)
    path = export_for_serving(model, vocab, base_dir=tmp_path / "m", k=K, num_shards=2)
    meta = json.loads((path / "assets.extra" / "tfrec_export.json").read_text())
    assert meta["repeat_bias"] and meta["item_table_shards"] == 2
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["serving_default"](history=tf.constant(_pad(ROWS)))
    served = out["item_ids"].numpy().astype(str)
    ids, scores = expected_topk(ROWS, encoder=model)
    np.testing.assert_array_equal(served, ids)
    np.testing.assert_allclose(out["scores"].numpy(), scores, rtol=1e-5, atol=1e-5)
    assert set(served[0, :3]) == {"item_3", "item_7", "item_1"}  # row 0's whole history
    assert served[1, 0] == "item_12"  # row 1's only known item
    assert served[3, 0] == "item_2"  # duplicates count once, still first
    # serving_indices applies the same bias.
    window = np.array([[0, 0, *vocab.lookup(["item_3", "item_7", "item_1"])]], np.int32)
    by_index = loaded.signatures["serving_indices"](history=tf.constant(window))
    assert set(vocab.to_ids(by_index["item_indices"].numpy()[0, :3])) == {
        "item_3",
        "item_7",
        "item_1",
    }
    # exclude_history overrides the bias: no history item comes back.
    excluded = export_for_serving(
        model, vocab, base_dir=tmp_path / "x", k=K, exclude_history=True, save_keras=False
    )
    top = (
        tf.saved_model.load(str(excluded))
        .signatures["serving_default"](history=tf.constant(_pad(ROWS[:1])))["item_ids"]
        .numpy()
        .astype(str)
    )
    assert not {"item_3", "item_7", "item_1"} & set(top[0])


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_compressed_tables_agree_with_float32(
    encoder, vocab, expected_topk, tmp_path, dtype
) -> None:
    path = export_for_serving(
        encoder,
        vocab,
        base_dir=tmp_path,
        item_table_dtype=dtype,
        k=K,
        warmup=False,
        save_keras=False,
    )
    rows = tf.constant(_pad(ROWS))
    compressed = tf.saved_model.load(str(path)).signatures["serving_default"](history=rows)
    _, scores = expected_topk(ROWS)
    np.testing.assert_allclose(compressed["scores"].numpy(), scores, atol=0.05)
    ids, _ = expected_topk(ROWS)
    overlap = np.mean(
        [len(set(a) & set(b)) / K for a, b in zip(ids, compressed["item_ids"].numpy().astype(str))]
    )
    assert overlap >= 0.75
    meta = json.loads((path / "assets.extra" / "tfrec_export.json").read_text())
    assert meta["item_table_dtype"] == dtype


def test_keras_file_round_trip(export_dir: Path, encoder) -> None:
    reloaded = tf.keras.models.load_model(export_dir / "extras" / "encoder.keras")
    ids = np.array([[0, 0, 3, 4, 5]], np.int32)
    np.testing.assert_allclose(reloaded(ids).numpy(), encoder(ids).numpy(), atol=1e-6)


def test_failed_export_leaves_nothing(encoder, vocab, tmp_path, monkeypatch) -> None:
    import tfrec.export.serving as serving

    def disk_error(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serving, "write_warmup_requests", disk_error)
    with pytest.raises(OSError, match="No space left"):
        export_for_serving(encoder, vocab, base_dir=tmp_path / "m", save_keras=False)
    assert os.listdir(tmp_path / "m") == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_base_dir_leaves_nothing(encoder, vocab, tmp_path) -> None:
    base = tmp_path / "m"
    base.mkdir()
    base.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            export_for_serving(encoder, vocab, base_dir=base, save_keras=False)
        assert os.listdir(base) == []
    finally:
        base.chmod(0o755)


def test_export_carries_no_user_identifiers(encoder, tmp_path) -> None:
    import pandas as pd

    from tfrec.data.vocab import ItemVocabulary

    log = pd.DataFrame(
        {
            "user": [f"user-secret-{u}" for u in np.repeat(np.arange(8), 5)],
            "item": [f"item_{i % NUM_ITEMS}" for i in range(40)],
        }
    )
    vocab = ItemVocabulary.from_items(log["item"])
    path = export_for_serving(encoder, vocab, base_dir=tmp_path / "m", k=K)
    blobs = b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())
    assert b"user-secret" not in blobs
    assert b"item_7" in blobs  # the item ids are there (the scan reads the files)


def test_bad_arguments_raise_clear_errors(encoder, vocab, export_dir: Path, tmp_path) -> None:
    with pytest.raises(ValueError, match="vocabulary has 3 items but the encoder scores 42"):
        export_for_serving(encoder, ["a", "b", "c"], base_dir=tmp_path)
    with pytest.raises(ValueError, match="k=41"):
        export_for_serving(encoder, vocab, base_dir=tmp_path, k=41)
    with pytest.raises(TypeError, match="cannot export dict"):
        export_for_serving({}, vocab, base_dir=tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        export_for_serving(encoder, vocab, base_dir=export_dir.parent, version=1)
    with pytest.raises(ValueError, match="exceeds the encoder's max_len=5"):
        export_for_serving(encoder, vocab, base_dir=tmp_path, max_len=6)
    with pytest.raises(ValueError, match="more than once"):
        export_for_serving(encoder, ["a"] * 40, base_dir=tmp_path)
    assert os.listdir(tmp_path) == []
