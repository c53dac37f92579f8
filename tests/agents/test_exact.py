"""The exact solver and evaluator against brute force (``envs.model.outcomes``) and Monte Carlo.

Brute force here means: enumerate every branch of a step with ``envs.model.outcomes`` and sum
probability x value — a different route from the solver's factorised operator.
"""

import numpy as np
import pytest

from agents.baselines import baseline_names, make_policy
from agents.bellman import BLOCK, NEIGHBOURS
from agents.compiled_eval import expect_moves
from agents.exact_eval import evaluate_policy, evaluate_table, policy_values
from agents.monte_carlo import rollout_returns
from agents.policy import policy_table
from agents.solver import operator, q_values, solve
from envs import model
from envs.scenarios import make_params, scenario_names
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, encode_states
from envs.tables import build_tables

RNG_SEED = 20240601


def brute_expectation(states, actions, p, t, values):
    """E[V(s')] by enumerating every outcome branch."""
    nxt, probs = model.outcomes(states, actions, p, t)
    idx = encode_states(nxt.reshape(-1, 6)).reshape(nxt.shape[:2])
    return (probs * values[idx]).sum(axis=1)


def brute_q(states, p, t, values, chunk=8):
    """Q(s, a) for all 96 actions, (N, 96), by brute force (a few states at a time)."""
    out = []
    for i in range(0, states.shape[0], chunk):
        part = states[i:i + chunk]
        s = np.repeat(part, N_ACTIONS, axis=0)
        a = np.tile(ALL_ACTIONS, (part.shape[0], 1))
        q = model.reward(s, a, p) + p.gamma * brute_expectation(s, a, p, t, values)
        out.append(q.reshape(part.shape[0], N_ACTIONS))
    return np.concatenate(out)


@pytest.mark.parametrize("scenario", ["war", "timeline", "calendar", "alt_open"])
def test_expectation_operator_equals_brute_force(scenario):
    p = make_params(scenario)
    op = operator(p)
    rng = np.random.default_rng(RNG_SEED)
    v = rng.normal(size=N_STATES)
    for t in (0, 25, 31, 36, 43):
        c = op.continuation(v, t)
        s = rng.integers(0, N_STATES, 40)
        s[:5] = [k * BLOCK + 7 * k for k in range(5)]  # a state of each phase block
        a = rng.integers(0, N_ACTIONS, 40)
        fast = np.array([op.expect(c[si // BLOCK], si // BLOCK)[si % BLOCK, ai] for si, ai in zip(s, a)])
        slow = brute_expectation(ALL_STATES[s], ALL_ACTIONS[a], p, t, v)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


@pytest.mark.parametrize("stochastic", [False, True])
def test_policy_kernel_and_propagation_equal_brute_force(stochastic):
    p = make_params("timeline")
    op = operator(p)
    rng = np.random.default_rng(RNG_SEED + 1)
    pol = rng.dirichlet(np.ones(N_ACTIONS) * 0.3, N_STATES) if stochastic else rng.integers(0, N_ACTIONS, N_STATES)
    moves = op.policy_moves(pol)
    v = rng.normal(size=N_STATES)
    t = 3
    c = op.continuation(v, t)
    fast = np.concatenate([expect_moves(moves[ph * BLOCK:(ph + 1) * BLOCK], c[ph], NEIGHBOURS) for ph in range(5)])
    s = rng.integers(0, N_STATES, 60)
    if stochastic:
        slow = np.array([pol[si] @ brute_expectation(np.repeat(ALL_STATES[[si]], N_ACTIONS, 0), ALL_ACTIONS, p, t, v)
                         for si in s])
    else:
        slow = brute_expectation(ALL_STATES[s], ALL_ACTIONS[pol[s]], p, t, v)
    np.testing.assert_allclose(fast[s], slow, rtol=0, atol=1e-12)
    # one step of a state distribution (mass on a few states of several phases)
    d = np.zeros(N_STATES)
    d[s[:8]] = rng.random(8)
    d /= d.sum()
    nxt_fast = op.propagate(d, moves, t)
    nxt_slow = np.zeros(N_STATES)
    for si in np.flatnonzero(d):
        acts = ALL_ACTIONS if stochastic else ALL_ACTIONS[[pol[si]]]
        weights = pol[si] if stochastic else np.ones(1)
        nxt, probs = model.outcomes(np.repeat(ALL_STATES[[si]], len(acts), 0), acts, p, t)
        idx = encode_states(nxt.reshape(-1, 6))
        nxt_slow += np.bincount(idx, (d[si] * weights[:, None] * probs).ravel(), minlength=N_STATES)
    np.testing.assert_allclose(nxt_fast, nxt_slow, rtol=0, atol=1e-14)


def test_calendar_and_continuation_share_move_tables():
    """The operator of timeline/calendar uses the continuation's tables: they must agree."""
    cal = make_params("calendar")
    a, b = build_tables(cal), build_tables(cal.continuation())
    for name in ("reward", "p_mediation", "up", "down"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("scenario", ["war", "phase2", "low_threat"])
def test_stationary_optimum_bellman_residual_brute_force(scenario):
    p = make_params(scenario)
    sol = solve(p)
    assert sol.bellman_residual <= 1e-9
    v = sol.values[0]
    start_block = p.start[0]
    rng = np.random.default_rng(RNG_SEED + 2)
    s = start_block * BLOCK + rng.choice(BLOCK, 120, replace=False)
    q = brute_q(ALL_STATES[s], p, 0, np.nan_to_num(v))
    assert np.abs(q.max(axis=1) - v[s]).max() <= 1e-9
    chosen = sol.policy[0, s]
    assert np.all(q[np.arange(s.size), chosen] >= q.max(axis=1) - 1e-9)
    for i, a in enumerate(chosen):  # ties go to the lowest flat index
        assert np.all(q[i, :a] < q[i].max() - 1e-12 + 1e-13)


def test_continuation_optimum_bellman_residual_brute_force():
    """The timeline continuation (phases by hazard): all five blocks, brute force on a sample."""
    p = make_params("timeline").continuation()
    sol = solve(p).complete()
    v = sol.values[0]
    rng = np.random.default_rng(RNG_SEED + 3)
    s = rng.choice(N_STATES, 80, replace=False)
    q = brute_q(ALL_STATES[s], p, 0, v)
    assert np.abs(q.max(axis=1) - v[s]).max() <= 1e-9


@pytest.mark.parametrize("scenario", ["calendar", "timeline"])
def test_finite_horizon_optimum_bellman_brute_force(scenario):
    p = make_params(scenario)
    sol = solve(p)
    assert sol.values.shape == (45, N_STATES) and sol.policy.shape == (44, N_STATES)
    np.testing.assert_array_equal(sol.values[44], solve(p.continuation()).values[0])
    rng = np.random.default_rng(RNG_SEED + 4)
    for t in (0, 25, 31, 37, 43):
        s = rng.choice(N_STATES, 30, replace=False)
        q = brute_q(ALL_STATES[s], p, t, sol.values[t + 1])
        assert np.abs(q.max(axis=1) - sol.values[t, s]).max() <= 1e-9
        assert np.all(q[np.arange(s.size), sol.policy[t, s]] >= q.max(axis=1) - 1e-9)


FAST_SCENARIOS = ("timeline", "calendar", "war", "phase0", "phase2", "alt_open")


@pytest.mark.parametrize("scenario", [s if s in FAST_SCENARIOS else pytest.param(s, marks=pytest.mark.slow)
                                      for s in scenario_names()])
def test_optimum_dominates_every_baseline(scenario):
    """V* >= V^pi in every state the evaluation covers (and so at s0), for the ten baselines."""
    p = make_params(scenario)
    sol = solve(p)
    for name in baseline_names():
        pol = make_policy(name, p, seed=0)
        v = policy_values(p, policy_table(pol, p, stochastic=(name == "random")))
        ok = ~np.isnan(v)
        assert ok[:, encode_states(np.array([p.start]))[0]].all()
        assert np.all(sol.values[ok] >= v[ok] - 1e-9), name


def test_exact_evaluation_of_the_optimum_reproduces_its_value():
    for scenario in ("war", "calendar"):
        p = make_params(scenario)
        sol = solve(p)
        res = evaluate_table(p, sol.start_table())
        assert res.value == pytest.approx(sol.value, abs=1e-9)
        assert res.regret == pytest.approx(0.0, abs=1e-9)
        assert res.near_optimal_share == pytest.approx(1.0, abs=1e-12)
        assert res.state_distribution.shape == (p.horizon, N_STATES)
        np.testing.assert_allclose(res.state_distribution.sum(axis=1), 1.0, atol=1e-12)
        assert res.occupancy.sum() == pytest.approx(1.0, abs=1e-12)


def test_near_optimal_share_counts_the_occupancy_of_bad_actions():
    """Optimal everywhere except at s0, where the worst action is taken: the share of occupancy
    on near-optimal actions is 1 minus the occupancy of s0."""
    p = make_params("war")
    sol = solve(p).complete()
    s0 = encode_states(np.array([p.start]))[0]
    q = q_values(sol)
    table = sol.policy.copy()
    table[0, s0] = int(np.argmin(q[s0]))
    assert q[s0].min() < sol.values[0, s0] - 0.01
    res = evaluate_table(p, table)
    assert res.near_optimal_share == pytest.approx(1.0 - res.state_distribution[:, s0].mean(), abs=1e-12)
    assert res.value < sol.value


@pytest.mark.parametrize("scenario", ["war", "calendar"])
def test_monte_carlo_of_the_optimum_matches_the_exact_value(scenario):
    """20,000 episodes; each scored as horizon rewards + gamma^horizon * tail with the exact tail
    (war: V^pi of the same policy, here V*; calendar: V*_inf of the continuation)."""
    p = make_params(scenario)
    pol = make_policy("optimal", p)
    mc = rollout_returns(pol, p, 20_000, seed=11, tail="exact")
    exact = solve(p).value
    assert abs(mc.mean - exact) <= 3 * mc.std_error
    # the occupancy statistics of the episodes agree with the exact occupancy
    from agents.archetypes import stats_from_episodes, stats_from_occupancy

    ex = stats_from_occupancy(evaluate_policy(pol, p).occupancy).vector()
    est = stats_from_episodes(mc.states, mc.actions).vector()
    assert np.abs(ex - est).max() < 0.01


@pytest.mark.parametrize("scenario,name", [("war", "limited"), ("calendar", "hedge"), ("war", "random")])
def test_monte_carlo_of_a_baseline_matches_its_exact_value(scenario, name):
    p = make_params(scenario)
    exact = evaluate_policy(make_policy(name, p), p).value
    mc = rollout_returns(make_policy(name, p, seed=5), p, 10_000, seed=3)
    assert abs(mc.mean - exact) <= 3 * mc.std_error


def test_truncated_returns_differ_from_the_scored_ones_by_the_tail():
    p = make_params("war")
    pol = make_policy("limited", p)
    full = rollout_returns(pol, p, 50, seed=1)
    bare = rollout_returns(pol, p, 50, seed=1, tail="none")
    np.testing.assert_array_equal(full.horizon_returns, bare.returns)
    np.testing.assert_allclose(full.returns - bare.returns, p.gamma ** 80 * full.tail)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", ["war", {"scenario": "war"}, None])
def test_solver_rejects_what_is_not_a_parameter_set(bad):
    with pytest.raises(ValueError, match="AllianceParams") as exc:
        solve(bad)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("table", [np.zeros((2, N_STATES), int), np.full((1, N_STATES), 96), np.zeros((1, 10), int),
                                   np.full((1, N_STATES, N_ACTIONS), 0.5)])
def test_evaluation_rejects_bad_tables(table):
    with pytest.raises(ValueError) as exc:
        evaluate_table(make_params("war"), table)
    assert "\n" not in str(exc.value)


def test_monte_carlo_rejects_bad_arguments():
    p = make_params("war")
    with pytest.raises(ValueError, match="n_episodes"):
        rollout_returns(make_policy("limited", p), p, 1)
    with pytest.raises(ValueError, match="tail"):
        rollout_returns(make_policy("limited", p), p, 10, tail="bootstrap")



def test_blocks_unreachable_from_the_start_are_solved_only_on_demand():
    p = make_params("war").with_overrides({}, name="war-fresh")  # a parameter set of its own: a cold cache
    sol = solve(p)
    assert set(sol.iterations) == {4}  # hazards are 0: only the start phase's block bears on V*(s0)
    assert np.isnan(sol.values[0, :4 * BLOCK]).all() and (sol.policy[0, :4 * BLOCK] == -1).all()
    partial = evaluate_table(p, sol.start_table())
    sol.complete()
    assert set(sol.iterations) == {0, 1, 2, 3, 4} and (sol.policy >= 0).all()
    assert sol.bellman_residual <= 1e-9
    full = evaluate_table(p, sol.policy)
    assert full.value == partial.value
    # phase 0 held fixed is the scenario phase0 with another start: the same block values
    np.testing.assert_allclose(sol.values[0, :BLOCK], solve(make_params("phase0")).values[0, :BLOCK], atol=1e-9)
