"""Strategy archetypes of docs/model.md section 9, as pure functions.

The nine statistics are episode averages (undiscounted) over the horizon from the start state,
computed from a state-action occupancy (exact, ``agents.exact_eval``) or from evaluation
episodes (their empirical occupancy) — for the whole episode or one phase. The rules are tried in
order with inclusive thresholds compared with a 1e-9 slack (an exact tie resolves as in exact
arithmetic; a strict ``<`` fails on a tie).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from envs.params import N_PHASES
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, PHASE, R, encode_actions, encode_states

SLACK = 1e-9
STAT_NAMES = ("m_bar", "f3", "f2", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar")
ARCHETYPES = ("bandwagon", "balancing", "neutral", "limited_participation", "hedging", "mediator",
              "limited_bandwagoning", "mixed")


@dataclass(frozen=True)
class ArchetypeStats:
    """The nine statistics of section 9 (shares in [0, 1], m_bar in [0, 3], R_bar in [0, 4])."""

    m_bar: float
    f3: float
    f2: float
    k_bar: float
    g2: float
    f_med: float
    f_far: float
    f_west: float
    R_bar: float

    def vector(self) -> np.ndarray:
        """The nine values as used for distances: R_bar divided by 4 (section 9)."""
        v = np.array([getattr(self, n) for n in STAT_NAMES], dtype=np.float64)
        v[-1] /= 4.0
        return v

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


_M, _K, _G, _D = (ALL_ACTIONS[:, i].astype(np.float64) for i in range(4))
_FEATURES = np.stack([_M, _M == 3, _M >= 2, _K, _G == 2, _D == 1, _D == 2, _D == 3], axis=1).astype(np.float64)


def stats_from_occupancy(occupancy: np.ndarray, phase: int | None = None) -> ArchetypeStats | None:
    """Statistics of a state-action occupancy (5400, 96) (any non-negative weights), over the
    whole episode or the states of one ``phase``; None if that part has no weight."""
    occ = np.asarray(occupancy, dtype=np.float64)
    if occ.shape != (N_STATES, N_ACTIONS) or np.any(occ < 0):
        raise ValueError(f"occupancy of shape {occ.shape} is not allowed: non-negative ({N_STATES}, {N_ACTIONS})")
    if phase is not None:
        occ = np.where((ALL_STATES[:, PHASE] == phase)[:, None], occ, 0.0)
    total = occ.sum()
    if total <= 0:
        return None
    action_mass = occ.sum(axis=0) / total
    state_mass = occ.sum(axis=1) / total
    values = list(action_mass @ _FEATURES) + [float(state_mass @ ALL_STATES[:, R])]
    return ArchetypeStats(*map(float, values))


def episode_occupancy(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Empirical occupancy (5400, 96) of visited states (..., 6) and actions (..., 4)
    (MultiDiscrete rows) or flat actions (...,), normalised to sum to 1."""
    st, a = np.asarray(states), np.asarray(actions)
    if st.shape[-1:] != (6,):
        raise ValueError(f"states of shape {st.shape} are not allowed: (..., 6)")
    if a.shape == st.shape[:-1] + (4,):
        flat_a = encode_actions(a.reshape(-1, 4))
    elif a.shape == st.shape[:-1]:
        flat_a = a.ravel()
    else:
        raise ValueError(f"actions of shape {a.shape} are not allowed: {st.shape[:-1] + (4,)} rows or "
                         f"{st.shape[:-1]} flat indices, one per visited state")
    s = st.reshape(-1, 6)
    counts = np.bincount(encode_states(s) * N_ACTIONS + flat_a, minlength=N_STATES * N_ACTIONS)
    return counts.reshape(N_STATES, N_ACTIONS) / max(s.shape[0], 1)


def stats_from_episodes(states: np.ndarray, actions: np.ndarray, phase: int | None = None) -> ArchetypeStats | None:
    """Statistics estimated from evaluation episodes (visited states and the actions taken)."""
    return stats_from_occupancy(episode_occupancy(states, actions), phase)


def phase_stats(occupancy: np.ndarray) -> dict[int, ArchetypeStats]:
    """Statistics per phase, for the phases the occupancy visits."""
    out = {}
    for ph in range(N_PHASES):
        st = stats_from_occupancy(occupancy, ph)
        if st is not None:
            out[ph] = st
    return out


def _ge(x: float, th: float) -> bool:
    return x >= th - SLACK


def _le(x: float, th: float) -> bool:
    return x <= th + SLACK


def _lt(x: float, th: float) -> bool:
    return x < th - SLACK


THRESHOLDS: dict[str, float] = {
    "bandwagon.f3": 0.3, "bandwagon.k_bar": 0.5, "bandwagon.g2": 0.3,
    "balancing.m_bar": 0.6, "balancing.f_west": 0.3, "balancing.k_bar": 0.1, "balancing.R_bar": 1.5,
    "neutral.m_bar": 0.6, "neutral.signals": 0.3,
    "limited.f2": 0.3, "limited.f3": 0.05, "limited.k_bar": 0.3, "limited.g2": 0.1,
    "limited.mediation": 0.3, "limited.fararc": 0.3,
    "hedging.m_bar": 0.5, "hedging.ties": 0.4, "hedging.f_west": 0.15,
    "mediator.f_med": 0.5,
    "limited_bandwagoning.m_bar_low": 0.5, "limited_bandwagoning.m_bar_high": 1.5, "limited_bandwagoning.f2": 0.3,
}
"""Every threshold of section 9's rules, one entry per place a number is compared (rule.what). The
study moves each by a little to see which labels sit near one (issue 31); :func:`label` uses these."""


def label(s: ArchetypeStats, thresholds: Mapping[str, float] | None = None) -> str:
    """The first rule of section 9 that holds (``thresholds``: :data:`THRESHOLDS`, or some of them moved;
    anything with the nine statistics as attributes will do for ``s``)."""
    t = THRESHOLDS if thresholds is None else {**THRESHOLDS, **thresholds}
    if _ge(s.f3, t["bandwagon.f3"]) or (_ge(s.k_bar, t["bandwagon.k_bar"]) and _ge(s.g2, t["bandwagon.g2"])):
        return "bandwagon"
    if (_le(s.m_bar, t["balancing.m_bar"]) and _ge(s.f_west, t["balancing.f_west"])
            and _le(s.k_bar, t["balancing.k_bar"]) and _le(s.R_bar, t["balancing.R_bar"])):
        return "balancing"
    if _le(s.m_bar, t["neutral.m_bar"]) and _lt(s.f_med + s.f_far + s.f_west, t["neutral.signals"]):
        return "neutral"
    if (_ge(s.f2, t["limited.f2"]) and _le(s.f3, t["limited.f3"]) and _le(s.k_bar, t["limited.k_bar"])
            and _le(s.g2, t["limited.g2"])):
        name = "limited_participation"
        if _ge(s.f_med, t["limited.mediation"]):
            name += "+mediation"
        if _ge(s.f_far, t["limited.fararc"]):
            name += "+fararc"
        return name
    if _ge(s.m_bar, t["hedging.m_bar"]) and _ge(s.f_far + s.f_west, t["hedging.ties"]) and _ge(s.f_west, t["hedging.f_west"]):
        return "hedging"
    if _ge(s.f_med, t["mediator.f_med"]):
        return "mediator"
    if (_ge(s.m_bar, t["limited_bandwagoning.m_bar_low"]) and _le(s.m_bar, t["limited_bandwagoning.m_bar_high"])
            and _lt(s.f2, t["limited_bandwagoning.f2"])):
        return "limited_bandwagoning"
    return "mixed"


def distance(a: ArchetypeStats, b: ArchetypeStats) -> float:
    """Euclidean distance over the nine statistics, R_bar / 4."""
    return float(np.linalg.norm(a.vector() - b.vector()))


def nearest_baseline(stats: ArchetypeStats, baselines: Mapping[str, ArchetypeStats]) -> tuple[str, dict[str, float]]:
    """The nearest baseline (ties to the first in ``baselines``' order) and every distance."""
    if not baselines:
        raise ValueError("baselines={} is not allowed: at least one baseline's statistics")
    dists = {name: distance(stats, other) for name, other in baselines.items()}
    return min(dists, key=dists.get), dists


def _row_probs(table: np.ndarray, r: int) -> np.ndarray:
    row = table[min(r, table.shape[0] - 1)]
    if row.ndim == 2:
        return row
    out = np.zeros((N_STATES, N_ACTIONS))
    out[np.arange(N_STATES), row] = 1.0
    return out


def action_agreement(state_distribution: np.ndarray, policy: np.ndarray, other: np.ndarray) -> float:
    """Share of the policy's occupancy on which ``other`` takes exactly the same joint action.

    ``state_distribution`` (H, 5400) per step; ``policy`` and ``other`` tables (T, 5400) of flat
    actions or (T, 5400, 96) probabilities (T = 1 or H; for probabilities, the chance both draw
    the same action)."""
    dist = np.asarray(state_distribution, dtype=np.float64)
    pol, oth = np.asarray(policy), np.asarray(other)
    total, share = dist.sum(), 0.0
    for t in range(dist.shape[0]):
        if pol.ndim == 2 and oth.ndim == 2:
            same = pol[min(t, pol.shape[0] - 1)] == oth[min(t, oth.shape[0] - 1)]
            share += float(dist[t] @ same)
        else:
            share += float(dist[t] @ np.einsum("sa,sa->s", _row_probs(pol, t), _row_probs(oth, t)))
    return share / total
