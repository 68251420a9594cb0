"""Off-policy correction benchmark (Chen et al., WSDM 2019, arXiv 1812.02353) on the simulator.

Run it through ``benchmarks/off_policy_correction.py`` (``--help`` lists the flags). Eight parts,
one module each, on the default ``InterestEvolutionEnv`` (1,000 items, slates of K = 5) except
part 5:

1. :mod:`.estimators`: off-policy estimators vs the simulator's truth.
2. :mod:`.learners`: learning from biased logs (supervised, REINFORCE without / with the π/β and
   the top-K correction).
3. :mod:`.online`: the online training curve.
4. :mod:`.step_time`: one training step at a 10k- and a 1M-item catalog.
5. :mod:`.peaked`: (c) vs (d) on a 50-item catalog, where π can concentrate.
6. :mod:`.bounds`: oracles with and without the user's interests.
7. :mod:`.ope_trained`: OPE of the trained top-K policy.
8. :mod:`.log_content`: what the training logs hold.

:mod:`.settings` holds the sizes, :mod:`.behavior` the logging policies, :mod:`.tables` the
printed tables and :mod:`.main` the command line.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads (as tfrec does)
