"""Parameters of the alliance model (docs/model.md section 4), kept apart from state as gymnax does.

``AllianceParams`` is a frozen dataclass: hashable, so tables and solutions can be cached per
parameter set. Every field is checked where it enters (``__post_init__``); a bad value raises a
``ValueError`` whose one-line message names the field, the value and what is allowed.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

N_PHASES = 5
PHASE_NAMES = ("hedging era", "regime crisis", "invasion", "patron crisis", "protracted war")
PER_PHASE_FIELDS = ("tau", "demand", "pressure", "capacity", "lockout", "mediation", "hazard", "support")
# The exact solver and evaluator hold arrays of horizon x 5400 states (x 96 actions for the
# near-optimal sets of timeline/calendar): a longer horizon would only exhaust memory.
MAX_HORIZON = 1000
# (low, high, integer) of each per-phase parameter (docs/model.md section 4)
PER_PHASE_BOUNDS = {"tau": (0.0, 3.0, False), "demand": (0, 3, True), "pressure": (0, 2, True),
                    "capacity": (0.0, 1.0, False), "lockout": (0.0, 1.0, False), "mediation": (0.0, 1.0, False),
                    "hazard": (0.0, 1.0, False), "support": (0, 2, True)}
# docs/model.md section 11: the patron's reward weights, in this order (u_P's eight terms)
PATRON_WEIGHT_NAMES = ("war_effort", "recognition", "integration", "control", "buffer", "west_open", "hedging",
                       "support_cost")
PATRON_WEIGHTS = (0.30, 0.15, 0.05, 0.20, 0.20, 0.05, 0.05, 0.15)
# Sensitivity multipliers of a mechanism's coefficients (1.0 = docs/model.md as written), in [0, 10];
# far_arc_scale in [0, 2] (coercion's relief 1 - far_arc_scale * X / 4 stays >= 0).
SCALE_FIELDS = ("entrapment_scale", "deep_cost_scale", "coercion_scale", "mediation_effect_scale",
                "abandonment_scale", "west_lockout_scale", "far_arc_scale")
SCALE_MAX = {"far_arc_scale": 2.0}


def short_repr(value: Any, limit: int = 80) -> str:
    """A one-line, bounded ``repr`` for error messages (safe for ints too long to print)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's str conversion limit
        text = f"<an integer of about {value.bit_length() * 0.30103:.0f} digits>"
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _err(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={short_repr(value)} is not allowed: {allowed}")


def _is_number(value: Any) -> bool:
    """A real number that is not a bool (Python's or numpy's)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> float:
    """``value`` (a builtin int or float) if it is a finite number in [lo, hi] (an integer if
    ``integer``); else a one-line ``ValueError``. Huge ints are compared, never turned into floats."""
    kind = "integer" if integer else "number"
    if not _is_number(value):
        raise _err(name, value, f"a finite {kind} in [{lo}, {hi}]")
    if not isinstance(value, int | float):  # numpy scalars, fractions: as a builtin number
        value = int(value) if isinstance(value, numbers.Integral) else float(value)
    finite = isinstance(value, int) or math.isfinite(value)
    if not finite or not lo <= value <= hi:
        raise _err(name, value, f"a finite {kind} in [{lo}, {hi}]")
    if integer and value != int(value):
        raise _err(name, value, f"an integer in [{lo}, {hi}]")
    return value


@dataclass(frozen=True)
class AllianceParams:
    """All numbers of docs/model.md section 4, the scenario's horizon and start (section 7).

    Per-phase fields are tuples of five values, for phases 0..4.
    """

    name: str = "war"
    # --- per phase (docs/model.md section 4 table) ---
    tau: tuple[float, ...] = (0.8, 1.6, 2.6, 2.4, 2.2)  # threat target
    demand: tuple[int, ...] = (1, 1, 2, 1, 2)  # patron demand D (participation level expected)
    pressure: tuple[int, ...] = (0, 1, 0, 0, 1)  # integration pressure IP
    capacity: tuple[float, ...] = (1.0, 1.0, 1.0, 0.5, 0.9)  # patron capacity kappa
    lockout: tuple[float, ...] = (1.0, 0.1, 0.1, 0.1, 0.1)  # Western lock-out L (1 = open)
    mediation: tuple[float, ...] = (0.10, 0.0, 0.15, 0.60, 0.10)  # mediation opening q
    hazard: tuple[float, ...] = (1 / 26, 1 / 6, 1 / 5, 1 / 2, 0.0)  # hazard to next phase h
    # the patron's support sigma (section 11: 0 withdrawn, 1 reduced, 2 full); the table patron plays
    # (D, IP, 2), so 2 in every phase is sections 4-10 exactly; a phase-level commitment overrides it
    support: tuple[int, ...] = (2, 2, 2, 2, 2)
    # --- the four factors ---
    power: float = 0.2  # c, the small state's own power
    identification: float = 0.4  # iota, identification with the alliance
    alpha_west: float = 0.8  # receptiveness of the West
    alpha_far: float = 0.6  # receptiveness of far-arc partners
    # --- reward, discount, shocks ---
    weights: tuple[float, float, float] = (0.5, 0.35, 0.15)  # security, autonomy, economy
    gamma: float = 0.95  # one step is a quarter
    west_shock: float = 0.9  # Pr(W <- 0) on entering phase 1 (docs/model.md 5.4)
    # --- sensitivity multipliers (1.0 = docs/model.md as written; the sweeps and the discovery change them) ---
    entrapment_scale: float = 1.0  # multiplies the `trap` term of section 6
    deep_cost_scale: float = 1.0  # multiplies A's fall .35[g=2] from deep integration (5.3)
    coercion_scale: float = 1.0  # multiplies the .25 of coercion, A's fall .25[R<=1][phase>=1](...) (5.3)
    mediation_effect_scale: float = 1.0  # multiplies M's effects: T's fall .25M, R's rise .40M, A's rise .5M (5.3)
    abandonment_scale: float = 1.0  # multiplies R's fall .18(D-m)+(1-.6c) for doing less than demanded (5.3)
    # multiplies W's fall from complicity and lock-out, .20[m>=2] + .20[m=3] + .15k + .05[g=2] + .2(1-L) (5.3)
    west_lockout_scale: float = 1.0
    # multiplies far-arc ties' effects: T's fall .04X, A's rise .12a_X[d=2], coercion's relief X/4 (5.3) and the
    # shield's .1X/2 (6); at most 2 so that coercion's (1 - X/4) relief stays >= 0
    far_arc_scale: float = 1.0
    # --- the strategic patron (section 11): u_P's weights, in the order of PATRON_WEIGHT_NAMES ---
    patron_weights: tuple[float, ...] = PATRON_WEIGHTS
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
            lo, hi, integer = PER_PHASE_BOUNDS[name]
            checked = tuple(_check_number(f"{name}[{i}]", v, lo, hi, integer=integer) for i, v in enumerate(value))
            object.__setattr__(self, name, tuple(int(v) for v in checked) if integer else checked)
        for name in ("power", "identification", "alpha_west", "alpha_far", "west_shock"):
            object.__setattr__(self, name, _check_number(name, getattr(self, name), 0.0, 1.0))
        for name in SCALE_FIELDS:
            object.__setattr__(self, name, _check_number(name, getattr(self, name), 0.0, SCALE_MAX.get(name, 10.0)))
        object.__setattr__(self, "gamma", _check_number("gamma", self.gamma, 0.0, 0.999999))
        if not isinstance(self.weights, tuple | list) or len(self.weights) != 3:
            raise _err("weights", self.weights, "three numbers (security, autonomy, economy)")
        weights = tuple(float(_check_number(f"weights[{i}]", w, 0.0, 1.0)) for i, w in enumerate(self.weights))
        object.__setattr__(self, "weights", weights)
        if not isinstance(self.patron_weights, tuple | list) or len(self.patron_weights) != len(PATRON_WEIGHTS):
            raise _err("patron_weights", self.patron_weights,
                       f"{len(PATRON_WEIGHTS)} numbers in [0, 1] ({', '.join(PATRON_WEIGHT_NAMES)})")
        object.__setattr__(self, "patron_weights", tuple(
            float(_check_number(f"patron_weights[{i}]", w, 0.0, 1.0)) for i, w in enumerate(self.patron_weights)))
        horizon = _check_number("horizon", self.horizon, 1, MAX_HORIZON, integer=True)
        object.__setattr__(self, "horizon", int(horizon))
        from envs.spaces import check_state  # local: spaces imports nothing from here

        object.__setattr__(self, "start", check_state(self.start, "start"))
        if not isinstance(self.finite_horizon, bool):
            raise _err("finite_horizon", self.finite_horizon, "true or false")
        if self.calendar is not None:
            cal = self.calendar
            if not isinstance(cal, tuple | list) or len(cal) != self.horizon:
                raise _err("calendar", cal, f"a list of {self.horizon} phases (one per step, = horizon)")
            for t, ph in enumerate(cal):
                _check_number(f"calendar[{t}]", ph, 0, N_PHASES - 1, integer=True)
            object.__setattr__(self, "calendar", tuple(int(v) for v in cal))
            if not self.finite_horizon:
                raise _err("finite_horizon", self.finite_horizon, "true when a calendar is given")

    # ------------------------------------------------------------------ helpers
    @property
    def time_in_observation(self) -> bool:
        """Whether the observation carries ``t / horizon`` (timeline and calendar, section 2)."""
        return self.finite_horizon

    @property
    def table_patron(self) -> bool:
        """Whether the patron plays section 4's table with full support (sigma = 2 in every phase): the
        single-agent model of sections 4-10 exactly, whatever its demand and pressure."""
        return self.support == (2,) * N_PHASES

    @property
    def stationary(self) -> bool:
        """Stationary scenarios are solved for the infinite-horizon optimum (section 10)."""
        return not self.finite_horizon

    def continuation(self) -> AllianceParams:
        """The model whose V*_inf is the value after the last quarter (section 7): the
        `timeline` model with phases by hazard, infinite horizon."""
        return replace(self, calendar=None, finite_horizon=False, name=f"{self.name}:continuation")

    def with_overrides(self, overrides: Mapping[str, Any], name: str | None = None) -> AllianceParams:
        """A copy with fields replaced. A single number for a per-phase field replaces the
        parameter in every phase (docs/model.md section 7). Unknown keys raise ``ValueError``."""
        if not isinstance(overrides, Mapping):
            raise _err("overrides", overrides, "a mapping of parameter names to values")
        known = set(param_field_names())
        clean: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise ValueError(f"override {short_repr(key)} is not a model parameter: allowed are {allowed}")
            if key in PER_PHASE_FIELDS and _is_number(value):
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

