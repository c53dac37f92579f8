"""Exact scores per context (issue 30 item 2): V*_c cached by content key, and the exact value of
a policy that reads the context's features, per context; SB3's PPO trains on the contextual env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import agents.context_eval as ce
import envs  # noqa: F401
from agents.exact_eval import evaluate_table
from envs.contexts import make_contexts
from envs.scenarios import make_params

CONTEXTS = make_contexts({"sample": 4, "seed": 7}, make_params("war"))


class _Reads:
    """A Markov policy that reads the features: finds its context by them and plays that context's optimum."""

    reads_time = False
    deterministic_table = True
    name = "feature-oracle"

    def __init__(self, sols, contexts=CONTEXTS, hidden=None):
        self.sols, self.contexts, self.hidden = sols, contexts, hidden

    def action_probabilities(self, obs):
        return None

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        if self.hidden is not None:
            assert obs.shape[1] == 26
            c = self.hidden
        else:
            assert np.all(obs[:, 26:] == obs[:1, 26:])  # one context's features on every row
            c = int(np.argmin(np.abs(self.contexts.feature_values - obs[0, 26:]).sum(axis=1)))
        return np.maximum(self.sols[c].policy[0], 0), None


def test_optima_are_cached_by_content(monkeypatch):
    ce._OPTIMA.clear()
    sols = ce.context_optima(CONTEXTS.params)
    calls = []
    monkeypatch.setattr(ce, "solve_batch", lambda ps: calls.append(ps) or [])
    again = ce.context_optima(list(CONTEXTS.params[::-1]))
    assert calls == [] and [a is b for a, b in zip(again, sols[::-1])] == [True] * 4
    assert len({round(s.value, 9) for s in sols}) == 4  # the contexts differ
    assert ce.context_key(CONTEXTS.params[0]) != ce.context_key(CONTEXTS.params[1])


def test_a_policy_reading_the_features_is_scored_in_every_context():
    sols = ce.context_optima(CONTEXTS.params)
    oracle = ce.evaluate_contexts(_Reads(sols), CONTEXTS)
    np.testing.assert_allclose(oracle.share, 1.0, rtol=1e-9)
    carried = ce.evaluate_contexts(_Reads(sols, hidden=0), CONTEXTS, context_in_obs=False)
    assert carried.share[0] == pytest.approx(1.0, rel=1e-9)
    assert np.all(carried.share[1:] <= 1 + 1e-9) and np.any(carried.share[1:] < 0.999)
    for c in range(1, 4):  # the optimum of context 0 carried to c: evaluate_table's value there
        direct = evaluate_table(CONTEXTS.params[c], np.maximum(sols[0].policy[0], 0))
        assert carried.value[c] == pytest.approx(direct.value, rel=1e-12)
        assert carried.optimum[c] == pytest.approx(sols[c].value, rel=1e-12)
    part = ce.evaluate_contexts(_Reads(sols), CONTEXTS, ids=[2])
    assert part.ids.tolist() == [2] and part.value[0] == pytest.approx(oracle.value[2], rel=1e-12)
    with pytest.raises(ValueError, match=r"ids\[0\]=9 is not allowed: an integer in 0..3"):
        ce.evaluate_contexts(_Reads(sols), CONTEXTS, ids=[9])


def test_ppo_trains_on_the_contextual_env_and_is_scored_exactly():
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = gym.make("SmallStateAlliance-v0", contexts={"sample": 4, "seed": 7}, context_in_obs=True)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(128)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    assert model.observation_space.shape == (26 + 25,)
    scores = ce.evaluate_contexts(model, env.unwrapped.contexts)
    assert np.all(np.isfinite(scores.value)) and np.all(scores.share <= 1 + 1e-9)
    np.testing.assert_allclose(scores.optimum, [s.value for s in ce.context_optima(CONTEXTS.params)])


def test_greedy_actions_are_predicts_in_pieces_and_at_ties():
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = gym.make("SmallStateAlliance-v0", contexts={"sample": 4, "seed": 7}, context_in_obs=True)
    model = PPO("MlpPolicy", env, seed=1, device="cpu")
    obs = ce.context_observations(CONTEXTS.params[1], CONTEXTS.feature_values[1])
    with torch.no_grad():  # logits far apart (argmax of the logits) and, on some axes, near ties
        model.policy.action_net.weight.mul_(20.0)
        model.policy.action_net.weight[4:6] = model.policy.action_net.weight[4]  # axis k: both logits equal
    want = model.predict(obs, deterministic=True)[0]
    got = ce.greedy_actions(model, obs, rows=1000)  # 5 full pieces and one of 400
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert len(np.unique(want[:, 0])) > 1 and np.all(want[:, 1] == 0)  # axis m varies; k's ties go to index 0
    tables = ce.context_policy_tables(model, CONTEXTS, ids=[1, 3])
    assert np.array_equal(tables[0][0], ce.to_flat_actions(want, 5400))
    assert not np.array_equal(tables[0], tables[1])  # the features of context 3 written in place of 1's


def test_start_scores_are_evaluate_tables_numbers_on_a_calendar_context():
    from agents.exact_eval import start_scores
    from agents.solver import iter_with_operators

    params = make_contexts({"sample": 1, "seed": 3}, make_params("calendar")).params[0]
    sol, op = next(iter_with_operators([params]))
    rng = np.random.default_rng(0)  # a time-dependent table: the optimum's, changed on a few states a quarter
    table = np.maximum(sol.policy[:44], 0).copy()
    for t in range(44):
        flip = rng.choice(5400, 300, replace=False)
        table[t, flip] = rng.integers(0, 96, 300)
    full = evaluate_table(params, table, solution=sol)
    value, near, occupancy = start_scores(params, table, sol, op)
    assert value == full.value and near == full.near_optimal_share and np.array_equal(occupancy, full.occupancy)
    assert value < sol.value - 1e-6  # the flips cost something: the check is not of the optimum against itself
    assert start_scores(params, table, sol, op, with_occupancy=False) == (value, near, None)
