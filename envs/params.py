"""Parameters of the alliance model (MODEL.md section 4), kept apart from state as gymnax does.

``AllianceParams`` is a frozen dataclass: hashable, so tables and solutions can be cached per
parameter set. Every field is checked where it enters (``__post_init__``); a bad value raises a
``ValueError`` whose one-line message names the field, the value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

N_PHASES = 5
PHASE_NAMES = ("hedging era", "regime crisis", "invasion", "patron crisis", "protracted war")
PER_PHASE_FIELDS = ("tau", "demand", "pressure", "capacity", "lockout", "mediation", "hazard")


def _err(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is not allowed: {allowed}")


def _check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise _err(name, value, f"{kind} in [{lo}, {hi}]")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise _err(name, value, f"a finite {'integer' if integer else 'number'} in [{lo}, {hi}]")
    if integer and value != int(value):
        raise _err(name, value, f"an integer in [{lo}, {hi}]")
    return value


@dataclass(frozen=True)
class AllianceParams:
    """All numbers of MODEL.md section 4, the scenario's horizon and start (section 7).

    Per-phase fields are tuples of five values, for phases 0..4.
    """

    name: str = "war"
    # --- per phase (MODEL.md section 4 table) ---
    tau: tuple[float, ...] = (0.8, 1.6, 2.6, 2.4, 2.2)  # threat target
    demand: tuple[int, ...] = (1, 1, 2, 1, 2)  # patron demand D (participation level expected)
    pressure: tuple[int, ...] = (0, 1, 0, 0, 1)  # integration pressure IP
    capacity: tuple[float, ...] = (1.0, 1.0, 1.0, 0.5, 0.9)  # patron capacity kappa
    lockout: tuple[float, ...] = (1.0, 0.1, 0.1, 0.1, 0.1)  # Western lock-out L (1 = open)
    mediation: tuple[float, ...] = (0.10, 0.0, 0.15, 0.60, 0.10)  # mediation opening q
    hazard: tuple[float, ...] = (1 / 26, 1 / 6, 1 / 5, 1 / 2, 0.0)  # hazard to next phase h
    # --- the four factors ---
    power: float = 0.2  # c, the small state's own power
    identification: float = 0.4  # iota, identification with the alliance
    alpha_west: float = 0.8  # receptiveness of the West
    alpha_far: float = 0.6  # receptiveness of far-arc partners
    # --- reward, discount, shocks ---
    weights: tuple[float, float, float] = (0.5, 0.35, 0.15)  # security, autonomy, economy
    gamma: float = 0.95  # one step is a quarter
    west_shock: float = 0.9  # Pr(W <- 0) on entering phase 1 (MODEL.md 5.4)
    # --- sensitivity multipliers (1.0 = MODEL.md as written; only the sweeps change them) ---
    entrapment_scale: float = 1.0  # multiplies the `trap` term of section 6
    deep_cost_scale: float = 1.0  # multiplies A's fall .35[g=2] from deep integration (5.3)
    # --- episode ---
    horizon: int = 80
    start: tuple[int, int, int, int, int, int] = (4, 2, 4, 3, 1, 0)  # (phase, T, A, R, W, X)
    calendar: tuple[int, ...] | None = None  # phase per t = 0..horizon-1 (the `calendar` scenario)
    finite_horizon: bool = False  # timeline/calendar: 44-step optimum + continuation V*_inf

    def __post_init__(self) -> None:
        for name in PER_PHASE_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, tuple | list) or len(value) != N_PHASES:
                raise _err(name, value, f"a number or a list of {N_PHASES} numbers (one per phase)")
            object.__setattr__(self, name, tuple(value))
        for i in range(N_PHASES):
            _check_number(f"tau[{i}]", self.tau[i], 0.0, 3.0)
            _check_number(f"demand[{i}]", self.demand[i], 0, 3, integer=True)
            _check_number(f"pressure[{i}]", self.pressure[i], 0, 2, integer=True)
            _check_number(f"capacity[{i}]", self.capacity[i], 0.0, 1.0)
            _check_number(f"lockout[{i}]", self.lockout[i], 0.0, 1.0)
            _check_number(f"mediation[{i}]", self.mediation[i], 0.0, 1.0)
            _check_number(f"hazard[{i}]", self.hazard[i], 0.0, 1.0)
        object.__setattr__(self, "demand", tuple(int(v) for v in self.demand))
        object.__setattr__(self, "pressure", tuple(int(v) for v in self.pressure))
        for name in ("power", "identification", "alpha_west", "alpha_far", "west_shock"):
            _check_number(name, getattr(self, name), 0.0, 1.0)
        for name in ("entrapment_scale", "deep_cost_scale"):
            _check_number(name, getattr(self, name), 0.0, 10.0)
        _check_number("gamma", self.gamma, 0.0, 0.999999)
        if not isinstance(self.weights, tuple | list) or len(self.weights) != 3:
            raise _err("weights", self.weights, "three numbers (security, autonomy, economy)")
        for i, w in enumerate(self.weights):
            _check_number(f"weights[{i}]", w, 0.0, 1.0)
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        _check_number("horizon", self.horizon, 1, 100_000, integer=True)
        object.__setattr__(self, "horizon", int(self.horizon))
        from envs.spaces import check_state  # local: spaces imports nothing from here

        object.__setattr__(self, "start", check_state(self.start, "start"))
        if self.calendar is not None:
            cal = self.calendar
            if not isinstance(cal, tuple | list) or len(cal) != self.horizon:
                raise _err("calendar", cal, f"a list of {self.horizon} phases (one per step, = horizon)")
            for t, ph in enumerate(cal):
                _check_number(f"calendar[{t}]", ph, 0, N_PHASES - 1, integer=True)
            object.__setattr__(self, "calendar", tuple(int(v) for v in cal))
            if not self.finite_horizon:
                raise _err("finite_horizon", self.finite_horizon, "true when a calendar is given")
        if not isinstance(self.finite_horizon, bool):
            raise _err("finite_horizon", self.finite_horizon, "true or false")

    # ------------------------------------------------------------------ helpers
    @property
    def time_in_observation(self) -> bool:
        """Whether the observation carries ``t / horizon`` (timeline and calendar, section 2)."""
        return self.finite_horizon

    @property
    def stationary(self) -> bool:
        """Stationary scenarios are solved for the infinite-horizon optimum (section 10)."""
        return not self.finite_horizon

    def continuation(self) -> AllianceParams:
        """The model whose V*_inf is the value after the last quarter (section 7): the
        `timeline` model with phases by hazard, infinite horizon."""
        return replace(self, calendar=None, finite_horizon=False, name=f"{self.name}:continuation")

    def with_overrides(self, overrides: dict[str, Any], name: str | None = None) -> AllianceParams:
        """A copy with fields replaced. A single number for a per-phase field replaces the
        parameter in every phase (MODEL.md section 7). Unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                allowed = ", ".join(sorted(known - {"name"}))
                raise ValueError(f"override {key!r} is not a model parameter: allowed are {allowed}")
            if key in PER_PHASE_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
                value = (value,) * N_PHASES
            if isinstance(value, list):
                value = tuple(value)
            clean[key] = value
        if name is not None:
            clean["name"] = name
        return replace(self, **clean)


def param_field_names() -> list[str]:
    """Names a scenario override may set."""
    return [f.name for f in fields(AllianceParams) if f.name != "name"]

