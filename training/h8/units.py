"""H8's units of work, their content keys and what each computes (docs/h8.md, "Readings").

- :class:`CommitUnit`: a batch of design rows (or the scenario's own point, row -1): per row the
  stationary commitment table (24 actions, exact: ``agents.game.commitment.commitment_table``), the
  patron's pick (highest V_P(s0): ``best_commitment``) and the small state's optimum under it, solved
  again by the discovery's ``analyse_batch`` for its section-9 statistics (the whole-episode m̄) and
  label (which must be the table's label for the pick).
- :class:`MpeUnit`: one design row (or the point): the equilibrium search
  (``agents.game.equilibrium.search_mpe`` with the config's settings, the one call a better method
  replaces), its certificate, both values at s0, and along the profile's path from s0
  (``profile_occupancy``, section 9's 80 quarters) the patron's mean support σ̄, its mean demand D̄ and
  the small state's mean participation m̄ and label.

A unit's key (:func:`unit_key`) hashes everything its result depends on: its rows' resolved
parameters (``training.study.keys.params_fingerprint``), the scenario, the rows' place, the MPE
settings for an MPE unit, :data:`H8_VERSION` and the model's version.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.archetypes import stats_from_occupancy
from agents.game.commitment import best_commitment, commitment_table, committed
from agents.game.equilibrium import profile_occupancy, search_mpe, summarize_search
from agents.game.operator import GameOperator
from envs import model
from envs.params import AllianceParams
from envs.spaces import N_ACTIONS, N_STATES
from envs.version import MODEL_VERSION
from training.discovery.solving import analyse_batch
from training.study.keys import params_fingerprint

H8_VERSION = 1
"""Bump when what a unit holds, or how it is computed here, changes: every stored unit is then stale."""
POINT = -1  # the row index of the scenario's own point (docs/h8.md: "read at war")
UNITS = "units"


def _row_name(row: int) -> str:
    return "point" if row == POINT else f"{row:05d}"


@dataclass(frozen=True)
class CommitUnit:
    """Rows ``rows`` (design indices, or :data:`POINT`) of ``scenario`` with their unit coordinates and parameters."""

    scenario: str
    rows: tuple[int, ...]
    coords: tuple[tuple[float, ...], ...]
    params: tuple[AllianceParams, ...]

    def relpath(self) -> str:
        return f"{UNITS}/commitment_{_row_name(self.rows[0])}.json"


@dataclass(frozen=True)
class MpeUnit:
    """One row's equilibrium search with ``settings`` (search_mpe's keyword arguments)."""

    scenario: str
    row: int
    coords: tuple[float, ...]
    params: AllianceParams
    settings: tuple[tuple[str, Any], ...]

    def relpath(self) -> str:
        return f"{UNITS}/mpe_{_row_name(self.row)}.json"


def unit_key(unit: CommitUnit | MpeUnit) -> str:
    """The unit's content key (see the module docstring)."""
    if isinstance(unit, CommitUnit):
        payload = {"unit": "h8_commitment", "rows": list(unit.rows), "params": [params_fingerprint(p) for p in unit.params]}
    else:
        payload = {"unit": "h8_mpe", "rows": [unit.row], "params": [params_fingerprint(unit.params)],
                   "search": "agents.game.equilibrium.search_mpe", "settings": {k: v for k, v in unit.settings}}
    payload.update(scenario=unit.scenario, version=H8_VERSION, model_version=MODEL_VERSION)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=repr).encode()).hexdigest()


def commitment_row(params: AllianceParams) -> dict[str, Any]:
    """One parameter set's commitment table, the patron's pick and the small state's answer to it."""
    table = commitment_table(params)
    pick = best_commitment(table)
    d, ip, sigma = pick.action(int(params.start[0]))
    answer = analyse_batch([committed(params, pick.actions)], baselines=())[0]
    if answer["label"] != pick.archetype:  # one solve, two readers: they must agree
        raise RuntimeError(f"the pick's label {pick.archetype!r} differs from its re-solve's {answer['label']!r}")
    return {"pick": int(table.index(pick)), "D": int(d), "IP": int(ip), "sigma": int(sigma),
            "V_S": float(pick.value_small), "V_P": float(pick.value_patron), "label": pick.archetype,
            "m_bar": float(answer["m_bar"]), "stats": {k: float(v) for k, v in answer.items()
                                                       if k not in ("label", "value", "limited_family", "m_bar")},
            "table_V_S": [float(c.value_small) for c in table], "table_V_P": [float(c.value_patron) for c in table],
            "table_labels": [c.archetype for c in table]}


def run_commit_unit(unit: CommitUnit) -> dict[str, Any]:
    """A commitment unit's stored result (Ray runs it)."""
    clock = time.perf_counter()
    rows = [{"row": r, "coords": list(c), **commitment_row(p)} for r, c, p in zip(unit.rows, unit.coords, unit.params)]
    return {"kind": "commitment", "scenario": unit.scenario, "rows": rows, "seconds": round(time.perf_counter() - clock, 3)}


def path_means(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray) -> dict[str, Any]:
    """Along the profile's path from s0 (section 9's occupancy over the horizon): the small state's
    statistics and label, and the patron's mean support σ̄ and demand D̄."""
    occ = profile_occupancy(op, pi_s, pi_p)
    full = np.zeros((N_STATES, N_ACTIONS))
    full[op.rows] = occ
    stats = stats_from_occupancy(full)
    patron_mix = occ.sum(axis=1) @ pi_p  # the patron's action shares along the path (sum 1)
    acts = model.ALL_PATRON_ACTIONS
    return {"m_bar": float(stats.m_bar), "sigma_bar": float(patron_mix @ acts[:, 2]),
            "D_bar": float(patron_mix @ acts[:, 0]), "stats": {k: float(v) for k, v in stats.to_dict().items()}}


def run_mpe_unit(unit: MpeUnit) -> dict[str, Any]:
    """An MPE unit's stored result (Ray runs it): the search's best certified profile and its path means."""
    clock = time.perf_counter()
    op = GameOperator(unit.params)
    res = search_mpe(op, **dict(unit.settings))
    summary = summarize_search(op, res)
    means = path_means(op, res.pi_small, res.pi_patron)
    return {"kind": "mpe", "scenario": unit.scenario, "row": unit.row, "coords": list(unit.coords),
            "method": summary["method"], "nashconv_s0": summary["nashconv_s0"], "nashconv_max": summary["nashconv_max"],
            "V_S": summary["V_S"], "V_P": summary["V_P"], "label": summary["archetype"],
            "m_bar": means["m_bar"], "sigma_bar": means["sigma_bar"], "D_bar": means["D_bar"], "stats": means["stats"],
            "patron_action_shares": summary["patron_action_shares"], "iterations": int(summary["iterations"]),
            "curve": summary["curve"], "seconds": round(time.perf_counter() - clock, 3)}


def run_unit(unit: CommitUnit | MpeUnit) -> dict[str, Any]:
    """Either kind of unit."""
    return run_commit_unit(unit) if isinstance(unit, CommitUnit) else run_mpe_unit(unit)
