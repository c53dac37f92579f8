"""The leaderboard's units of work, their content keys and what each computes.

- :class:`ScenarioUnit`: one scenario's exact optimum V*(s0) and every baseline's exact value and share
  (``agents.summary.baseline_results``): the lines of the curves and the best baseline of the tables.
- :class:`RunUnit`: one (scenario, algorithm, seed): train the zoo's hyperparameters for the step budget
  into a temporary run folder (a checkpoint every ``total_timesteps / checkpoints`` steps, each hash
  recorded in the manifest), then value every checkpoint (``training.leaderboard.checkpoints``: exact for
  a Markov policy, Monte Carlo with the LSTM state carried for RecurrentPPO). The run folder is removed
  afterwards: the unit's file holds the curve, its last point is the final model's score.

A unit's key hashes everything its result depends on: the scenario's resolved parameters
(``training.study.keys.params_fingerprint``), for a run the resolved training config (zoo hyperparameters,
n_envs, seed, budget, checkpoint frequency; ``training.config.run.config_fingerprint``), torch's CPU pins,
the recurrent policy's episodes, :data:`LEADERBOARD_VERSION` and the model's version.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.solver import solve
from agents.summary import baseline_results
from envs.scenarios import make_params
from envs.version import MODEL_VERSION
from training.config.hyperparams import RECURRENT_ALGOS
from training.config.run import TrainConfig, config_fingerprint
from training.leaderboard.checkpoints import checkpoint_curve
from training.results import run_folder as rf
from training.results.schemas import StudyUnit
from training.run.determinism import PINS
from training.run.train import train
from training.study.keys import params_fingerprint

LEADERBOARD_VERSION = 1
"""Bump when what a unit holds, or how it is computed here, changes: every stored unit is then stale."""


@dataclass(frozen=True)
class ScenarioUnit:
    scenario: str

    def relpath(self) -> str:
        return f"scenarios/{self.scenario}.json"


@dataclass(frozen=True)
class RunUnit:
    scenario: str
    algo: str
    seed: int
    train_config: TrainConfig
    episodes: int  # Monte Carlo episodes of a recurrent policy's value (unused for a Markov one)

    def relpath(self) -> str:
        return f"runs/{self.scenario}/{self.algo.lower()}_s{self.seed}.json"


Unit = ScenarioUnit | RunUnit


def unit_key(unit: Unit) -> str:
    """The unit's content key (see the module docstring)."""
    payload: dict[str, Any] = {"scenario": unit.scenario, "params": params_fingerprint(make_params(unit.scenario)),
                               "version": LEADERBOARD_VERSION, "model_version": MODEL_VERSION}
    if isinstance(unit, ScenarioUnit):
        payload["unit"] = "leaderboard_scenario"
    else:
        payload.update(unit="leaderboard_run", algo=unit.algo, seed=unit.seed, cpu_pins=dict(PINS),
                       train_config=config_fingerprint(unit.train_config),
                       episodes=unit.episodes if unit.algo in RECURRENT_ALGOS else None)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=repr).encode()).hexdigest()


class ScenarioResult(StudyUnit):
    """``<out>/scenarios/<scenario>.json``: V*(s0) and each baseline's exact value and share."""

    kind: Literal["scenario"]
    scenario: str
    optimum: float
    baselines: dict[str, dict[str, float]]
    seconds: float


class CurvePoint(BaseModel):
    """One checkpoint's value (exact, or Monte Carlo with its interval for a recurrent policy)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    steps: int = Field(ge=0)
    value: float
    optimum: float
    share: float
    regret: float
    exact: bool
    value_ci: list[float] | None = None
    episodes: int | None = None


class RunResult(StudyUnit):
    """``<out>/runs/<scenario>/<algo>_s<seed>.json``: a run's checkpoint curve and final score."""

    kind: Literal["run"]
    scenario: str
    algo: str
    seed: int
    total_timesteps: int
    exact: bool
    curve: list[CurvePoint] = Field(min_length=1)
    share: float
    regret: float
    train_config: dict[str, Any]
    train_seconds: float
    evaluate_seconds: float
    seconds: float


def schema_of(unit: Unit) -> type[StudyUnit]:
    return ScenarioResult if isinstance(unit, ScenarioUnit) else RunResult


def run_scenario_unit(unit: ScenarioUnit) -> dict[str, Any]:
    """V* and the baselines' exact values (Ray runs it)."""
    clock = time.perf_counter()
    params = make_params(unit.scenario)
    optimum = float(solve(params).value)
    baselines = {name: {"value": float(r.value), "share": float(r.share), "regret": float(r.regret)}
                 for name, r in sorted(baseline_results(params).items())}
    return {"kind": "scenario", "scenario": unit.scenario, "optimum": optimum, "baselines": baselines,
            "seconds": round(time.perf_counter() - clock, 3)}


def run_run_unit(unit: RunUnit, scratch: str | None = None) -> dict[str, Any]:
    """Train one run in a temporary folder and value its checkpoints (Ray runs it)."""
    import torch

    torch.set_num_threads(1)
    clock = time.perf_counter()
    params = make_params(unit.scenario)
    with tempfile.TemporaryDirectory(prefix="leaderboard_", dir=scratch) as tmp:
        run_dir = Path(tmp) / "run"
        train(unit.train_config, run_dir, command=f"alliance leaderboard: unit {unit.relpath()}")
        trained = time.perf_counter()
        manifest = rf.read_manifest(run_dir)
        curve = checkpoint_curve(run_dir, unit.algo, params, unit.episodes)
    final = curve[-1]
    return {"kind": "run", "scenario": unit.scenario, "algo": unit.algo, "seed": unit.seed,
            "total_timesteps": int(manifest.get("num_timesteps", unit.train_config.total_timesteps)),
            "exact": all(p["exact"] for p in curve), "curve": curve, "share": final["share"],
            "regret": final["regret"], "train_config": config_fingerprint(unit.train_config),
            "train_seconds": round(trained - clock, 3), "evaluate_seconds": round(time.perf_counter() - trained, 3),
            "seconds": round(time.perf_counter() - clock, 3)}


def run_unit(unit: Unit) -> dict[str, Any]:
    """Either kind of unit."""
    return run_scenario_unit(unit) if isinstance(unit, ScenarioUnit) else run_run_unit(unit)
