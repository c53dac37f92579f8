"""The ten baselines of docs/model.md section 8 on hand-picked states (expected actions written by hand
from the table), the registry and the policy interface's bad input."""

import numpy as np
import pytest

from agents.baselines import baseline_names, make_policy, policy_names
from agents.policy import TablePolicy, policy_table
from envs import model
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, N_ACTIONS, observe

WAR = make_params("war")  # phase 4: D = 2, IP = 1, q = .10, L = .1, alpha_W = .8 (alpha_W L = .08)
TIMELINE = make_params("timeline")  # per phase D = 1,1,2,1,2; IP = 0,1,0,0,1; q = .1,0,.15,.6,.1; L = 1,.1,...


def act(name, params, state):
    """The baseline's action (m, k, g, d) in one decoded state (phase, T, A, R, W, X)."""
    obs = observe(np.array([state]), None, params.horizon)[0]
    action, _ = make_policy(name, params).predict(obs)
    assert action.shape == (4,)
    return tuple(int(v) for v in action)


@pytest.mark.parametrize("state", [(4, 2, 4, 3, 1, 0), (0, 0, 0, 0, 0, 0), (2, 3, 5, 4, 2, 2)])
def test_constant_rules(state):
    p = TIMELINE if state[0] != 4 else WAR
    assert act("bandwagon", p, state) == (3, 1, 2, 0)
    assert act("balance", p, state) == (0, 0, 0, 3)
    assert act("neutral", p, state) == (0, 0, 0, 0)
    assert act("mediator", p, state) == (1, 0, 0, 1)


@pytest.mark.parametrize("phase,expected", [(0, (1, 0, 0, 0)), (1, (1, 0, 1, 0)), (2, (2, 1, 0, 0)),
                                            (3, (1, 1, 0, 0)), (4, (2, 1, 1, 0))])
def test_compliant_gives_what_the_patron_asks(phase, expected):
    assert act("compliant", TIMELINE, (phase, 1, 3, 2, 1, 0)) == expected


def test_hedge_branches():
    # R <= 1: comply with the patron (D, 0, IP, 0)
    assert act("hedge", WAR, (4, 0, 4, 1, 2, 0)) == (2, 0, 1, 0)
    assert act("hedge", TIMELINE, (1, 0, 4, 0, 2, 0)) == (1, 0, 1, 0)
    # R >= 2, West partly open, low threat: signal to the West
    assert act("hedge", WAR, (4, 1, 4, 2, 1, 0)) == (1, 0, 0, 3)
    # West closed and alpha_W L = .08 < .3: far-arc outreach instead
    assert act("hedge", WAR, (4, 1, 4, 2, 0, 0)) == (1, 0, 0, 2)
    # threat 2 > 1: far arc even with the West open
    assert act("hedge", WAR, (4, 2, 4, 3, 2, 0)) == (1, 0, 0, 2)
    # phase 0: L = 1, alpha_W L = .8 >= .3 counts as open although W = 0
    assert act("hedge", TIMELINE, (0, 0, 4, 3, 0, 0)) == (1, 0, 0, 3)


def test_hedge_threshold_is_inclusive():
    at = WAR.with_overrides({"alpha_west": 0.3, "lockout": 1.0})  # alpha_W L = .3 exactly
    below = WAR.with_overrides({"alpha_west": 0.29, "lockout": 1.0})
    tie_by_rounding = WAR.with_overrides({"alpha_west": 0.6, "lockout": 0.5})  # .6 * .5 in floating point
    assert act("hedge", at, (4, 1, 4, 3, 0, 0)) == (1, 0, 0, 3)
    assert act("hedge", tie_by_rounding, (4, 1, 4, 3, 0, 0)) == (1, 0, 0, 3)
    assert act("hedge", below, (4, 1, 4, 3, 0, 0)) == (1, 0, 0, 2)


def test_limited_and_limited_mediation():
    assert act("limited", WAR, (4, 2, 4, 3, 1, 0)) == (2, 0, 1, 2)
    assert act("limited", TIMELINE, (0, 1, 4, 3, 1, 0)) == (1, 0, 0, 2)
    assert act("limited", WAR.with_overrides({"demand": 3}), (4, 2, 4, 3, 1, 0)) == (2, 0, 1, 2)  # min(D, 2)
    # q_4 = .1 > 0 and R >= 2: mediate
    assert act("limited_mediation", WAR, (4, 2, 4, 2, 1, 0)) == (2, 0, 1, 1)
    assert act("limited_mediation", WAR, (4, 2, 4, 1, 1, 0)) == (2, 0, 1, 2)  # R = 1
    assert act("limited_mediation", TIMELINE, (1, 2, 4, 4, 1, 0)) == (1, 0, 1, 2)  # q_1 = 0
    assert act("limited_mediation", WAR.with_overrides({"mediation": 0.0}), (4, 2, 4, 4, 1, 0)) == (2, 0, 1, 2)


@pytest.mark.parametrize("state", [(4, 2, 4, 3, 1, 0), (0, 0, 5, 4, 2, 2), (1, 3, 0, 0, 0, 1), (3, 1, 2, 2, 1, 1)])
def test_myopic_maximises_the_reward_now(state):
    p = TIMELINE
    r = model.reward(np.repeat(np.array([state]), N_ACTIONS, 0), ALL_ACTIONS, p)
    best = np.flatnonzero(r >= r.max() - 1e-12)[0]
    assert act("myopic", p, state) == tuple(ALL_ACTIONS[best])


def test_random_is_seeded_uniform_and_ignores_deterministic():
    obs = observe(np.tile([4, 2, 4, 3, 1, 0], (9600, 1)), None, 80)
    a1, _ = make_policy("random", WAR, seed=7).predict(obs, deterministic=True)
    a2, _ = make_policy("random", WAR, seed=7).predict(obs, deterministic=True)
    a3, _ = make_policy("random", WAR, seed=8).predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    assert np.any(a1 != a3)
    flat = ((a1[:, 0] * 2 + a1[:, 1]) * 3 + a1[:, 2]) * 4 + a1[:, 3]
    counts = np.bincount(flat, minlength=N_ACTIONS)
    chi2 = ((counts - 100) ** 2 / 100).sum()
    assert chi2 < 160  # 95 degrees of freedom: the 0.9999 quantile is about 150
    probs = policy_table(make_policy("random", WAR), WAR, stochastic=True)
    np.testing.assert_allclose(probs, 1 / N_ACTIONS)


def test_random_has_no_deterministic_table():
    with pytest.raises(ValueError, match="stochastic=True"):
        policy_table(make_policy("random", WAR), WAR)


def test_rule_tables_repeat_over_time_in_finite_scenarios():
    table = policy_table(make_policy("limited", TIMELINE), TIMELINE)
    assert table.shape == (44, 5400)
    assert np.all(table == table[0])


def test_registry():
    assert baseline_names() == ["bandwagon", "compliant", "balance", "neutral", "hedge", "limited", "mediator",
                                "limited_mediation", "random", "myopic"]
    assert "optimal" in policy_names()
    a = policy_table(make_policy("baseline:limited", WAR), WAR)
    b = policy_table(make_policy("limited", WAR), WAR)
    np.testing.assert_array_equal(a, b)
    opt = make_policy("optimal", WAR)
    assert isinstance(opt, TablePolicy) and (opt.table >= 0).all()
    with pytest.raises(ValueError, match="baseline:limited") as exc:
        make_policy("baseline:limitted", WAR)
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="AllianceParams"):
        make_policy("limited", "war")


@pytest.mark.parametrize("shape", [(25,), (3, 28), (2, 3, 26), ()])
def test_wrong_observation_shape(shape):
    with pytest.raises(ValueError, match="observation") as exc:
        make_policy("hedge", WAR).predict(np.zeros(shape, dtype=np.float32))
    assert "\n" not in str(exc.value)


def test_observation_that_is_not_one_hot():
    obs = observe(np.array([[4, 2, 4, 3, 1, 0]]), None, 80)
    obs[0, 5] = 1.0  # a second threat level
    with pytest.raises(ValueError, match="one-hot"):
        make_policy("neutral", WAR).predict(obs)


def test_batched_and_unbatched_predictions_agree():
    states = np.array([[4, 0, 4, 1, 2, 0], [4, 1, 4, 2, 1, 0], [4, 2, 4, 3, 2, 0]])
    pol = make_policy("hedge", WAR)
    batch, _ = pol.predict(observe(states, None, 80))
    assert batch.shape == (3, 4) and batch.dtype == np.int64
    for i, s in enumerate(states):
        single, _ = pol.predict(observe(s[None], None, 80)[0])
        np.testing.assert_array_equal(single, batch[i])
    with_t, _ = pol.predict(observe(states, np.zeros(3), 80))  # a 27-wide observation: t ignored
    np.testing.assert_array_equal(with_t, batch)
