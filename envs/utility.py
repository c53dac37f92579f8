"""Section 6's last steps: how r(s, a) is put together from its terms, the one copy.

``envs.model.reward_terms`` calls these functions on NumPy arrays; the contextual vector env's step
compiles them with numba from this same source and calls them on numbers (``envs.context_rewards``: r from
each context's few terms instead of a table of r per context). The operations and their order are the
model's: the same numbers bit for bit either way (numba compiles without fast-math; tests/envs/
test_context_rewards.py checks every (s, a)).
"""

from __future__ import annotations

import inspect

import numpy as np

# r is the sum of these terms of ``envs.model.reward_terms`` with these signs (the others - S, Aut, Econ,
# shield, trap - enter r only through the CES part, which is not additive over them).
REWARD_PARTS = {"ces": 1.0, "identity_bonus": 1.0, "troop_cost": -1.0, "basing_cost": -1.0, "diplomacy_cost": -1.0}


def security_of(T, shield, trap):
    """Section 6: security = clip(1 - (T/3)(1 - shield) - trap, 0, 1)."""
    return np.minimum(np.maximum(1 - (T / 3) * (1 - shield) - trap, 0.0), 1.0)


def ces_part(weight, good):
    """Section 6: a good's part of the CES root, w sqrt(good)."""
    return weight * np.sqrt(good)


def ces_of(security_part, autonomy_part, economy_part):
    """Section 6: the CES part of r, (w_s sqrt(S) + w_a sqrt(Aut) + w_e sqrt(Econ))^2, from the three parts."""
    root = security_part + autonomy_part + economy_part
    return root * root


def reward_sum(ces, identity_bonus, troop_cost, basing_cost, diplomacy_cost):
    """Section 6: r from its :data:`REWARD_PARTS`, added in that order with those signs."""
    return ces + identity_bonus - troop_cost - basing_cost - diplomacy_cost


if list(inspect.signature(reward_sum).parameters) != list(REWARD_PARTS) or tuple(
        float(reward_sum(*row)) for row in np.eye(len(REWARD_PARTS))) != tuple(REWARD_PARTS.values()):
    raise ValueError(f"envs.utility.reward_sum does not add REWARD_PARTS={REWARD_PARTS}")
