"""Reading and checking a study config (``training/config/study.py`` has the models and the plan):
:func:`load_study_config` and :func:`study_config_from_dict`, then the checks beyond its structure:
names and paths, the scenarios, every sweep axis, value and override, and the RL part — each field
alone, each template alone, each ``rl.set`` item with each template, then everything together as
the runs will be built. Every check looks at what pydantic left intact, so that each problem of a
file is reported at once, one line each, naming the dotted key, the value and what is allowed.

Over 300 lines, and a second walk of the raw mapping beside the pydantic models of
``training/config/study.py``: folding these checks into the models' validators (one validation
path, as the run config has) is the next step; the messages they give are pinned by
tests/training/study/test_study_errors.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from envs.params import param_field_names, short_repr
from envs.scenarios import make_params, scenario_key, scenario_names, scenario_problem
from training.config.errors import ConfigError, dotted, pydantic_line
from training.config.files import read_yaml_mapping
from training.config.hyperparams import MAX_SEED, MAX_STEPS
from training.config.run import ALGOS, apply_overrides
from training.config.study import (
    MAX_POINTS,
    MAX_REPS,
    MAX_SEEDS,
    NAME_RE,
    STUDY_SETS,
    WORD_RE,
    RLConfig,
    StudyConfig,
    SweepConfig,
    build_train_config,
    is_file,
    level_name,
    sweep_points,
    template_data,
    template_for,
    template_path,
)


def config_problems(data: Mapping[str, Any], failed: set[tuple], source: str) -> list[str]:
    """Every problem of ``data`` that pydantic does not report (``failed``: the key paths it did)."""
    return _top_problems(data) + _sweep_problems(data, failed) + _rl_problems(data, source)


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and check a study YAML (a key given twice, invalid YAML, binary junk and deep nesting
    are refused by :func:`training.config.run.read_yaml_mapping`).

    :raises ConfigError: one line per problem.
    :raises OSError: the file cannot be read.
    """
    data = read_yaml_mapping(path, "a mapping of study keys with at least name, out and scenarios")
    return study_config_from_dict(data, source=str(path))


def study_config_from_dict(data: Mapping[str, Any], source: str = "") -> StudyConfig:
    """Validate a mapping: structure by pydantic; names, paths, scenarios, sweeps and the RL part by
    the checks below, which look at every part pydantic left intact, so that each problem of a file
    is reported at once, one line each.

    :param source: the YAML path the mapping was read from (templates are also looked for beside it)
    :raises ConfigError: one line per problem
    """

    cfg, errors = None, []
    try:
        cfg = StudyConfig.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
    bad_keys = [tuple(err["loc"][:-1]) for err in errors if err["loc"] and err["loc"][-1] == "[key]"]
    errors = [err for err in errors if err["loc"][-1:] == ("[key]",)  # a key that is not text: not its value too
              or not any(tuple(err["loc"][:len(k)]) == k for k in bad_keys)]
    failed = {tuple(err["loc"]) for err in errors}
    problems = list(dict.fromkeys(pydantic_line(err, _fields_at, _allowed_at) for err in errors)) + config_problems(data, failed, source)
    if problems or cfg is None:
        raise ConfigError(problems or ["config is not allowed: unknown problem"])
    cfg._source = source
    return cfg


def _help(loc: Sequence[Any]) -> str:
    """What is allowed at a key path (sweep names replaced by ``*``)."""

    scenarios = ", ".join(scenario_names()) + ", or a scenario file (.yaml)"
    key = tuple("*" if i == 1 and loc[0] == "sweeps" else p for i, p in enumerate(loc))
    return {
        ("name",): "a name of letters, digits, '_', '-' and '.' (text, at most 64 characters)",
        ("out",): "a folder path (text; not empty, no NUL character, not an existing file)",
        ("report",): "a file path (text; not empty, no NUL character, not an existing folder), or null for "
                     "<out>/REPORT.md",
        ("scenarios",): f"a list of distinct scenario names, each one of {scenarios}",
        ("explain",): f"a list of distinct scenarios whose value streams and frontier the report explains, "
                      f"each one of {scenarios}",
        ("sweeps",): "a mapping of sweep names to {scenario, axes}",
        ("sweeps", "*"): "a mapping with the keys scenario and axes",
        ("sweeps", "*", "scenario"): f"one of {scenarios}",
        ("sweeps", "*", "axes"): "a mapping of axis names to a list of a parameter's values or to a mapping of "
                                 "level names to parameter overrides",
        ("rl",): "a mapping with the keys scenarios, algos, seeds, total_timesteps and set, or null (no RL runs)",
        ("rl", "scenarios"): f"a list of distinct scenario names, each one of {scenarios}",
        ("rl", "algos"): f"a mapping of algorithms ({', '.join(ALGOS)}) to a training config path, or to a "
                         "mapping of scenario names (or 'default') to paths",
        ("rl", "seeds"): f"a non-empty list of at most {MAX_SEEDS:,} distinct integers in [0, {MAX_SEED}]",
        ("rl", "total_timesteps"): f"an integer in [1, {MAX_STEPS:,}], or a mapping of each algorithm of "
                                   "rl.algos to one",
        ("rl", "set"): "a list of KEY=VALUE overrides (text) of every run's training config",
        ("bootstrap_reps",): f"an integer in [1, {MAX_REPS:,}]",
        ("bootstrap_seed",): f"an integer in [0, {MAX_SEED}]",
    }.get(key, "")


def _fields_at(loc: Sequence[Any]) -> list[str]:
    model = {0: StudyConfig, 1: RLConfig if loc[:1] == ("rl",) else None, 2: SweepConfig}.get(len(loc))
    return list(model.model_fields) if model is not None else []


def _allowed_at(loc: Sequence[Any], kind: str) -> str:
    return _help(loc)


def _path_problems(key: str, value: Any, folder: bool) -> list[str]:
    if not isinstance(value, str):
        return []  # pydantic reports the type
    bad = not value.strip() or "\x00" in value
    if not bad:
        try:
            bad = Path(value).is_file() if folder else Path(value).is_dir()
        except OSError as exc:
            return [f"{key}={short_repr(value)} is not allowed: {exc.strerror or exc}"]
    return [f"{key}={short_repr(value)} is not allowed: {_help((key,))}"] if bad else []


def _top_problems(data: Mapping[str, Any]) -> list[str]:
    name = data.get("name")
    problems = []
    if isinstance(name, str) and not NAME_RE.match(name):
        problems.append(f"name={short_repr(name)} is not allowed: {_help(('name',))}")
    problems += _path_problems("out", data.get("out"), folder=True)
    problems += _path_problems("report", data.get("report"), folder=False)
    if "scenarios" in data:
        problems += _scenario_list_problems("scenarios", data["scenarios"])
    if "explain" in data:
        problems += _scenario_list_problems("explain", data["explain"])
    return problems


def _scenario_list_problems(key: str, value: Any) -> list[str]:

    if not isinstance(value, list):
        return [f"{key}={short_repr(value)} is not allowed: {_help((key,) if key in ('scenarios', 'explain') else ('rl', 'scenarios'))}"]
    problems = []
    for i, s in enumerate(value):
        problem = scenario_problem(s) if isinstance(s, str) else _help(("sweeps", "*", "scenario"))
        if problem:
            problems.append(f"{key}[{i}]={short_repr(s)} is not allowed: {problem}")
    if not problems and len({scenario_key(s) for s in value}) != len(value):
        problems.append(f"{key}={short_repr(value)} is not allowed: each scenario once (a scenario file goes by "
                        "its name)")
    return problems


# ------------------------------------------------------------------------------------- sweeps
def _sweep_problems(data: Mapping[str, Any], failed: set[tuple]) -> list[str]:
    sweeps = data.get("sweeps")
    if not isinstance(sweeps, Mapping):
        return []  # pydantic reports the type
    problems: list[str] = []
    owners: dict[str, str] = {}  # point key (file name) -> its sweep
    for name, raw in sweeps.items():
        if not isinstance(name, str) or not isinstance(raw, Mapping):
            continue  # pydantic reports it
        where = dotted(["sweeps", name])
        if not WORD_RE.match(name):
            problems.append(f"{where} is not allowed: a sweep name of letters, digits and '_'")
            continue
        found = _one_sweep_problems(name, raw)
        problems += found
        if found or any(loc[:2] == ("sweeps", name) for loc in failed):
            continue
        sc = SweepConfig.model_validate(dict(raw))
        n = math.prod(len(spec) for spec in sc.axes.values())
        if n > MAX_POINTS:
            problems.append(f"{where}.axes is not allowed: {n:,} points crossed; at most {MAX_POINTS:,} in a sweep")
            continue
        for point in sweep_points(name, sc):
            if point.key in owners:
                problems.append(f"{where} point {point.key} is not allowed: sweep {owners[point.key]} has a point "
                                "of that name (file); rename a sweep or an axis")
                break
            owners[point.key] = name
            try:
                _make_params(point.scenario, dict(point.overrides))
            except ValueError as exc:
                problems.append(f"{where} point {point.key}: {exc}")
                break
    return problems


def _one_sweep_problems(name: str, raw: Mapping[str, Any]) -> list[str]:

    problems = []
    scenario = raw.get("scenario", "war")
    problem = scenario_problem(scenario) if isinstance(scenario, str) else None
    valid = isinstance(scenario, str) and problem is None
    if isinstance(scenario, str) and not valid:
        problems.append(f"{dotted(['sweeps', name, 'scenario'])}={short_repr(scenario)} is not allowed: {problem}")
    axes = raw.get("axes")
    if not isinstance(axes, Mapping):
        return problems  # pydantic reports it
    if not axes:
        problems.append(f"{dotted(['sweeps', name, 'axes'])}={{}} is not allowed: at least one axis: "
                        f"{_help(('sweeps', name, 'axes'))}")
    for axis, spec in axes.items():
        if isinstance(axis, str):
            problems += _axis_problems(["sweeps", name, "axes", axis], spec, scenario if valid else None)
    return problems


def _make_params(scenario: str, overrides: Mapping[str, Any]) -> Any:

    return make_params(scenario, dict(overrides))


def _finite(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _axis_problems(parts: list[Any], spec: Any, scenario: str | None) -> list[str]:
    """An axis: a list of one parameter's values, or a mapping of level names to overrides. Each
    value and override is checked alone against the sweep's scenario (None: the scenario is bad)."""

    known = param_field_names()
    where, axis = dotted(parts), parts[-1]
    if not WORD_RE.match(axis):
        return [f"{where}={short_repr(spec)} is not allowed: an axis name of letters, digits and '_'"]
    if isinstance(spec, Mapping):
        return _level_problems(parts, spec, scenario)
    if axis not in known:
        return [f"{where} is not allowed: a list of values must be named after a model parameter "
                f"({', '.join(known)}); or give a mapping of level names to parameter overrides"]
    if not isinstance(spec, list) or not spec:
        return [f"{where}={short_repr(spec)} is not allowed: a non-empty list of values of {axis}, or a mapping "
                "of level names to parameter overrides"]
    problems = []
    for i, v in enumerate(spec):
        if not _finite(v):
            problems.append(f"{where}[{i}]={short_repr(v)} is not allowed: a finite number (a value of {axis})")
        elif scenario is not None:
            try:
                _make_params(scenario, {axis: float(v)})
            except ValueError as exc:
                problems.append(f"{where}[{i}]: {exc}")
    if not problems and len({float(v) for v in spec}) != len(spec):
        problems.append(f"{where}={short_repr(spec)} is not allowed: each value once")
    elif not problems and len({level_name(float(v)) for v in spec}) != len(spec):
        problems.append(f"{where}={short_repr(spec)} is not allowed: values that differ in their first 6 "
                        "significant digits (each names a file)")
    return problems


def _level_problems(parts: list[Any], spec: Mapping[Any, Any], scenario: str | None) -> list[str]:

    known = param_field_names()
    if not spec:
        return [f"{dotted(parts)}={{}} is not allowed: at least one level (level names to parameter overrides)"]
    problems = []
    for level, ov in spec.items():
        at = dotted([*parts, level])
        if not isinstance(level, str) or not WORD_RE.match(level):
            problems.append(f"{at}={short_repr(ov)} is not allowed: a level name of letters, digits and '_'")
            continue
        if ov is None:
            continue
        if not isinstance(ov, Mapping):
            problems.append(f"{at}={short_repr(ov)} is not allowed: a mapping of parameter overrides (or nothing)")
            continue
        found = []
        for key, value in ov.items():
            if not isinstance(key, str) or key not in known:
                found.append(f"{dotted([*parts, level, key])} is not allowed: not a model parameter; allowed are "
                             f"{', '.join(known)}")
                continue
            if scenario is not None:
                try:
                    _make_params(scenario, {key: value})
                except ValueError as exc:
                    found.append(f"{at}.{exc}")
        if not found and ov and scenario is not None:
            try:  # overrides that are fine alone but not together
                _make_params(scenario, ov)
            except ValueError as exc:
                found.append(f"{at}: {exc}")
        problems += found
    return problems


# ----------------------------------------------------------------------------------- RL part
def _seed(s: Any) -> bool:
    return isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED


def _budget(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_STEPS


def _rl_problems(data: Mapping[str, Any], source: str) -> list[str]:
    """The RL part: each field alone, then each template alone, each ``set`` item with each
    template, and finally everything together as the runs will be built."""
    rl = data.get("rl")
    if not isinstance(rl, Mapping):
        return []  # null (no RL runs), or pydantic reports the type
    problems = _scenario_list_problems("rl.scenarios", rl["scenarios"]) if "scenarios" in rl else []
    scenarios = rl["scenarios"] if "scenarios" in rl and not problems else None
    algos, found = _algo_problems(rl["algos"]) if "algos" in rl else ({}, [])
    problems += found
    every_algo = "algos" in rl and not found
    names = _algo_names(rl["algos"]) if isinstance(rl.get("algos"), Mapping) else None
    seeds = rl.get("seeds")
    seeds_ok = (isinstance(seeds, list) and 1 <= len(seeds) <= MAX_SEEDS and all(_seed(s) for s in seeds)
                and len(set(seeds)) == len(seeds))
    if "seeds" in rl and not seeds_ok:
        problems.append(f"rl.seeds={short_repr(seeds)} is not allowed: {_help(('rl', 'seeds'))}")
    found = _steps_problems(rl.get("total_timesteps"), names) if "total_timesteps" in rl else []
    problems += found
    steps_ok = "total_timesteps" in rl and not found
    out = data.get("out")
    out = out if isinstance(out, str) and not _path_problems("out", out, folder=True) else "out"
    bases: dict[tuple[str, str], dict] = {}
    for algo, spec in algos.items():
        entries = [([algo], spec)] if isinstance(spec, str) else [([algo, k], v) for k, v in spec.items()]
        for parts, template in entries:
            base, found = _template_problems(dotted(["rl", "algos", *parts]), algo, template, source, out)
            problems += found
            if base is not None:
                bases[(algo, template)] = base
    for algo, spec in algos.items():
        missing = [s for s in scenarios or [] if template_for(spec, s) is None]
        if missing:
            problems.append(f"{dotted(['rl', 'algos', algo])} has no template for scenario "
                            f"{', '.join(map(repr, missing))}: add one, or a 'default'")
    items = rl.get("set", [])
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        return problems + [f"rl.set={short_repr(items)} is not allowed: {_help(('rl', 'set'))}"]
    problems += _set_problems(items, bases, out)
    if problems or not (every_algo and seeds_ok and steps_ok and scenarios is not None):
        return problems
    ts = rl["total_timesteps"]
    for algo, spec in algos.items():  # everything together, as the runs will be built
        for scenario in scenarios:
            template = template_for(spec, scenario)
            steps = ts[algo] if isinstance(ts, Mapping) else ts
            try:
                build_train_config(bases[(algo, template)], items, scenario, steps, seeds[0], out)
            except ConfigError as exc:
                return [f"rl.set={short_repr(items)} is not allowed with {dotted(['rl', 'algos', algo])} "
                        f"({template}): {exc.problems[0]}"]
    return problems


def _algo_names(raw: Mapping[Any, Any]) -> list[str]:
    """The keys of ``rl.algos`` that name an algorithm (the first of two naming the same one)."""
    names: dict[str, str] = {}
    for algo in raw:
        if isinstance(algo, str) and algo.upper() in ALGOS:
            names.setdefault(algo.upper(), algo)
    return list(names.values())


def _algo_problems(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The algorithms whose name and template spec are fine, and a line per other one."""

    if not isinstance(raw, Mapping) or not raw:
        return {}, [f"rl.algos={short_repr(raw)} is not allowed: {_help(('rl', 'algos'))}"]
    valid: dict[str, Any] = {}
    problems: list[str] = []
    seen: dict[str, Any] = {}
    for algo, spec in raw.items():
        where = dotted(["rl", "algos", algo])
        if not isinstance(algo, str) or algo.upper() not in ALGOS:
            problems.append(f"{where}={short_repr(spec)} is not allowed: an algorithm, one of {', '.join(ALGOS)}")
            continue
        if algo.upper() in seen:
            problems.append(f"{where} is not allowed: {seen[algo.upper()]} names the same algorithm")
            continue
        seen[algo.upper()] = algo
        if isinstance(spec, Mapping) and spec and all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                      for k, v in spec.items()):
            unknown = [k for k in spec if k != "default" and k not in scenario_names()]
            if unknown:
                problems.append(f"{dotted(['rl', 'algos', algo, unknown[0]])} is not allowed: a scenario name "
                                f"({', '.join(scenario_names())}) or 'default'")
                continue
        elif not (isinstance(spec, str) and spec.strip()):
            problems.append(f"{where}={short_repr(spec)} is not allowed: a training config path, or a mapping of "
                            "scenario names (or 'default') to paths")
            continue
        valid[algo] = spec
    return valid, problems


def _steps_problems(ts: Any, algos: Sequence[str] | None) -> list[str]:
    """``total_timesteps``: one budget, or one per algorithm of ``algos`` (the names in rl.algos)."""
    if isinstance(ts, Mapping):
        fine = bool(ts) and all(isinstance(k, str) and k.upper() in ALGOS and _budget(v) for k, v in ts.items())
        if fine and algos is not None and set(ts) != set(algos):
            return [f"rl.total_timesteps={short_repr(ts)} is not allowed: one entry per algorithm of rl.algos "
                    f"({', '.join(algos)}), no other"]
    else:
        fine = _budget(ts)
    return [] if fine else [f"rl.total_timesteps={short_repr(ts)} is not allowed: {_help(('rl', 'total_timesteps'))}"]


def _template_problems(where: str, algo: str, template: str, source: str,
                       out: str) -> tuple[dict | None, list[str]]:
    """The template's mapping if it is a training config of ``algo``; else a line naming ``where``."""
    path = template_path(source, template)
    if not is_file(path):
        return None, [f"{where}={short_repr(template)} is not allowed: no such training config file"]
    try:
        base = template_data(source, template)
    except ConfigError as exc:  # the line names the file
        return None, [f"{where}: {line}" for line in exc.problems]
    except OSError as exc:
        return None, [f"{where}={short_repr(template)} is not allowed: {exc.strerror or exc}"]
    try:
        tc = build_train_config(base, [], "war", 1, 0, out)
    except ConfigError as exc:  # one problem of the study: that file is not a training config
        more = len(exc.problems) - 1
        return None, [f"{where} ({template}): {exc.problems[0]}"
                      + (f" (and {more} more problem{'s' * (more > 1)}: `alliance train {template}` lists them)"
                         if more else "")]
    if tc.algo != algo.upper():
        return None, [f"{where}={short_repr(template)} is not allowed: that config trains {tc.algo}, not "
                      f"{algo.upper()}"]
    return base, []


def _set_problems(items: Sequence[str], bases: Mapping[tuple[str, str], dict], out: str) -> list[str]:
    """Each ``rl.set`` item alone: its form, a key the study sets itself, and with each template."""
    problems = []
    for i, item in enumerate(items):
        at = f"rl.set[{i}]"
        head = item.partition("=")[0].strip().split(".")[0]
        if head in STUDY_SETS:
            problems.append(f"{at}={short_repr(item)} is not allowed: the study sets {', '.join(STUDY_SETS)} of "
                            "every run itself (from rl.scenarios, rl.seeds, rl.total_timesteps and out)")
            continue
        try:
            apply_overrides({}, [item])
        except ConfigError as exc:
            problems.append(f"{at}: {exc.problems[0]}")
            continue
        for (algo, template), base in bases.items():
            try:
                build_train_config(base, [item], "war", 1, 0, out)
            except ConfigError as exc:
                problems.append(f"{at}={short_repr(item)} is not allowed with {dotted(['rl', 'algos', algo])} "
                                f"({template}): {exc.problems[0]}")
                break
    return problems
