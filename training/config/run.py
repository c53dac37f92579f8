"""One YAML file says everything about a training run; this module reads and checks it.

``load_config("configs/ppo_war.yaml", overrides=["n_envs=16"], seed=3)`` returns a frozen
:class:`TrainConfig`, or raises :class:`ConfigError` whose message is one line per problem, each
naming the key (dotted path), the value and what is allowed. Nothing is trained, written or
created before the whole file has been checked:

- structure and types by pydantic (``extra="forbid"``, strict types, positive step counts);
- ``env`` through :func:`envs.scenarios.make_params` (one line per bad override);
- ``hyperparams`` and ``hyperparams.policy_kwargs`` against the SB3 constructor's signature
  (unknown names list the allowed ones; values are type-checked against the annotation).

A YAML file looks like ``configs/ppo_war.yaml``::

    env: {scenario: war, overrides: {}}
    algo: PPO
    hyperparams: {n_steps: 256, policy_kwargs: {net_arch: [64, 64]}}
    n_envs: 8
    total_timesteps: 200000
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from envs.params import param_field_names, short_repr
from envs.scenarios import make_params, scenario_names
from training.config.errors import ConfigError, dotted, key_part, pydantic_line
from training.config.files import parse_yaml, read_yaml_mapping

ALGOS = ("PPO", "A2C", "DQN")
# Hyperparameters set by the config's own keys (seed, device), by train() or never from YAML.
RESERVED = ("policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model")
# Policy arguments train() fills in itself.
POLICY_RESERVED = ("self", "observation_space", "action_space", "lr_schedule")
# Schedules may be written "lin_<start>" as in RL Baselines3 Zoo: linear from start to 0.
SCHEDULE_PARAMS = ("learning_rate", "clip_range", "clip_range_vf")
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU",
               "silu": "SiLU"}
# Upper bounds: beyond them a number is a typo, and a run would never end or exhaust memory.
MAX_STEPS = 10**12  # env steps (total, between evaluations, between checkpoints)
MAX_ENVS = 65_536
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit
MAX_MAGNITUDE = 1e12  # any other number in hyperparams
MAX_WIDTH, MAX_DEPTH = 4096, 64  # policy_kwargs.net_arch
# Ranges SB3 does not check itself (the signature only says int or float), outside of which a run
# would train on NaN, never end or exhaust memory: name -> (low, high, low excluded).
HYPERPARAM_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, 10.0, True), "gamma": (0.0, 1.0, False), "gae_lambda": (0.0, 1.0, False),
    "clip_range": (0.0, 10.0, True), "clip_range_vf": (0.0, 10.0, True), "ent_coef": (0.0, 1e3, False),
    "vf_coef": (0.0, 1e3, False), "max_grad_norm": (0.0, 1e6, True), "target_kl": (0.0, 1e3, True),
    "rms_prop_eps": (0.0, 1.0, True), "tau": (0.0, 1.0, False), "exploration_fraction": (0.0, 1.0, False),
    "exploration_initial_eps": (0.0, 1.0, False), "exploration_final_eps": (0.0, 1.0, False),
    "n_steps": (1, 1_000_000, False), "batch_size": (1, 1_000_000, False), "n_epochs": (1, 10_000, False),
    "buffer_size": (1, 100_000_000, False), "learning_starts": (0, MAX_STEPS, False),
    "target_update_interval": (1, MAX_STEPS, False), "gradient_steps": (-1, 10_000, False),
    "sde_sample_freq": (-1, 1_000_000, False), "stats_window_size": (1, 1_000_000, False),
}


def linear_start(value: Any) -> float | None:
    """The start of a ``lin_<start>`` schedule string, or None if ``value`` is not one."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return float(value[4:])
        except ValueError:
            return None
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EnvConfig(_Strict):
    """Which world: a named scenario of MODEL.md section 7 and parameter overrides (section 4)."""

    scenario: str = "war"
    overrides: dict[str, Any] = Field(default_factory=dict)


class EvalConfig(_Strict):
    """SB3 EvalCallback: every ``freq`` env steps (summed over the n_envs), ``n_episodes`` episodes."""

    freq: int = Field(10_000, gt=0, le=MAX_STEPS)
    n_episodes: int = Field(10, gt=0, le=1_000_000)
    deterministic: bool = True


class CheckpointConfig(_Strict):
    """A checkpoint every ``freq`` env steps (at a rollout boundary), the newest ``keep`` kept."""

    freq: int = Field(50_000, gt=0, le=MAX_STEPS)
    keep: int = Field(5, gt=0, le=10_000)
    save_replay_buffer: bool = True


class TrainConfig(_Strict):
    """Everything about one run. ``hyperparams`` go to the SB3 constructor as they are
    (``lin_<x>`` schedules and activation names converted); ``gamma`` defaults to the model's."""

    env: EnvConfig = Field(default_factory=EnvConfig)
    algo: Literal["PPO", "A2C", "DQN"]
    policy: Literal["MlpPolicy"] = "MlpPolicy"
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    n_envs: int = Field(8, gt=0, le=MAX_ENVS)
    vec_env: Literal["alliance", "dummy"] = "alliance"
    total_timesteps: int = Field(gt=0, le=MAX_STEPS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    output: str = "results/runs"
    torch_threads: int = Field(1, gt=0, le=1024)
    device: Literal["cpu"] = "cpu"

    @field_validator("algo", mode="before")
    @classmethod
    def _upper_algo(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("output")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not value.strip() or "\x00" in value:
            raise ValueError("a folder path (not empty, no NUL character)")
        return value

    def to_yaml(self) -> str:
        """The resolved config, loadable again by :func:`load_config`."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_config(path: str | Path, overrides: Sequence[str] = (), seed: int | None = None) -> TrainConfig:
    """Read a YAML config, apply ``--set key.sub=value`` overrides and ``--seed``, validate.

    :raises ConfigError: one line per problem (also for unreadable YAML or a non-mapping file).
    :raises OSError: the file cannot be read.
    """
    data = read_yaml_mapping(path, "a mapping of config keys with at least algo and total_timesteps")
    return config_from_dict(apply_overrides(data, overrides, seed))


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str] = (), seed: int | None = None) -> dict:
    """A copy of ``data`` with each ``key.sub=value`` set (value read as a YAML scalar or flow)."""
    out = _deep_copy(data)
    problems = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {short_repr(item)} is not allowed: KEY=VALUE with a dotted key, e.g. n_envs=16")
            continue
        try:
            value = parse_yaml(raw, f"--set {short_repr(item)}") if raw.strip() else None
        except ConfigError as exc:
            problems.append(f"{exc.problems[0]} (the value must be a YAML scalar, list or mapping)")
            continue
        parts = key.strip().split(".")
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                problems.append(f"--set {short_repr(item)} is not allowed: {where} is {short_repr(child)}, not a mapping")
                break
            node = child
        else:
            node[parts[-1]] = value
    if problems:
        raise ConfigError(problems)
    if seed is not None:
        out["seed"] = seed
    return out


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Validate a mapping; every problem found becomes one line of the :class:`ConfigError`."""
    problems: list[str] = []
    cfg = None
    try:
        cfg = TrainConfig.model_validate(dict(data))
    except ValidationError as exc:
        problems += [pydantic_line(err, _fields_at, _allowed_at) for err in exc.errors()]
    problems += env_problems(data.get("env", {}))
    algo = data.get("algo")
    if isinstance(algo, str) and algo.upper() in ALGOS:
        problems += hyperparam_problems(algo.upper(), data.get("hyperparams", {}))
    if problems or cfg is None:
        raise ConfigError(problems or ["config is not allowed: unknown problem"])
    return cfg


# ------------------------------------------------------------------------------- semantic checks
def env_problems(env: Any) -> list[str]:
    """Problems of the ``env`` section found by the model's own checks (``make_params``)."""

    if not isinstance(env, Mapping):
        return []  # pydantic reports the type
    scenario = env.get("scenario", "war")
    overrides = env.get("overrides") or {}
    if not isinstance(scenario, str) or not isinstance(overrides, Mapping):
        return []
    if scenario not in scenario_names():
        return [f"env.scenario={short_repr(scenario)} is not allowed: one of {', '.join(scenario_names())}"]
    problems = []
    known = param_field_names()
    overrides = {k: v for k, v in overrides.items() if isinstance(k, str)}  # pydantic reports other keys
    for key, value in overrides.items():
        if key not in known:
            problems.append(f"{dotted(['env', 'overrides', key])}={short_repr(value)} is not allowed: not a model "
                            f"parameter; allowed are {', '.join(known)}")
            continue
        try:
            make_params(scenario, {key: value})
        except ValueError as exc:
            problems.append(f"env.overrides.{exc}")
    if not problems and overrides:
        try:  # overrides that are fine alone but not together (e.g. calendar without finite_horizon)
            make_params(scenario, dict(overrides))
        except ValueError as exc:
            problems.append(f"env.overrides.{exc}")
    return problems


def algo_class(algo: str) -> type:
    """The SB3 class of an algorithm name."""
    import stable_baselines3

    return getattr(stable_baselines3, algo)


def policy_class(algo: str) -> type:
    """The SB3 policy class that ``MlpPolicy`` names for this algorithm."""
    return algo_class(algo).policy_aliases["MlpPolicy"]


def _signature(cls: type, reserved: Sequence[str]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {n: p for n, p in params.items()
            if n not in reserved and n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD}


def hyperparam_problems(algo: str, hyperparams: Any) -> list[str]:
    """Unknown hyperparameter names and values of the wrong type, one line each."""
    if not isinstance(hyperparams, Mapping):
        return []  # pydantic reports the type
    allowed = _signature(algo_class(algo), RESERVED)
    problems = []
    for name, value in hyperparams.items():
        if not isinstance(name, str):
            continue  # pydantic reports a key that is not text
        key = dotted(["hyperparams", name])
        if name not in allowed:
            problems.append(f"{key}={short_repr(value)} is not allowed: not an argument of {algo}; allowed are "
                            f"{', '.join(allowed)}")
        elif name == "policy_kwargs":
            problems += policy_kwargs_problems(algo, value)
        elif name in SCHEDULE_PARAMS and isinstance(value, str):
            start = linear_start(value)
            if start is None:
                problems.append(f"{key}={short_repr(value)} is not allowed: a number or 'lin_<number>' (linear to 0)")
            else:
                problems += _range_problems(key, name, start, schedule=True)
        else:
            found = _type_problems(key, value, allowed[name].annotation)
            found = found or _range_problems(key, name, value) or _number_problems(key, value)
            problems += found
    return problems


def _range_problems(key: str, name: str, value: Any, schedule: bool = False) -> list[str]:
    """``value`` outside ``HYPERPARAM_RANGES[name]`` (None and non-numbers pass: the type check sees them)."""
    if name not in HYPERPARAM_RANGES or isinstance(value, bool) or not isinstance(value, int | float):
        return []
    lo, hi, open_low = HYPERPARAM_RANGES[name]
    inside = (lo < value if open_low else lo <= value) and value <= hi  # False for NaN
    if inside:
        return []
    kind = "integer" if isinstance(lo, int) else "number"
    if (lo == 1 and kind == "integer") or (lo == 0 and open_low):
        what = f"a positive {kind}, at most {hi:g}"
    elif lo == 0 and kind == "integer":
        what = f"a non-negative integer, at most {hi:g}"
    else:
        what = f"a{'n' if kind == 'integer' else ''} {kind} in {'(' if open_low else '['}{lo}, {hi}]"
    shown = f"lin_{value}" if schedule else short_repr(value)
    return [f"{key}={shown} is not allowed: {what}" + (" (the schedule's start)" if schedule else "")]


def _number_problems(key: str, value: Any) -> list[str]:
    """The first number inside ``value`` (lists and mappings searched) that is NaN, infinite or huge."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _number_problems(f"{key}.{key_part(k)}", v)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _number_problems(f"{key}[{i}]", v)
            if found:
                return found
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_MAGNITUDE:
            return [f"{key}={short_repr(value)} is not allowed: a finite number of size at most {MAX_MAGNITUDE:g}"]
    return []


def _net_arch_problems(key: str, value: Any) -> list[str]:
    """Layer widths 1..MAX_WIDTH, at most MAX_DEPTH layers (a list, or a mapping pi/vf/qf of lists)."""
    layers = value.values() if isinstance(value, Mapping) else [value]
    for widths in layers:
        if not isinstance(widths, list | tuple):
            continue  # the type check reports it
        if len(widths) > MAX_DEPTH:
            return [f"{key}={short_repr(value)} is not allowed: at most {MAX_DEPTH} layers"]
        for w in widths:
            if isinstance(w, int) and not isinstance(w, bool) and not 1 <= w <= MAX_WIDTH:
                return [f"{key}={short_repr(value)} is not allowed: layer widths are integers in 1..{MAX_WIDTH}"]
    return []


def policy_kwargs_problems(algo: str, policy_kwargs: Any) -> list[str]:
    """Unknown policy arguments and values of the wrong type (``activation_fn`` by name)."""
    if not isinstance(policy_kwargs, Mapping):
        return [f"hyperparams.policy_kwargs={short_repr(policy_kwargs)} is not allowed: a mapping of policy arguments"]
    allowed = _signature(policy_class(algo), POLICY_RESERVED)
    problems = []
    for name, value in policy_kwargs.items():
        key = dotted(["hyperparams", "policy_kwargs", name])
        if name not in allowed:
            problems.append(f"{key}={short_repr(value)} is not allowed: not an argument of "
                            f"{policy_class(algo).__name__}; allowed are {', '.join(allowed)}")
        elif name == "activation_fn":
            if not isinstance(value, str) or value not in ACTIVATIONS:
                problems.append(f"{key}={short_repr(value)} is not allowed: one of {', '.join(ACTIVATIONS)}")
        else:
            found = _type_problems(key, value, allowed[name].annotation) or _number_problems(key, value)
            if name == "net_arch":
                found = found or _net_arch_problems(key, value)
            problems += found
    return problems


def _type_problems(key: str, value: Any, annotation: Any) -> list[str]:
    if _as_annotated(value, annotation) is _BAD:
        return [f"{key}={short_repr(value)} is not allowed: a value of type {_type_name(annotation)}"]
    return []


_BAD = object()


def _as_annotated(value: Any, annotation: Any) -> Any:
    """``value`` (or, for a YAML list, the tuple) if it matches ``annotation``; else ``_BAD``."""

    if annotation is inspect.Parameter.empty:
        return value
    try:
        adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True, strict=True))
    except Exception:  # an annotation pydantic cannot read: leave the check to SB3
        return value
    for candidate in [value, tuple(value)] if isinstance(value, list) else [value]:
        try:
            adapter.validate_python(candidate)
            return candidate
        except ValidationError:
            continue
    return _BAD


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"\b(?:[a-z_]\w*\.)+(\w+)", r"\1", text)
    return text.replace("Callable[[float], float]", "schedule")


def sb3_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """The constructor arguments of ``cfg.hyperparams`` as SB3 wants them: ``lin_<x>`` as a
    linear schedule to 0, lists as tuples where SB3 wants a tuple, activations as classes."""
    from stable_baselines3.common.utils import LinearSchedule
    from torch import nn

    allowed = _signature(algo_class(cfg.algo), RESERVED)
    out: dict[str, Any] = {}
    for name, value in cfg.hyperparams.items():
        if name in SCHEDULE_PARAMS and isinstance(value, str):
            value = LinearSchedule(linear_start(value), 0.0, 1.0)
        elif name == "policy_kwargs":
            value = dict(value)
            if "activation_fn" in value:
                value["activation_fn"] = getattr(nn, ACTIVATIONS[value["activation_fn"]])
        else:
            value = _as_annotated(value, allowed[name].annotation)
        out[name] = value
    return out


def _model_at(loc: Sequence[str]) -> type[BaseModel] | None:
    model: Any = TrainConfig
    for part in loc:
        field = model.model_fields.get(part) if model else None
        model = field.annotation if field and isinstance(field.annotation, type) else None
        if model is None or not issubclass(model, BaseModel):
            return None
    return model


def _fields_at(loc: Sequence[Any]) -> list[str]:
    model = _model_at([str(p) for p in loc])
    return list(model.model_fields) if model else []


def _allowed_at(loc: Sequence[Any], kind: str) -> str:
    """A missing key's type; for any other error pydantic's own message says what is allowed."""
    model = _model_at([str(p) for p in loc[:-1]])
    field = model.model_fields.get(str(loc[-1])) if model and kind == "missing" else None
    return f"a value of type {_type_name(field.annotation)}" if field else ""


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data
