"""The generalization study's config (``alliance generalization configs/generalization.yaml``).

``load_generalization_config(path, overrides=["seeds=2"])`` returns a frozen :class:`GeneralizationConfig`
or raises :class:`~training.config.errors.ConfigError`, one line per problem naming the key, the value and
what is allowed. A YAML file looks like ``configs/generalization.yaml``::

    scenarios: {war: {train: 256, test: 256}, calendar: {train: 64, test: 64}}
    context_seed: 0              # training contexts {sample: N, seed: 0}; held-out seed + 1000003
    algos: [PPO]                 # their tuned hyperparameters from zoo (the leaderboard's)
    visibility: [visible, hidden]
    seeds: 5
    total_timesteps: 49152
    zoo: configs/zoo/leaderboard
    criteria: {gap_margin: 0.02, context_margin: 0.02, hard_loss: 0.10, prim_threshold: 0.8}
    out: results/generalization
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from envs.scenarios import scenario_names
from training.config.errors import ConfigError, Problems, line, not_allowed, validate_config
from training.config.files import read_yaml_mapping
from training.config.hyperparams import MAX_STEPS, canonical_algo
from training.config.run import TrainConfig, apply_overrides, config_from_dict, folder_name
from training.evaluate.contexts import HELD_OUT_OFFSET
from training.leaderboard.config import ZooEntry, read_zoo_entry

MAX_CONTEXTS = 4096
MAX_SEEDS = 1000
SETS = ("train", "test")
ALGOS = ("PPO", "A2C", "TRPO")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ContextCounts(_Strict):
    """How many training and held-out contexts of one scenario, and (optionally) which of the config's
    algorithms learn on it (default: all)."""

    train: int = Field(gt=0, le=MAX_CONTEXTS)
    test: int = Field(gt=0, le=MAX_CONTEXTS)
    algos: list[str] | None = Field(None, min_length=1)


class Criteria(_Strict):
    """The study's criteria, fixed before its first run (configs/generalization.yaml says why)."""

    gap_margin: float = Field(0.02, gt=0, lt=1)
    context_margin: float = Field(0.02, gt=0, lt=1)
    hard_loss: float = Field(0.10, gt=0, lt=1)
    prim_threshold: float = Field(0.8, gt=0, le=1)


class GeneralizationConfig(_Strict):
    """Everything about the study's run (see the module docstring)."""

    name: str = "generalization"
    scenarios: dict[str, ContextCounts] = Field(min_length=1)
    context_seed: int = Field(0, ge=0, le=2**31 - 1)
    algos: list[str] = Field(min_length=1)
    visibility: list[Literal["visible", "hidden"]] = Field(min_length=1)
    seeds: int = Field(5, gt=0, le=MAX_SEEDS)
    total_timesteps: int = Field(gt=0, le=MAX_STEPS)
    zoo: str = "configs/zoo/leaderboard"
    criteria: Criteria = Field(default_factory=Criteria)
    resamples: int = Field(2000, ge=100, le=100_000)
    out: str = "results/generalization"
    source: str | None = None  # the file it was read from (set by the loader)

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, v: dict[str, ContextCounts]) -> dict[str, ContextCounts]:
        bad = [s for s in v if s not in scenario_names()]
        if bad:
            raise not_allowed(f"{bad[0]!r} is not a scenario; allowed: {', '.join(scenario_names())}")
        return v

    @field_validator("algos", mode="before")
    @classmethod
    def _algos(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        names = [canonical_algo(a) for a in v]
        allowed = f"one of {', '.join(ALGOS)} (Markov policies on the Box actions, tuned in the leaderboard's zoo)"
        bad = [a for a, n in zip(v, names) if n not in ALGOS]
        if bad:
            raise not_allowed(f"{bad[0]!r} is not allowed; {allowed}")
        if len(set(names)) != len(names):
            raise not_allowed("each algorithm once")
        return names

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise not_allowed("visible and/or hidden, each once")
        return v

    @field_validator("zoo", "out")
    @classmethod
    def _folder(cls, v: str) -> str:
        return folder_name(v)

    @model_validator(mode="after")
    def _scenario_algos(self) -> GeneralizationConfig:
        found = Problems()
        for name, counts in self.scenarios.items():
            chosen = counts.algos or []
            if any(a not in self.algos for a in chosen) or len(set(chosen)) != len(chosen):
                found.add(("scenarios", name, "algos"), line(f"={chosen} is not allowed: some of algos "
                                                             f"({', '.join(self.algos)}), each once"))
        found.raise_any()
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    def algos_of(self, scenario: str) -> list[str]:
        """The algorithms that learn on ``scenario`` (in the order of ``algos``)."""
        chosen = self.scenarios[scenario].algos
        return [a for a in self.algos if chosen is None or a in chosen]

    def context_spec(self, scenario: str, which: str) -> dict[str, int]:
        """``{"sample": N, "seed": S}`` of a scenario's training (``train``) or held-out (``test``) contexts."""
        counts = self.scenarios[scenario]
        if which == "train":
            return {"sample": counts.train, "seed": self.context_seed}
        return {"sample": counts.test, "seed": self.context_seed + HELD_OUT_OFFSET}


def generalization_config_from_dict(data: Mapping[str, Any], source: str | None = None) -> GeneralizationConfig:
    """Validate a mapping; :class:`ConfigError` (one line per problem) otherwise."""
    return validate_config(GeneralizationConfig, data, source)


def load_generalization_config(path: str | Path, overrides: Sequence[str] = ()) -> GeneralizationConfig:
    """Read a YAML config, apply ``--set key=value`` overrides, validate.

    :raises ConfigError: one line per problem
    :raises OSError: the file cannot be read
    """
    data = read_yaml_mapping(path, "a mapping of generalization keys with at least scenarios, algos, "
                                   "visibility, total_timesteps")
    return generalization_config_from_dict(apply_overrides(data, overrides, None), source=str(path))


def load_zoo_entry(cfg: GeneralizationConfig, algo: str) -> ZooEntry:
    """``<zoo>/<algo>.yaml`` (the leaderboard's tuned hyperparameters); one line if missing or bad."""
    path = Path(cfg.zoo) / f"{algo.lower()}.yaml"
    if not path.is_file():
        raise ConfigError([f"zoo={cfg.zoo!r} is not allowed: it has no {path.name} (the tuned hyperparameters "
                           f"of {algo}: alliance leaderboard configs/leaderboard.yaml --tune makes them)"])
    return read_zoo_entry(path, algo)


def train_config(cfg: GeneralizationConfig, entry: ZooEntry, scenario: str, visible: bool, seed: int) -> TrainConfig:
    """One run's training config: the zoo entry unchanged on the scenario's training contexts, the
    features in the observation when ``visible``; no checkpoint kept but the final model (scored)."""
    steps = cfg.total_timesteps
    return config_from_dict({
        "env": {"scenario": scenario, "overrides": {}, "contexts": cfg.context_spec(scenario, "train"),
                "context_in_obs": visible},
        "algo": entry.algo, "hyperparams": dict(entry.hyperparams), "n_envs": entry.n_envs, "vec_env": "alliance",
        "total_timesteps": steps, "seed": seed, "eval": {"freq": steps, "n_episodes": 2},
        "output": str(cfg.out_dir / "runs"),
        "checkpoint": {"freq": steps, "keep": 2, "save_replay_buffer": False}})
