"""Solving samples exactly: one row per (sample, scenario).

:func:`analyse_batch` solves a batch of parameter sets of one scenario (:func:`evaluate`, through
:func:`agents.solver.solve_batch`) and arranges, per set, what ``agents`` computes: V*, the optimum's
archetype (whole episode; per phase for a finite-horizon scenario such as `calendar`), its
statistics (MODEL.md section 9 and Ā, :mod:`agents.archetypes`) and each baseline's exact value as a
share of V* (:func:`agents.exact_eval.policy_values`). Nothing here computes a probability, a value
or a label itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.archetypes import label, phase_stats, stats_from_occupancy
from agents.baselines import baseline_names, make_policy
from agents.exact_eval import evaluate_table, policy_values
from agents.policy import as_policy, policy_table
from agents.solver import solve_batch
from envs.params import AllianceParams
from envs.spaces import ALL_STATES, PHASE, A, encode_states

DISCOVERY_VERSION = 1
"""Bump when what a row holds, or how it is computed here, changes: every stored batch's unit key
(``training/study/keys.py``) then changes and the batch is computed again."""
LIMITED_FAMILY = "limited_participation"  # a label in the family starts with this (+mediation, +fararc)
STATS = ("m_bar", "f2", "f3", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar", "A_bar")
PHASE_STATS = ("f_med", "f2", "f_west", "m_bar")


def mean_autonomy(occupancy: np.ndarray, phase: int | None = None) -> float:
    """Ā: the mean autonomy level (0..5) under a state-action occupancy (whole episode or one phase)."""
    occ = np.asarray(occupancy, dtype=np.float64).sum(axis=1)
    if phase is not None:
        occ = np.where(ALL_STATES[:, PHASE] == phase, occ, 0.0)
    return float(occ @ ALL_STATES[:, A] / occ.sum())


@dataclass(frozen=True, eq=False)
class Evaluated:
    """What ``agents`` computes for one parameter set: V*(s0), the optimum's episode-average
    occupancy from s0 (5400, 96) and each baseline's exact V^pi(s0) (the fields of
    ``agents.sample_eval.SampleResult``, which :func:`evaluate` can hand over as they are)."""

    params: AllianceParams
    value: float
    occupancy: np.ndarray
    baseline_values: dict[str, float] = field(default_factory=dict)


def baseline_values(params: AllianceParams, solution: Any, names: Sequence[str] | None = None) -> dict[str, float]:
    """Each baseline's exact value V^pi(s0) (the `random` baseline's action distribution, the others'
    deterministic tables, as :func:`agents.exact_eval.evaluate_policy`), scored as section 7 says."""
    s0 = int(encode_states(np.array([params.start]))[0])
    terminal = solution.values[params.horizon] if params.finite_horizon else None
    out = {}
    for name in baseline_names() if names is None else names:
        policy = make_policy(name, params, seed=0)
        table = policy_table(policy, params, stochastic=not as_policy(policy).deterministic_table)
        out[name] = float(policy_values(params, table, terminal=terminal)[0, s0])
    return out


def evaluate(params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> list[Evaluated]:
    """Solve the sets together (:func:`agents.solver.solve_batch`) and evaluate each optimum and
    ``baselines`` (None: all ten; empty: none). The one place this module calls ``agents``'
    solver and evaluators: ``agents.sample_eval.evaluate_samples`` (batched, on the solve's own
    tables) gives the same fields at a fraction of the cost once it is on main."""
    out = []
    for params, sol in zip(params_list, solve_batch(list(params_list))):
        res = evaluate_table(params, sol.start_table(), sol)
        out.append(Evaluated(params, res.optimum, res.occupancy, baseline_values(params, sol, baselines)))
    return out


def sample_row(ev: Evaluated) -> dict[str, Any]:
    """One row: V*, the optimum's archetype and statistics (per phase when the horizon is finite),
    and each evaluated baseline's share of V*."""
    st = stats_from_occupancy(ev.occupancy)
    row: dict[str, Any] = {"value": float(ev.value), "label": label(st),
                           **{k: float(v) for k, v in st.to_dict().items()}, "A_bar": mean_autonomy(ev.occupancy)}
    row["limited_family"] = row["label"].startswith(LIMITED_FAMILY)
    if ev.params.finite_horizon:
        for ph, pst in sorted(phase_stats(ev.occupancy).items()):
            row[f"phase{ph}_label"] = label(pst)
            row.update({f"phase{ph}_{k}": float(getattr(pst, k)) for k in PHASE_STATS if k != "A_bar"})
    row.update({f"share_{b}": float(v) / float(ev.value) for b, v in ev.baseline_values.items()})
    return row


def analyse_batch(params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """:func:`sample_row` of each set of the batch, evaluated together by :func:`evaluate`."""
    return [sample_row(ev) for ev in evaluate(params_list, baselines)]
