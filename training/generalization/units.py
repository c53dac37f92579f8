"""The generalization study's units of work, their content keys and what each computes.

- :class:`ContextUnit`: one (scenario, context set): per context V*_c and the optimum's archetype, the ten
  hand-coded baselines' exact values, and the default point's optimum carried there (its value and
  archetype): the oracle and the baselines of the report.
- :class:`RunUnit`: one (scenario, algorithm, visibility, seed): train the zoo's hyperparameters on the
  scenario's training contexts for the step budget in a temporary run folder, load the final model only
  with the sha256 the run recorded (``training.run.train.load_model``), and score it exactly in every
  training and every held-out context (value, V*_c, archetype). The folder is removed afterwards.

A unit's key hashes everything its result depends on: the scenario's resolved parameters
(``training.study.keys.params_fingerprint``), the context sets' specs and the ranges file's bytes (the
contexts are drawn from it), for a run the resolved training config and torch's CPU pins,
:data:`GENERALIZATION_VERSION` and the model's version.
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
from envs.contexts import RANGES_FILE, make_contexts
from envs.scenarios import make_params
from envs.version import MODEL_VERSION
from training.config.run import TrainConfig, config_fingerprint
from training.evaluate.contexts import held_out
from training.generalization.scoring import context_rows, default_table, exact_row, learner_rows
from training.results.schemas import StudyUnit
from training.run.determinism import PINS
from training.run.train import load_model, train
from training.study.keys import params_fingerprint

GENERALIZATION_VERSION = 1
"""Bump when what a unit holds, or how it is computed here, changes: every stored unit is then stale."""


@dataclass(frozen=True)
class ContextUnit:
    scenario: str
    which: str  # "train" or "test"
    spec: tuple[tuple[str, int], ...]  # {"sample": N, "seed": S} as sorted items (hashable)
    train_spec: tuple[tuple[str, int], ...]  # the training set's (a held-out set is checked disjoint from it)

    def relpath(self) -> str:
        return f"contexts/{self.scenario}_{self.which}.json"


@dataclass(frozen=True)
class RunUnit:
    scenario: str
    algo: str
    visibility: str  # "visible" or "hidden"
    seed: int
    train_config: TrainConfig
    test_spec: tuple[tuple[str, int], ...]

    def relpath(self) -> str:
        return f"runs/{self.scenario}/{self.algo.lower()}_{self.visibility}_s{self.seed}.json"


Unit = ContextUnit | RunUnit


def ranges_digest() -> str:
    """The sha256 of the ranges file the contexts are drawn from."""
    return hashlib.sha256(Path(RANGES_FILE).read_bytes()).hexdigest()


def unit_key(unit: Unit) -> str:
    """The unit's content key (see the module docstring)."""
    payload: dict[str, Any] = {"scenario": unit.scenario, "params": params_fingerprint(make_params(unit.scenario)),
                               "ranges": ranges_digest(), "version": GENERALIZATION_VERSION,
                               "model_version": MODEL_VERSION}
    if isinstance(unit, ContextUnit):
        payload.update(unit="generalization_contexts", which=unit.which, spec=dict(unit.spec),
                       train_spec=dict(unit.train_spec))
    else:
        payload.update(unit="generalization_run", algo=unit.algo, visibility=unit.visibility, seed=unit.seed,
                       cpu_pins=dict(PINS), train_config=config_fingerprint(unit.train_config),
                       test_spec=dict(unit.test_spec))
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=repr).encode()).hexdigest()


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ContextRow(_Row):
    """One context: its factors, V*_c and the optimum's label, the baselines' values, the carried optimum's."""

    id: int = Field(ge=0)
    context: dict[str, float | int]
    optimum: float
    label: str
    baselines: dict[str, float]
    carried_value: float
    carried_label: str


class LearnerRow(_Row):
    """One context scored for one run: V^pi_c(s0), V*_c(s0), the policy's label there."""

    id: int = Field(ge=0)
    value: float
    optimum: float
    label: str


class ContextResult(StudyUnit):
    """``<out>/contexts/<scenario>_<set>.json``: the oracle, the baselines and the carried optimum per context."""

    kind: Literal["contexts"]
    scenario: str
    which: Literal["train", "test"]
    spec: dict[str, int]
    features: list[str]
    default_label: str
    rows: list[ContextRow] = Field(min_length=1)
    seconds: float


class RunResult(StudyUnit):
    """``<out>/runs/<scenario>/<algo>_<visibility>_s<seed>.json``: a run scored in every context of both sets."""

    kind: Literal["run"]
    scenario: str
    algo: str
    visibility: Literal["visible", "hidden"]
    seed: int
    total_timesteps: int
    train_config: dict[str, Any]
    train: list[LearnerRow] = Field(min_length=1)
    test: list[LearnerRow] = Field(min_length=1)
    train_seconds: float
    evaluate_seconds: float
    seconds: float


def schema_of(unit: Unit) -> type[StudyUnit]:
    return ContextResult if isinstance(unit, ContextUnit) else RunResult


def _contexts(scenario: str, spec: dict[str, int], train_spec: dict[str, int] | None = None) -> Any:
    base = make_params(scenario)
    contexts = make_contexts(spec, base)
    if train_spec is not None and spec != train_spec:
        held_out(contexts, make_contexts(train_spec, base))  # raises: a held-out context that is a training one
    return contexts


def run_context_unit(unit: ContextUnit) -> dict[str, Any]:
    """The oracle, the baselines and the carried optimum in every context of the set (Ray runs it)."""
    clock = time.perf_counter()
    base = make_params(unit.scenario)
    carried = default_table(base)
    contexts = _contexts(unit.scenario, dict(unit.spec), dict(unit.train_spec))
    rows = context_rows(contexts, carried)
    return {"kind": "contexts", "scenario": unit.scenario, "which": unit.which, "spec": dict(unit.spec),
            "features": list(contexts.features), "default_label": exact_row(base, carried, solve(base))["label"],
            "rows": rows, "seconds": round(time.perf_counter() - clock, 3)}


def run_run_unit(unit: RunUnit, scratch: str | None = None) -> dict[str, Any]:
    """Train one run in a temporary folder, then score its final model in every context (Ray runs it)."""
    import torch

    torch.set_num_threads(1)
    clock = time.perf_counter()
    cfg = unit.train_config
    train_spec = dict(cfg.env.contexts or {})
    train_set = _contexts(unit.scenario, train_spec)
    test_set = _contexts(unit.scenario, dict(unit.test_spec), train_spec)
    visible = unit.visibility == "visible"
    with tempfile.TemporaryDirectory(prefix="generalization_", dir=scratch) as tmp:
        run_dir = Path(tmp) / "run"
        train(cfg, run_dir, command=f"alliance generalization: unit {unit.relpath()}")
        trained = time.perf_counter()
        model = load_model(run_dir)  # only with the sha256 its manifest recorded
        steps = int(model.num_timesteps)
    rows = {which: learner_rows(model, contexts, visible) for which, contexts in (("train", train_set),
                                                                                 ("test", test_set))}
    return {"kind": "run", "scenario": unit.scenario, "algo": unit.algo, "visibility": unit.visibility,
            "seed": unit.seed, "total_timesteps": steps, "train_config": config_fingerprint(cfg), **rows,
            "train_seconds": round(trained - clock, 3), "evaluate_seconds": round(time.perf_counter() - trained, 3),
            "seconds": round(time.perf_counter() - clock, 3)}


def run_unit(unit: Unit) -> dict[str, Any]:
    """Either kind of unit."""
    return run_context_unit(unit) if isinstance(unit, ContextUnit) else run_run_unit(unit)
