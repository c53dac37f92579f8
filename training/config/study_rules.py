"""The validators of the study config's models (``training/config/study.py``) and the training
config templates a study names.

Each validator looks at the one value pydantic hands it (and at the fields validated before it,
``info.data``), and raises every problem it finds at once (:class:`~training.config.errors.Problems`),
so that a file's problems are reported together, one line each, by the one formatter
(:func:`~training.config.errors.config_error`). Sweep axes and their overrides are checked against
the sweep's scenario through :func:`envs.scenarios.make_params`, templates by building the
training configs the runs will use (:func:`build_train_config`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from envs.params import param_field_names, short_repr
from envs.scenarios import make_params, scenario_names
from training.config.errors import ConfigError, Problems, line, not_allowed
from training.config.hyperparams import MAX_SEED, MAX_STEPS
from training.config.overrides import SCENARIOS, override_problems, scenario_name  # noqa: F401 (used by study.py)
from training.config.run import ALGOS, apply_overrides
from training.config.templates import build_train_config, is_file, template_data, template_for, template_path

# Upper bounds: beyond them a study is a typo, and would never be planned, run or rendered.
MAX_SEEDS = 1000  # seeds per RL part
MAX_POINTS = 10_000  # points of one sweep (its axes crossed)
MAX_REPS = 1_000_000  # bootstrap replications
STUDY_SETS = ("env", "seed", "total_timesteps", "output")  # what the study itself sets in every run's config
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
WORD_RE = re.compile(r"[A-Za-z0-9_]+\Z")  # sweep, axis and level names: they become parts of file names

# the study names its runs by the algorithm's name in capitals (runs/war/ppo_s0, RunSpec.algo): the
# algorithms whose names are all capitals; RecurrentPPO and MaskablePPO go through alliance evaluate,
# benchmark and leaderboard (a recurrent policy scored by Monte Carlo with its memory), not a study
STUDY_ALGOS = tuple(a for a in ALGOS if a == a.upper())
ALGOS_HELP = (f"a mapping of algorithms ({', '.join(STUDY_ALGOS)}) to a training config path, or to a mapping of "
              "scenario names (or 'default') to paths")
AXES_HELP = ("a mapping of axis names to a list of a parameter's values or to a mapping of level names to "
             "parameter overrides")
SCENARIOS_HELP = f"a list of distinct scenario names, each one of {SCENARIOS}"
STEPS_HELP = f"an integer in [1, {MAX_STEPS:,}], or a mapping of each algorithm of rl.algos to one"
NAME_HELP = "a name of letters, digits, '_', '-' and '.' (text, at most 64 characters)"
OUT_HELP = "a folder path (text; not empty, no NUL character, not an existing file)"
REPORT_HELP = ("a file path (text; not empty, no NUL character, not an existing folder), or null for "
               "<out>/REPORT.md")
SEEDS_HELP = f"a non-empty list of at most {MAX_SEEDS:,} distinct integers in [0, {MAX_SEED}]"


# ------------------------------------------------------------------------------ names and paths
def distinct_scenarios(value: list[str]) -> list[str]:
    """Each scenario once; a scenario file goes by its ``name`` (its results' file and folder name)."""
    from envs.scenarios import scenario_key

    if len({scenario_key(s) for s in value}) != len(value):
        raise not_allowed("each scenario once (a scenario file goes by its name)")
    return value


def study_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise not_allowed(NAME_HELP)
    return value


def distinct(value: list) -> list:
    if len(set(value)) != len(value):
        raise ValueError("each value once")
    return value


def word(what: str):
    """A validator of a name that becomes part of a file name (letters, digits and '_')."""
    def check(value: str) -> str:
        if not WORD_RE.match(value):
            raise line(f" is not allowed: {what} of letters, digits and '_'")
        return value
    return check


def path_check(folder: bool, allowed: str):
    """A validator of an output path: not empty, no NUL, not an existing file (folder) or folder (file)."""
    def check(value: str | None) -> str | None:
        if value is None:
            return value
        bad = not value.strip() or "\x00" in value
        if not bad:
            try:
                bad = Path(value).is_file() if folder else Path(value).is_dir()
            except OSError as exc:
                raise not_allowed(str(exc.strerror or exc)) from None
        if bad:
            raise not_allowed(allowed)
        return value
    return check


# ------------------------------------------------------------------------------------- sweeps
def check_axes(axes: Any, scenario: str | None) -> Any:
    """An axis is a list of one parameter's values, or a mapping of level names to overrides. Each
    value and override is checked alone against the sweep's scenario (None: the scenario is bad)."""
    if not isinstance(axes, Mapping):
        return axes  # pydantic reports the type
    found = Problems()
    if not axes:
        found.add((), not_allowed(f"at least one axis: {AXES_HELP}"), axes)
    for axis, spec in axes.items():
        if not isinstance(axis, str):
            found.bad_key((), axis)
        elif not WORD_RE.match(axis):
            found.add((axis,), not_allowed("an axis name of letters, digits and '_'"), spec)
        elif isinstance(spec, Mapping):
            _levels(found, axis, spec, scenario)
        else:
            _values(found, axis, spec, scenario)
    found.raise_any()
    return axes


def _values(found: Problems, axis: str, spec: Any, scenario: str | None) -> None:
    known = param_field_names()
    if axis not in known:
        found.add((axis,), line(f" is not allowed: a list of values must be named after a model parameter "
                                f"({', '.join(known)}); or give a mapping of level names to parameter overrides"))
        return
    if not isinstance(spec, list) or not spec:
        found.add((axis,), not_allowed(f"a non-empty list of values of {axis}, or a mapping of level names to "
                                       "parameter overrides"), spec)
        return
    before = len(found.details)
    for i, v in enumerate(spec):
        if not _finite(v):
            found.add((axis, i), not_allowed(f"a finite number (a value of {axis})"), v)
        elif scenario is not None:
            try:
                make_params(scenario, {axis: float(v)})
            except ValueError as exc:
                found.add((axis, i), line(f": {exc}"))
    if len(found.details) > before:
        return
    if len({float(v) for v in spec}) != len(spec):
        found.add((axis,), not_allowed("each value once"), spec)
    elif len({level_name(float(v)) for v in spec}) != len(spec):
        found.add((axis,), not_allowed("values that differ in their first 6 significant digits (each names a "
                                       "file)"), spec)


def _levels(found: Problems, axis: str, spec: Mapping[Any, Any], scenario: str | None) -> None:
    if not spec:
        found.add((axis,), not_allowed("at least one level (level names to parameter overrides)"), spec)
    for level, ov in spec.items():
        if not isinstance(level, str):
            found.bad_key((axis,), level)
        elif not WORD_RE.match(level):
            found.add((axis, level), not_allowed("a level name of letters, digits and '_'"), ov)
        elif ov is not None and not isinstance(ov, Mapping):
            found.add((axis, level), not_allowed("a mapping of parameter overrides (or nothing)"), ov)
        elif ov:
            override_problems(found, (axis, level), ov, scenario)


def check_points(axes: Mapping[str, Any], points: Callable[[], Sequence[Any]], scenario: str) -> None:
    """A valid sweep's points (``points()``, its axes crossed): not too many, and each a valid
    parameter set (its overrides together)."""
    found = Problems()
    n = math.prod(len(spec) for spec in axes.values())
    if n > MAX_POINTS:
        found.add(("axes",), line(f" is not allowed: {n:,} points crossed; at most {MAX_POINTS:,} in a sweep"))
    for point in points() if not found else []:
        try:
            make_params(scenario, dict(point.overrides))
        except ValueError as exc:
            found.add((), line(f" point {point.key}: {exc}"))
            break
    found.raise_any()


def level_name(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _finite(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


# ----------------------------------------------------------------------------------- RL part
def check_algos(algos: Any, scenarios: Sequence[str] | None, source: str) -> Any:
    """``rl.algos``: each name an algorithm (once), each template spec a path or a mapping of
    scenario names to paths, each template a training config of that algorithm; every scenario of
    ``scenarios`` (None: they are bad) has a template."""
    if not isinstance(algos, Mapping) or not algos:
        raise not_allowed(ALGOS_HELP)
    found = Problems()
    seen: dict[str, Any] = {}
    for algo, spec in algos.items():
        if not isinstance(algo, str):
            found.bad_key((), algo)
        elif algo.upper() not in STUDY_ALGOS:
            found.add((algo,), not_allowed(f"an algorithm a study trains, one of {', '.join(STUDY_ALGOS)} "
                                           f"(the others of {', '.join(ALGOS)}: alliance leaderboard)"), spec)
        elif algo.upper() in seen:
            found.add((algo,), line(f" is not allowed: {seen[algo.upper()]} names the same algorithm"))
        else:
            seen[algo.upper()] = algo
            _algo_spec(found, algo, spec, scenarios, source)
    found.raise_any()
    return algos


def _algo_spec(found: Problems, algo: str, spec: Any, scenarios: Sequence[str] | None, source: str) -> None:
    if isinstance(spec, Mapping) and spec and all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                  for k, v in spec.items()):
        unknown = [k for k in spec if k != "default" and k not in scenario_names()]
        if unknown:
            found.add((algo, unknown[0]), line(f" is not allowed: a scenario name ({SCENARIOS}) or 'default'"))
            return
        entries = [((algo, k), v) for k, v in spec.items()]
    elif isinstance(spec, str) and spec.strip():
        entries = [((algo,), spec)]
    else:
        found.add((algo,), not_allowed("a training config path, or a mapping of scenario names (or 'default') to "
                                       "paths"), spec)
        return
    for loc, template in entries:
        _template(found, loc, algo, template, source)
    missing = [s for s in scenarios or [] if template_for(spec, s) is None]
    if missing:
        found.add((algo,), line(f" has no template for scenario {', '.join(map(repr, missing))}: add one, or a "
                                "'default'"))


def _template(found: Problems, loc: tuple, algo: str, template: str, source: str) -> None:
    """The template at ``loc`` is a training config of ``algo``."""
    if not is_file(template_path(source, template)):
        found.add(loc, not_allowed("no such training config file"), template)
        return
    try:
        base = template_data(source, template)
    except ConfigError as exc:  # the line names the file
        for problem in exc.problems:
            found.add(loc, line(f": {problem}"))
        return
    except OSError as exc:
        found.add(loc, not_allowed(str(exc.strerror or exc)), template)
        return
    try:
        tc = build_train_config(base, [], "war", 1, 0, "out")
    except ConfigError as exc:  # one problem of the study: that file is not a training config
        more = len(exc.problems) - 1
        found.add(loc, line(f" ({template}): {exc.problems[0]}" + (
            f" (and {more} more problem{'s' * (more > 1)}: `alliance train {template}` lists them)" if more else "")))
        return
    if tc.algo != algo.upper():
        found.add(loc, not_allowed(f"that config trains {tc.algo}, not {algo.upper()}"), template)


def check_steps(steps: Any, algos: Mapping[str, Any] | None) -> Any:
    """``total_timesteps``: one budget, or one per algorithm of ``algos`` (None: they are bad)."""
    if isinstance(steps, Mapping):
        if not all(k.upper() in STUDY_ALGOS for k in steps):
            raise not_allowed(STEPS_HELP)
        if algos is not None and set(steps) != set(algos):
            raise not_allowed(f"one entry per algorithm of rl.algos ({', '.join(algos)}), no other")
    return steps


def check_set(items: list[str], algos: Mapping[str, Any] | None, source: str) -> list[str]:
    """Each ``rl.set`` item alone: its form, a key the study sets itself, and with each template of
    ``algos`` (None: they are bad)."""
    found = Problems()
    templates = [(algo, t) for algo, spec in (algos or {}).items()
                 for t in ([spec] if isinstance(spec, str) else dict.fromkeys(spec.values()))]
    for i, item in enumerate(items):
        head = item.partition("=")[0].strip().split(".")[0]
        if head in STUDY_SETS:
            found.add((i,), not_allowed(f"the study sets {', '.join(STUDY_SETS)} of every run itself (from "
                                        "rl.scenarios, rl.seeds, rl.total_timesteps and out)"), item)
            continue
        try:
            apply_overrides({}, [item])
        except ConfigError as exc:
            found.add((i,), line(f": {exc.problems[0]}"))
            continue
        for algo, template in templates:
            try:
                build_train_config(template_data(source, template), [item], "war", 1, 0, "out")
            except ConfigError as exc:
                found.add((i,), line(f"={short_repr(item)} is not allowed with rl.algos.{algo} ({template}): "
                                     f"{exc.problems[0]}"))
                break
    found.raise_any()
    return items


def check_runs(rl: Any, source: str) -> None:
    """Everything together, as the runs will be built (each part alone is fine)."""
    for algo, spec in rl.algos.items():
        for scenario in rl.scenarios:
            template = template_for(spec, scenario)
            steps = rl.total_timesteps[algo] if isinstance(rl.total_timesteps, Mapping) else rl.total_timesteps
            try:
                build_train_config(template_data(source, template), rl.set, scenario, steps, rl.seeds[0], "out")
            except ConfigError as exc:
                found = Problems()
                found.add(("set",), line(f"={short_repr(rl.set)} is not allowed with rl.algos.{algo} ({template}): "
                                         f"{exc.problems[0]}"))
                found.raise_any()
