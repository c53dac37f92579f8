"""What a report says about one policy in one scenario (docs/model.md sections 9 and 10): its exact
value and share of V*, its archetype (whole episode and per phase), the nearest baseline and its
action agreement with each baseline — all from exact occupancies (``agents.exact_eval``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from agents.archetypes import (
    ArchetypeStats,
    action_agreement,
    label,
    nearest_baseline,
    phase_stats,
    stats_from_occupancy,
)
from agents.baselines import baseline_names, make_policy
from agents.exact_eval import ExactResult, evaluate_policy, evaluate_table
from agents.policy import Policy
from agents.solver import solve
from envs.params import AllianceParams
from envs.spaces import decode_actions


@dataclass(frozen=True)
class PolicySummary:
    """Exact value, archetype and comparison with the baselines of one policy."""

    name: str
    result: ExactResult
    label: str
    stats: ArchetypeStats
    phase_stats: dict[int, ArchetypeStats]
    phase_labels: dict[int, str]
    nearest: str
    distances: dict[str, float]
    agreement: dict[str, float]

    def top_actions(self, n: int = 5) -> list[tuple[tuple[int, ...], float]]:
        """The ``n`` joint actions (m, k, g, d) with the largest share of the occupancy."""
        mass = self.result.occupancy.sum(axis=0)
        order = np.argsort(-mass, kind="stable")[:n]
        return [(tuple(int(v) for v in decode_actions(a)), float(mass[a])) for a in order if mass[a] > 0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, **self.result.to_dict(), "label": self.label,
            "stats": self.stats.to_dict(),
            "phase_stats": {str(ph): st.to_dict() for ph, st in self.phase_stats.items()},
            "phase_labels": {str(ph): lab for ph, lab in self.phase_labels.items()},
            "nearest_baseline": self.nearest, "distances": self.distances, "agreement": self.agreement,
            "top_actions": [{"action": list(a), "share": s} for a, s in self.top_actions()],
        }


@lru_cache(maxsize=2)
def baseline_results(params: AllianceParams) -> dict[str, ExactResult]:
    """Every baseline's exact evaluation from the start state (cached per parameter set)."""
    return {name: evaluate_policy(make_policy(name, params), params) for name in baseline_names()}


def summarize(result: ExactResult, params: AllianceParams, name: str = "policy") -> PolicySummary:
    """Archetype, nearest baseline and action agreement of an exactly evaluated policy."""
    stats = stats_from_occupancy(result.occupancy)
    per_phase = phase_stats(result.occupancy)
    baselines = baseline_results(params)
    base_stats = {b: stats_from_occupancy(r.occupancy) for b, r in baselines.items()}
    nearest, dists = nearest_baseline(stats, base_stats)
    agreement = {b: action_agreement(result.state_distribution, result.table, r.table) for b, r in baselines.items()}
    return PolicySummary(name=name, result=result, label=label(stats), stats=stats, phase_stats=per_phase,
                         phase_labels={ph: label(st) for ph, st in per_phase.items()}, nearest=nearest,
                         distances=dists, agreement=agreement)


def summarize_policy(policy: Policy, params: AllianceParams, name: str | None = None) -> PolicySummary:
    """Evaluate ``policy`` exactly and summarise it."""
    return summarize(evaluate_policy(policy, params), params, name or getattr(policy, "name", "policy"))


def summarize_optimum(params: AllianceParams) -> PolicySummary:
    """The optimum's summary: the time-dependent optimum for timeline/calendar, else stationary."""
    return summarize(evaluate_table(params, solve(params).start_table()), params, "optimal")
