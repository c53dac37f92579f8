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

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from envs.params import short_repr
from training.config.errors import ConfigError, Problems, config_error, line
from training.config.files import parse_yaml, read_yaml_mapping
from training.config.hyperparams import (  # ALGOS: re-exported, the algorithms a config may name
    ALGOS,  # noqa: F401
    MAX_ENVS,
    MAX_SEED,
    MAX_STEPS,
    canonical_algo,
    constructor_kwargs,
    hyperparam_problems,
    rollout_problems,
)
from training.config.overrides import override_problems, scenario_name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EnvConfig(_Strict):
    """Which world: a named scenario of docs/model.md section 7 and parameter overrides (section 4)."""

    scenario: Annotated[str, BeforeValidator(scenario_name)] = "war"
    overrides: dict[str, Any] = Field(default_factory=dict)
    # a contextual run (issue 30): {"sample": N, "seed": S} contexts of the ranges (envs.contexts), the
    # features in the observation or not; left out of the dump when unset (plain runs' keys unchanged)
    contexts: dict[str, int] | None = None
    context_in_obs: bool = False

    @field_validator("contexts")
    @classmethod
    def _contexts(cls, value: Any) -> Any:
        if value is not None:
            from envs.contexts import check_sample_spec

            check_sample_spec(value)
        return value

    @model_validator(mode="after")
    def _features_need_contexts(self) -> EnvConfig:
        if self.context_in_obs and self.contexts is None:
            found = Problems()
            found.add(("context_in_obs",), line("=true is not allowed without env.contexts: set contexts "
                                                '{"sample": N, "seed": S} or context_in_obs false'))
            found.raise_any()
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if self.contexts is None and not self.context_in_obs:
            data.pop("contexts", None)
            data.pop("context_in_obs", None)
        return data

    @field_validator("overrides", mode="before")
    @classmethod
    def _overrides(cls, value: Any, info: ValidationInfo) -> Any:
        """Each override through the model's own checks (``make_params``), if the scenario is valid."""
        if isinstance(value, Mapping) and "scenario" in info.data:
            found = Problems()
            override_problems(found, (), value, info.data["scenario"])
            found.raise_any()
        return value


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


def folder_name(value: str) -> str:
    """An output folder's path as a config gives it: not empty, no NUL character."""
    if not value.strip() or "\x00" in value:
        raise ValueError("a folder path (not empty, no NUL character)")
    return value


class TrainConfig(_Strict):
    """Everything about one run. ``hyperparams`` go to the SB3 constructor as they are
    (``lin_<x>`` schedules and activation names converted); ``gamma`` defaults to the model's."""

    env: EnvConfig = Field(default_factory=EnvConfig)
    algo: Literal["PPO", "A2C", "DQN", "QRDQN", "TRPO", "ARS", "RecurrentPPO", "MaskablePPO"]
    policy: Literal["MlpPolicy"] = "MlpPolicy"  # the algorithm's MLP policy (RecurrentPPO: MlpLstmPolicy)
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
        """Any case of an algorithm's name (``ppo``, ``recurrentppo``) is that algorithm."""
        return canonical_algo(value) or value

    @field_validator("hyperparams", mode="before")
    @classmethod
    def _hyperparams(cls, value: Any, info: ValidationInfo) -> Any:
        """Against the SB3 constructor's signature, if the algorithm is valid."""
        if isinstance(value, Mapping) and "algo" in info.data:
            found = Problems()
            for key in (k for k in value if not isinstance(k, str)):
                found.bad_key((), key)
            for problem in hyperparam_problems(info.data["algo"], value):
                found.add((), line(problem.removeprefix("hyperparams")))
            found.raise_any()
        return value

    @model_validator(mode="after")
    def _rollout(self) -> TrainConfig:
        """SB3's constraints between hyperparameters that it only warns about (:func:`rollout_problems`)."""
        found = Problems()
        for problem in rollout_problems(self.algo, self.hyperparams, self.n_envs):
            key, _, tail = problem.partition("=")
            found.add(tuple(key.split(".")), line("=" + tail))
        found.raise_any()
        return self

    @field_validator("output")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        return folder_name(value)

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
            where = f"--set {short_repr(item)}"
            value = parse_yaml(raw, where) if raw.strip() else None
        except ConfigError as exc:
            reason = exc.problems[0].removeprefix(f"{where}: ")
            problems.append(f"{where} is not allowed: the value must be a YAML scalar, list or mapping ({reason})")
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
    try:
        return TrainConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise config_error(exc, TrainConfig) from None


def sb3_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """The SB3 constructor arguments of ``cfg`` (see :func:`training.config.hyperparams.constructor_kwargs`)."""
    return constructor_kwargs(cfg.algo, cfg.hyperparams)


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def config_fingerprint(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved training config as stored with a run's evaluation (its output folder left out,
    so a study folder can be moved): what a run is, whatever folder holds it."""
    data = cfg.model_dump(mode="json")
    data.pop("output", None)
    return data


def content_key(cfg: TrainConfig) -> str:
    """A run's content key: the sha256 of :func:`config_fingerprint` (config, seed, budget), so two
    run folders of the same key are the same experiment, copies rather than seeds."""
    return hashlib.sha256(json.dumps(config_fingerprint(cfg), sort_keys=True).encode()).hexdigest()
