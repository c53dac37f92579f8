"""The leaderboard's config (``alliance leaderboard configs/leaderboard.yaml``) and its tuned
hyperparameters (one file per algorithm in ``zoo``, written by ``--tune``).

``load_leaderboard_config("configs/leaderboard.yaml", overrides=["seeds=2"])`` returns a frozen
:class:`LeaderboardConfig`, or raises :class:`~training.config.errors.ConfigError`, one line per problem
naming the key, the value and what is allowed. A YAML file looks like ``configs/leaderboard.yaml``::

    scenarios: [war, alt_open, high_id, calendar]
    algos: [PPO, A2C, DQN, QRDQN, TRPO, ARS, RecurrentPPO, MaskablePPO]
    seeds: 5                     # seeds 0..4 of every (scenario, algorithm)
    total_timesteps: 16384       # one step budget for all
    checkpoints: 8               # the exact value at every total_timesteps / 8 steps
    zoo: configs/zoo/leaderboard # <algo>.yaml: the tuned hyperparameters, reused unchanged everywhere
    tune: {scenario: war, trials: 8, seed: 1000}
    out: results/leaderboard

A zoo file (:class:`ZooEntry`) holds ``algo``, ``n_envs``, ``hyperparams`` and ``tuned`` (how the study
found them: scenario, trials, budget, objective, each trial's value) with ``reasons`` per value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from envs.scenarios import scenario_names
from training.config.errors import ConfigError, config_error, not_allowed, validate_config
from training.config.files import read_yaml_mapping
from training.config.hyperparams import ALGOS, MAX_STEPS, canonical_algo
from training.config.run import TrainConfig, apply_overrides, config_from_dict, folder_name

MAX_SEEDS = 1000
MAX_CHECKPOINTS = 1000
SEED_STRIDE = 1  # seeds 0..seeds-1; the tuning study's seeds start at tune.seed (disjoint)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TuneConfig(_Strict):
    """The Optuna study that fills ``zoo``: ``trials`` trials per algorithm on ``scenario``, each one run
    of the leaderboard's step budget with seed ``seed + trial``, scored by its final exact share of V*."""

    scenario: str = "war"
    trials: int = Field(8, gt=0, le=10_000)
    seed: int = Field(1000, ge=0, le=2**31 - 1)

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, v: str) -> str:
        if v not in scenario_names():
            raise not_allowed(f"one of {', '.join(scenario_names())}")
        return v


class LeaderboardConfig(_Strict):
    """Everything about the leaderboard's run (see the module docstring)."""

    name: str = "leaderboard"
    scenarios: list[str] = Field(min_length=1)
    algos: list[str] = Field(min_length=1)
    seeds: int = Field(5, gt=0, le=MAX_SEEDS)
    total_timesteps: int = Field(gt=0, le=MAX_STEPS)
    checkpoints: int = Field(8, gt=0, le=MAX_CHECKPOINTS)
    recurrent_episodes: int = Field(500, ge=2, le=1_000_000)
    zoo: str = "configs/zoo/leaderboard"
    tune: TuneConfig = Field(default_factory=TuneConfig)
    resamples: int = Field(2000, ge=100, le=100_000)
    out: str = "results/leaderboard"
    source: str | None = None  # the file it was read from (set by the loader)

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in scenario_names()]
        if bad:
            raise not_allowed(f"{bad[0]!r} is not a scenario; allowed: {', '.join(scenario_names())}")
        if len(set(v)) != len(v):
            raise not_allowed("each scenario once")
        return v

    @field_validator("algos", mode="before")
    @classmethod
    def _algos(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        names = [canonical_algo(a) for a in v]
        bad = [a for a, n in zip(v, names) if n is None]
        if bad:
            raise not_allowed(f"{bad[0]!r} is not an algorithm; allowed: {', '.join(ALGOS)}")
        if len(set(names)) != len(names):
            raise not_allowed("each algorithm once")
        return names

    @field_validator("zoo", "out")
    @classmethod
    def _folder(cls, v: str) -> str:
        return folder_name(v)

    @model_validator(mode="after")
    def _checkpoint_steps(self) -> LeaderboardConfig:
        if self.checkpoints > self.total_timesteps:
            raise ValueError(f"checkpoints={self.checkpoints} is not allowed: at most total_timesteps "
                             f"({self.total_timesteps}): one checkpoint per total_timesteps / checkpoints steps")
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    @property
    def zoo_dir(self) -> Path:
        return Path(self.zoo)

    def checkpoint_freq(self) -> int:
        """Env steps between checkpoints (each is then valued exactly)."""
        return max(1, self.total_timesteps // self.checkpoints)


class ZooEntry(_Strict):
    """One algorithm's tuned hyperparameters (``<zoo>/<algo>.yaml``)."""

    algo: str
    n_envs: int = Field(gt=0, le=4096)
    hyperparams: dict[str, Any]
    reasons: dict[str, str] = Field(default_factory=dict)
    tuned: dict[str, Any] = Field(default_factory=dict)

    @field_validator("algo", mode="before")
    @classmethod
    def _algo(cls, v: Any) -> Any:
        name = canonical_algo(v)
        if name is None:
            raise not_allowed(f"one of {', '.join(ALGOS)}")
        return name


def leaderboard_config_from_dict(data: Mapping[str, Any], source: str | None = None) -> LeaderboardConfig:
    """Validate a mapping; :class:`ConfigError` (one line per problem) otherwise."""
    return validate_config(LeaderboardConfig, data, source)


def load_leaderboard_config(path: str | Path, overrides: Sequence[str] = ()) -> LeaderboardConfig:
    """Read a YAML config, apply ``--set key=value`` overrides, validate.

    :raises ConfigError: one line per problem
    :raises OSError: the file cannot be read
    """
    data = read_yaml_mapping(path, "a mapping of leaderboard keys with at least scenarios, algos, total_timesteps")
    return leaderboard_config_from_dict(apply_overrides(data, overrides, None), source=str(path))


def zoo_path(cfg: LeaderboardConfig, algo: str) -> Path:
    return cfg.zoo_dir / f"{algo.lower()}.yaml"


def load_zoo(cfg: LeaderboardConfig, algo: str) -> ZooEntry:
    """The tuned entry of ``algo``; a missing file says how to make it (one line).

    :raises ConfigError: missing, unreadable or invalid (one line per problem)
    """
    path = zoo_path(cfg, algo)
    if not path.is_file():
        raise ConfigError([f"{path}: no such file: the tuned hyperparameters of {algo} (make them with "
                           f"alliance leaderboard {cfg.source or 'CONFIG'} --tune)"])
    return read_zoo_entry(path, algo)


def read_zoo_entry(path: Path, algo: str) -> ZooEntry:
    """The zoo file ``path`` (it exists) as the entry of ``algo``.

    :raises ConfigError: unreadable, invalid or another algorithm's (one line per problem)
    """
    data = read_yaml_mapping(path, "a mapping with algo, n_envs, hyperparams")
    try:
        entry = ZooEntry.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([f"{path}: {ln}" for ln in config_error(exc, ZooEntry).problems]) from None
    if entry.algo != algo:
        raise ConfigError([f"{path}: algo={entry.algo} is not allowed: the file of {algo} holds {algo}"])
    return entry


def train_config(cfg: LeaderboardConfig, entry: ZooEntry, scenario: str, seed: int,
                 total_timesteps: int | None = None) -> TrainConfig:
    """The training config of one run: the zoo entry unchanged, the scenario, the seed, the budget, a
    checkpoint every :meth:`LeaderboardConfig.checkpoint_freq` steps (all kept, no replay buffer), and
    one SB3 evaluation at the end (its Monte Carlo log is not the score: the exact values are).

    :raises ConfigError: the entry's hyperparameters do not fit the algorithm (one line each)
    """
    steps = total_timesteps or cfg.total_timesteps
    freq = max(1, steps // cfg.checkpoints)
    return config_from_dict({
        "env": {"scenario": scenario, "overrides": {}}, "algo": entry.algo, "hyperparams": dict(entry.hyperparams),
        "n_envs": entry.n_envs, "vec_env": "alliance", "total_timesteps": steps, "seed": seed,
        "eval": {"freq": steps, "n_episodes": 2}, "output": str(cfg.out_dir / "runs"),
        "checkpoint": {"freq": freq, "keep": cfg.checkpoints + 2, "save_replay_buffer": False}})
