"""A trained PPO policy read off as a table of action probabilities on the game's block.

SB3's ``policy.get_distribution(obs).distribution`` is, for a ``MultiDiscrete`` action space, one
categorical per component; the components are drawn independently, so the probability of a flat
action is the product of its components' probabilities. Flat indices are row-major over the
components: the small state's ``((m*2 + k)*3 + g)*4 + d``, the patron's ``(D*2 + IP)*3 + sigma``
(the convention of :mod:`agents.game.operator`). The tables are float64, each row renormalised
(torch computes in float32), so that they sum to 1 to machine precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.spaces import ALL_STATES, observe


def block_observations(rows: np.ndarray, params: Any) -> np.ndarray:
    """The observations (len(rows), 26) of the states ``rows`` (flat indices) in a stationary scenario."""
    return observe(ALL_STATES[rows], None, params.horizon)


def component_probs(model: Any, obs: np.ndarray) -> list[np.ndarray]:
    """Each action component's probabilities (N, n_i) under ``model``'s policy, float64, rows summing to 1."""
    import torch

    with torch.no_grad():
        obs_t, _ = model.policy.obs_to_tensor(obs)
        dists = model.policy.get_distribution(obs_t).distribution
    out = []
    for d in dists:
        p = d.probs.cpu().numpy().astype(np.float64)
        out.append(p / p.sum(axis=1, keepdims=True))
    return out


def joint_table(components: list[np.ndarray]) -> np.ndarray:
    """The probabilities (N, prod n_i) of flat actions: the product of the components', row-major."""
    table = components[0]
    for p in components[1:]:
        table = (table[:, :, None] * p[:, None, :]).reshape(table.shape[0], -1)
    return table / table.sum(axis=1, keepdims=True)


def policy_table(model: Any, obs: np.ndarray) -> np.ndarray:
    """``model``'s stochastic policy on the observations ``obs``: (N, n) probabilities of flat actions."""
    return joint_table(component_probs(model, obs))


def greedy_table(model: Any, obs: np.ndarray) -> np.ndarray:
    """``model``'s deterministic policy (each component's mode: the joint mode of independent
    components) as one-hot rows (N, n)."""
    comps = component_probs(model, obs)
    modes = [np.eye(p.shape[1])[p.argmax(axis=1)] for p in comps]
    return joint_table(modes)
