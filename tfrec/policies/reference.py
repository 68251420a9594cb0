"""Reference slate policies for the simulators: random, most-popular, oracle-myopic, far-sighted.

They bracket what a learned policy can reach on a simulator: ``random`` and ``most-popular`` are
the floor, the two oracles read the simulator's true user state (which a learned policy never
sees) and are the ceiling. All are TF-Agents ``PyPolicy`` objects with the environment's specs and
return slates int32 ``[B, k]`` of item indices ``2 .. vocab_size - 1``.

Oracle slates solve the multinomial-logit assortment problem exactly: with item weights
``w_j = exp(s_j)``, no-click weight ``w_0 = exp(s_0)`` and per-click values ``R_j``, the expected
value of a slate ``S`` is ``sum_S w_j R_j / (w_0 + sum_S w_j)``. Its maximum ``lambda*`` over
``|S| <= k`` is found by Dinkelbach's iteration for fractional programs
(``S_t = top-k of w_j (R_j - lambda_t)`` restricted to positive terms,
``lambda_{t+1} = value(S_t)``), the parametric approach of Rusmevichientong, Shen & Shmoys
(2010, "Dynamic assortment optimization with a multinomial logit choice model and capacity
constraint"). When fewer than ``k`` items help, the slate repeats its best item (the choice model
counts a repeated item once, so a repeat is the same as showing fewer items).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tf_agents.policies import py_policy
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.environments.choice import first_occurrence_mask
from tfrec.environments.users import UserState
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED


class RandomSlatePolicy(py_policy.PyPolicy):
    """Uniformly random slates: each position i.i.d. uniform over the catalog (repeats possible).

    Same distribution as TF-Agents' ``RandomPyPolicy`` on the slate spec, without its per-call
    spec construction (which costs more than a simulator step at batch 256).

    Args:
      time_step_spec: the environment's ``time_step_spec()``.
      action_spec: the environment's slate ``action_spec()``.
      seed: seed of the policy's generator.
    """

    def __init__(self, time_step_spec: ts.TimeStep, action_spec: Any, seed: int | None = None):
        super().__init__(time_step_spec, action_spec)
        self._low = int(action_spec.minimum)
        self._high = int(action_spec.maximum) + 1
        self._shape = tuple(action_spec.shape)
        self._rng = np.random.default_rng(seed)

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        outer = np.shape(time_step.observation)[:-1]
        action = self._rng.integers(
            self._low, self._high, size=(*outer, *self._shape), dtype=np.int32
        )
        return policy_step.PolicyStep(action, policy_state, ())


def random_slate_policy(
    time_step_spec: ts.TimeStep, action_spec: Any, seed: int | None = None
) -> RandomSlatePolicy:
    """Uniformly random slates (see :class:`RandomSlatePolicy`)."""
    return RandomSlatePolicy(time_step_spec, action_spec, seed=seed)


def check_current_users_batch(time_step: ts.TimeStep, batch_size: int, name: str) -> None:
    """Refuses a time step that is not the simulator's batch of current users.

    Policies that read the environment's users (the oracles, the personalised behaviour policy)
    are only valid on that environment's latest batched time step ``[batch_size, max_len]``.

    Raises:
      ValueError: the observation is not ``[batch_size, max_len]``.
    """
    observation = np.asarray(time_step.observation)
    if observation.ndim != 2 or observation.shape[0] != batch_size:
        raise ValueError(
            f"{name} reads the simulator's current users, so it needs that environment's "
            f"batched time step [batch_size={batch_size}, max_len]; got observation shape "
            f"{list(observation.shape)}."
        )


class MostPopularPolicy(py_policy.PyPolicy):
    """Recommends the ``k`` most popular items the user has not consumed yet.

    Items already in the observed history are skipped (a chart without what the user has just
    seen); the slate is the top-``k`` of the popularity among the remaining items. It is the
    slate-policy form of the ranking baseline :class:`tfrec.evaluation.MostPopular`
    (``MostPopular.as_policy`` builds it from the scorer's training counts).

    Args:
      time_step_spec: the environment's ``time_step_spec()``.
      action_spec: the environment's slate ``action_spec()``.
      popularity: float ``[num_items]`` (indexed by catalog row ``j`` = item index ``j + 2``) or
        ``[vocab_size]`` (indexed by item index, e.g. ``ItemVocabulary.frequencies``; entries 0
        and 1 are ignored).
    """

    def __init__(self, time_step_spec: ts.TimeStep, action_spec: Any, popularity: np.ndarray):
        super().__init__(time_step_spec, action_spec)
        vocab_size = int(action_spec.maximum) + 1
        num_items = vocab_size - NUM_RESERVED
        popularity = np.asarray(popularity, dtype=np.float64)
        if popularity.shape == (vocab_size,):
            popularity = popularity[FIRST_ITEM_INDEX:]
        elif popularity.shape != (num_items,):
            raise ValueError(
                f"popularity must have shape [num_items={num_items}] or [vocab_size={vocab_size}],"
                f" got {list(popularity.shape)}."
            )
        self._k = int(action_spec.shape[0])
        # Enough candidates to fill a slate after skipping a full history window.
        depth = min(num_items, self._k + int(time_step_spec.observation.shape[0]))
        order = np.argsort(-popularity, kind="stable")[:depth]
        self._candidates = (order + FIRST_ITEM_INDEX).astype(np.int32)  # [depth]

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        history = np.asarray(time_step.observation)
        squeeze = history.ndim == 1
        history = np.atleast_2d(history)
        seen = (self._candidates[None, :, None] == history[:, None, :]).any(-1)  # [B, depth]
        # Stable sort puts unseen candidates first, each group in popularity order.
        order = np.argsort(seen, axis=1, kind="stable")[:, : self._k]
        action = self._candidates[order]
        return policy_step.PolicyStep(action[0] if squeeze else action, policy_state, ())


def _top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Unordered column indices of the ``k`` largest entries of each row of ``[B, N]``."""
    if k >= score.shape[1]:
        return np.tile(np.arange(score.shape[1]), (score.shape[0], 1))
    return np.argpartition(-score, k - 1, axis=1)[:, :k]


def best_mnl_slate(
    logits: np.ndarray,
    values: np.ndarray,
    no_click_logit: float,
    k: int,
    max_iterations: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Slate of at most ``k`` distinct items maximising the expected value under a logit choice.

    Args:
      logits: float ``[B, N]`` choice logits ``s_j`` of every item for every user.
      values: float ``[B, N]`` or ``[N]`` value ``R_j`` of a click on item ``j``.
      no_click_logit: logit ``s_0`` of clicking nothing.
      k: slate size.
      max_iterations: cap on Dinkelbach iterations (it converges in a few).

    Returns:
      ``(rows int64 [B, k], value float64 [B])``: catalog rows of the slate (best first,
      repeating the best item when fewer than ``k`` items raise the value) and the slate's
      expected value ``max_S sum_S w R / (w_0 + sum_S w)``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    b, n = logits.shape
    if not 1 <= k <= n:
        raise ValueError(f"slate size k={k} must be in [1, number of items={n}].")
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), logits.shape)
    top = np.maximum(logits.max(axis=1, keepdims=True), no_click_logit)
    w = np.exp(logits - top)
    w0 = np.exp(no_click_logit - top[:, 0])
    lam = np.zeros(b)
    rows_idx = np.arange(b)[:, None]
    for _ in range(max_iterations):
        score = w * (values - lam[:, None])
        cand = _top_k(score, k)
        keep = score[rows_idx, cand] > 0
        num = (w[rows_idx, cand] * values[rows_idx, cand] * keep).sum(1)
        den = w0 + (w[rows_idx, cand] * keep).sum(1)
        new = num / den
        converged = np.all(new <= lam + 1e-12)
        lam = np.maximum(lam, new)
        if converged:
            break
    score = w * (values - lam[:, None])
    cand = _top_k(score, k)
    cand_score = score[rows_idx, cand]
    order = np.argsort(-cand_score, axis=1, kind="stable")
    cand, cand_score = cand[rows_idx, order], cand_score[rows_idx, order]
    # No item helps (all values <= 0): show the single least harmful item.
    single = w * values / (w0[:, None] + w)
    fallback = single.argmax(axis=1)
    empty = cand_score[:, 0] <= 0
    cand[empty, 0] = fallback[empty]
    cand_score[empty, 0] = 1.0
    cand = np.where(cand_score > 0, cand, cand[:, :1])
    wc = w[rows_idx, cand] * first_occurrence_mask(cand)
    value = (wc * values[rows_idx, cand]).sum(1) / (w0 + wc.sum(1))
    return cand, value


class OraclePolicy(py_policy.PyPolicy):
    """Slates that maximise ``E[reward + budget_value * budget change]`` for the true users.

    ``budget_value = 0`` is the **oracle-myopic** policy (maximal expected immediate reward).
    ``budget_value > 0`` is the **far-sighted** reference: it also prices the time budget a click
    costs or refunds. With engagement reward (minutes), the return of a session is
    ``initial budget - final budget + sum over steps of (reward + budget change)`` (an identity),
    and the final budget is <= 0 when the budget ends the session; so ``budget_value = 1``
    maximises, step by step, exactly the terms the return is made of. It ignores interest drift,
    satiation dynamics and the step cap, which makes it a reference, not the optimum.

    The environment must expose ``click_logits() -> [B, N]``, ``item_rewards() -> [N]``,
    ``item_budget_effects() -> [N]``, ``no_click_logit`` and ``no_click_budget_effect`` (both
    tfrec simulators do). The policy reads the environment's *current* users, so call it on that
    environment's latest time step.

    Args:
      env: the simulator whose users the policy sees.
      budget_value: reward units per minute of budget (0 = myopic).
    """

    def __init__(self, env: Any, budget_value: float = 0.0):
        super().__init__(env.time_step_spec(), env.action_spec())
        if budget_value < 0:
            raise ValueError(f"budget_value must be >= 0, got {budget_value}.")
        self._env = env
        self.budget_value = float(budget_value)
        effect = np.asarray(env.item_budget_effects(), np.float64) - env.no_click_budget_effect
        self._values = np.asarray(env.item_rewards(), np.float64) + self.budget_value * effect

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        check_current_users_batch(time_step, self._env.batch_size, type(self).__name__)
        rows, _ = best_mnl_slate(
            self._env.click_logits(),
            self._values,
            self._env.no_click_logit,
            self._env.slate_size,
        )
        action = (rows + FIRST_ITEM_INDEX).astype(np.int32)
        return policy_step.PolicyStep(action, policy_state, ())


class UserBlindView:
    """The simulator as seen by an oracle that knows the items but not the user's interests.

    Everything is forwarded to ``env`` except :meth:`click_logits`, which uses the prior-mean
    interest (``(interest_low + interest_high) / 2`` in every topic) with the user's true
    satiation. An :class:`OraclePolicy` on this view knows each item's appeal, quality, length
    and the satiation dynamics, i.e. everything a policy could learn from item-level statistics,
    but nothing personal.
    """

    def __init__(self, env: Any):
        self._env = env
        users = env.user_model.config
        self._prior_interest = 0.5 * (users.interest_low + users.interest_high)
        self.interest_override: np.ndarray | None = None  # [B, T], set by HistoryInferredOracle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)

    def click_logits(self) -> np.ndarray:
        state = self._env.user_state
        if self.interest_override is None:
            interest = np.full_like(state.interest, self._prior_interest)
        else:
            interest = self.interest_override.astype(state.interest.dtype)
        return self._env.user_model.item_logits(UserState(interest, state.satiation, state.budget))


class HistoryInferredOracle(OraclePolicy):
    """An oracle whose interests are *estimated from the observed history*, not read.

    The simulator draws a new user's history topics from ``softmax(interest / tau)`` and clicks
    drift the interest toward the clicked topic, so the topic counts ``n_t`` of the observed
    window carry the interests: ``interest_hat_t = clip(tau * (log(n_t + 1/2) - mean_t log(n_t +
    1/2)), low, high)``. Items (appeal, quality, length) and the current satiation are the
    true ones, as for :class:`UserBlindView`. Its return is a lower bound on what a policy that
    sees only the history (plus item-level knowledge) can reach with this simple estimate.
    """

    def __init__(self, env: Any, budget_value: float):
        self._view = UserBlindView(env)
        super().__init__(self._view, budget_value)
        self._users = env.user_model.config
        self._topics = env.catalog.topics
        self._num_topics = env.catalog.num_topics

    def _action(self, time_step: Any, policy_state: Any) -> Any:
        history = np.asarray(time_step.observation)
        real = history >= FIRST_ITEM_INDEX
        topic = self._topics[np.where(real, history - FIRST_ITEM_INDEX, 0)]
        counts = np.stack(
            [((topic == t) & real).sum(1) for t in range(self._num_topics)], axis=1
        ).astype(np.float64)
        log_counts = np.log(counts + 0.5)
        c = self._users
        estimate = c.initial_history_temperature * (
            log_counts - log_counts.mean(axis=1, keepdims=True)
        )
        self._view.interest_override = np.clip(estimate, c.interest_low, c.interest_high)
        return super()._action(time_step, policy_state)


def oracle_myopic_policy(env: Any) -> OraclePolicy:
    """The oracle maximising the expected immediate reward (``budget_value = 0``)."""
    return OraclePolicy(env, budget_value=0.0)


def far_sighted_policy(env: Any, budget_value: float = 1.0) -> OraclePolicy:
    """The quality-aware oracle that also prices the budget (see :class:`OraclePolicy`)."""
    return OraclePolicy(env, budget_value=budget_value)
