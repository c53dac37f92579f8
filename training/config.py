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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

ALGOS = ("PPO", "A2C", "DQN")
# Hyperparameters set by the config's own keys (seed, device), by train() or never from YAML.
RESERVED = ("policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model")
# Policy arguments train() fills in itself.
POLICY_RESERVED = ("self", "observation_space", "action_space", "lr_schedule")
# Schedules may be written "lin_<start>" as in RL Baselines3 Zoo: linear from start to 0.
SCHEDULE_PARAMS = ("learning_rate", "clip_range", "clip_range_vf")
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU",
               "silu": "SiLU"}
# Counts that SB3 needs positive (the signature only says int).
POSITIVE_PARAMS = ("n_steps", "batch_size", "n_epochs", "buffer_size", "target_update_interval",
                   "stats_window_size")


def linear_start(value: Any) -> float | None:
    """The start of a ``lin_<start>`` schedule string, or None if ``value`` is not one."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return float(value[4:])
        except ValueError:
            return None
    return None


class ConfigError(ValueError):
    """A bad config: ``.problems`` holds one line per problem; ``str()`` joins them with newlines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EnvConfig(_Strict):
    """Which world: a named scenario of MODEL.md section 7 and parameter overrides (section 4)."""

    scenario: str = "war"
    overrides: dict[str, Any] = Field(default_factory=dict)


class EvalConfig(_Strict):
    """SB3 EvalCallback: every ``freq`` env steps (summed over the n_envs), ``n_episodes`` episodes."""

    freq: PositiveInt = 10_000
    n_episodes: PositiveInt = 10
    deterministic: bool = True


class CheckpointConfig(_Strict):
    """A checkpoint every ``freq`` env steps (at a rollout boundary), the newest ``keep`` kept."""

    freq: PositiveInt = 50_000
    keep: PositiveInt = 5
    save_replay_buffer: bool = True


class TrainConfig(_Strict):
    """Everything about one run. ``hyperparams`` go to the SB3 constructor as they are
    (``lin_<x>`` schedules and activation names converted); ``gamma`` defaults to the model's."""

    env: EnvConfig = Field(default_factory=EnvConfig)
    algo: Literal["PPO", "A2C", "DQN"]
    policy: Literal["MlpPolicy"] = "MlpPolicy"
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    n_envs: PositiveInt = 8
    vec_env: Literal["alliance", "dummy"] = "alliance"
    total_timesteps: PositiveInt
    seed: NonNegativeInt = 0
    eval: EvalConfig = Field(default_factory=EvalConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    output: str = "results/runs"
    torch_threads: PositiveInt = 1
    device: Literal["cpu"] = "cpu"

    @field_validator("algo", mode="before")
    @classmethod
    def _upper_algo(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def to_yaml(self) -> str:
        """The resolved config, loadable again by :func:`load_config`."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# ---------------------------------------------------------------------------------------- loading
def load_config(path: str | Path, overrides: Sequence[str] = (), seed: int | None = None) -> TrainConfig:
    """Read a YAML config, apply ``--set key.sub=value`` overrides and ``--seed``, validate.

    :raises ConfigError: one line per problem (also for unreadable YAML or a non-mapping file).
    :raises OSError: the file cannot be read.
    """
    text = Path(path).read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{path}: not valid YAML{where}: {problem}"]) from None
    if data is None:
        raise ConfigError([f"{path}: the file is empty; a mapping with at least algo and total_timesteps"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a {type(data).__name__} is not allowed: a mapping of config keys"])
    return config_from_dict(apply_overrides(data, overrides, seed))


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str] = (), seed: int | None = None) -> dict:
    """A copy of ``data`` with each ``key.sub=value`` set (value read as a YAML scalar or flow)."""
    out = _deep_copy(data)
    problems = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"--set {item!r} is not allowed: KEY=VALUE with a dotted key, e.g. n_envs=16")
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            problems.append(f"--set {item!r} is not allowed: the value must be a YAML scalar, list or mapping")
            continue
        parts = key.strip().split(".")
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                problems.append(f"--set {item!r} is not allowed: {where} is {child!r}, not a mapping")
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
        problems += [_pydantic_line(err) for err in exc.errors()]
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
    from envs.params import param_field_names
    from envs.scenarios import make_params, scenario_names

    if not isinstance(env, Mapping):
        return []  # pydantic reports the type
    scenario = env.get("scenario", "war")
    overrides = env.get("overrides") or {}
    if not isinstance(scenario, str) or not isinstance(overrides, Mapping):
        return []
    if scenario not in scenario_names():
        return [f"env.scenario={scenario!r} is not allowed: one of {', '.join(scenario_names())}"]
    problems = []
    known = param_field_names()
    for key, value in overrides.items():
        if key not in known:
            problems.append(f"env.overrides.{key}={value!r} is not allowed: not a model parameter; "
                            f"allowed are {', '.join(known)}")
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
        key = f"hyperparams.{name}"
        if name not in allowed:
            problems.append(f"{key}={value!r} is not allowed: not an argument of {algo}; allowed are "
                            f"{', '.join(allowed)}")
        elif name == "policy_kwargs":
            problems += policy_kwargs_problems(algo, value)
        elif name in SCHEDULE_PARAMS and isinstance(value, str):
            if linear_start(value) is None:
                problems.append(f"{key}={value!r} is not allowed: a number or 'lin_<number>' (linear to 0)")
        else:
            problems += _type_problems(key, value, allowed[name].annotation)
            if name in POSITIVE_PARAMS and isinstance(value, int) and value <= 0:
                problems.append(f"{key}={value!r} is not allowed: a positive integer")
    return problems


def policy_kwargs_problems(algo: str, policy_kwargs: Any) -> list[str]:
    """Unknown policy arguments and values of the wrong type (``activation_fn`` by name)."""
    if not isinstance(policy_kwargs, Mapping):
        return [f"hyperparams.policy_kwargs={policy_kwargs!r} is not allowed: a mapping of policy arguments"]
    allowed = _signature(policy_class(algo), POLICY_RESERVED)
    problems = []
    for name, value in policy_kwargs.items():
        key = f"hyperparams.policy_kwargs.{name}"
        if name not in allowed:
            problems.append(f"{key}={value!r} is not allowed: not an argument of {policy_class(algo).__name__}; "
                            f"allowed are {', '.join(allowed)}")
        elif name == "activation_fn":
            if value not in ACTIVATIONS:
                problems.append(f"{key}={value!r} is not allowed: one of {', '.join(ACTIVATIONS)}")
        else:
            problems += _type_problems(key, value, allowed[name].annotation)
    return problems


def _type_problems(key: str, value: Any, annotation: Any) -> list[str]:
    if _as_annotated(value, annotation) is _BAD:
        return [f"{key}={value!r} is not allowed: a value of type {_type_name(annotation)}"]
    return []


_BAD = object()


def _as_annotated(value: Any, annotation: Any) -> Any:
    """``value`` (or, for a YAML list, the tuple) if it matches ``annotation``; else ``_BAD``."""
    from pydantic import TypeAdapter

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


# ------------------------------------------------------------------------------------- messages
def _pydantic_line(err: Mapping[str, Any]) -> str:
    """One pydantic error as ``key=value is not allowed: what is allowed``."""
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) if loc else "config"
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "missing":
        return f"{key} is missing: {_field_help(loc)}"
    if kind == "extra_forbidden":
        return f"{key}={value!r} is not allowed: unknown key; allowed keys are {', '.join(_fields_at(loc[:-1]))}"
    return f"{key}={value!r} is not allowed: {msg[0].lower() + msg[1:]}"


def _model_at(loc: Sequence[str]) -> type[BaseModel] | None:
    model: Any = TrainConfig
    for part in loc:
        field = model.model_fields.get(part) if model else None
        model = field.annotation if field and isinstance(field.annotation, type) else None
        if model is None or not issubclass(model, BaseModel):
            return None
    return model


def _fields_at(loc: Sequence[str]) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def _field_help(loc: Sequence[str]) -> str:
    model = _model_at(loc[:-1])
    field = model.model_fields.get(loc[-1]) if model else None
    return f"required, a value of type {_type_name(field.annotation)}" if field else "required"


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data
