"""Agents: the top-K off-policy-corrected REINFORCE agent.

* :class:`TopKOffPolicyReinforceAgent` — TF-Agents ``ReinforceAgent`` with the corrections of
  Chen et al., WSDM 2019 (arXiv 1812.02353); the corrections themselves are small pure functions in
  :mod:`tfrec.agents.corrections`.

The supervised next-item model is a Keras model, not an agent: :mod:`tfrec.models.next_item`
(its fit loop: :mod:`tfrec.training.supervised`).
"""

from tfrec.agents import corrections
from tfrec.agents.reinforce import (
    CORRECTIONS,
    LOG_PROPENSITY,
    TopKOffPolicyReinforceAgent,
    TopKReinforceLossInfo,
)

__all__ = [
    "CORRECTIONS",
    "LOG_PROPENSITY",
    "TopKOffPolicyReinforceAgent",
    "TopKReinforceLossInfo",
    "corrections",
]
