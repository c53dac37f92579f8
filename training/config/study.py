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

Sweep names the hypotheses read (see ``training/study/hypotheses.py``): ``threat_alternatives``
(axes ``threat`` {high, low} x ``alternatives`` {closed, open}), ``identification``, ``power``,
``identification_power`` (the crossed ι x c grid), ``entrapment_scale``, ``deep_cost_scale``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SkipValidation

from envs.scenarios import scenario_key
from training.config.files import read_yaml_mapping
from training.config.hyperparams import MAX_SEED
from training.config.run import TrainConfig, apply_overrides, config_from_dict

STUDY_VERSION = 1
# Upper bounds: beyond them a study is a typo, and would never be planned, run or rendered.
MAX_SEEDS = 1000  # seeds per RL part
MAX_POINTS = 10_000  # points of one sweep (its axes crossed)
MAX_REPS = 1_000_000  # bootstrap replications
STUDY_SETS = ("env", "seed", "total_timesteps", "output")  # what the study itself sets in every run's config
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
WORD_RE = re.compile(r"[A-Za-z0-9_]+\Z")  # sweep, axis and level names: they become parts of file names


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
    or a mapping of scenario names to paths with a ``default`` for the others. (The fields' types
    are checked by :func:`study_config_from_dict`, one line per field, not by pydantic.)"""

    scenarios: Annotated[list[str], SkipValidation]
    algos: Annotated[dict[str, str | dict[str, str]], SkipValidation]
    seeds: Annotated[list[int], SkipValidation]
    total_timesteps: Annotated[int | dict[str, int], SkipValidation]
    set: Annotated[list[str], SkipValidation] = Field(default_factory=list)

    def template(self, algo: str, scenario: str) -> str | None:
        """The template path of ``algo`` for ``scenario`` (None if the mapping has none for it)."""
        return template_for(self.algos[algo], scenario)


class StudyConfig(_Strict):
    """A whole study. ``out`` and template paths are relative to the working directory (the repo);
    :attr:`source` is the YAML file it was read from (set by :func:`load_study_config`)."""

    name: str
    out: str
    report: str | None = None  # where REPORT.md goes; default <out>/REPORT.md
    scenarios: Annotated[list[str], SkipValidation]
    sweeps: dict[str, SweepConfig] = Field(default_factory=dict)
    rl: RLConfig | None = None
    # scenarios whose value streams and frontier make the report's "Why the optimum wins"
    explain: Annotated[list[str], SkipValidation] = Field(default_factory=list)
    bootstrap_reps: int = Field(2000, ge=1, le=MAX_REPS)
    bootstrap_seed: int = Field(0, ge=0, le=MAX_SEED)
    _source: str = PrivateAttr("")

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


def level_name(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


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


def template_path(source: str, template: str) -> Path:
    """A template path as given (absolute or relative to the working directory), else next to the YAML."""
    path = Path(template)
    if not path.is_absolute() and not is_file(path) and source:
        beside = Path(source).parent / template
        if is_file(beside):
            return beside
    return path


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL character
        return False


def template_data(source: str, template: str) -> dict:
    """The mapping a training config template holds (one-line ConfigError / OSError otherwise)."""
    return read_yaml_mapping(template_path(source, template), "a mapping of training config keys")


def build_train_config(base: Mapping[str, Any], overrides: Sequence[str], scenario: str, steps: int,
                       seed: int, out: str) -> TrainConfig:
    """A run's training config: the template with the study's overrides, scenario, budget, seed and folder."""
    data = apply_overrides(base, overrides)
    data["env"] = {"scenario": scenario, "overrides": {}}
    data["total_timesteps"] = steps
    data["seed"] = seed
    data["output"] = str(Path(out) / "runs")
    return config_from_dict(data)


def _train_config(cfg: StudyConfig, scenario: str, algo: str, template: str, seed: int) -> TrainConfig:
    """The training config of one run of ``cfg`` from ``template``."""
    base = template_data(cfg.source, template)
    return build_train_config(base, cfg.rl.set, scenario, _steps(cfg.rl, algo), seed, cfg.out)


def template_for(spec: str | Mapping[str, str], scenario: str) -> str | None:
    return spec if isinstance(spec, str) else spec.get(scenario, spec.get("default"))


# --------------------------------------------------------------------------------------- loading
