"""One YAML file describes a study; this module reads it, checks it, and lists the work it asks for.

``load_study_config("configs/quick.yaml")`` returns a frozen :class:`StudyConfig` or raises
:class:`~training.config.ConfigError` (one line per problem, naming the dotted key, the value and
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

Sweep names the hypotheses read (see ``training/hypotheses.py``): ``threat_alternatives``
(axes ``threat`` {high, low} x ``alternatives`` {closed, open}), ``identification``, ``power``,
``identification_power`` (the crossed ι x c grid), ``entrapment_scale``, ``deep_cost_scale``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, ValidationError

from training.config import ALGOS, ConfigError, TrainConfig, apply_overrides, config_from_dict

STUDY_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SweepConfig(_Strict):
    """A sweep: the base scenario and its axes. An axis is a list of values of the model parameter
    it is named after, or a mapping of level names to parameter overrides. Axes are crossed."""

    scenario: str = "war"
    axes: dict[str, Any]


class RLConfig(_Strict):
    """RL runs: every scenario x algorithm x seed, from the algorithm's training config template
    (its ``env.scenario`` replaced by the scenario, its overrides cleared). A template is one path,
    or a mapping of scenario names to paths with a ``default`` for the others."""

    scenarios: list[str]
    algos: dict[str, str | dict[str, str]]

    def template(self, algo: str, scenario: str) -> str | None:
        """The template path of ``algo`` for ``scenario`` (None if the mapping has none for it)."""
        spec = self.algos[algo]
        return spec if isinstance(spec, str) else spec.get(scenario, spec.get("default"))
    seeds: list[NonNegativeInt]
    total_timesteps: PositiveInt | dict[str, PositiveInt]
    set: list[str] = Field(default_factory=list)


class StudyConfig(_Strict):
    """A whole study. ``out`` and template paths are relative to the working directory (the repo)."""

    name: str
    out: str
    report: str | None = None  # where REPORT.md goes; default <out>/REPORT.md
    scenarios: list[str]
    sweeps: dict[str, SweepConfig] = Field(default_factory=dict)
    rl: RLConfig | None = None
    bootstrap_reps: PositiveInt = 2000
    bootstrap_seed: NonNegativeInt = 0
    source: str = ""  # the YAML path the config was read from (set by load_study_config)

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    @property
    def report_path(self) -> Path:
        return Path(self.report) if self.report else self.out_dir / "REPORT.md"


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
        return f"{self.scenario}/{self.algo.lower()}_s{self.seed}"

    def relpath(self) -> str:
        """The run folder, relative to the study's out folder."""
        return f"runs/{self.key}"


def _level_name(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _axis_levels(axis: str, spec: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(level, overrides) pairs of one axis (already validated)."""
    if isinstance(spec, Mapping):
        return [(str(name), dict(ov or {})) for name, ov in spec.items()]
    return [(float(v), {axis: float(v)}) for v in spec]


def plan_points(cfg: StudyConfig) -> list[Point]:
    """The named scenarios, then each sweep's points (axes crossed, in the YAML's order)."""
    points = [Point("scenario", name, name) for name in cfg.scenarios]
    for sweep, sc in cfg.sweeps.items():
        axes = [(axis, _axis_levels(axis, spec)) for axis, spec in sc.axes.items()]
        for combo in itertools.product(*(levels for _, levels in axes)):
            overrides: dict[str, Any] = {}
            coords: dict[str, Any] = {}
            for (axis, _), (level, ov) in zip(axes, combo):
                overrides.update(ov)
                coords[axis] = level
            key = sweep + "_" + "_".join(f"{axis}-{_level_name(level)}" for axis, level in coords.items())
            points.append(Point("sweep", key, sc.scenario, overrides, sweep, coords))
    return points


def plan_runs(cfg: StudyConfig) -> list[RunSpec]:
    """Every RL run: scenario x algorithm x seed (validated configs, built from the templates)."""
    if cfg.rl is None:
        return []
    runs = []
    for scenario in cfg.rl.scenarios:
        for algo in cfg.rl.algos:
            template = cfg.rl.template(algo, scenario)
            for seed in cfg.rl.seeds:
                runs.append(RunSpec(scenario, algo.upper(), seed, _train_config(cfg, scenario, algo, template, seed)))
    return runs


def _steps(rl: RLConfig, algo: str) -> int:
    ts = rl.total_timesteps
    return ts[algo] if isinstance(ts, Mapping) else ts


def _template_path(cfg: StudyConfig, template: str) -> Path:
    """A template path as given (absolute or relative to the working directory), else next to the YAML."""
    path = Path(template)
    if not path.is_absolute() and not path.exists() and cfg.source:
        beside = Path(cfg.source).parent / template
        if beside.exists():
            return beside
    return path


def _train_config(cfg: StudyConfig, scenario: str, algo: str, template: str, seed: int) -> TrainConfig:
    path = _template_path(cfg, template)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ConfigError([f"rl.algos.{algo}={template!r} is not allowed: not a training config mapping"])
    data = apply_overrides(data, cfg.rl.set)
    data["env"] = {"scenario": scenario, "overrides": {}}
    data["total_timesteps"] = _steps(cfg.rl, algo)
    data["seed"] = seed
    data["output"] = str(cfg.out_dir / "runs")
    return config_from_dict(data)


# --------------------------------------------------------------------------------------- loading
def load_study_config(path: str | Path) -> StudyConfig:
    """Read and check a study YAML.

    :raises ConfigError: one line per problem.
    :raises OSError: the file cannot be read.
    """
    text = Path(path).read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a {type(data).__name__} is not allowed: a mapping of study keys"])
    return study_config_from_dict({**data, "source": str(path)})


def study_config_from_dict(data: Mapping[str, Any]) -> StudyConfig:
    """Validate a mapping: structure by pydantic, then scenarios, sweeps and RL templates."""
    try:
        cfg = StudyConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError([_pydantic_line(err) for err in exc.errors()]) from None
    problems = _scenario_problems(cfg) + _sweep_problems(cfg) + _rl_problems(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


def _pydantic_line(err: Mapping[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "config"
    if err["type"] == "missing":
        return f"{key} is missing: required"
    if err["type"] == "extra_forbidden":
        return f"{key}={err.get('input')!r} is not allowed: unknown key"
    msg = err["msg"]
    return f"{key}={err.get('input')!r} is not allowed: {msg[0].lower() + msg[1:]}"


def _scenario_problems(cfg: StudyConfig) -> list[str]:
    from envs.scenarios import scenario_names

    names = scenario_names()
    problems = [f"scenarios[{i}]={s!r} is not allowed: one of {', '.join(names)}"
                for i, s in enumerate(cfg.scenarios) if s not in names]
    if len(set(cfg.scenarios)) != len(cfg.scenarios):
        problems.append(f"scenarios={cfg.scenarios!r} is not allowed: each scenario once")
    if not cfg.name or "/" in cfg.name:
        problems.append(f"name={cfg.name!r} is not allowed: a non-empty name without '/'")
    return problems


def _sweep_problems(cfg: StudyConfig) -> list[str]:
    from envs.params import param_field_names
    from envs.scenarios import make_params, scenario_names

    known = param_field_names()
    problems = []
    for sweep, sc in cfg.sweeps.items():
        where = f"sweeps.{sweep}"
        if not sweep.replace("_", "").isalnum():
            problems.append(f"{where} is not allowed: a sweep name of letters, digits and '_'")
        if sc.scenario not in scenario_names():
            problems.append(f"{where}.scenario={sc.scenario!r} is not allowed: one of {', '.join(scenario_names())}")
            continue
        if not sc.axes:
            problems.append(f"{where}.axes={{}} is not allowed: at least one axis")
        for axis, spec in sc.axes.items():
            problems += _axis_problems(f"{where}.axes.{axis}", axis, spec, known)
        if problems:
            continue
        for point in plan_points(cfg.model_copy(update={"scenarios": [], "sweeps": {sweep: sc}})):
            try:
                make_params(point.scenario, dict(point.overrides))
            except ValueError as exc:
                problems.append(f"{where} point {point.key}: {exc}")
    return problems


def _axis_problems(where: str, axis: str, spec: Any, known: Sequence[str]) -> list[str]:
    if isinstance(spec, Mapping):
        if not spec:
            return [f"{where}={{}} is not allowed: at least one level"]
        problems = []
        for level, ov in spec.items():
            if not isinstance(level, str) or not level.replace("_", "").isalnum():
                problems.append(f"{where}.{level}: a level name of letters, digits and '_'")
            if ov is not None and not isinstance(ov, Mapping):
                problems.append(f"{where}.{level}={ov!r} is not allowed: a mapping of parameter overrides")
                continue
            for key in ov or {}:
                if key not in known:
                    problems.append(f"{where}.{level}.{key} is not allowed: not a model parameter; "
                                    f"allowed are {', '.join(known)}")
        return problems
    if axis not in known:
        return [f"{where} is not allowed: a list of values must be named after a model parameter "
                f"({', '.join(known)}), or give a mapping of level names to overrides"]
    if (not isinstance(spec, list) or not spec
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in spec)):
        return [f"{where}={spec!r} is not allowed: a non-empty list of numbers"]
    if len(set(spec)) != len(spec):
        return [f"{where}={spec!r} is not allowed: each value once"]
    return []


def _rl_problems(cfg: StudyConfig) -> list[str]:
    from envs.scenarios import scenario_names

    rl = cfg.rl
    if rl is None:
        return []
    problems = [f"rl.scenarios[{i}]={s!r} is not allowed: one of {', '.join(scenario_names())}"
                for i, s in enumerate(rl.scenarios) if s not in scenario_names()]
    if not rl.algos:
        problems.append("rl.algos={} is not allowed: at least one of " + ", ".join(ALGOS))
    if not rl.seeds or len(set(rl.seeds)) != len(rl.seeds):
        problems.append(f"rl.seeds={rl.seeds!r} is not allowed: a non-empty list of distinct seeds")
    for algo in rl.algos:
        if algo.upper() not in ALGOS:
            problems.append(f"rl.algos.{algo} is not allowed: one of {', '.join(ALGOS)}")
    if isinstance(rl.total_timesteps, Mapping):
        missing = [a for a in rl.algos if a not in rl.total_timesteps]
        if missing:
            problems.append(f"rl.total_timesteps={rl.total_timesteps!r} is not allowed: a number, or one per "
                            f"algorithm ({', '.join(rl.algos)})")
    if problems:
        return problems
    for algo, spec in rl.algos.items():
        if isinstance(spec, dict):
            unknown = [k for k in spec if k != "default" and k not in scenario_names()]
            problems += [f"rl.algos.{algo}.{k} is not allowed: a scenario name or 'default'" for k in unknown]
        checked: set[str] = set()
        for scenario in rl.scenarios or ["war"]:
            template = rl.template(algo, scenario)
            if template is None:
                problems.append(f"rl.algos.{algo} has no template for scenario {scenario!r}: add it or a 'default'")
                continue
            if template in checked:
                continue
            checked.add(template)
            problems += _template_problems(cfg, algo, scenario, template)
    return problems


def _template_problems(cfg: StudyConfig, algo: str, scenario: str, template: str) -> list[str]:
    if not _template_path(cfg, template).is_file():
        return [f"rl.algos.{algo}={template!r} is not allowed: no such training config file"]
    try:
        tc = _train_config(cfg, scenario, algo, template, cfg.rl.seeds[0])
    except ConfigError as exc:
        return [f"rl.algos.{algo} ({template}): {line}" for line in exc.problems]
    if tc.algo != algo.upper():
        return [f"rl.algos.{algo}={template!r} is not allowed: that config trains {tc.algo}"]
    return []
