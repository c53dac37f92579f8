"""Hypothesis strategies for malformed configs, shared by the hardening tests (issue 7).

A config is described by a *schema*: for each key path, a strategy of values that are certainly
invalid there (wrong types, out-of-range numbers, NaN and infinity, huge numbers, strings that are
not one of the choices), which keys are required, and which mappings forbid unknown keys.
:func:`malformed_configs` draws a valid base config and spoils it with one to three
:class:`Mutation` s at independent key paths; each mutation says which key the error must name.
:func:`malformed_files` draws whole files that are no config at all: invalid YAML, empty files,
binary junk, documents that are not a mapping, deep nesting, huge integers, Python tags,
duplicate keys.

The train config's schema is :func:`train_schema`; scenario overrides have :func:`override_schema`
(used inside the train schema, the study schema's sweep levels, and directly against
``envs.scenarios.make_params``). The study config's schema is :func:`study_schema` around the valid
:func:`study_base`, built from the same value strategies (``bad_int``, ``bad_number``, ``bad_choice``,
``not_a_mapping``, ...); it reuses :func:`malformed_configs` and :func:`malformed_files` unchanged.

:data:`TALLY` counts the bad inputs tried and those that escaped (any outcome other than a clean
one-line refusal); the test modules add to it and a summary test prints it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from repo import REPO


# ------------------------------------------------------------------------------------ bookkeeping
class ReachedTheRun(Exception):
    """Raised by the spies of the ``no_run`` fixture (tests/conftest.py): validation let a bad input through."""


TALLY: dict[str, Any] = {"tried": 0, "escaped": 0, "by_test": {}}


def record(test: str, escaped: bool) -> None:
    """Count one bad input tried by ``test`` (and whether it escaped)."""
    TALLY["tried"] += 1
    TALLY["escaped"] += int(escaped)
    tried, esc = TALLY["by_test"].get(test, (0, 0))
    TALLY["by_test"][test] = (tried + 1, esc + int(escaped))


def hardening_settings(max_examples: int) -> settings:
    """Settings of the property tests: the same examples on every run (derandomized: the fast suite
    does not flake; explore with ``--hypothesis-seed`` and ``derandomize=False``), no deadline (the
    first example imports SB3), no database (nothing written into the repository), no health check
    on fixtures or slow draws."""
    return settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


# ------------------------------------------------------------------------------ invalid values
HUGE_INTS = st.integers(min_value=15, max_value=400).map(lambda k: 10**k) | st.integers(15, 400).map(
    lambda k: -(10**k))
HUGE_FLOATS = st.sampled_from([1e15, 1e100, 1e300, 1.7e308, -1e300])
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
SHORT_TEXT = st.text(max_size=12)
JUNK_SCALARS = st.one_of(SHORT_TEXT, st.none(), st.booleans())
JUNK_CONTAINERS = st.one_of(st.lists(st.integers(-3, 3), max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "x"]), st.integers(0, 3), max_size=2))


def bad_int(lo: int, hi: int, *, floats_ok: bool = False) -> st.SearchStrategy:
    """Values that are not an integer in [lo, hi]: integers outside it (huge ones too), NaN and
    infinity, fractions, text, None, booleans, lists and mappings. A float holding an integer
    (3.0) counts as bad unless ``floats_ok`` (the model's parameters accept it; the strict config
    does not)."""
    outside = st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1) | HUGE_INTS
    fractions = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
    if floats_ok:
        fractions = fractions | st.floats(allow_nan=False, allow_infinity=False).filter(
            lambda x: not lo <= x <= hi)
    else:
        fractions = fractions | st.integers(lo, hi).map(float)
    return st.one_of(outside, fractions, NON_FINITE, HUGE_FLOATS, JUNK_SCALARS, JUNK_CONTAINERS)


def bad_number(lo: float, hi: float, *, open_low: bool = False) -> st.SearchStrategy:
    """Values that are not a finite number in [lo, hi] (or (lo, hi] if ``open_low``)."""
    below = st.floats(max_value=lo, exclude_max=not open_low, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=hi, exclude_min=True, allow_nan=False, allow_infinity=False)
    return st.one_of(below, above, NON_FINITE, HUGE_FLOATS, HUGE_INTS, JUNK_SCALARS, JUNK_CONTAINERS)


def bad_choice(choices: Sequence[str], *, ignore_case: bool = False) -> st.SearchStrategy:
    """Values that are not one of ``choices``: other strings, numbers, None, booleans, containers."""
    allowed = {c.lower() for c in choices} if ignore_case else set(choices)
    text = SHORT_TEXT.filter(lambda s: (s.lower() if ignore_case else s) not in allowed)
    return st.one_of(text, st.integers(), st.floats(), st.none(), st.booleans(), JUNK_CONTAINERS)


def not_a_bool() -> st.SearchStrategy:
    return st.one_of(SHORT_TEXT, st.integers(), st.floats(), st.none(), JUNK_CONTAINERS)


def not_a_mapping() -> st.SearchStrategy:
    return st.one_of(SHORT_TEXT, st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=3))


def not_a_string() -> st.SearchStrategy:
    return st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), JUNK_CONTAINERS)


def bad_per_phase(lo: float, hi: float, *, integer: bool = False, n: int = 5) -> st.SearchStrategy:
    """A per-phase parameter that is wrong: a bad single value, a list of the wrong length, or
    ``n`` values of which one is bad."""
    single = bad_int(lo, hi, floats_ok=True) if integer else bad_number(lo, hi)
    single = single.filter(lambda v: not isinstance(v, list))  # a list is the next case
    good = st.integers(lo, hi) if integer else st.floats(lo, hi)
    wrong_length = st.integers(0, 8).filter(lambda k: k != n).flatmap(lambda k: st.lists(good, min_size=k, max_size=k))
    one_bad = st.tuples(st.lists(good, min_size=n, max_size=n), st.integers(0, n - 1), single).map(
        lambda t: t[0][: t[1]] + [t[2]] + t[0][t[1] + 1:])
    return st.one_of(single, wrong_length, one_bad)


# ------------------------------------------------------------------------------------- schemas
Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    """What is invalid in one kind of config.

    :param bad: key path -> strategy of values certainly invalid there
    :param required: key paths whose absence is an error
    :param closed: mapping paths that forbid unknown keys -> the keys they allow
    :param needs: key path -> paths that must stay valid for the key to be checked at all (e.g. the
        hyperparameters are checked against the algorithm's signature only if ``algo`` is valid)
    """

    bad: dict[Path_, st.SearchStrategy]
    required: tuple[Path_, ...] = ()
    closed: dict[Path_, frozenset[str]] = field(default_factory=dict)
    needs: dict[Path_, tuple[Path_, ...]] = field(default_factory=dict)

    def depends(self, path: Path_) -> set[Path_]:
        """Paths that must stay valid for ``path`` to be checked (its own ancestors included)."""
        out = {path[:i] for i in range(1, len(path))}
        for prefix, needed in self.needs.items():
            if path[: len(prefix)] == prefix:
                out |= set(needed)
        return out


@dataclass(frozen=True)
class Mutation:
    """One problem put into a config: what kind, at which key path (which the error must name)."""

    kind: str  # bad_value | unknown_key | missing | odd_key
    path: Path_
    value: Any = None

    @property
    def named(self) -> str:
        """The dotted key an error line must contain (for ``odd_key``: its parent mapping)."""
        return ".".join(self.path[:-1] if self.kind == "odd_key" else self.path)


@dataclass(frozen=True)
class Case:
    """A malformed config: the file's bytes, the data it came from (None for whole-file junk)
    and the problems put in (empty for whole-file junk)."""

    text: bytes
    data: Any
    mutations: tuple[Mutation, ...]
    kind: str

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return f"Case({self.kind}, mutations={self.mutations!r}, text={self.text[:300]!r})"


NAME = re.compile(r"[a-z][a-z0-9_]{0,14}\Z")
NEW_NAMES = st.from_regex(NAME, fullmatch=True)
ODD_KEYS = st.one_of(st.text(min_size=0, max_size=8).filter(lambda s: not NAME.match(s)), st.integers(),
                     st.none(), st.booleans(), st.floats(allow_nan=False))


def override_schema(prefix: Path_ = ()) -> Schema:
    """Scenario overrides (docs/model.md section 4 parameters) under ``prefix``: each value here is
    invalid whatever the scenario (no calendar of the right length, no valid-but-clashing values)."""
    from envs.params import SCALE_FIELDS, SCALE_MAX

    p = prefix
    bad: dict[Path_, st.SearchStrategy] = {
        p + ("tau",): bad_per_phase(0.0, 3.0),
        p + ("demand",): bad_per_phase(0, 3, integer=True),
        p + ("pressure",): bad_per_phase(0, 2, integer=True),
        **{p + (name,): bad_per_phase(0.0, 1.0) for name in ("capacity", "lockout", "mediation", "hazard")},
        **{p + (name,): bad_number(0.0, 1.0) for name in ("power", "identification", "alpha_west", "alpha_far",
                                                           "west_shock")},
        **{p + (name,): bad_number(0.0, SCALE_MAX.get(name, 10.0)) for name in SCALE_FIELDS},
        p + ("gamma",): bad_number(0.0, 0.999999),
        p + ("weights",): bad_per_phase(0.0, 1.0, n=3),
        p + ("horizon",): bad_int(1, 1000, floats_ok=True),
        p + ("start",): st.one_of(
            st.integers(), SHORT_TEXT, st.none(), st.booleans(),
            st.lists(st.integers(0, 2), max_size=8).filter(lambda s: len(s) != 6),
            st.tuples(st.integers(0, 5), st.sampled_from([9, -1, 2.5, math.nan, 10**20, "x", None, True])).map(
                lambda t: [1, 1, 1, 1, 1, 1][: t[0]] + [t[1]] + [1, 1, 1, 1, 1, 1][t[0] + 1:])),
        p + ("calendar",): st.one_of(st.integers(), SHORT_TEXT, st.booleans(), st.floats(),
                                     st.lists(st.integers(0, 4), max_size=10)),
        p + ("finite_horizon",): not_a_bool(),
    }
    from envs.params import param_field_names

    return Schema(bad=bad, closed={p: frozenset(param_field_names())})


# ------------------------------------------------------------- what the models themselves say
def _bounds(info: Any) -> tuple[Any, Any, bool]:
    """(low, high, low excluded) of a field from its ``Field(gt=, ge=, le=)`` constraints."""
    lo = hi = None
    open_low = False
    for m in info.metadata:
        lo, open_low = (m.gt, True) if hasattr(m, "gt") else (m.ge, False) if hasattr(m, "ge") else (lo, open_low)
        hi = m.le if hasattr(m, "le") else hi
    return lo, hi, open_low


def model_strategies(model: Any, prefix: Path_ = ()) -> dict[Path_, st.SearchStrategy]:
    """Bad values the model's own declarations say: integers outside each field's bounds, non-booleans,
    strings not among a ``Literal``'s choices, non-mappings where a nested model goes (and None
    where it may not be null); nested models recursed into."""
    import typing

    from pydantic import BaseModel

    out: dict[Path_, st.SearchStrategy] = {}
    for name, info in model.model_fields.items():
        path, ann = prefix + (name,), info.annotation
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        nullable = typing.get_origin(ann) is not None and type(None) in typing.get_args(ann)
        inner = args[0] if nullable and len(args) == 1 else ann
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out[path] = not_a_mapping() if nullable else not_a_mapping() | st.none()
            out.update(model_strategies(inner, path))
        elif ann is bool:
            out[path] = not_a_bool()
        elif typing.get_origin(ann) is typing.Literal:
            out[path] = bad_choice(list(typing.get_args(ann)))
        elif ann is int and _bounds(info)[1] is not None:
            lo, hi, open_low = _bounds(info)
            out[path] = bad_int(lo + 1 if open_low else lo, hi)
    return out


def required_paths(model: Any, prefix: Path_ = ()) -> tuple[Path_, ...]:
    """Key paths the model requires (inside nested models too, wherever the base config has them)."""
    import typing

    from pydantic import BaseModel

    out: list[Path_] = []
    for name, info in model.model_fields.items():
        args = [a for a in (typing.get_args(info.annotation) or (info.annotation,)) if a is not type(None)]
        if info.is_required():
            out.append(prefix + (name,))
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            out += required_paths(args[0], prefix + (name,))
    return tuple(out)


def hyperparam_strategies(algo: str) -> dict[Path_, st.SearchStrategy]:
    """Bad values of ``algo``'s numeric hyperparameters, from ``HYPERPARAM_RANGES`` (those of its signature)."""
    from training.config.hyperparams import HYPERPARAM_RANGES

    out = {}
    for name in sorted(set(HYPERPARAM_RANGES) & set(_sb3_arguments(algo))):
        lo, hi, open_low = HYPERPARAM_RANGES[name]
        bad = bad_int(lo, hi) if isinstance(lo, int) else bad_number(lo, hi, open_low=open_low)
        out[("hyperparams", name)] = bad.filter(lambda v: v is not None and not (isinstance(v, str) and
                                                                                 v.startswith("lin_")))
    return out


def train_schema(algo: str = "PPO") -> Schema:
    """The training config (``training.config.run.TrainConfig``) with hyperparameters of ``algo``."""
    from envs.scenarios import scenario_names
    from training.config.hyperparams import ACTIVATIONS
    from training.config.run import ALGOS, TrainConfig

    bad: dict[Path_, st.SearchStrategy] = {
        **model_strategies(TrainConfig),
        **hyperparam_strategies(algo),
        ("algo",): bad_choice(ALGOS, ignore_case=True),
        ("output",): not_a_string() | st.sampled_from(["", "   ", "runs\x00x"]),
        ("env", "scenario"): bad_choice(scenario_names()),
        ("env", "overrides"): not_a_mapping() | st.none(),
        ("hyperparams",): not_a_mapping() | st.none(),
        ("hyperparams", "learning_rate"): bad_number(0.0, 10.0, open_low=True).filter(
            lambda v: not (isinstance(v, str) and v.startswith("lin_"))) | st.sampled_from(
            ["lin_nan", "lin_inf", "lin_-1e-3", "lin_0", "lin_", "lin_abc", "cos_1e-3", "lin_1e400"]),
        ("hyperparams", "policy_kwargs"): not_a_mapping(),
        ("hyperparams", "policy_kwargs", "net_arch"): st.one_of(
            SHORT_TEXT, st.integers(), st.floats(), st.booleans(),
            st.lists(st.one_of(st.integers(max_value=0), st.integers(min_value=4097), HUGE_INTS, st.floats(),
                               SHORT_TEXT), min_size=1, max_size=4)),
        ("hyperparams", "policy_kwargs", "activation_fn"): bad_choice(list(ACTIVATIONS)),
        ("hyperparams", "policy_kwargs", "ortho_init"): not_a_bool(),
    }
    overrides = override_schema(("env", "overrides"))
    bad.update(overrides.bad)
    sections = {"env": "EnvConfig", "eval": "EvalConfig", "checkpoint": "CheckpointConfig"}
    closed = {(): frozenset(TrainConfig.model_fields), **overrides.closed}
    for name in sections:
        closed[(name,)] = frozenset(TrainConfig.model_fields[name].annotation.model_fields)
    closed[("hyperparams",)] = frozenset(_sb3_arguments(algo))
    closed[("hyperparams", "policy_kwargs")] = frozenset(_policy_arguments(algo))
    return Schema(bad=bad, required=required_paths(TrainConfig), closed=closed,
                  needs={("hyperparams",): (("algo",),), ("env", "overrides"): (("env", "scenario"),)})


def _sb3_arguments(algo: str) -> list[str]:
    import inspect

    from training.config.hyperparams import RESERVED, algo_class

    return [n for n in inspect.signature(algo_class(algo).__init__).parameters if n not in RESERVED]


def _policy_arguments(algo: str) -> list[str]:
    import inspect

    from training.config.hyperparams import POLICY_RESERVED, policy_class

    return [n for n in inspect.signature(policy_class(algo).__init__).parameters if n not in POLICY_RESERVED]


def train_base(algo: str = "PPO", output: str = "runs") -> dict:
    """A valid training config (small, so that nothing would be heavy even if it ran)."""
    hyper = {"PPO": {"n_steps": 64, "batch_size": 64, "learning_rate": 3e-4,
                     "policy_kwargs": {"net_arch": [16], "activation_fn": "tanh"}},
             "A2C": {"n_steps": 8, "policy_kwargs": {"net_arch": [16]}},
             "DQN": {"buffer_size": 1000, "learning_starts": 100, "policy_kwargs": {"net_arch": [16]}}}[algo]
    return {"env": {"scenario": "war", "overrides": {"identification": 0.5}}, "algo": algo, "hyperparams": hyper,
            "n_envs": 2, "total_timesteps": 256, "seed": 0, "eval": {"freq": 128, "n_episodes": 1},
            "checkpoint": {"freq": 128, "keep": 2}, "output": output}


CONFIGS = REPO / "configs"


def study_base(out: str = "out") -> dict:
    """A valid study config (small: two scenarios, two sweeps, two algorithms x two seeds), with
    absolute template paths so that it is valid from any working directory."""
    return {"name": "tiny", "out": out, "scenarios": ["war", "alt_open"],
            "sweeps": {"ta": {"scenario": "war", "axes": {"threat": {"high": {}, "low": {"tau": 0.8}}}},
                       "iota": {"scenario": "war", "axes": {"identification": [0.0, 1.0]}}},
            "rl": {"scenarios": ["war"], "algos": {"PPO": str(CONFIGS / "ppo_war.yaml"),
                                                   "DQN": str(CONFIGS / "dqn_war.yaml")},
                   "seeds": [0, 1], "total_timesteps": 2048, "set": ["eval.n_episodes=2"]},
            "bootstrap_reps": 100, "bootstrap_seed": 0}


def _one_bad_element(good: list, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` with one element replaced by a bad one (a list that is wrong in exactly one place)."""
    return st.tuples(st.integers(0, len(good) - 1), bad).map(lambda t: good[: t[0]] + [t[1]] + good[t[0] + 1:])


def study_schema() -> Schema:
    """The study config (``training.config.study.StudyConfig``) around :func:`study_base`."""
    from envs.params import param_field_names
    from envs.scenarios import scenario_names
    from training.config.hyperparams import MAX_SEED, MAX_STEPS
    from training.config.study import MAX_SEEDS, RLConfig, StudyConfig, SweepConfig

    not_a_scenario = bad_choice(scenario_names()).filter(lambda v: not isinstance(v, list))
    bad_scenarios = st.one_of(not_a_mapping().filter(lambda v: not isinstance(v, list)), st.none(),
                              st.dictionaries(st.sampled_from(["war", "a"]), st.integers(0, 2), max_size=2),
                              _one_bad_element(["war", "alt_open"], not_a_scenario),
                              st.just(["war", "war"]), st.just(["alt_open", "war", "alt_open"]))
    path_text = st.sampled_from(["", "  ", "out\x00x", "a\x00"])
    bad_set_items = st.sampled_from(["n_envs=0", "seed=3", "total_timesteps=5", "env.scenario=alt_open",
                                     "output=elsewhere", "=1", "no_equals_sign", "hyperparams.bogus=1",
                                     "eval.freq=-1", "eval=5", "x.y=[", "hyperparams.gamma=.nan",
                                     "checkpoint.keep=1e400", "n_envs=1e20", "algo=PPO2"])
    seeds_bad = st.one_of(
        st.integers(), st.floats(), SHORT_TEXT, st.none(), st.booleans(), st.just([]), st.just([1, 1]),
        st.just(list(range(MAX_SEEDS + 1))),
        _one_bad_element([0, 1, 2], bad_int(0, MAX_SEED)),
    )
    value_of_identification = st.one_of(NON_FINITE, HUGE_FLOATS, HUGE_INTS, SHORT_TEXT, st.none(), st.booleans(),
                                        st.floats(1.0, exclude_min=True, allow_nan=False, allow_infinity=False),
                                        st.floats(max_value=0.0, exclude_max=True, allow_nan=False,
                                                  allow_infinity=False),
                                        st.lists(st.integers(0, 1), max_size=2))
    level_axis = ("sweeps", "ta", "axes", "threat")
    low = level_axis + ("low",)
    bad: dict[Path_, st.SearchStrategy] = {
        **model_strategies(StudyConfig),
        ("name",): not_a_string() | st.sampled_from(["", "a/b", "two words", "-x", "x" * 65, "new\nline"]),
        ("out",): not_a_string() | path_text | st.just("config.yaml"),  # the config file itself: not a folder
        ("report",): not_a_string().filter(lambda v: v is not None) | path_text | st.just("."),
        ("scenarios",): bad_scenarios,
        ("sweeps",): not_a_mapping() | st.none(),
        ("sweeps", "ta"): not_a_mapping() | st.none(),
        ("sweeps", "ta", "scenario"): bad_choice(scenario_names()),
        ("sweeps", "ta", "axes"): not_a_mapping() | st.none() | st.just({}),
        level_axis: st.one_of(st.just({}), st.integers(), SHORT_TEXT, st.none(), st.booleans(), st.floats(),
                              st.lists(st.floats(0, 1), max_size=3)),
        low: st.one_of(st.integers(), SHORT_TEXT, st.booleans(), st.floats(), st.lists(st.integers(), max_size=3)),
        ("sweeps", "iota", "axes", "identification"): st.one_of(
            st.integers(), st.floats(), SHORT_TEXT, st.none(), st.booleans(), st.just([]), st.just({}),
            st.just([0.5, 0.5]), st.just([0.1234561, 0.1234562]), _one_bad_element([0.0, 0.5, 1.0], value_of_identification)),
        ("rl",): not_a_mapping(),
        ("rl", "scenarios"): bad_scenarios,
        ("rl", "algos"): not_a_mapping() | st.none() | st.just({}),
        ("rl", "algos", "PPO"): st.one_of(
            not_a_string(), st.sampled_from(["", "no/such.yaml", "config.yaml", str(CONFIGS / "dqn_war.yaml"),
                                             str(CONFIGS), "x\x00.yaml"]),
            st.dictionaries(st.sampled_from(["default", "war", "mars"]), st.integers(0, 2), min_size=1, max_size=2),
            st.just({"mars": str(CONFIGS / "ppo_war.yaml")}), st.just({"alt_open": str(CONFIGS / "ppo_war.yaml")}),
            st.just({})),
        ("rl", "seeds"): seeds_bad,
        ("rl", "total_timesteps"): bad_int(1, MAX_STEPS).filter(lambda v: not isinstance(v, dict)) | st.one_of(
            st.just({}), st.just({"PPO": 100}), st.just({"PPO": 100, "DQN": 0}), st.just({"PPO": 1, "DQN": 1, "A2C": 1}),
            st.just({"PPO": 100, "DQN": 10**13}), st.just({"PPO": 100, "DQN": 1.5})),
        ("rl", "set"): st.one_of(SHORT_TEXT, st.integers(), st.none(), st.just({"n_envs": 2}),
                                 st.lists(st.integers(), min_size=1, max_size=2),
                                 _one_bad_element(["eval.n_episodes=2", "n_envs=2"], bad_set_items)),
    }
    overrides = override_schema(low)
    bad.update(overrides.bad)
    closed = {(): frozenset(StudyConfig.model_fields), ("rl",): frozenset(RLConfig.model_fields),
              ("sweeps",): frozenset({"ta", "iota"}),
              ("sweeps", "iota", "axes"): frozenset(param_field_names()),
              ("sweeps", "ta"): frozenset(SweepConfig.model_fields), ("sweeps", "iota"): frozenset(SweepConfig.model_fields),
              ("sweeps", "ta", "axes"): frozenset(param_field_names()) | {"threat"},
              level_axis: frozenset({"high", "low"}), **overrides.closed,
              ("rl", "algos"): frozenset({"PPO", "A2C", "DQN", "ppo", "a2c", "dqn"})}
    return Schema(bad=bad, required=required_paths(StudyConfig) + required_paths(SweepConfig, ("sweeps", "ta")),
                  closed=closed,
                  needs={("sweeps", "ta", "axes"): (("sweeps", "ta", "scenario"),),
                         ("rl", "set"): (("rl", "algos"),), ("rl", "total_timesteps"): (("rl", "algos"),),
                         ("rl", "algos"): (("rl", "scenarios"),)})


# ---------------------------------------------------------------------------- drawing mutations
def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: dict, path: Path_, value: Any) -> None:
    node = data
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _independent(schema: Schema, chosen: Sequence[Path_], path: Path_) -> bool:
    """``path`` neither contains, lies inside, nor is needed by (or needs) a path already chosen."""
    for other in chosen:
        if path[: len(other)] == other or other[: len(path)] == path:
            return False
        if other in schema.depends(path) or path in schema.depends(other):
            return False
    return True


@st.composite
def mutations(draw: Callable, schema: Schema, base: Mapping, max_mutations: int = 3) -> tuple[dict, tuple]:
    """``(data, mutations)``: ``base`` spoilt at one to ``max_mutations`` independent key paths."""
    data = copy.deepcopy(dict(base))
    kinds = ["bad_value"] * 6 + ["unknown_key"] * 2 + ["odd_key"] + (["missing"] if schema.required else [])
    chosen: list[Path_] = []
    out: list[Mutation] = []
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(kinds))
        if kind == "bad_value":
            paths = [p for p in schema.bad if _independent(schema, chosen, p)]
            if not paths:
                continue
            path = draw(st.sampled_from(sorted(paths)))
            value = draw(schema.bad[path])
            _set(data, path, value)
        elif kind in ("unknown_key", "odd_key"):
            parents = [p for p in schema.closed if _independent(schema, chosen, p + ("?",))]
            if not parents:
                continue
            parent = draw(st.sampled_from(sorted(parents)))
            keys = NEW_NAMES if kind == "unknown_key" else ODD_KEYS
            name = draw(keys.filter(lambda k, parent=parent: k not in schema.closed[parent]
                                    and k not in (_get(data, parent) if parent else data)))
            path = parent + (name,)
            value = draw(st.integers(0, 3) | SHORT_TEXT)
            _set(data, path, value)
        else:
            paths = [p for p in schema.required if _independent(schema, chosen, p) and p[-1] in _get(data, p[:-1])]
            if not paths:
                continue
            path = draw(st.sampled_from(paths))
            value = None
            del _get(data, path[:-1])[path[-1]]
        chosen.append(path)
        out.append(Mutation(kind, path, value))
    if not out:  # every draw was blocked: fall back to one missing or bad key
        path = schema.required[0] if schema.required else sorted(schema.bad)[0]
        if schema.required:
            del data[path[0]]
            out.append(Mutation("missing", path))
        else:
            _set(data, path, draw(schema.bad[path]))
            out.append(Mutation("bad_value", path))
    return data, tuple(out)


def to_yaml(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


@st.composite
def malformed_configs(draw: Callable, schema: Schema, base: Mapping, max_mutations: int = 3) -> Case:
    """A YAML file holding ``base`` spoilt by one to three mutations."""
    data, muts = draw(mutations(schema, base, max_mutations))
    return Case(to_yaml(data), data, muts, "+".join(sorted({m.kind for m in muts})))


# ----------------------------------------------------------------------------- whole-file junk
YAML_BITS = ["[", "]", "{", "}", ":", ": ", "- ", ",", "'", '"', "\t", "\n", "  ", "&a ", "*a", "*b", "!!str ",
             "!!python/object/apply:os.system ", "? ", "%YAML 1.1\n", "---\n", "...\n", "|", ">", "@", "`", "#",
             "algo", "PPO", "total_timesteps", "1e3", "0x", "~", "null", "\\", "\x07", "\ufeff", "é"]


def _deep(n: int, kind: str) -> str:
    return {"list": "[" * n + "]" * n, "map": "{a: " * n + "1" + "}" * n,
            "block": "".join("  " * i + "a:\n" for i in range(n)) + "  " * n + "1\n"}[kind]


_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join(["*" + chr(97 + i)] * 9) + "]\n" for i in range(8))


def malformed_files(valid_keys: Sequence[str] = ("algo", "total_timesteps")) -> st.SearchStrategy:
    """Files that are no config: invalid or odd YAML, empty, binary, not a mapping, too deep, too big."""
    text = lambda s: s.map(lambda t: t.encode("utf-8", "surrogatepass"))  # noqa: E731
    return st.one_of(
        st.sampled_from([b"", b"\n", b"   \n", b"# only a comment\n", b"---\n", b"~\n", b"null\n", b"...\n"]).map(
            lambda b: ("empty", b)),
        st.binary(min_size=1, max_size=200).map(lambda b: ("binary", b)),
        st.binary(min_size=1, max_size=50).map(lambda b: ("binary", b"\xff\xfe" + b)),
        text(st.lists(st.sampled_from(YAML_BITS), min_size=1, max_size=25).map("".join)).map(
            lambda b: ("yaml_junk", b)),
        text(st.text(max_size=80)).map(lambda b: ("text", b)),
        st.one_of(st.lists(st.integers(), max_size=4), st.integers(), st.floats(), SHORT_TEXT.filter(bool),
                  st.booleans()).map(lambda v: ("not_a_mapping", to_yaml(v))),
        st.tuples(st.integers(100, 2000), st.sampled_from(["list", "map"])).map(lambda t: ("deep", _deep(*t).encode())),
        st.integers(100, 500).map(lambda n: ("deep", _deep(n, "block").encode())),
        st.integers(20, 6000).map(lambda k: ("huge_int", f"{valid_keys[-1]}: {'9' * k}\n".encode())),
        st.integers(10_000, 100_000).map(lambda k: ("huge_text", f"{valid_keys[0]}: {'x' * k}\n".encode())),
        st.sampled_from(["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!binary aGk=",
                         "!!set {a, b}", "!!timestamp 2020-01-01", "a: !!float nan\nb: .inf", "a: &x [*x]",
                         "[a, b]: 1", f"{valid_keys[0]}: 1\n{valid_keys[0]}: 2\n", _LAUGHS]).map(
            lambda s: ("tags", s.encode())),
    ).map(lambda t: Case(t[1], None, (), t[0]))


# ------------------------------------------------------------------------------- running the CLI
def run_cli_on_file(command: str, text: bytes, *extra: str, relative: bool = False) -> tuple[object, list[str], list[str]]:
    """Write ``text`` to a fresh folder, run ``alliance COMMAND FILE`` in-process from that folder
    (FILE given relatively or absolutely); returns (exit code or the exception that escaped, stderr
    lines, what the folder holds after)."""
    import contextlib
    import io
    import os
    import tempfile

    from training import cli

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_bytes(text)
        err, out = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                code: object = cli.main([command, path.name if relative else str(path), *extra])
        except BaseException as exc:  # noqa: BLE001 - anything leaving main() is an escape
            code = exc
        finally:
            os.chdir(cwd)
        left = sorted(p.name for p in Path(folder).iterdir())
    return code, err.getvalue().splitlines(), left


def refusal_problems(prefix: str, code: object, lines: list[str], left: list[str], case: Case | None = None,
                     exact: bool = True, wording: Sequence[str] = ()) -> list[str]:
    """What is wrong with how a bad input was refused (empty: a clean refusal): exit 2, only lines
    starting with ``prefix``, no traceback, nothing left beside the input, one line naming each
    mutated key (exactly one per problem if ``exact``), each line using one of ``wording``."""
    problems = []
    if code != 2:
        problems.append(f"exit {code!r}, not 2")
    if not lines:
        problems.append("no error line")
    problems += [f"not an error line: {line!r}" for line in lines if not line.startswith(prefix)]
    if any("Traceback" in line for line in lines):
        problems.append("a traceback")
    if left != ["config.yaml"]:
        problems.append(f"the folder holds {left}")
    if case is not None and case.mutations:
        if exact and len(lines) != len(case.mutations):
            problems.append(f"{len(lines)} lines for {len(case.mutations)} problems")
        for m in case.mutations:
            if not any(line[len(prefix):].startswith(m.named) for line in lines):
                problems.append(f"no line names {m.named!r}")
        if wording:
            problems += [f"line without any of {list(wording)}: {line!r}" for line in lines
                         if not any(w in line for w in wording)]
    return problems


def check(test: str, problems: list[str], case: object, lines: list[str]) -> None:
    """Record the outcome for the escape count and fail with the case if it was not a clean refusal."""
    record(test, bool(problems))
    assert not problems, f"{problems}\ncase: {case!r}\nstderr: {lines}"


def unprivileged_prefix() -> list[str]:
    """A command prefix under which chmod 000 really makes a file unreadable: empty for a normal user,
    ``setpriv`` dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH for root; skips the test if impossible."""
    import os
    import shutil

    import pytest

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def assert_permission_refused(prefix: list[str], script: str, command: str, argv: Sequence[str], path, cwd) -> None:
    """Run ``alliance COMMAND ARGV`` under ``prefix`` and assert one line naming the unreadable ``path``, exit 2."""
    import subprocess

    import pytest

    proc = subprocess.run([*prefix, str(script), command, *argv], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    if "setpriv" in proc.stderr:
        pytest.skip(f"setpriv refused: {proc.stderr.strip()}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"alliance {command}: error: {path}: Permission denied"]
