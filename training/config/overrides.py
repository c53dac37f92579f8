"""Which world a config names: a scenario of docs/model.md section 7 and overrides of its parameters
(section 4), checked by the model's own checks (:func:`envs.scenarios.make_params`). Shared by the
run config's ``env`` and the study config's sweep levels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envs.params import param_field_names
from envs.scenarios import make_params, scenario_names, scenario_problem
from training.config.errors import Problems, line, not_allowed

SCENARIOS = ", ".join(scenario_names()) + ", or a scenario file (.yaml)"


def scenario_name(value: Any) -> Any:
    """A named scenario of docs/model.md section 7 (before the type check: anything else is one line)."""
    problem = scenario_problem(value) if isinstance(value, str) else f"one of {SCENARIOS}"
    if problem:
        raise not_allowed(problem)
    return value


def override_problems(found: Problems, loc: tuple, overrides: Mapping[Any, Any], scenario: str | None) -> None:
    """Scenario overrides (docs/model.md section 4 parameters) at ``loc``: unknown names, each value alone
    and, if those are fine, all together (values fine alone may clash) against ``scenario`` (None:
    the scenario is bad, only the names are checked)."""
    known = param_field_names()
    before = len(found.details)
    for key, value in overrides.items():
        if not isinstance(key, str):
            found.bad_key(loc, key)
        elif key not in known:
            found.add((*loc, key), not_allowed(f"not a model parameter; allowed are {', '.join(known)}"), value)
        elif scenario is not None:
            try:
                make_params(scenario, {key: value})
            except ValueError as exc:
                found.add(loc, line(f".{exc}"))
    if len(found.details) == before and overrides and scenario is not None:
        try:
            make_params(scenario, dict(overrides))
        except ValueError as exc:
            found.add(loc, line(f".{exc}"))
