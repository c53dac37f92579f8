"""The JSON that crosses the explorer's boundary: requests as pydantic models, bad input as one line.

A request names a scenario and the headline parameters the user moved (``overrides``); a parameter
not given keeps the scenario's value. A per-phase parameter (``tau``, ``mediation``, ``lockout``)
takes one number for every phase, as a scenario file's ``phases`` does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from envs.scenarios import scenario_names

# name -> (low, high, step, what it is): the sliders, named as in scenario files (docs/scenarios.md)
HEADLINE: dict[str, tuple[float, float, float, str]] = {
    "identification": (0.0, 1.0, 0.05, "ι, identification with the alliance"),
    "power": (0.0, 1.0, 0.05, "c, the small state's own power"),
    "alpha_west": (0.0, 1.0, 0.05, "α_W, receptiveness of the West"),
    "alpha_far": (0.0, 1.0, 0.05, "α_X, receptiveness of far-arc partners"),
    "tau": (0.0, 3.0, 0.1, "τ, threat target (every phase)"),
    "mediation": (0.0, 1.0, 0.05, "q, mediation opening (every phase)"),
    "lockout": (0.0, 1.0, 0.05, "L, Western lock-out, 1 = open (every phase)"),
}
PER_PHASE = ("tau", "mediation", "lockout")
_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)  # strict: a number is a JSON number, never "0.5" or true


class Overrides(BaseModel):
    """The headline parameters a point sets; each a number in its slider's range."""

    model_config = _STRICT

    identification: float | None = Field(None, ge=0.0, le=1.0)
    power: float | None = Field(None, ge=0.0, le=1.0)
    alpha_west: float | None = Field(None, ge=0.0, le=1.0)
    alpha_far: float | None = Field(None, ge=0.0, le=1.0)
    tau: float | None = Field(None, ge=0.0, le=3.0)
    mediation: float | None = Field(None, ge=0.0, le=1.0)
    lockout: float | None = Field(None, ge=0.0, le=1.0)

    def items(self) -> tuple[tuple[str, float], ...]:
        """The set values, sorted by name, rounded to 1e-9 (a hashable cache key)."""
        return tuple(sorted((k, round(float(v), 9)) for k, v in self.model_dump().items() if v is not None))


class Point(BaseModel):
    """A scenario and the parameters moved from it."""

    model_config = _STRICT

    scenario: str
    overrides: Overrides = Overrides()

    @field_validator("scenario")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in scenario_names():
            raise ValueError(f"one of {', '.join(scenario_names())}")
        return value


class PatronRequest(Point):
    """A point and the patron's mode (docs/model.md section 11)."""

    mode: Literal["table", "commitment", "equilibrium"] = "table"


def error_line(err: ValidationError) -> str:
    """The first problem of a validation error in one line: the field, the value and what is allowed."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "request"
    value = first.get("input")
    shown = repr(value) if not isinstance(value, dict | list) or len(repr(value)) < 80 else type(value).__name__
    message = first["msg"].removeprefix("Value error, ")
    low_high = HEADLINE.get(str(first["loc"][-1])) if first["loc"] else None
    if low_high is not None and first["type"] in {"greater_than_equal", "less_than_equal", "float_parsing", "float_type"}:
        message = f"a number in [{low_high[0]:g}, {low_high[1]:g}]"
    elif first["type"] == "extra_forbidden":
        allowed = ", ".join(HEADLINE) if len(first["loc"]) > 1 else "scenario, overrides (and mode on /api/patron)"
        message = f"not a known field; allowed: {allowed}"
    return f"{where}={shown} is not allowed: {message}"
