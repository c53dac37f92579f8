"""Content keys of a study's units: a sha256 of everything a unit's result depends on.

A stored unit is reused only if the key stored with it (``unit_key``) is the one its inputs make
now: the resolved scenario parameters (every field of :class:`envs.params.AllianceParams`), the
point of a sweep (scenario, overrides, coordinates), for an RL run the resolved training config
(algorithm, hyperparameters, seed, budget; its output folder left out) with the pins of torch's
CPU arithmetic, and the version of the model's code (:data:`envs.version.MODEL_VERSION`). A file
name says where a unit lives, never whether it is still right: change a sweep's scenario or a
level's ``tau`` and the unit's key changes, so the driver computes it again and says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from envs.params import AllianceParams
from envs.scenarios import make_params
from envs.version import MODEL_VERSION
from training.config.run import (
    config_fingerprint,  # one definition: run keys, tasks, the benchmark's content key
)
from training.config.study import Point, RunSpec
from training.discovery.plan import Batch
from training.discovery.solving import DISCOVERY_VERSION, PHASE_ROWS_VERSION
from training.run.determinism import PINS
from training.study.explain_units import ExplainUnit  # keys -> explain_units, never back

KEY_FIELD = "unit_key"  # where a stored unit carries its key


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps({**payload, "model_version": MODEL_VERSION}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


# Fields added with the strategic patron (docs/model.md section 11). At these defaults (the table
# patron's full support; u_P's weights, which no single-agent unit reads) a parameter set is the model
# the units before them were computed on, number for number (tests/envs/test_patron_model.py), so the
# key leaves them out there and every stored unit stays valid; any other value enters the key.
_PATRON_DEFAULTS = {f.name: f.default for f in dataclasses.fields(AllianceParams) if f.name in ("support", "patron_weights")}


def params_fingerprint(params: AllianceParams) -> dict[str, Any]:
    """Every field of ``params``, but the section-11 fields where they hold their defaults."""
    data = dataclasses.asdict(params)
    for name, default in _PATRON_DEFAULTS.items():
        if data[name] == default:
            del data[name]
    return data


def _params(scenario: str, overrides: Any = None) -> dict[str, Any]:
    return params_fingerprint(make_params(scenario, dict(overrides or {}) or None))


def point_key(point: Point) -> str:
    """The key of an exact unit (a named scenario or a sweep point)."""
    return _digest({"unit": point.kind, "scenario": point.scenario, "overrides": dict(point.overrides),
                    "sweep": point.sweep, "coords": dict(point.coords),
                    "params": _params(point.scenario, point.overrides)})


def run_key(spec: RunSpec) -> str:
    """The key of an RL unit: its training config, the parameters it trains and is scored on, and the
    pins of torch's CPU arithmetic it trains under (``training/run/determinism.py``)."""
    cfg = spec.train_config
    return _digest({"unit": "rl", "scenario": spec.scenario, "algo": spec.algo, "seed": spec.seed,
                    "train_config": config_fingerprint(cfg), "cpu_pins": dict(PINS),
                    "params": _params(cfg.env.scenario, cfg.env.overrides),
                    "scored_on": _params(spec.scenario)})


def explain_key(unit: ExplainUnit) -> str:
    """The key of a "why the optimum wins" unit: its kind and the scenario's parameters."""
    return _digest({"unit": unit.kind, "scenario": unit.key, "params": _params(unit.scenario)})


def batch_key(batch: Batch) -> str:
    """The key of a discovery batch: its resolved parameter sets in order (the ranges, the seed and the
    sample rows enter through them), scenario, place, the baselines it scores and the rows' version (and
    the per-phase part's version for finite-horizon sets)."""
    payload = {"unit": "discovery", "kind": batch.kind, "scenario": batch.scenario, "first": batch.first,
               "baselines": None if batch.baselines is None else list(batch.baselines),
               "rows_version": DISCOVERY_VERSION, "params": [params_fingerprint(p) for p in batch.params]}
    if any(p.finite_horizon for p in batch.params):  # rows with a per-phase part (solving.PHASE_ROWS_VERSION)
        payload["phase_rows_version"] = PHASE_ROWS_VERSION
    return _digest(payload)


def unit_key(unit: Point | RunSpec | ExplainUnit | Batch) -> str:
    if isinstance(unit, Batch):
        return batch_key(unit)
    if isinstance(unit, ExplainUnit):
        return explain_key(unit)
    return point_key(unit) if isinstance(unit, Point) else run_key(unit)
