"""Exact scores per context for the generalization study (issue 30, item 3): every number is
``agents.exact_eval.evaluate_table`` against V*_c, and every archetype docs/model.md section 9's label
of the exact occupancy from s0 (``agents.archetypes``).

- :func:`optima`: V*_c of each context, in chunks (``agents.context_eval.context_optima``, cached per
  process, for a stationary scenario; ``agents.solver.solve_batch`` per chunk, not cached, for a finite
  horizon: a calendar solution is ~27 MB, 256 of them would not fit beside the others' work).
- :func:`context_rows`: per context V*_c and the optimum's archetype, the ten baselines' exact values
  (``agents.sample_eval.evaluate_samples``), and the default point's optimum carried there.
- :func:`learner_rows`: per context a trained network's exact value and archetype, the context's features
  appended to its observation (visible) or not (hidden: one table serves every context).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from agents.archetypes import label, stats_from_occupancy
from agents.context_eval import context_optima, context_policy_tables
from agents.exact_eval import evaluate_table
from agents.sample_eval import evaluate_samples
from agents.solver import Solution, solve, solve_batch
from envs.contexts import ContextSet
from envs.params import AllianceParams

CHUNK = 16  # contexts solved at once (a calendar chunk holds ~430 MB of solutions)


def family(name: str) -> str:
    """An archetype's family: the label without ``+mediation``/``+fararc``."""
    return name.split("+")[0]


def optima(params: Sequence[AllianceParams], chunk: int = CHUNK) -> Iterator[tuple[int, Solution]]:
    """``(index, V*_c's solution)`` for every parameter set, a chunk at a time."""
    for lo in range(0, len(params), chunk):
        part = list(params[lo:lo + chunk])
        sols = solve_batch(part) if part[0].finite_horizon else context_optima(part)
        yield from enumerate(sols, start=lo)


def exact_row(params: AllianceParams, table: np.ndarray, sol: Solution) -> dict[str, Any]:
    """A policy table's exact V^pi_c(s0) and its archetype label in one context."""
    r = evaluate_table(params, table, solution=sol)
    return {"value": float(r.value), "label": label(stats_from_occupancy(r.occupancy))}


def default_table(base: AllianceParams) -> np.ndarray:
    """The default point's optimal policy table (every phase block solved): what is carried to every context."""
    return solve(base).complete().policy.copy()


def context_rows(contexts: ContextSet, carried: np.ndarray, chunk: int = CHUNK) -> list[dict[str, Any]]:
    """Per context: V*_c, the optimum's label, each baseline's exact value, the carried optimum's value and label."""
    rows = []
    for lo in range(0, len(contexts), chunk):
        ids = range(lo, min(lo + chunk, len(contexts)))
        for c, res in zip(ids, evaluate_samples([contexts.params[c] for c in ids])):
            carry = exact_row(contexts.params[c], carried, res.solution)
            rows.append({"id": c, "context": dict(contexts.contexts[c]), "optimum": float(res.value),
                         "label": label(stats_from_occupancy(res.occupancy)),
                         "baselines": {k: float(v) for k, v in sorted(res.baseline_values.items())},
                         "carried_value": carry["value"], "carried_label": carry["label"]})
    return rows


def learner_rows(model: Any, contexts: ContextSet, visible: bool, chunk: int = CHUNK) -> list[dict[str, Any]]:
    """Per context: the greedy network's exact V^pi_c(s0), V*_c and its archetype label."""
    hidden_tables: dict[tuple[int, bool], np.ndarray] = {}
    rows = []
    for c, sol in optima(contexts.params, chunk):
        params = contexts.params[c]
        if visible:
            table = context_policy_tables(model, contexts, True, [c])[0]
        else:  # the observation is the plain one: it depends only on the horizon and whether it carries t
            key = (params.horizon, params.time_in_observation)
            if key not in hidden_tables:
                hidden_tables[key] = context_policy_tables(model, contexts, False, [c])[0]
            table = hidden_tables[key]
        rows.append({"id": c, "optimum": float(sol.value), **exact_row(params, table, sol)})
    return rows
