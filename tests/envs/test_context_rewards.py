"""r(s, a) of the contextual vector env put together from each context's few terms (envs/context_rewards.py)
is ``envs.model.reward`` bit for bit on every state and action, and the model's reward is the sum of
its parts as ``REWARD_PARTS`` says."""

from __future__ import annotations

import numpy as np
import pytest

from envs import model
from envs.context_tables import ContextTables
from envs.contexts import make_contexts
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES


@pytest.mark.parametrize(("scenario", "sample"), [("war", {"sample": 3, "seed": 3}), ("calendar", {"sample": 2, "seed": 8})])
def test_the_contextual_step_returns_the_models_reward_bit_for_bit_on_every_state_and_action(scenario, sample):
    """Every (s, a) of every phase in sampled contexts (the step's compiled loop, both entry points: the
    step by parts here, the fused step through tests/envs/test_context_step.py's equality with it)."""
    cs = make_contexts(sample, make_params(scenario))
    ct = ContextTables(cs.params)
    n_ctx = len(cs.params)
    ct.ensure_reachable(np.repeat(np.arange(n_ctx), 5), np.tile(np.arange(5), n_ctx))
    index, action = np.repeat(np.arange(N_STATES), N_ACTIONS), np.tile(np.arange(N_ACTIONS), N_STATES)
    for c, p in enumerate(cs.params):
        _, reward, _ = ct.step_indices(index, action, np.zeros_like(index), np.full_like(index, c),
                                       np.random.default_rng(c))
        expected = model.reward(ALL_STATES[index], ALL_ACTIONS[action], p)
        np.testing.assert_array_equal(reward.view(np.uint64), expected.view(np.uint64))


def test_the_reward_is_the_signed_sum_of_its_parts_in_order():
    """``reward_sum`` adds ``REWARD_PARTS`` with their signs: a part moved by 1 moves r by its sign."""
    rng = np.random.default_rng(0)
    p = make_params("war")
    states, actions = ALL_STATES[rng.integers(N_STATES, size=200)], ALL_ACTIONS[rng.integers(N_ACTIONS, size=200)]
    terms = model.reward_terms(states, actions, p)
    total = terms["ces"] + terms["identity_bonus"] - terms["troop_cost"] - terms["basing_cost"] - terms["diplomacy_cost"]
    np.testing.assert_array_equal(terms["reward"], total)
    for name, sign in model.REWARD_PARTS.items():
        parts = {k: terms[k] for k in model.REWARD_PARTS}
        parts[name] = parts[name] + 1.0
        np.testing.assert_allclose(model.reward_sum(**parts) - terms["reward"], sign, atol=1e-12)
