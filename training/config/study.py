"""One YAML file describes a study; this module reads it, checks it, and lists the work it asks for.

``load_study_config("configs/quick.yaml")`` returns a frozen :class:`StudyConfig` or raises
:class:`~training.config.errors.ConfigError` (one line per problem, naming the dotted key, the value and
what is allowed) before anything runs. :func:`plan_points` and :func:`plan_runs` list the units of
work: each *point* is one parameter set analysed exactly (optimum, archetype, every baseline), each
*run* one RL training run evaluated exactly against the optimum. Every unit has a fixed file name
under the study's ``out`` folder, so a finished unit is found on disk and skipped.

A study YAML looks like ``configs/quick.yaml``::

    name: quick
    out: results/quick                  # everything the study writes goes here
    scenarios: [war, alt_open, calendar]
    sweeps:                             # each sweep: a base scenario and axes, crossed
      threat_alternatives:
        scenario: war
        axes:
          threat: {high: {}, low: {tau: 0.8}}             # named levels -> parameter overrides
          alternatives: {closed: {}, open: {lockout: 1.0, west_shock: 0.0}}
      identification: {scenario: war, axes: {identification: [0, 0.25, 0.5, 0.75, 1]}}  # a parameter's values
    rl:
      scenarios: [war]
      algos:                                              # training config templates
        PPO: {default: configs/ppo_war.yaml, calendar: configs/ppo_calendar.yaml}   # per scenario
        DQN: configs/dqn_war.yaml                                                   # or one for all
      seeds: [0, 1]
      total_timesteps: 20000
      set: ["eval.freq=10000"]                             # --set overrides for every run

Sweep names the hypotheses read (see ``training/study/hypotheses/``): ``threat_alternatives``
(axes ``threat`` {high, low} x ``alternatives`` {closed, open}), ``identification``, ``power``,
``identification_power`` (the crossed ι x c grid), ``entrapment_scale``, ``deep_cost_scale``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from envs.scenarios import scenario_key
from training.config.discovery import DiscoveryConfig
from training.config.errors import config_error, line
from training.config.files import read_yaml_mapping
from training.config.hyperparams import MAX_SEED, MAX_STEPS
from training.config.run import TrainConfig
from training.config.study_rules import (  # noqa: F401 (MAX_* and STUDY_SETS: imported from here)
    ALGOS_HELP,
    AXES_HELP,
    MAX_POINTS,
    MAX_REPS,
    MAX_SEEDS,
    NAME_HELP,
    OUT_HELP,
    REPORT_HELP,
    SCENARIOS,
    SCENARIOS_HELP,
    SEEDS_HELP,
    STEPS_HELP,
    STUDY_SETS,
    check_algos,
    check_axes,
    check_points,
    check_runs,
    check_set,
    check_steps,
    distinct,
    distinct_scenarios,
    level_name,
    path_check,
    scenario_name,
    study_name,
    word,
)
from training.config.templates import build_train_config, template_data, template_for

STUDY_VERSION = 1


def _whole(value: Any, handler: Any) -> Any:
    """Any problem inside the value is one problem of the whole (the field's description says what is allowed)."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("invalid", "invalid") from None


WHOLE = WrapValidator(_whole)
ScenarioName = Annotated[str, BeforeValidator(scenario_name)]
ScenarioList = Annotated[list[ScenarioName], AfterValidator(distinct_scenarios)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Steps = Annotated[int, Field(ge=1, le=MAX_STEPS)]
SweepName = Annotated[str, AfterValidator(word("a sweep name"))]


def _source(info: ValidationInfo) -> str:
    return (info.context or {}).get("source", "")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SweepConfig(_Strict):
    """A sweep: the base scenario and its axes. An axis is a list of values of the model parameter
    it is named after, or a mapping of level names to parameter overrides. Axes are crossed."""

    scenario: ScenarioName = Field("war", description=f"one of {SCENARIOS}")
    axes: dict[str, Any] = Field(description=AXES_HELP)

    @field_validator("axes", mode="before")
    @classmethod
    def _axes(cls, value: Any, info: ValidationInfo) -> Any:
        return check_axes(value, info.data.get("scenario"))

    @model_validator(mode="after")
    def _points(self) -> SweepConfig:
        check_points(self.axes, lambda: sweep_points("sweep", self), self.scenario)
        return self


class RLConfig(_Strict):
    """RL runs: every scenario x algorithm x seed, from the algorithm's training config template
    (its ``env.scenario`` replaced by the scenario, its overrides cleared). A template is one path,
    or a mapping of scenario names to paths with a ``default`` for the others."""

    scenarios: ScenarioList = Field(description=SCENARIOS_HELP)
    algos: dict[str, str | dict[str, str]] = Field(description=ALGOS_HELP)
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=MAX_SEEDS), AfterValidator(distinct), WHOLE] = Field(
        description=SEEDS_HELP)
    total_timesteps: Annotated[Steps | dict[str, Steps], WHOLE] = Field(description=STEPS_HELP)
    set: Annotated[list[str], WHOLE] = Field(default_factory=list, description="a list of KEY=VALUE overrides "
                                             "(text) of every run's training config")

    @field_validator("algos", mode="before")
    @classmethod
    def _algos(cls, value: Any, info: ValidationInfo) -> Any:
        return check_algos(value, info.data.get("scenarios"), _source(info))

    @field_validator("total_timesteps")
    @classmethod
    def _steps(cls, value: Any, info: ValidationInfo) -> Any:
        return check_steps(value, info.data.get("algos"))

    @field_validator("set")
    @classmethod
    def _set(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return check_set(value, info.data.get("algos"), _source(info))

    @model_validator(mode="after")
    def _runs(self, info: ValidationInfo) -> RLConfig:
        check_runs(self, _source(info))
        return self

    def template(self, algo: str, scenario: str) -> str | None:
        """The template path of ``algo`` for ``scenario`` (None if the mapping has none for it)."""
        return template_for(self.algos[algo], scenario)


class StudyConfig(_Strict):
    """A whole study. ``out`` and template paths are relative to the working directory (the repo);
    :attr:`source` is the YAML file it was read from (set by :func:`load_study_config`)."""

    name: Annotated[str, AfterValidator(study_name)] = Field(description=NAME_HELP)
    out: Annotated[str, AfterValidator(path_check(True, OUT_HELP))] = Field(description=OUT_HELP)
    report: Annotated[str | None, AfterValidator(path_check(False, REPORT_HELP))] = Field(
        None, description=REPORT_HELP)  # where REPORT.md goes; default <out>/REPORT.md
    scenarios: ScenarioList = Field(description=SCENARIOS_HELP)
    sweeps: dict[SweepName, SweepConfig] = Field(default_factory=dict,
                                                 description="a mapping of sweep names to {scenario, axes}")
    rl: RLConfig | None = Field(None, description="a mapping with the keys scenarios, algos, seeds, total_timesteps "
                                                  "and set, or null (no RL runs)")
    discovery: DiscoveryConfig | None = Field(None, description="a mapping with the keys scenarios, ranges, sobol_n, "
                                              "lhs, seed, batch, baselines and diagram, or null (no discovery)")
    explain: ScenarioList = Field(default_factory=list, description="a list of distinct scenarios whose value "
                                  "streams and frontier the report explains (\"Why the optimum wins\")")
    bootstrap_reps: int = Field(2000, ge=1, le=MAX_REPS, description=f"an integer in [1, {MAX_REPS:,}]")
    bootstrap_seed: int = Field(0, ge=0, le=MAX_SEED, description=f"an integer in [0, {MAX_SEED}]")
    _source: str = PrivateAttr("")

    @field_validator("sweeps")
    @classmethod
    def _distinct_points(cls, sweeps: dict[str, SweepConfig]) -> dict[str, SweepConfig]:
        """Every point names a file: two sweeps may not have a point of the same name."""
        owners: dict[str, str] = {}
        for name, sc in sweeps.items():
            for point in sweep_points(name, sc):
                if point.key in owners:
                    raise line(f".{name} point {point.key} is not allowed: sweep {owners[point.key]} has a "
                               "point of that name (file); rename a sweep or an axis")
                owners[point.key] = name
        return sweeps

    @property
    def source(self) -> str:
        """The YAML path the config was read from ("" for a config built from a mapping)."""
        return self._source

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    @property
    def report_path(self) -> Path:
        return Path(self.report) if self.report else self.out_dir / "REPORT.md"


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and check a study YAML (a key given twice, invalid YAML, binary junk and deep nesting
    are refused by :func:`training.config.files.read_yaml_mapping`).

    :raises ConfigError: one line per problem.
    :raises OSError: the file cannot be read.
    """
    data = read_yaml_mapping(path, "a mapping of study keys with at least name, out and scenarios")
    return study_config_from_dict(data, source=str(path))


def study_config_from_dict(data: Mapping[str, Any], source: str = "") -> StudyConfig:
    """Validate a mapping: every problem of it is one line of the :class:`ConfigError`.

    :param source: the YAML path the mapping was read from (templates are also looked for beside it)
    :raises ConfigError: one line per problem
    """
    try:
        cfg = StudyConfig.model_validate(dict(data), context={"source": source})
    except ValidationError as exc:
        raise config_error(exc, StudyConfig) from None
    cfg._source = source
    return cfg


# ------------------------------------------------------------------------------------ units of work
@dataclass(frozen=True)
class Point:
    """One parameter set analysed exactly: a named scenario, or a point of a sweep."""

    kind: str  # "scenario" or "sweep"
    key: str  # file stem: the scenario name, or <sweep>_<axis>-<level>_...
    scenario: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    sweep: str | None = None
    coords: Mapping[str, Any] = field(default_factory=dict)  # axis -> value or level name

    def relpath(self) -> str:
        """Where its JSON lives, relative to the study's out folder."""
        return f"exact/{self.key}.json" if self.kind == "scenario" else f"sweeps/{self.key}.json"


@dataclass(frozen=True)
class RunSpec:
    """One RL training run, evaluated exactly afterwards."""

    scenario: str
    algo: str
    seed: int
    train_config: TrainConfig  # the resolved training config

    @property
    def key(self) -> str:
        return f"{scenario_key(self.scenario)}/{self.algo.lower()}_s{self.seed}"

    def relpath(self) -> str:
        """The run folder, relative to the study's out folder."""
        return f"runs/{self.key}"


def _axis_levels(axis: str, spec: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(level, overrides) pairs of one axis (already validated)."""
    if isinstance(spec, Mapping):
        return [(str(name), dict(ov or {})) for name, ov in spec.items()]
    return [(float(v), {axis: float(v)}) for v in spec]


def sweep_points(sweep: str, sc: SweepConfig) -> list[Point]:
    """One sweep's points (its axes crossed, in the YAML's order)."""
    axes = [(axis, _axis_levels(axis, spec)) for axis, spec in sc.axes.items()]
    points = []
    for combo in itertools.product(*(levels for _, levels in axes)):
        overrides: dict[str, Any] = {}
        coords: dict[str, Any] = {}
        for (axis, _), (level, ov) in zip(axes, combo):
            overrides.update(ov)
            coords[axis] = level
        key = sweep + "_" + "_".join(f"{axis}-{level_name(level)}" for axis, level in coords.items())
        points.append(Point("sweep", key, sc.scenario, overrides, sweep, coords))
    return points


def plan_points(cfg: StudyConfig) -> list[Point]:
    """The named scenarios, then each sweep's points (axes crossed, in the YAML's order)."""
    points = [Point("scenario", scenario_key(name), name) for name in cfg.scenarios]
    for sweep, sc in cfg.sweeps.items():
        points += sweep_points(sweep, sc)
    return points


def plan_runs(cfg: StudyConfig) -> list[RunSpec]:
    """Every RL run: scenario x algorithm x seed (validated configs, built from the templates)."""
    if cfg.rl is None:
        return []
    runs = []
    for scenario in cfg.rl.scenarios:
        for algo in cfg.rl.algos:
            base = template_data(cfg.source, cfg.rl.template(algo, scenario))
            for seed in cfg.rl.seeds:
                tc = build_train_config(base, cfg.rl.set, scenario, _steps(cfg.rl, algo), seed, cfg.out)
                runs.append(RunSpec(scenario, algo.upper(), seed, tc))
    return runs


def _steps(rl: RLConfig, algo: str) -> int:
    ts = rl.total_timesteps
    return ts[algo] if isinstance(ts, Mapping) else ts


def _train_config(cfg: StudyConfig, scenario: str, algo: str, template: str, seed: int) -> TrainConfig:
    """The training config of one run of ``cfg`` from ``template``."""
    base = template_data(cfg.source, template)
    return build_train_config(base, cfg.rl.set, scenario, _steps(cfg.rl, algo), seed, cfg.out)
