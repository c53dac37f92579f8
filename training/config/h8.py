"""The config of H8's run (``alliance h8 configs/h8.yaml``, docs/h8.md): the strategic patron across
the discovery space extended by the patron's eight reward weights.

``load_h8_config("configs/h8.yaml", overrides=["n_mpe=4"])`` returns a frozen :class:`H8Config`, or
raises :class:`~training.config.errors.ConfigError`, one line per problem naming the key, the value
and what is allowed. A YAML file looks like ``configs/h8.yaml``::

    scenario: war                           # a stationary scenario whose start phase is held
    ranges: configs/discovery/ranges.yaml   # the discovery's ranges (the patron weights are added)
    seed: 0                                 # the Latin hypercube's seed
    n_commitment: 192                       # LHS rows: the commitment table on every one
    n_mpe: 40                               # the equilibrium search on the first n_mpe rows
    batch: 8                                # LHS rows per commitment task
    mpe: {lambdas: [...], rounds: 10, ...}  # keyword arguments of agents.game.equilibrium.search_mpe,
                                            # or "standard" (its STANDARD settings)
    out: results/h8

The MPE method is this one entry: a better search behind ``search_mpe``'s interface reruns H8 by
changing it (the MPE units' keys hold it; the commitment units are kept).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from envs.scenarios import make_params, scenario_names
from training.config.errors import ConfigError, not_allowed, validate_config
from training.config.files import read_yaml_mapping
from training.config.run import apply_overrides

MAX_ROWS = 100_000
STANDARD = "standard"


def search_keywords() -> dict[str, inspect.Parameter]:
    """The keyword arguments ``agents.game.equilibrium.search_mpe`` takes (all but the operator)."""
    from agents.game.equilibrium import search_mpe

    return dict(list(inspect.signature(search_mpe).parameters.items())[1:])


class H8Config(BaseModel):
    """Everything about H8's run (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = "h8"
    scenario: str = Field("war", description="a stationary scenario whose start phase is held (war, phase0..phase4, "
                          "the war counterfactuals)")
    ranges: str = Field("configs/discovery/ranges.yaml", description="a ranges YAML file that exists",
                        validate_default=True)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    n_commitment: int = Field(gt=0, le=MAX_ROWS, description=f"an integer in 1..{MAX_ROWS}: Latin-hypercube rows")
    n_mpe: int = Field(0, ge=0, le=MAX_ROWS, description="an integer in 0..n_commitment: rows with the MPE search")
    batch: int = Field(8, gt=0, le=1024, description="an integer in 1..1024: LHS rows per commitment task")
    mpe: dict[str, Any] | str = Field(STANDARD, description="'standard' or a mapping of search_mpe's keyword arguments")
    resamples: int = Field(2000, ge=100, le=100_000)
    out: str = "results/h8"
    source: str | None = None  # the file it was read from (set by the loader)

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, v: str) -> str:
        if v not in scenario_names():
            raise not_allowed(f"one of {', '.join(scenario_names())}")
        p = make_params(v)
        if p.finite_horizon or (p.hazard[p.start[0]] > 0 and p.start[0] < len(p.hazard) - 1):
            raise not_allowed("a stationary scenario whose start phase is held (the commitment table is exact there)")
        return v

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, v: str) -> str:
        if not v.strip() or "\x00" in v or not Path(v).is_file():
            raise not_allowed("a ranges YAML file that exists (e.g. configs/discovery/ranges.yaml)")
        return v

    @field_validator("mpe")
    @classmethod
    def _mpe(cls, v: dict[str, Any] | str) -> dict[str, Any] | str:
        if isinstance(v, str):
            if v != STANDARD:
                raise not_allowed(f"'{STANDARD}' or a mapping of search_mpe's keyword arguments")
            return v
        known = search_keywords()
        bad = [k for k in v if k not in known]
        if bad:
            raise not_allowed(f"unknown keyword {bad[0]!r}; search_mpe takes {', '.join(known)}")
        for key, value in v.items():
            problem = _argument_problem(value, known[key].default)
            if problem:
                raise not_allowed(f"{key}={value!r}: {problem}")
        return v

    @model_validator(mode="after")
    def _sizes(self) -> H8Config:
        if self.n_mpe > self.n_commitment:
            raise ValueError(f"n_mpe={self.n_mpe} is not allowed: at most n_commitment ({self.n_commitment}); "
                             "the MPE part is the first n_mpe rows of the design")
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    def mpe_settings(self) -> dict[str, Any]:
        """The keyword arguments passed to ``search_mpe`` (lists as tuples, as its defaults are)."""
        if isinstance(self.mpe, str):
            from agents.game.equilibrium import STANDARD as SETTINGS

            return dict(SETTINGS)
        return {k: tuple(float(x) for x in v) if isinstance(v, list) else v for k, v in self.mpe.items()}


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and x == x and abs(x) != float("inf")


def _argument_problem(value: Any, default: Any) -> str | None:
    """What is wrong with one of search_mpe's arguments, judged by its default's kind (None: nothing)."""
    if isinstance(default, tuple):
        ok = isinstance(value, list) and value and all(_number(x) and x > 0 for x in value)
        return None if ok else "a non-empty list of positive numbers"
    if isinstance(default, int) and not isinstance(default, bool):
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "an integer >= 0"
    if value is None and default is None:
        return None
    return None if _number(value) and value >= 0 else "a number >= 0" + (" or null" if default is None else "")


def h8_config_from_dict(data: Mapping[str, Any], source: str | None = None) -> H8Config:
    """Validate a mapping; :class:`ConfigError` (one line per problem) otherwise."""
    cfg = validate_config(H8Config, data, source)
    _try_settings(cfg)
    return cfg


def _try_settings(cfg: H8Config) -> None:
    """Bind the MPE settings to search_mpe's signature (a missing or misnamed argument is one line)."""
    try:
        inspect.signature(_bind_target()).bind(None, **cfg.mpe_settings())
    except TypeError as exc:
        raise ConfigError([f"mpe={cfg.mpe!r} is not allowed: {exc}"]) from None


def _bind_target():
    from agents.game.equilibrium import search_mpe

    return search_mpe


def load_h8_config(path: str | Path, overrides: Sequence[str] = ()) -> H8Config:
    """Read a YAML config, apply ``--set key=value`` overrides, validate.

    :raises ConfigError: one line per problem
    :raises OSError: the file cannot be read
    """
    data = read_yaml_mapping(path, "a mapping of H8 config keys with at least n_commitment")
    return h8_config_from_dict(apply_overrides(data, overrides, None), source=str(path))
