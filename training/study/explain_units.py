"""The study's "Why the optimum wins" units: for each scenario of the config's ``explain`` list,
the value streams of the optimum and every baseline (``agents.streams.compare_streams``) and the
autonomy-security frontier (``agents.frontier.trade_off_frontier``, the optima along w_A only: the
baselines' points are the streams unit's, at the scenario's weights). Each is a Ray task like the
exact analyses, its JSON stored at :meth:`ExplainUnit.relpath`; the report reads only those files
(``training/render/why.py`` renders them).

    explain/<scenario>_streams.json    {"kind": "streams", "scenario", "policies": [StreamReport.to_dict()]}
    explain/<scenario>_frontier.json   {"kind": "frontier", "scenario", "frontier": Frontier.to_dict()}

The driver plans them with :func:`plan_explain` (``driver.pending``) and runs :func:`explain_unit`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.scenarios import make_params, scenario_key
from training.config.study import StudyConfig
from training.results.store import read_json

KINDS = ("streams", "frontier")


@dataclass(frozen=True)
class ExplainUnit:
    """One scenario's streams or frontier."""

    kind: str  # "streams" or "frontier"
    scenario: str  # a name or a scenario file, as the config gives it

    @property
    def key(self) -> str:
        return scenario_key(self.scenario)

    def relpath(self) -> str:
        """Where its JSON lives, relative to the study's out folder."""
        return f"explain/{self.key}_{self.kind}.json"


def plan_explain(cfg: StudyConfig) -> list[ExplainUnit]:
    """Every explain unit of the config: per scenario, its frontier (17 solves) then its streams."""
    return [ExplainUnit(kind, s) for s in cfg.explain for kind in ("frontier", "streams")]


def explain_unit(unit: ExplainUnit) -> dict[str, Any]:
    """Compute one unit (a Ray task): plain JSON-ready data, nothing written here."""
    from agents.frontier import trade_off_frontier
    from agents.streams import compare_streams

    clock = time.perf_counter()
    params = make_params(unit.scenario)
    out: dict[str, Any] = {"kind": unit.kind, "scenario": unit.key}
    if unit.kind == "streams":
        out["policies"] = [r.to_dict() for r in compare_streams(params)]
    else:
        out["frontier"] = trade_off_frontier(params, baselines=[]).to_dict()
    out["seconds"] = round(time.perf_counter() - clock, 3)
    return out


def describe(data: dict[str, Any]) -> str:
    """The driver's progress line for a finished unit."""
    if data["kind"] == "streams":
        best = max(data["policies"][1:], key=lambda r: r["share"], default=None)
        tail = f", best baseline {best['policy']} {best['share']:.1%} of V*" if best else ""
        return f"streams of {len(data['policies'])} policies{tail} ({data['seconds']:.1f} s)"
    return f"frontier of {len(data['frontier']['optima'])} optima ({data['seconds']:.1f} s)"


def load_explain(cfg: StudyConfig, missing: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The stored explain results, scenario key -> {"streams": ..., "frontier": ...}, and ``missing``
    with the files not stored yet added."""
    found: dict[str, dict[str, Any]] = {}
    missing = list(missing)
    for unit in plan_explain(cfg):
        path = Path(cfg.out_dir) / unit.relpath()
        if path.is_file():
            found.setdefault(unit.key, {})[unit.kind] = read_json(path)
        else:
            missing.append(unit.relpath())
    return found, missing
