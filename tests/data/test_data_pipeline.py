"""tf.data pipelines: hand-computed batch contents, session boundaries, seeded determinism."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.networks import sequential
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import trajectory

from tfrec import specs
from tfrec.data import pipeline
from tfrec.data.sequences import Sequences, build_sequences
from tfrec.data.synthetic import generate_log
from tfrec.data.vocab import ItemVocabulary

# u0: items 2..5 at t = 0, 10, 100, 110 (two sessions with gap 50); u1: 6, OOV, 7 at t = 0, 1, 2.
SEQS = Sequences(
    users=np.array(["u0", "u1"], dtype=object),
    offsets=np.array([0, 4, 7]),
    items=np.array([2, 3, 4, 5, 6, 1, 7], dtype=np.int32),
    rewards=np.array([0.1, 0.2, 0.3, 0.4, 1.0, 1.0, 1.0], dtype=np.float32),
    propensities=np.array([0.5, 0.5, 0.25, 1.0, np.nan, np.nan, np.nan], dtype=np.float32),
    timestamps=np.array([0, 10, 100, 110, 0, 1, 2]),
)


def _single_batch(dataset: tf.data.Dataset):
    batches = list(dataset)
    assert len(batches) == 1
    return tf.nest.map_structure(lambda t: t.numpy(), batches[0])


@pytest.mark.smoke
def test_next_item_examples():
    batch = _single_batch(pipeline.next_item_dataset(SEQS, 2, batch_size=10, shuffle=False))
    # Targets: u0 rows 1, 2, 3 and u1 row 2 (its row 1 is OOV, row 0 has no history).
    assert batch["history"].tolist() == [[0, 2], [2, 3], [3, 4], [6, 1]]
    assert batch["target"].tolist() == [3, 4, 5, 7]
    np.testing.assert_allclose(batch["reward"], [0.2, 0.3, 0.4, 1.0])
    np.testing.assert_allclose(batch["propensity"], [0.5, 0.25, 1.0, np.nan])
    assert batch["history"].dtype == np.int32 and batch["target"].dtype == np.int32


def test_sequence_windows_cut_from_the_end():
    starts, ends = pipeline.sequence_windows(SEQS, 2)
    assert starts.tolist() == [1, 0, 4] and ends.tolist() == [4, 2, 7]
    history, targets = _single_batch(pipeline.sequence_dataset(SEQS, 2, 10, shuffle=False))
    assert history.tolist() == [[3, 4], [0, 2], [6, 1]]
    # Padding positions and the OOV target (u1: 6 -> OOV) are 0.
    assert targets.tolist() == [[4, 5], [0, 3], [0, 7]]


@pytest.mark.smoke
def test_session_trajectories_with_boundary_steps():
    traj = _single_batch(
        pipeline.session_dataset(SEQS, 2, max_steps=2, batch_size=10, shuffle=False, session_gap=50)
    )
    assert isinstance(traj, trajectory.Trajectory)
    # Chunks: u0 session 1 (rows 0-1), u0 session 2 (rows 2-3), u1 rows 4-5, u1 row 6; T = 3.
    assert traj.observation.shape == (4, 3, 2)
    assert traj.observation[0].tolist() == [[0, 0], [0, 2], [2, 3]]
    assert traj.observation[1].tolist() == [[2, 3], [3, 4], [4, 5]]  # earlier session included
    assert traj.observation[3].tolist() == [[6, 1], [1, 7], [1, 7]]
    assert traj.action.tolist() == [[2, 3, 2], [4, 5, 2], [6, 1, 2], [7, 2, 2]]
    assert traj.step_type.tolist() == [[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 2, 2]]
    assert traj.next_step_type.tolist() == [[1, 2, 0], [1, 2, 0], [1, 2, 0], [2, 0, 0]]
    assert traj.discount.tolist() == [[1, 0, 1], [1, 0, 1], [1, 0, 1], [0, 1, 1]]
    np.testing.assert_allclose(traj.reward[0], [0.1, 0.2, 0.0])
    log_p = traj.policy_info["log_propensity"]
    np.testing.assert_allclose(log_p[1], [np.log(0.25), 0.0, 0.0])
    assert np.isnan(log_p[3, 0]) and log_p[3, 1] == 0.0
    boundary = np.asarray(traj.is_boundary())
    assert boundary.tolist() == [[False, False, True]] * 3 + [[False, True, True]]


def test_session_gap_none_is_one_session_per_user():
    starts, lengths, lower = pipeline.session_chunks(SEQS, max_steps=10)
    assert starts.tolist() == [0, 4] and lengths.tolist() == [4, 3] and lower.tolist() == [0, 4]


def test_same_seed_same_batches_and_reshuffle_each_epoch():
    log = generate_log(40, 30, 8, seed=1)
    seqs = build_sequences(log, ItemVocabulary.from_items(log.df["item"]))

    def targets(seed: int, epochs: int = 2) -> list[list[int]]:
        dataset = pipeline.next_item_dataset(seqs, 5, 16, seed=seed)
        return [
            np.concatenate([b["target"].numpy() for b in dataset]).tolist() for _ in range(epochs)
        ]

    first, again, other = targets(3), targets(3), targets(4)
    assert first == again
    assert first != other
    assert first[0] != first[1]  # a new order each epoch
    assert sorted(first[0]) == sorted(first[1])  # same examples


@pytest.mark.parametrize(
    "make",
    [
        lambda s: pipeline.next_item_dataset(s, 0, 4),
        lambda s: pipeline.sequence_dataset(s, 4, 0),
        lambda s: pipeline.session_dataset(s, 4, 0, 4),
        lambda s: pipeline.next_item_dataset(s.select(np.array([False, False])), 4, 4),
    ],
    ids=["max_len", "batch_size", "max_steps", "no-examples"],
)
def test_bad_arguments(make):
    with pytest.raises(ValueError):
        make(SEQS)


@pytest.mark.smoke
def test_session_batches_train_a_tf_agents_reinforce_agent():
    """The trajectory layout is what `ReinforceAgent` expects (complete episodes, boundaries)."""
    log = generate_log(30, 20, 8, seed=0)
    vocab = ItemVocabulary.from_items(log.df["item"])
    seqs = build_sequences(log, vocab)
    time_step_spec = tensor_spec.from_spec(specs.time_step_spec(4, vocab.size))
    network = sequential.Sequential(
        [
            tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32)),
            tf.keras.layers.Dense(vocab.size),
            tf.keras.layers.Lambda(lambda t: tfp.distributions.Categorical(logits=t)),
        ],
        input_spec=time_step_spec.observation,
    )
    agent = reinforce_agent.ReinforceAgent(
        time_step_spec,
        tensor_spec.from_spec(specs.item_action_spec(vocab.size)),
        actor_network=network,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    batch = next(iter(pipeline.session_dataset(seqs, 4, 5, 8, session_gap=3600)))
    # This plain agent has no policy_info spec; tfrec's off-policy agent consumes log_propensity.
    loss = agent.train(batch._replace(policy_info=()))
    assert np.isfinite(loss.loss.numpy())
