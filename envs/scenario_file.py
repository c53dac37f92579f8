"""Scenario files: a new case, calendar or counterfactual written down in YAML (docs/scenarios.md).

A scenario file carries a name, a description, every parameter of :class:`envs.params.AllianceParams`
it wants to change, the per-phase table, a calendar of phases by quarter, the start state and the
horizon::

    name: calendar_west_open
    description: The calendar, but the West does not close after the 2020 election.
    base: calendar                      # optional: a named scenario to start from
    start: {phase: 0, threat: 1, autonomy: 4, trust: 3, west: 1, fararc: 0}
    phases:                             # the per-phase table: five values, or one for every phase
      lockout: [1.0, 1.0, 1.0, 1.0, 1.0]
    parameters:
      west_shock: 0.0
    calendar:                           # phases by date (t = 0 is the first quarter listed)
      2014Q1–2020Q2: 0
      2020Q3-2021Q4: 1                  # an en dash or an ASCII hyphen

``envs.scenarios.make_params(path)`` returns the :class:`AllianceParams`;
``envs.scenarios.read_scenario(path)`` the whole :class:`ScenarioSpec` (description, first quarter). The keys of ``phases`` and ``parameters`` are derived
from the dataclass's fields (``phases``: the per-phase fields; ``parameters``: every other field
but the ones with a key of their own), so a field added to ``AllianceParams`` is settable here
without an edit. Checking is in two layers, each with one-line errors naming the key, the value
and what is allowed: pydantic (``extra="forbid"``) for the file's structure, then
``AllianceParams`` itself for every value's range (one place for the bounds).

Reading is safe: a regular file (never a FIFO or a device), at most :data:`MAX_BYTES` bytes,
UTF-8, ``yaml.safe_load``'s plain data with a key given twice refused, and no anchors or aliases
(nothing in a scenario needs them, and they can expand a small file into a huge one).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, create_model

from envs.params import N_PHASES, PER_PHASE_FIELDS, AllianceParams, short_repr
from envs.yaml_loader import UniqueKeyLoader

MAX_BYTES = 256 * 1024  # a scenario is a few dozen lines; more is not a scenario file
SUFFIXES = (".yaml", ".yml")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # it names result folders and report rows
OWN_KEYS = ("name", "horizon", "start", "calendar")  # fields with a top-level key of their own
QUARTER = re.compile(r"^\s*(\d{4})\s*Q([1-4])\s*$")
DASHES = ("\u2013", "-")  # en dash (as docs/model.md writes periods) or an ASCII hyphen


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; the message is one line naming the file and the key."""


def _param_fields(own: bool) -> list[str]:
    return [f.name for f in fields(AllianceParams) if (f.name in OWN_KEYS) == own]


def phase_keys() -> list[str]:
    """Keys of ``phases``: the per-phase fields of ``AllianceParams``."""
    return [name for name in _param_fields(own=False) if name in PER_PHASE_FIELDS]


def parameter_keys() -> list[str]:
    """Keys of ``parameters``: every other field of ``AllianceParams`` without a key of its own."""
    return [name for name in _param_fields(own=False) if name not in PER_PHASE_FIELDS]


_STRICT = ConfigDict(extra="forbid", frozen=True)
# Values are Any here on purpose: AllianceParams checks each one (range, type, length) with its own
# one-line message, so the bounds live in one place.
PhaseTable = create_model("PhaseTable", __config__=_STRICT, **{k: (Any, None) for k in phase_keys()})
Parameters = create_model("Parameters", __config__=_STRICT, **{k: (Any, None) for k in parameter_keys()})


class ScenarioModel(BaseModel):
    """The structure of a scenario file (values are checked by ``AllianceParams``)."""

    model_config = _STRICT

    name: StrictStr
    description: StrictStr
    base: StrictStr | None = None
    horizon: Any = None
    start: dict[StrictStr, Any] | None = None
    phases: PhaseTable | None = None  # type: ignore[valid-type]
    parameters: Parameters | None = None  # type: ignore[valid-type]
    calendar: dict[Any, Any] | None = None


TOP_KEYS = tuple(ScenarioModel.model_fields)
ALLOWED_AT = {(): TOP_KEYS, ("phases",): tuple(phase_keys()), ("parameters",): tuple(parameter_keys())}
WHAT = {
    "name": f"a name matching {NAME_PATTERN} (letters, digits, _ . -)",
    "description": "a text saying what the scenario is and why",
    "base": "the name of a named scenario to start from",
    "start": "a mapping of the six variables phase, threat, autonomy, trust, west, fararc",
    "phases": "a mapping of per-phase parameters to five values (or one for every phase)",
    "parameters": "a mapping of parameter names to values",
    "calendar": "a mapping of quarters or periods (2014Q1 or 2014Q1–2020Q2) to phases 0..4",
}


@dataclass(frozen=True)
class ScenarioSpec:
    """What a scenario file says: the parameters and the words around them."""

    params: AllianceParams
    description: str
    path: str
    first_quarter: tuple[int, int] | None  # (year, quarter) of t = 0 when a calendar is given


# ----------------------------------------------------------------------------------------- reading
class _Loader(UniqueKeyLoader):
    """The project's YAML loader (a key given twice refused) that also refuses any anchor or alias."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None) is not None:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "anchors and aliases (&name, *name) are not allowed", mark)
        return super().compose_node(parent, index)


def _read_text(path: str) -> str:
    """The file's text: a regular file of at most MAX_BYTES bytes, UTF-8 (opened without blocking,
    so a FIFO is refused instead of hanging)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ScenarioFileError(f"scenario file {path!r} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ScenarioFileError(f"scenario file {path!r} is not allowed: a regular file is needed")
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ScenarioFileError(f"scenario file {path!r} is not allowed: more than {MAX_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"scenario file {path!r} is not allowed: byte 0x{raw[exc.start]:02x} at "
                                f"position {exc.start} is not UTF-8 text") from None


def _parse(text: str, where: str) -> dict:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or "invalid YAML").split())
        raise ScenarioFileError(f"{where} is not allowed: {problem}{at} (plain YAML is needed, each key once, "
                                "no anchors)") from None
    except (RecursionError, ValueError) as exc:  # nested too deeply; an integer of > 4,300 digits
        raise ScenarioFileError(f"{where} is not allowed: not plain YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ScenarioFileError(f"{where}: a {type(data).__name__} is not allowed: a mapping with the keys "
                                f"{', '.join(TOP_KEYS)}")
    return data


def _pydantic_line(err: ValidationError, where: str) -> str:
    """The first problem pydantic found, as one line naming the key, the value and what is allowed."""
    first = err.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        allowed = ALLOWED_AT.get(loc[:-1], ())
        return (f"{where}: {key}={short_repr(first.get('input'))} is not allowed: an unknown key; the keys here "
                f"are {', '.join(allowed)}")
    what = WHAT.get(loc[0], first["msg"])
    if first["type"] == "missing":
        return f"{where}: {key} is missing: {what}"
    return f"{where}: {key}={short_repr(first.get('input'))} is not allowed: {what}"


# ---------------------------------------------------------------------------------------- calendar
def _quarter(text: str) -> tuple[int, int] | None:
    match = QUARTER.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _index(q: tuple[int, int]) -> int:
    return q[0] * 4 + q[1] - 1


def quarter_name(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def _period(key: Any) -> tuple[int, int] | None:
    """(first, last) quarter indices of ``2014Q1`` or ``2014Q1–2020Q2``; None if malformed."""
    if not isinstance(key, str):
        return None
    for dash in DASHES:
        if dash in key:
            left, _, right = key.partition(dash)
            a, b = _quarter(left), _quarter(right)
            return (_index(a), _index(b)) if a and b else None
    one = _quarter(key)
    return (_index(one), _index(one)) if one else None


def parse_calendar(calendar: dict, where: str) -> tuple[tuple[int, ...], tuple[int, int]]:
    """The phase of each quarter t = 0, 1, ... and the first quarter (year, q). Periods must be
    in order and follow one another without gap or overlap."""
    if not calendar:
        raise ScenarioFileError(f"{where}: calendar={{}} is not allowed: {WHAT['calendar']}")
    phases: list[int] = []
    first = nxt = None
    for key, phase in calendar.items():
        span = _period(key)
        if span is None or span[1] < span[0]:
            raise ScenarioFileError(f"{where}: calendar key {short_repr(key)} is not allowed: a quarter like "
                                    "2014Q1 or a period like 2014Q1–2020Q2 (first quarter before the last)")
        ok = isinstance(phase, int) and not isinstance(phase, bool) and 0 <= phase < N_PHASES
        if not ok:
            raise ScenarioFileError(f"{where}: calendar[{key}]={short_repr(phase)} is not allowed: "
                                    f"a phase, an integer in 0..{N_PHASES - 1}")
        if first is None:
            first = nxt = span[0]
        if span[0] != nxt:
            raise ScenarioFileError(f"{where}: calendar key {key!r} is not allowed: it must start at "
                                    f"{quarter_name(nxt)}, right after the period before it (no gap, no overlap)")
        phases.extend([phase] * (span[1] - span[0] + 1))
        nxt = span[1] + 1
    return tuple(phases), (first // 4, first % 4 + 1)


# ----------------------------------------------------------------------------------------- params
def _section_of(message: str) -> str:
    """``phases.`` or ``parameters.`` for an AllianceParams message naming a field."""
    field = re.match(r"^([A-Za-z_]+)", message)
    if field and field.group(1) in PER_PHASE_FIELDS:
        return "phases."
    if field and field.group(1) in parameter_keys():
        return "parameters."
    return ""


def spec_from_mapping(data: Any, where: str = "scenario", bases: Mapping[str, Callable[[], AllianceParams]] | None = None
                      ) -> ScenarioSpec:
    """Check a scenario mapping (as read from YAML) and build its parameters. ``bases`` are the
    scenarios ``base`` may name (``envs.scenarios.SCENARIOS``, passed in: that module imports this one)."""
    if not isinstance(data, dict):
        raise ScenarioFileError(f"{where}: a {type(data).__name__} is not allowed: a mapping")
    try:
        spec = ScenarioModel.model_validate(data)
    except ValidationError as err:
        raise ScenarioFileError(_pydantic_line(err, where)) from None
    if not re.match(NAME_PATTERN, spec.name):
        raise ScenarioFileError(f"{where}: name={short_repr(spec.name)} is not allowed: {WHAT['name']}")
    if not spec.description.strip():
        raise ScenarioFileError(f"{where}: description={spec.description!r} is not allowed: {WHAT['description']}")
    named = bases or {}
    if spec.base is not None and spec.base not in named:
        raise ScenarioFileError(f"{where}: base={short_repr(spec.base)} is not allowed: one of {', '.join(named)}")
    base = named[spec.base]() if spec.base else AllianceParams()
    overrides: dict[str, Any] = {}
    for section in (spec.phases, spec.parameters):
        if section is not None:
            overrides.update({k: getattr(section, k) for k in section.model_fields_set})
    first_quarter = None
    if spec.calendar is not None:
        calendar, first_quarter = parse_calendar(spec.calendar, where)
        if spec.horizon is not None and spec.horizon != len(calendar):
            raise ScenarioFileError(f"{where}: horizon={short_repr(spec.horizon)} is not allowed: the calendar "
                                    f"covers {len(calendar)} quarters; leave horizon out or set {len(calendar)}")
        overrides.update(calendar=calendar, horizon=len(calendar))
        overrides.setdefault("finite_horizon", True)
    elif spec.horizon is not None:
        overrides["horizon"] = spec.horizon
    if spec.start is not None:
        overrides["start"] = spec.start
    try:
        params = base.with_overrides(overrides, name=spec.name)
    except ValueError as exc:
        message = " ".join(str(exc).split())
        raise ScenarioFileError(f"{where}: {_section_of(message)}{message}") from None
    return ScenarioSpec(params=params, description=spec.description.strip(), path=where, first_quarter=first_quarter)


def looks_like_path(scenario: Any) -> bool:
    """A scenario argument meant as a file: a path object, or a string ending in .yaml/.yml."""
    if isinstance(scenario, os.PathLike):
        return True
    return isinstance(scenario, str) and scenario.lower().endswith(SUFFIXES)


def read_scenario_file(path: str | os.PathLike,
                       bases: Mapping[str, Callable[[], AllianceParams]] | None = None) -> ScenarioSpec:
    """Read, check and build a scenario file; any problem is a one-line :class:`ScenarioFileError`.
    ``envs.scenarios.read_scenario`` passes the named scenarios as ``bases``."""
    where = str(Path(path))
    return spec_from_mapping(_parse(_read_text(where), where), where, bases)
