"""Solving samples exactly: one row per (sample, scenario), and content keys for stored batches.

:func:`analyse_batch` solves a batch of parameter sets of one scenario through
:func:`agents.solver.solve_batch` and arranges, per set, what ``agents`` computes: V*, the optimum's
archetype (whole episode; per phase for a finite-horizon scenario such as `calendar`), its
statistics (MODEL.md section 9 and Ā, :mod:`agents.archetypes`) and each baseline's exact value as a
share of V* (:func:`agents.exact_eval.policy_values`). Nothing here computes a probability, a value
or a label itself.

:func:`batch_key` is a content key: a hash of everything the batch's result depends on (the
resolved parameter sets, the scenario, the code's version). A stored batch with that key is that
batch's result; a changed range, sample, scenario or model gives another key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from agents.archetypes import label, mean_autonomy, phase_stats, stats_from_occupancy
from agents.baselines import baseline_names, make_policy
from agents.exact_eval import evaluate_table, policy_values
from agents.policy import as_policy, policy_table
from agents.solver import solve_batch
from envs.params import AllianceParams
from envs.spaces import encode_states

DISCOVERY_VERSION = 1
"""Bump when what a row holds, or how it is computed, changes: every stored batch is then recomputed."""
LIMITED_FAMILY = "limited_participation"  # a label in the family starts with this (+mediation, +fararc)
STATS = ("m_bar", "f2", "f3", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar", "A_bar")
PHASE_STATS = ("f_med", "f2", "f_west", "m_bar")


def params_fingerprint(params: AllianceParams) -> dict[str, Any]:
    """The resolved parameter set as plain JSON (what a content key hashes)."""
    return json.loads(json.dumps(asdict(params)))


def content_key(kind: str, inputs: Any) -> str:
    """sha256 of the canonical JSON of ``inputs`` with the unit's kind and :data:`DISCOVERY_VERSION`."""
    text = json.dumps({"kind": kind, "version": DISCOVERY_VERSION, "inputs": inputs}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def batch_key(scenario: str, params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> str:
    """The content key of a batch: its scenario, resolved parameter sets (the ranges and sample rows
    enter through them), in order, and the baselines it scores (None: all)."""
    return content_key("discovery-batch", {"scenario": scenario, "params": [params_fingerprint(p) for p in params_list],
                                           "baselines": None if baselines is None else list(baselines)})


def baseline_shares(params: AllianceParams, solution: Any, names: Sequence[str] | None = None) -> dict[str, float]:
    """Each baseline's exact value from s0 as a share of V* (the `random` baseline's action
    distribution, the others' deterministic tables, as :func:`agents.exact_eval.evaluate_policy`)."""
    s0 = int(encode_states(np.array([params.start]))[0])
    optimum = solution.value
    terminal = solution.values[params.horizon] if params.finite_horizon else None
    out = {}
    for name in names or baseline_names():
        policy = make_policy(name, params, seed=0)
        table = policy_table(policy, params, stochastic=not as_policy(policy).deterministic_table)
        out[name] = float(policy_values(params, table, terminal=terminal)[0, s0]) / optimum
    return out


def analyse_solution(params: AllianceParams, solution: Any, baselines: Sequence[str] | None = None) -> dict[str, Any]:
    """One row: V*, the optimum's archetype and statistics (per phase when the horizon is finite),
    and each of ``baselines``' share of V* (None: all; empty: none)."""
    res = evaluate_table(params, solution.start_table(), solution)
    st = stats_from_occupancy(res.occupancy)
    row: dict[str, Any] = {"value": res.optimum, "label": label(st),
                           **{k: float(v) for k, v in st.to_dict().items()}, "A_bar": mean_autonomy(res.occupancy)}
    row["limited_family"] = row["label"].startswith(LIMITED_FAMILY)
    if params.finite_horizon:
        for ph, pst in sorted(phase_stats(res.occupancy).items()):
            row[f"phase{ph}_label"] = label(pst)
            row.update({f"phase{ph}_{k}": float(getattr(pst, k)) for k in PHASE_STATS if k != "A_bar"})
    if baselines is None or baselines:
        row.update({f"share_{b}": v for b, v in baseline_shares(params, solution, baselines).items()})
    return row


def analyse_batch(params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """:func:`analyse_solution` of each set, solved together by :func:`agents.solver.solve_batch`."""
    return [analyse_solution(p, s, baselines) for p, s in zip(params_list, solve_batch(list(params_list)))]
