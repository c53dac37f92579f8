"""Value streams (agents/streams.py): the reward's parts add up to V^pi exactly, and S, Aut, Econ
agree with Monte Carlo episodes of the same policies."""

import numpy as np
import pytest

from agents.baselines import baseline_names, make_policy
from agents.exact_eval import evaluate_policy, evaluate_table
from agents.monte_carlo import rollout_returns
from agents.solver import solve
from agents.streams import GOODS, TERMS, compare_streams, optimum_streams, policy_streams
from envs import model
from envs.scenarios import make_params


def check_parts_add_up(scenario):
    p = make_params(scenario)
    reports = {r.policy: r for r in compare_streams(p)}
    assert set(reports) == {"optimal", *baseline_names()}
    for name, rep in reports.items():
        # V^pi from the evaluator's own path, not from the streams' pass
        if name == "optimal":
            v_pi = evaluate_table(p, solve(p).start_table()).value
        else:
            v_pi = evaluate_policy(make_policy(name, p), p).value
        parts = sum(sign * rep.streams[k] for k, sign in model.REWARD_PARTS.items()) / (1 - p.gamma)
        assert abs(parts - v_pi) <= 1e-9, (scenario, name, parts, v_pi)
        assert abs(rep.value - v_pi) <= 1e-9
        assert set(rep.streams) == set(TERMS)
        for k in GOODS:  # discounted means of quantities in [0, 1]
            assert 0.0 <= rep.streams[k] <= 1.0
    return reports


def test_parts_add_up_to_the_value_on_war():
    reports = check_parts_add_up("war")
    # bandwagon sends combat troops every quarter: its troop-cost stream is .25 (1 - iota) exactly
    assert reports["bandwagon"].streams["troop_cost"] == pytest.approx(0.25 * (1 - 0.4), abs=1e-12)
    assert reports["balance"].streams["diplomacy_cost"] == pytest.approx(0.01, abs=1e-12)


@pytest.mark.slow
def test_parts_add_up_to_the_value_on_calendar():
    reports = check_parts_add_up("calendar")
    for rep in reports.values():  # the quarters' part is a part: the continuation adds the rest
        assert rep.horizon_part is not None
        weight = 1 - 0.95 ** 44
        for k in GOODS:
            assert 0.0 <= rep.horizon_part[k] <= weight + 1e-12


def mc_streams(policy, p, n=1500, seed=7):
    """Discounted means of S, Aut, Econ over n episodes of 400 quarters (gamma^400 ~ 1e-9: the
    truncation is far below the standard error), from the recorded states and actions."""
    long = p.with_overrides({"horizon": 400})
    res = rollout_returns(policy, long, n, seed=seed, tail="none", record=True)
    states = res.states.reshape(-1, 6).astype(np.int64)
    actions = res.actions.reshape(-1, 4).astype(np.int64)
    terms = model.reward_terms(states, actions, p)
    disc = p.gamma ** np.arange(400)
    out = {}
    for k in GOODS:
        per_episode = (1 - p.gamma) * (terms[k].reshape(n, 400) * disc).sum(axis=1)
        out[k] = (per_episode.mean(), per_episode.std(ddof=1) / np.sqrt(n))
    return out


@pytest.mark.parametrize("name", ["optimal", "bandwagon", "balance", "hedge", "random"])
def test_goods_agree_with_monte_carlo_on_war(name):
    p = make_params("war")
    policy = make_policy(name, p, seed=3)
    exact = optimum_streams(p) if name == "optimal" else policy_streams(p, policy, name)
    for k, (mean, se) in mc_streams(policy, p).items():
        assert se > 0 or name == "bandwagon"
        assert abs(exact.streams[k] - mean) <= 3 * se + 1e-12, (name, k, exact.streams[k], mean, se)
