"""The samplers (envs.model.sample_step, TransitionTables.step) against the exact distribution
(envs.model.outcomes), property tests over random states and actions, and the tables against the
functions they are built from."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from envs import model
from envs.env import SmallStateAllianceEnv
from envs.info import STATE_KEYS
from envs.scenarios import make_params, scenario_names
from envs.spaces import (
    ACTION_NVEC,
    N_ACTIONS,
    STATE_LEVELS,
    decode_observations,
    encode_actions,
    encode_states,
)
from envs.tables import build_tables

N_DRAWS = 20_000

# (scenario, state, action, t): phase entry, mediation and bounds
CASES = [
    ("timeline", (0, 0, 4, 3, 2, 0), (1, 0, 0, 0), 0),  # 0 -> 1 by hazard 1/26, W shock
    ("timeline", (1, 1, 3, 2, 1, 1), (2, 0, 1, 3), 5),  # 1 -> 2 by hazard 1/6, T floor
    ("calendar", (0, 1, 4, 3, 1, 0), (0, 0, 0, 0), 25),  # date 25 -> 26: into phase 1
    ("calendar", (1, 0, 4, 3, 2, 0), (1, 0, 1, 2), 31),  # date 31 -> 32: into phase 2
    ("phase3", (3, 2, 3, 2, 1, 1), (1, 0, 0, 1), 0),  # mediation, q = .6
    ("phase3", (3, 1, 3, 4, 1, 1), (2, 0, 2, 1), 0),  # mediation with rescaled A
    ("war", (4, 3, 0, 2, 0, 2), (3, 1, 2, 0), 0),  # bounds: T = 3, A = 0, W = 0, X = 2
    ("war", (4, 0, 5, 4, 2, 0), (3, 1, 2, 3), 0),  # clip and rescale at T = 0, tops elsewhere
    ("alt_open", (4, 1, 2, 1, 1, 1), (0, 0, 0, 3), 0),  # coercion, W rises
]


def exact_distribution(p, state, action, t) -> dict[tuple, float]:
    nxt, prob = model.outcomes(np.array([state]), np.array([action]), p, t)
    out: dict[tuple, float] = defaultdict(float)
    for s, q in zip(nxt[0].tolist(), prob[0].tolist()):
        if q > 0:
            out[tuple(s)] += q
    return dict(out)


def chi_square_p(counts: Counter, dist: dict[tuple, float], n: int) -> float:
    """Goodness of fit of sampled counts to ``dist``; cells with expected count < 5 are pooled."""
    assert set(counts) <= set(dist), f"sampled states outside the support: {set(counts) - set(dist)}"
    keys = sorted(dist, key=dist.get)
    obs, exp = [], []
    rare_obs = rare_exp = 0.0
    for k in keys:
        e = n * dist[k]
        if e < 5:
            rare_obs += counts.get(k, 0)
            rare_exp += e
        else:
            obs.append(counts.get(k, 0))
            exp.append(e)
    if rare_exp > 0:
        if rare_exp >= 5 or not obs:
            obs.append(rare_obs)
            exp.append(rare_exp)
        else:  # too little even pooled: join the smallest regular cell
            obs[0] += rare_obs
            exp[0] += rare_exp
    if len(obs) < 2:
        return 1.0
    exp = np.array(exp) * (sum(obs) / sum(exp))  # remove float round-off from the total
    return float(stats.chisquare(obs, exp).pvalue)


@pytest.mark.parametrize("name,state,action,t", CASES)
def test_sample_step_matches_outcomes(name, state, action, t):
    p = make_params(name)
    dist = exact_distribution(p, state, action, t)
    rng = np.random.default_rng(12345)
    states = np.tile(state, (N_DRAWS, 1))
    nxt, _ = model.sample_step(states, np.tile(action, (N_DRAWS, 1)), t, p, rng)
    counts = Counter(map(tuple, nxt.tolist()))
    assert chi_square_p(counts, dist, N_DRAWS) > 0.001


@pytest.mark.parametrize("name,state,action,t", CASES)
def test_table_step_matches_outcomes(name, state, action, t):
    p = make_params(name)
    dist = exact_distribution(p, state, action, t)
    rng = np.random.default_rng(54321)
    states = np.tile(state, (N_DRAWS, 1))
    s_idx = encode_states(states)
    a_idx = encode_actions(np.tile(action, (N_DRAWS, 1)))
    nxt, events = build_tables(p).step(states, s_idx, a_idx, t, rng.random((N_DRAWS, model.N_UNIFORMS)))
    counts = Counter(map(tuple, nxt.tolist()))
    assert chi_square_p(counts, dist, N_DRAWS) > 0.001
    # the mediation event's frequency matches its probability (binomial test)
    q = model.mediation_prob(np.array([state]), np.array([action]), p)[0]
    k = int(events["mediated"].sum())
    assert (q == 0 and k == 0) or stats.binomtest(k, N_DRAWS, q).pvalue > 0.001


def test_chi_square_detects_a_wrong_distribution():
    """The test above can fail: phase3 samples (q = .6) against the distribution with q = .3."""
    state, action = (3, 2, 3, 2, 1, 1), (1, 0, 0, 1)
    wrong = exact_distribution(make_params("phase3", {"mediation": 0.3}), state, action, 0)
    rng = np.random.default_rng(1)
    nxt, _ = model.sample_step(np.tile(state, (N_DRAWS, 1)), np.tile(action, (N_DRAWS, 1)), 0,
                               make_params("phase3"), rng)
    assert chi_square_p(Counter(map(tuple, nxt.tolist())), wrong, N_DRAWS) < 1e-6


@pytest.mark.parametrize("name", ["war", "timeline", "calendar", "phase3", "alt_open"])
def test_tables_equal_the_model_functions_on_every_state_action(name):
    """The compact tables (each variable over the levels model.MOVE_READS says it reads) give the
    model's numbers on all 5400 x 96 state-actions and both M: the reads claim holds everywhere."""
    p = make_params(name).with_overrides({"power": 0.7, "identification": 0.3})  # off the defaults
    tables = build_tables(p).ensure(range(5))
    rows = np.arange(tables.reward.size)
    s_idx, a_idx = rows // N_ACTIONS, rows % N_ACTIONS
    states = np.stack(np.unravel_index(s_idx, tuple(STATE_LEVELS)), axis=1)
    actions = np.stack(np.unravel_index(a_idx, tuple(ACTION_NVEC)), axis=1)
    np.testing.assert_array_equal(tables.reward, model.reward(states, actions, p))
    np.testing.assert_array_equal(tables.p_mediation, model.mediation_prob(states, actions, p))
    for med in (0, 1):
        up, down = model.move_probs(states, actions, med, p)
        t_up, t_down = tables.move_probs(s_idx, a_idx, np.full(rows.size, med))
        np.testing.assert_array_equal(t_up, up)
        np.testing.assert_array_equal(t_down, down)


def test_a_wrong_reads_claim_is_caught(monkeypatch):
    """If MOVE_READS forgot a variable T's fall reads (X), the tables would differ from the model."""
    import envs.tables as tables_mod

    shapes = dict(tables_mod.MOVE_SHAPES)
    shapes["T"] = tables_mod._shape(("T", "W"))
    monkeypatch.setattr(tables_mod, "MOVE_SHAPES", shapes)
    p = make_params("war")
    grid = tables_mod._grid(shapes["T"], 4)
    states = np.repeat(grid, N_ACTIONS, axis=0)
    states_x = states.copy()
    states_x[:, 5] = 2  # the level of X the compact table would not see
    actions = np.tile(np.stack(np.unravel_index(np.arange(N_ACTIONS), tuple(ACTION_NVEC)), axis=1), (grid.shape[0], 1))
    assert not np.array_equal(model.move_probs(states, actions, 0, p)[1][:, 0],
                              model.move_probs(states_x, actions, 0, p)[1][:, 0])


# --------------------------------------------------------------------------- property tests
NAMES = scenario_names()
states_st = st.tuples(*[st.integers(0, int(n) - 1) for n in STATE_LEVELS])
actions_st = st.tuples(*[st.integers(0, int(n) - 1) for n in ACTION_NVEC])


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), state=states_st, action=actions_st, t=st.integers(0, 43))
def test_outcomes_are_a_distribution_over_valid_local_states(name, state, action, t):
    p = make_params(name)
    nxt, prob = model.outcomes(np.array([state]), np.array([action]), p, t)
    assert np.all(prob >= 0)
    assert abs(prob.sum() - 1.0) <= 1e-12
    assert np.all((nxt >= 0) & (nxt < STATE_LEVELS))
    live = nxt[0][prob[0] > 0]
    # every variable moves by at most one level, except the entry shock (T floor 2, W <- 0)
    shocked = live[:, 0] != state[0]
    diff = np.abs(live[:, 1:] - np.array(state[1:]))
    assert np.all(diff[~shocked] <= 1)
    assert np.all(diff[:, [1, 2, 4]] <= 1)  # A, R, X never jump
    phase_if, p_event = model.phase_event(np.array([state]), t, p)
    assert set(live[:, 0].tolist()) <= {state[0], int(phase_if[0])}


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(NAMES), state=states_st, action=actions_st, seed=st.integers(0, 2**32 - 1),
       t=st.integers(0, 43))
def test_env_step_gives_valid_states_and_observations(name, state, action, seed, t):
    env = _env(name)
    obs, info = env.reset(seed=seed, options={"state": state, "t": t})
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(np.array(action))
    assert env.observation_space.contains(obs)
    decoded, frac = decode_observations(obs)
    nxt = tuple(int(v) for v in decoded[0])
    assert nxt == tuple(info[k] for k in STATE_KEYS) == env.state
    assert all(0 <= v < n for v, n in zip(nxt, STATE_LEVELS))
    assert (frac is None) == (not env.params.time_in_observation)
    if frac is not None:
        assert frac[0] == pytest.approx((t + 1) / env.horizon)
    assert not terminated and truncated == (t + 1 >= env.horizon)
    assert np.isfinite(reward)


_ENVS: dict[str, SmallStateAllianceEnv] = {}


def _env(name: str) -> SmallStateAllianceEnv:
    if name not in _ENVS:
        _ENVS[name] = SmallStateAllianceEnv(name)
    return _ENVS[name]
