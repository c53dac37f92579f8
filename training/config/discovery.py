"""The ``discovery:`` section of a study config (issue 15): which scenarios to solve over which ranges,
how many samples, and the fine phase diagrams. One pydantic model; each problem is one line
(``discovery.sobol_n=10 is not allowed: a power of two >= 2``) through the study config's formatter.

    discovery:
      scenarios: [war, calendar]            # each sample solved exactly in each
      ranges: configs/discovery/ranges.yaml # the uncertainty ranges (checked whole before any work)
      sobol_n: 16                           # Saltelli base sample: sobol_n * (D + 2) samples
      lhs: 0                                # extra Latin-hypercube samples (PRIM and shares only)
      seed: 0
      batch: 16                             # samples per Ray task
      baselines: null                       # whose share of V* to store (null: all ten)
      grouped_n: 0                          # grouped Saltelli base sample (issue 31): grouped_n * (G + 2)
                                            # samples for each group's own Sobol indices (0: none)
      diagram: {scenario: war, n: 41}       # n x n phase diagrams over tau x L and iota x c

The ranges file itself is validated by ``training.discovery.load_ranges`` (``config`` may not
import ``discovery``); the study driver does it before any work.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from envs.params import param_field_names
from envs.scenarios import make_params, scenario_names

MAX_SOBOL_N = 1 << 14
MAX_LHS = 1_000_000
MAX_DIAGRAM = 401
DIAGRAM_AXES = {"threat_lockout": ("tau", "lockout"), "identification_power": ("identification", "power")}
"""The two diagrams of issue 15, each over two model parameters (a per-phase one set in every phase)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DiagramConfig(_Strict):
    """Fine phase diagrams: ``n`` x ``n`` exact solves of ``scenario`` over each pair of ``axes``
    (parameter -> [low, high]); a cell is the optimum's archetype."""

    scenario: str = "war"
    n: int = Field(41, ge=2, le=MAX_DIAGRAM)
    axes: dict[str, dict[str, list[float]]] = Field(default_factory=lambda: {
        "threat_lockout": {"tau": [0.0, 3.0], "lockout": [0.0, 1.0]},
        "identification_power": {"identification": [0.0, 1.0], "power": [0.0, 1.0]}})

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, v: str) -> str:
        if v not in scenario_names():
            raise ValueError(f"one of {', '.join(scenario_names())}")
        return v

    @field_validator("axes")
    @classmethod
    def _axes(cls, v: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
        known = param_field_names()
        for name, pair in v.items():
            if len(pair) != 2:
                raise ValueError(f"diagram {name!r}: two parameters, each -> [low, high]")
            for param, ends in pair.items():
                if len(ends) != 2:
                    raise ValueError(f"diagram {name!r}: {param} -> [low, high], two numbers")
                low, high = ends
                if param not in known:
                    raise ValueError(f"diagram {name!r}: {param!r} is not a model parameter ({', '.join(known)})")
                if not low < high:
                    raise ValueError(f"diagram {name!r}: {param} [{low}, {high}] needs low < high")
                for end in (low, high):
                    try:
                        make_params("war", {param: end})
                    except ValueError as exc:
                        raise ValueError(f"diagram {name!r}: {param}={end}: {str(exc).splitlines()[0]}") from None
        return v


class DiscoveryConfig(_Strict):
    """Scenario discovery and global sensitivity over the ranges (see the module docstring)."""

    scenarios: list[str] = Field(default_factory=lambda: ["war", "calendar"], min_length=1)
    ranges: str = "configs/discovery/ranges.yaml"
    sobol_n: int = Field(16, ge=2, le=MAX_SOBOL_N)
    lhs: int = Field(0, ge=0, le=MAX_LHS)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    batch: int = Field(16, ge=1, le=4096)
    baselines: list[str] | None = None  # whose share of V* each sample stores (None: all ten; a scale knob)
    grouped_n: int = Field(0, ge=0, le=MAX_SOBOL_N)  # grouped Saltelli base sample (0: no grouped indices)
    diagram: DiagramConfig | None = Field(default_factory=DiagramConfig)

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in scenario_names()]
        if bad or len(set(v)) != len(v):
            raise ValueError(f"distinct scenario names, each one of {', '.join(scenario_names())}")
        return v

    @field_validator("baselines")
    @classmethod
    def _baselines(cls, v: list[str] | None) -> list[str] | None:
        from agents.baselines import baseline_names

        if v is not None and (not v or len(set(v)) != len(v) or not set(v) <= set(baseline_names())):
            raise ValueError(f"null (all) or a list of distinct baselines, each one of {', '.join(baseline_names())}")
        return v

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, v: str) -> str:
        if not v.strip() or "\x00" in v or not Path(v).is_file():
            raise ValueError("a ranges YAML file that exists (e.g. configs/discovery/ranges.yaml)")
        return v

    @field_validator("sobol_n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"a power of two >= 2 (Saltelli's base sample), at most {MAX_SOBOL_N}")
        return v

    @field_validator("grouped_n")
    @classmethod
    def _grouped_power_of_two(cls, v: int) -> int:
        if v and (v < 2 or v & (v - 1)):
            raise ValueError(f"0 (no grouped indices) or a power of two >= 2 (Saltelli's base sample), at most {MAX_SOBOL_N}")
        return v
