"""Archetype rules of docs/model.md section 9 at both sides of every threshold (hand-made statistics),
and the statistics themselves on hand-made occupancies and episodes."""

from dataclasses import replace

import numpy as np
import pytest

from agents.archetypes import (
    ArchetypeStats,
    action_agreement,
    distance,
    episode_occupancy,
    label,
    nearest_baseline,
    phase_stats,
    stats_from_episodes,
    stats_from_occupancy,
)
from envs.spaces import N_ACTIONS, N_STATES, encode_actions, encode_states

EPS = 1e-6  # clearly beyond the 1e-9 slack
ZERO = dict(m_bar=0.0, f3=0.0, f2=0.0, k_bar=0.0, g2=0.0, f_med=0.0, f_far=0.0, f_west=0.0, R_bar=3.0)


def st(**kw):
    return ArchetypeStats(**{**ZERO, **kw})


# Each case: base statistics at the threshold (the rule holds, earlier rules fail), the field moved
# just across it, and the label then expected (worked out by hand through the ordered rules).
BANDWAGON_F3 = st(m_bar=2.0, f3=0.3, f2=0.5)
BANDWAGON_KG = st(m_bar=1.0, k_bar=0.5, g2=0.3)
BALANCING = st(m_bar=0.6, f_west=0.3, k_bar=0.1, R_bar=1.5)
NEUTRAL = st(m_bar=0.6, f_med=0.1, f_far=0.1, f_west=0.0999)
LIMITED = st(m_bar=1.3, f2=0.3, f3=0.05, k_bar=0.3, g2=0.1)
HEDGING = st(m_bar=0.7, f_far=0.25, f_west=0.15)
MEDIATOR = st(m_bar=1.6, f2=0.2, f_med=0.5)
LIMITED_BW = st(m_bar=1.0, f2=0.2, f_far=0.35)


@pytest.mark.parametrize("base,field,across,expected_at,expected_across", [
    (BANDWAGON_F3, "f3", 0.3 - EPS, "bandwagon", "mixed"),
    (BANDWAGON_KG, "k_bar", 0.5 - EPS, "bandwagon", "limited_bandwagoning"),
    (BANDWAGON_KG, "g2", 0.3 - EPS, "bandwagon", "limited_bandwagoning"),
    (BALANCING, "m_bar", 0.6 + EPS, "balancing", "limited_bandwagoning"),
    (BALANCING, "f_west", 0.3 - EPS, "balancing", "neutral"),
    (BALANCING, "k_bar", 0.1 + EPS, "balancing", "limited_bandwagoning"),
    (BALANCING, "R_bar", 1.5 + EPS, "balancing", "limited_bandwagoning"),
    (NEUTRAL, "m_bar", 0.6 + EPS, "neutral", "limited_bandwagoning"),
    (NEUTRAL, "f_west", 0.1, "neutral", "limited_bandwagoning"),  # the sum reaches .3: `<` fails
    (LIMITED, "f2", 0.3 - EPS, "limited_participation", "limited_bandwagoning"),
    (LIMITED, "f3", 0.05 + EPS, "limited_participation", "mixed"),
    (LIMITED, "k_bar", 0.3 + EPS, "limited_participation", "mixed"),
    (LIMITED, "g2", 0.1 + EPS, "limited_participation", "mixed"),
    (HEDGING, "m_bar", 0.5 - EPS, "hedging", "mixed"),
    (HEDGING, "f_far", 0.25 - EPS, "hedging", "limited_bandwagoning"),
    (HEDGING, "f_west", 0.15 - EPS, "hedging", "limited_bandwagoning"),
    (MEDIATOR, "f_med", 0.5 - EPS, "mediator", "mixed"),
    (LIMITED_BW, "m_bar", 1.5 + EPS, "limited_bandwagoning", "mixed"),
    (LIMITED_BW, "f2", 0.3, "limited_bandwagoning", "limited_participation+fararc"),
])
def test_rule_thresholds(base, field, across, expected_at, expected_across):
    assert label(base) == expected_at
    assert label(replace(base, **{field: across})) == expected_across


def test_lower_bound_of_limited_bandwagoning():
    assert label(replace(LIMITED_BW, m_bar=0.5)) == "limited_bandwagoning"
    assert label(replace(LIMITED_BW, m_bar=0.5 - EPS)) == "mixed"


def test_hedging_needs_the_west_share_itself():
    # f_far + f_west = .4 holds but f_west < .15
    assert label(replace(HEDGING, f_far=0.25 + 2 * EPS, f_west=0.15 - EPS)) == "limited_bandwagoning"


def test_suffixes_of_limited_participation():
    assert label(replace(LIMITED, f_med=0.3)) == "limited_participation+mediation"
    assert label(replace(LIMITED, f_med=0.3 - EPS)) == "limited_participation"
    assert label(replace(LIMITED, f_far=0.3)) == "limited_participation+fararc"
    assert label(replace(LIMITED, f_far=0.3 - EPS)) == "limited_participation"
    assert label(replace(LIMITED, f_med=0.3, f_far=0.3)) == "limited_participation+mediation+fararc"


def test_ties_resolve_as_in_exact_arithmetic():
    # .1 + .1 + .1 is 0.30000000000000004 in floating point and exactly .3 in exact arithmetic:
    # `< .3` fails either way
    assert label(st(m_bar=0.6, f_med=0.1, f_far=0.1, f_west=0.1)) != "neutral"
    assert label(st(m_bar=0.6, f_med=0.1, f_far=0.1, f_west=0.1 - 1e-12)) != "neutral"
    # an inclusive bound a hair below by rounding still holds
    assert label(replace(BANDWAGON_F3, f3=0.3 - 1e-12)) == "bandwagon"
    assert label(replace(BALANCING, m_bar=0.6 + 1e-12)) == "balancing"


def _state(phase, trust):
    return int(encode_states(np.array([[phase, 1, 3, trust, 1, 0]]))[0])


def _action(m, k, g, d):
    return int(encode_actions(np.array([[m, k, g, d]]))[0])


def test_stats_from_a_hand_made_occupancy():
    occ = np.zeros((N_STATES, N_ACTIONS))
    occ[_state(4, 2), _action(3, 1, 2, 0)] = 0.25
    occ[_state(4, 4), _action(2, 0, 0, 1)] = 0.50
    occ[_state(1, 0), _action(0, 0, 1, 3)] = 0.25
    s = stats_from_occupancy(occ)
    # m_bar = .25*3 + .5*2 + 0; f3 = .25; f2 = .75; k_bar = .25; g2 = .25; d shares .5/0/.25;
    # R_bar = .25*2 + .5*4 + .25*0
    expected = dict(m_bar=1.75, f3=0.25, f2=0.75, k_bar=0.25, g2=0.25, f_med=0.5, f_far=0.0, f_west=0.25, R_bar=2.5)
    assert s.to_dict() == pytest.approx(expected, abs=1e-15)
    per = phase_stats(occ)
    assert sorted(per) == [1, 4]
    # phase 4 alone: weights .25/.75 and .5/.75
    assert per[4].m_bar == pytest.approx((0.25 * 3 + 0.5 * 2) / 0.75)
    assert per[4].R_bar == pytest.approx((0.25 * 2 + 0.5 * 4) / 0.75)
    assert per[1].f_west == pytest.approx(1.0)
    assert stats_from_occupancy(occ, phase=2) is None


def test_stats_from_hand_made_episodes():
    states = np.array([[[4, 1, 3, 2, 1, 0], [4, 1, 3, 4, 1, 0]],
                       [[4, 1, 3, 0, 1, 0], [4, 1, 3, 2, 1, 0]]])
    actions = np.array([[[1, 0, 0, 2], [2, 0, 0, 1]],
                        [[3, 1, 2, 0], [1, 0, 0, 2]]])
    s = stats_from_episodes(states, actions)
    # four visits: m = 1, 2, 3, 1; R = 2, 4, 0, 2; d = 2, 1, 0, 2
    assert s.m_bar == pytest.approx(7 / 4)
    assert s.f2 == pytest.approx(2 / 4) and s.f3 == pytest.approx(1 / 4)
    assert s.k_bar == pytest.approx(1 / 4) and s.g2 == pytest.approx(1 / 4)
    assert s.f_med == pytest.approx(1 / 4) and s.f_far == pytest.approx(2 / 4) and s.f_west == 0.0
    assert s.R_bar == pytest.approx(2.0)
    flat = encode_actions(actions.reshape(-1, 4)).reshape(2, 2)
    np.testing.assert_array_equal(episode_occupancy(states, flat), episode_occupancy(states, actions))
    with pytest.raises(ValueError, match="actions of shape"):
        episode_occupancy(states, actions[:, :1])


def test_distance_scales_trust_by_four():
    a, b = st(R_bar=4.0), st(R_bar=0.0)
    assert distance(a, b) == pytest.approx(1.0)
    c = st(R_bar=4.0, f3=0.6, f2=0.8)  # (.6, .8) from a: distance 1
    assert distance(a, c) == pytest.approx(1.0)
    name, dists = nearest_baseline(st(R_bar=3.0), {"far": st(R_bar=0.0), "near": st(R_bar=3.0, f_med=0.1)})
    assert name == "near" and dists["near"] == pytest.approx(0.1) and dists["far"] == pytest.approx(0.75)


def test_action_agreement_on_a_hand_made_distribution():
    dist = np.zeros((2, N_STATES))
    dist[0, 10], dist[0, 20] = 0.5, 0.5
    dist[1, 10] = 1.0
    pol = np.zeros((1, N_STATES), dtype=np.int64)
    other = np.zeros((1, N_STATES), dtype=np.int64)
    other[0, 20] = 5  # disagrees on state 20 only: occupancy .25
    assert action_agreement(dist, pol, other) == pytest.approx(0.75)
    uniform = np.full((1, N_STATES, N_ACTIONS), 1 / N_ACTIONS)
    assert action_agreement(dist, pol, uniform) == pytest.approx(1 / N_ACTIONS)
    timed = np.zeros((2, N_STATES), dtype=np.int64)
    timed[1, 10] = 3  # disagrees at t = 1 on state 10: occupancy .5
    assert action_agreement(dist, pol, timed) == pytest.approx(0.5)


def test_bad_occupancy():
    with pytest.raises(ValueError, match="occupancy"):
        stats_from_occupancy(np.zeros((10, 96)))


def test_every_threshold_of_the_rules_is_in_the_table_and_moving_one_moves_its_label():
    """Issue 31: each threshold of section 9 is an entry of THRESHOLDS that :func:`label` reads. A
    statistic exactly at a threshold keeps its label at the default and loses it once the threshold moves
    past it by .02 (for each rule's first test)."""
    from agents.archetypes import THRESHOLDS, ArchetypeStats, label

    base = dict(m_bar=2.0, f3=0.0, f2=0.3, k_bar=0.0, g2=0.0, f_med=0.0, f_far=0.0, f_west=0.0, R_bar=3.0)
    at = ArchetypeStats(**base)
    assert label(at) == "limited_participation" == label(at, {"limited.f2": 0.28})
    assert label(at, {"limited.f2": 0.32}) != "limited_participation"
    troops = ArchetypeStats(**{**base, "f3": 0.3})
    assert label(troops) == "bandwagon" and label(troops, {"bandwagon.f3": 0.32}) != "bandwagon"
    med = ArchetypeStats(**{**base, "m_bar": 1.0, "f2": 0.0, "f_med": 0.5})
    assert label(med) == "mediator" and label(med, {"mediator.f_med": 0.52}) != "mediator"
    assert len(THRESHOLDS) == 22 and all(0 < v <= 1.5 for v in THRESHOLDS.values())
