"""The config of PPO self-play in the patron game (``alliance selfplay``, docs/model.md section 11).

``load_selfplay_config("configs/game_ppo_war.yaml", overrides=["rounds=5"], seed=3)`` returns a
frozen :class:`SelfPlayConfig`, or raises :class:`~training.config.errors.ConfigError` whose
message is one line per problem, each naming the key, the value and what is allowed. Nothing is
trained or written before the whole file has been checked:

- structure and types by pydantic (``extra="forbid"``, strict types, positive counts);
- ``env`` as a training config's (:class:`training.config.run.EnvConfig`), and the scenario must be
  one the game's exact solvers take (a stationary scenario whose start phase is held: ``war``,
  ``phase0`` .. ``phase4`` and their counterfactuals), checked by building the game's operator
  (:func:`agents.game.operator.game_operator`, cached: the run uses the same one);
- ``hyperparams`` against PPO's constructor (as a training config's, both players share them).

A YAML file looks like ``configs/game_ppo_war.yaml``::

    env: {scenario: war, overrides: {}}
    rounds: 3
    steps_per_round: 20480
    hyperparams: {n_steps: 256, batch_size: 256, policy_kwargs: {net_arch: [64, 64]}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.game.operator import game_operator
from envs.scenarios import make_params
from training.config.errors import ConfigError, Problems, config_error, line
from training.config.files import read_yaml_mapping
from training.config.hyperparams import (
    MAX_SEED,
    MAX_STEPS,
    constructor_kwargs,
    hyperparam_problems,
    rollout_problems,
)
from training.config.run import EnvConfig, apply_overrides, folder_name

MAX_ROUNDS = 10_000
MAX_SELFPLAY_ENVS = 256  # each env steps the game in Python: more buy nothing but memory


class SelfPlayConfig(BaseModel):
    """Everything about one self-play run (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    env: EnvConfig = Field(default_factory=EnvConfig)
    rounds: int = Field(gt=0, le=MAX_ROUNDS, description=f"an integer in 1..{MAX_ROUNDS}: rounds of alternating training")
    steps_per_round: int = Field(gt=0, le=MAX_STEPS, description="an integer > 0: env steps each player trains per round")
    start_patron: Literal["table", "untrained"] = Field(
        "table", description="'table' (the patron plays the model's table action, docs/model.md section 11) or "
        "'untrained' (its untrained PPO policy) before its first round")
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    n_envs: int = Field(8, gt=0, le=MAX_SELFPLAY_ENVS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    output: str = "results/selfplay"
    torch_threads: int = Field(1, gt=0, le=1024)
    device: Literal["cpu"] = "cpu"

    @field_validator("hyperparams", mode="before")
    @classmethod
    def _hyperparams(cls, value: Any) -> Any:
        """Against PPO's constructor signature (both players are PPO)."""
        if isinstance(value, Mapping):
            found = Problems()
            for key in (k for k in value if not isinstance(k, str)):
                found.bad_key((), key)
            for problem in hyperparam_problems("PPO", value):
                found.add((), line(problem.removeprefix("hyperparams")))
            found.raise_any()
        return value

    @field_validator("output")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        return folder_name(value)

    @model_validator(mode="after")
    def _rollout_and_game(self) -> SelfPlayConfig:
        """PPO's batch within one rollout; a scenario the game's exact solvers take."""
        found = Problems()
        for problem in rollout_problems("PPO", self.hyperparams, self.n_envs):
            key, _, tail = problem.partition("=")
            found.add(tuple(key.split(".")), line("=" + tail))
        try:
            game_operator(make_params(self.env.scenario, dict(self.env.overrides) or None))
        except ValueError as exc:
            found.add(("env",), line(f": {exc}"))
        found.raise_any()
        return self

    def to_yaml(self) -> str:
        """The resolved config, loadable again by :func:`load_selfplay_config`."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_selfplay_config(path: str | Path, overrides: Sequence[str] = (), seed: int | None = None) -> SelfPlayConfig:
    """Read a YAML config, apply ``--set key.sub=value`` overrides and ``--seed``, validate.

    :raises ConfigError: one line per problem (also for unreadable YAML or a non-mapping file)
    :raises OSError: the file cannot be read
    """
    data = read_yaml_mapping(path, "a mapping of self-play config keys with at least rounds and steps_per_round")
    return selfplay_config_from_dict(apply_overrides(data, overrides, seed))


def selfplay_config_from_dict(data: Mapping[str, Any]) -> SelfPlayConfig:
    """Validate a mapping; every problem found becomes one line of the :class:`ConfigError`."""
    try:
        return SelfPlayConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise config_error(exc, SelfPlayConfig) from None


def ppo_kwargs(cfg: SelfPlayConfig) -> dict[str, Any]:
    """PPO's constructor arguments of ``cfg`` (``lin_<x>`` schedules, activation names converted)."""
    return constructor_kwargs("PPO", cfg.hyperparams)


__all__ = ["ConfigError", "SelfPlayConfig", "load_selfplay_config", "ppo_kwargs", "selfplay_config_from_dict"]
