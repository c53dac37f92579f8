"""Named scenarios of docs/model.md section 7. Each override carries a one-line reason. A scenario
file (``envs.scenario_file``, a path ending in .yaml) is accepted wherever a name is.

``make_params("war")`` returns the frozen parameters; ``make_params("war", {"identification": 0.9})``
applies overrides (a YAML mapping works the same way, see :func:`params_from_mapping`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from envs.params import N_PHASES, PHASE_NAMES, AllianceParams, short_repr

if TYPE_CHECKING:
    from envs.scenario_file import ScenarioSpec

TIMELINE_STEPS = 44  # 2014Q1..2024Q4
# Section 7: phase by date, t = 0 is 2014Q1.
CALENDAR = (0,) * 26 + (1,) * 6 + (2,) * 5 + (3,) * 1 + (4,) * 6
assert len(CALENDAR) == TIMELINE_STEPS


def _timeline() -> AllianceParams:
    # 2014Q1: hedging era, low threat, high autonomy, trusted patron, West partly open, no far arc.
    return AllianceParams(name="timeline", horizon=TIMELINE_STEPS, start=(0, 1, 4, 3, 1, 0),
                          finite_horizon=True)


def _phase(phase: int) -> AllianceParams:
    # One phase held fixed (h = 0): 80-step training episodes, start (T2, A4, R3, W1, X0).
    return AllianceParams(name=f"phase{phase}", hazard=(0.0,) * N_PHASES, horizon=80,
                          start=(phase, 2, 4, 3, 1, 0))


def _war_variant(name: str, **overrides: Any) -> AllianceParams:
    return _phase(4).with_overrides(overrides, name=name)


SCENARIOS: dict[str, Any] = {
    "timeline": _timeline,
    # The same 44 quarters, phases by date (section 7).
    "calendar": lambda: _timeline().with_overrides({"calendar": CALENDAR}, name="calendar"),
    **{f"phase{i}": (lambda i=i: _phase(i)) for i in range(N_PHASES)},
    # `war` is the protracted war (phase 4) held fixed.
    "war": lambda: _phase(4).with_overrides({}, name="war"),
    # Alternatives open: the West does not lock the state out, and no W shock.
    "alt_open": lambda: _war_variant("alt_open", lockout=1.0, west_shock=0.0),
    # Low threat: the threat target of the hedging era in every phase.
    "low_threat": lambda: _war_variant("low_threat", tau=0.8),
    # Strong identification with the alliance.
    "high_id": lambda: _war_variant("high_id", identification=0.9),
    # No identification with the alliance.
    "low_id": lambda: _war_variant("low_id", identification=0.0),
    # A strong small state (own power c = .9).
    "strong": lambda: _war_variant("strong", power=0.9),
    # No mediation opening in any phase.
    "no_mediation": lambda: _war_variant("no_mediation", mediation=0.0),
}

# One line per named scenario: what it is and why (``alliance scenarios`` prints these).
DESCRIPTIONS: dict[str, str] = {
    "timeline": "2014Q1-2024Q4 (44 quarters) from the hedging era; phases move by the hazards; then the "
                "continuation model's optimum",
    "calendar": "the same 44 quarters with the phases by date (hedging era to 2020Q2, regime crisis, "
                "invasion 2022Q1, patron crisis 2023Q2, war from 2023Q3)",
    **{f"phase{i}": f"phase {i} ({PHASE_NAMES[i]}) held fixed (no hazard), 80-quarter episodes from (T2, A4, R3, W1, X0)"
       for i in range(N_PHASES)},
    "war": "the protracted war (phase 4) held fixed: the main stationary case",
    "alt_open": "war, but alternatives open: the West does not lock the state out (lockout 1) and no West shock",
    "low_threat": "war with the hedging era's low threat target (tau = 0.8) in every phase",
    "high_id": "war with strong identification with the alliance (identification = 0.9)",
    "low_id": "war with no identification with the alliance (identification = 0)",
    "strong": "war for a strong small state (own power c = 0.9)",
    "no_mediation": "war with no mediation opening in any phase (mediation = 0)",
}


def scenario_names() -> list[str]:
    return list(SCENARIOS)


def _files():
    """:mod:`envs.scenario_file`, imported on first use: it brings pydantic and YAML (about 9 MB of
    resident memory) that a named scenario, and so the exact solvers on one, never needs."""
    from envs import scenario_file

    return scenario_file


def make_params(scenario: str | os.PathLike | AllianceParams = "war",
                overrides: Mapping[str, Any] | None = None) -> AllianceParams:
    """Parameters of a named scenario or of a scenario file (a path ending in .yaml or .yml, see
    ``envs.scenario_file``), with optional overrides. Unknown names raise ``ValueError``."""
    if isinstance(scenario, AllianceParams):
        base = scenario
    elif isinstance(scenario, str) and scenario in SCENARIOS:
        base = SCENARIOS[scenario]()
    elif _files().looks_like_path(scenario):
        base = read_scenario(scenario).params
    else:
        raise ValueError(f"scenario={short_repr(scenario)} is not allowed: one of {', '.join(SCENARIOS)}, "
                         "or a scenario file (.yaml)")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ValueError(f"overrides={short_repr(overrides)} is not allowed: a mapping of parameter names to values")
    if overrides:
        return base.with_overrides(overrides)
    return base


def read_scenario(path: str | os.PathLike) -> ScenarioSpec:
    """A scenario file, its ``base`` resolved among the named scenarios (``envs.scenario_file``)."""
    return _files().read_scenario_file(path, SCENARIOS)


def scenario_problem(scenario: Any) -> str | None:
    """Why ``scenario`` cannot be used, as the end of a one-line message (what is allowed, or the
    scenario file's own error), or None: a named scenario, or a scenario file that reads and checks."""
    if isinstance(scenario, str) and scenario in SCENARIOS:
        return None
    if _files().looks_like_path(scenario):
        try:
            read_scenario(scenario)
        except ValueError as exc:
            return " ".join(str(exc).split())
        return None
    return f"one of {', '.join(SCENARIOS)}, or a scenario file (.yaml)"


def scenario_key(scenario: str | os.PathLike) -> str:
    """The name a scenario goes by in folder and file names: a named scenario's own name, a
    scenario file's ``name`` (not its path, which holds slashes)."""
    if isinstance(scenario, str) and scenario in SCENARIOS:
        return scenario
    return make_params(scenario).name


def params_from_mapping(mapping: Mapping[str, Any]) -> AllianceParams:
    """A scenario from a YAML-style mapping: ``{"scenario": "war", "overrides": {...}}`` or
    ``{"scenario": "war", "identification": 0.9, ...}``."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"scenario mapping={short_repr(mapping)} is not allowed: a mapping with a 'scenario' key")
    data = dict(mapping)
    name = data.pop("scenario", "war")
    overrides = data.pop("overrides", None)
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"overrides={short_repr(overrides)} is not allowed: a mapping of parameter names to values")
    twice = sorted(set(overrides) & set(data), key=str)
    if twice:
        key = twice[0]
        raise ValueError(f"{key} is given twice, overrides.{key}={short_repr(overrides[key])} and {key}="
                         f"{short_repr(data[key])}: give it once, in overrides or at the top level")
    return make_params(name, {**overrides, **data})
