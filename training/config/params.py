"""The model's parameters a command names: a scenario of docs/model.md section 7, or a YAML file of
parameters, each optionally with overrides written ``NAME[key=value,...]``.

A scenario with overrides has one name everywhere a run is scored and named (issue 28: a run trained
on ``war`` with ``identification=0.9`` was benchmarked on plain ``war`` under the column ``war``):
:func:`scenario_label` writes it, ``war[identification=0.9]`` (keys sorted, each value as JSON), and
:func:`load_params` reads it back, so a column of a benchmark is also a valid ``--scenarios`` entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envs.params import AllianceParams
from envs.scenarios import make_params, params_from_mapping
from training.config.files import parse_yaml, read_yaml

_LABEL = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<overrides>.*)\]$", re.DOTALL)


def scenario_label(scenario: str, overrides: Mapping[str, Any] | None = None) -> str:
    """``war`` or ``war[identification=0.9]``: a scenario (name or file) with its overrides, keys
    sorted, each value as JSON (a per-phase list as ``[0.1,0.2,0.3,0.4,0.5]``)."""
    if not overrides:
        return str(scenario)
    items = ",".join(f"{k}={json.dumps(_plain(v), separators=(',', ':'))}" for k, v in sorted(overrides.items()))
    return f"{scenario}[{items}]"


def labelled_params(scenario: str, overrides: Mapping[str, Any] | None = None) -> AllianceParams:
    """The parameters of a scenario with overrides, named by :func:`scenario_label` (a report that
    shows ``params.name`` then shows the overrides too)."""
    params = make_params(scenario, dict(overrides) if overrides else None)
    return params.with_overrides({}, name=scenario_label(scenario, overrides)) if overrides else params


def parse_label(text: str) -> tuple[str, dict[str, Any]] | None:
    """``('war', {'identification': 0.9})`` from ``war[identification=0.9]``; None if ``text`` has no
    ``[...]`` part.

    :raises ValueError: a part that is not KEY=VALUE, or a key given twice (one line)
    """
    match = _LABEL.match(text.strip())
    if match is None:
        return None
    overrides: dict[str, Any] = {}
    for part in _top_level_split(match["overrides"]):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or key in overrides:
            why = "given twice" if key in overrides else "not KEY=VALUE"
            raise ValueError(f"scenario={text!r} is not allowed: {part.strip()!r} is {why}; write overrides as "
                             "NAME[key=value,...], e.g. war[identification=0.9]")
        try:
            overrides[key] = json.loads(value)
        except ValueError:
            overrides[key] = parse_yaml(value, f"scenario={text!r}: {key}")
    return match["name"].strip(), overrides


def split_scenarios(text: str) -> list[str]:
    """A comma-separated list of scenarios whose overrides may hold commas themselves."""
    return [s.strip() for s in _top_level_split(text) if s.strip()]


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def load_params(scenario: str) -> AllianceParams:
    """A named scenario, a scenario file (docs/scenarios.md: ``name``, ``description``, ...), or a
    YAML file holding ``{scenario: NAME, overrides: {...}}`` (``envs.scenarios.params_from_mapping``);
    ``NAME[key=value,...]`` adds overrides to a name or file (:func:`parse_label`)."""
    if scenario.endswith((".yaml", ".yml")) or Path(scenario).is_file():
        mapping = read_yaml(scenario)
        if not (isinstance(mapping, dict) and "scenario" in mapping):
            return make_params(Path(scenario))
        try:
            return params_from_mapping(mapping)
        except ValueError as exc:
            raise ValueError(f"{scenario}: {exc}") from None
    if Path(scenario).is_dir():
        raise IsADirectoryError(f"{scenario}: a folder, not a YAML file or a scenario name")
    labelled = parse_label(scenario)
    if labelled is not None:
        return labelled_params(*labelled)
    return make_params(scenario)
