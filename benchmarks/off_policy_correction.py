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
   :class:`~tfrec.policies.PersonalizedSoftmaxPolicy` instead (user-dependent, biased).
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

The code lives in the ``benchmarks/off_policy/`` package, one module per part; this script is its
entry point.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads (as tfrec does)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from off_policy.main import main  # noqa: E402

if __name__ == "__main__":
    main()
