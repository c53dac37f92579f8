"""The uncertainty ranges of the model's parameters (configs/discovery/ranges.yaml, docs/uncertainty.md).

The one copy of the ranges' rules (uniform, log-uniform, integer; how a value lands on a scenario's
parameters): the discovery (``training.discovery.ranges`` re-exports it) and the contextual env
(``envs.contexts``) both read them here, on the lowest floor.

A ranges file is validated whole before any work: pydantic checks each factor's shape, then every
default (docs/model.md's value, from ``AllianceParams()``) must lie in its range and the model must accept
every factor at both ends. Any problem is a :class:`RangesError`, one line naming the factor and field.

A factor maps a coordinate ``u`` of the unit hypercube to a value (uniform, log-uniform or integer on
[low, high]) and the value onto a scenario's parameters (:meth:`Ranges.params`): ``set`` replaces the
listed phases' entries, ``scale`` multiplies the scenario's own entries. The reward weights are sampled
as ``weight_autonomy`` = w_A and ``weight_economy_share`` = w_E / (w_S + w_E), so that they always sum to
1 and stay independent coordinates (Sobol indices need independent inputs); an unsampled one keeps
the scenario's value.

Every numeric parameter must be sampled (a per-phase one in every phase) or listed under ``fixed``
with a reason; a per-phase parameter under ``fixed`` may still be sampled in some phases (the others
keep the scenario's entries).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from envs.params import N_PHASES, PER_PHASE_FIELDS, AllianceParams, param_field_names, short_repr
from envs.scenarios import make_params
from envs.yaml_loader import UniqueKeyLoader

WEIGHT_FACTORS = ("weight_autonomy", "weight_economy_share")
GROUPS = ("threat", "patron", "alternatives", "power", "identification", "mediation", "preferences", "mechanism")
NOT_NUMERIC = ("finite_horizon",)  # a switch, not a number
DOMAIN = {"pressure": (0, 1, "IP is a switch, on or off (docs/model.md section 4)")}
"""Parameters whose meaning allows less than the bounds ``envs.params`` checks: (low, high, why). A range
must stay inside (the model accepts IP = 2, but docs/model.md defines only IP off or on)."""


class RangesError(ValueError):
    """A bad ranges file: the message is one line naming the factor, the field, the value and what is allowed."""


class Factor(BaseModel):
    """One sampled coordinate: which parameter, how, over which range, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    param: str
    phases: tuple[int, ...] | None = None
    mode: Literal["set", "scale"] = "set"
    low: float = Field(strict=True, allow_inf_nan=False)
    high: float = Field(strict=True, allow_inf_nan=False)
    integer: bool = False
    log: bool = False
    group: Literal[GROUPS]  # type: ignore[valid-type]
    reason: str = Field(min_length=10)

    @field_validator("param")
    @classmethod
    def _known(cls, v: str) -> str:
        allowed = [n for n in param_field_names() if n not in ("weights", *NOT_NUMERIC)] + list(WEIGHT_FACTORS)
        if v not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return v

    @field_validator("phases")
    @classmethod
    def _phases(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if v is not None and (not v or len(set(v)) != len(v) or not all(0 <= p < N_PHASES for p in v)):
            raise ValueError(f"distinct phases in 0..{N_PHASES - 1}")
        return v


class RangesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    factors: dict[str, Factor] = Field(min_length=1)
    fixed: dict[str, str] = {}


def _fail(where: str, msg: str) -> RangesError:
    return RangesError(f"{where}: {msg}".replace("\n", " "))


class Ranges:
    """Validated ranges: ``names`` in file order, ``factors[name]``, ``fixed[param] = reason``."""

    def __init__(self, spec: RangesFile, source: str = "ranges") -> None:
        self.source = source
        self.factors: dict[str, Factor] = dict(spec.factors)
        self.fixed = dict(spec.fixed)
        self.names = list(self.factors)
        self._check()

    # ------------------------------------------------------------------ values
    def default(self, name: str, base: AllianceParams | None = None) -> float:
        """The factor's value at ``base`` (docs/model.md's defaults when None): 1 for ``scale``."""
        f, base = self.factors[name], base or AllianceParams()
        if f.mode == "scale":
            return 1.0
        if f.param == "weight_autonomy":
            return base.weights[1]
        if f.param == "weight_economy_share":
            return base.weights[2] / (base.weights[0] + base.weights[2])
        value = getattr(base, f.param)
        return value[(f.phases or (0,))[0]] if f.param in PER_PHASE_FIELDS else value

    def defaults(self) -> dict[str, float]:
        return {n: self.default(n) for n in self.names}

    def values(self, unit: np.ndarray) -> Any:
        """Rows of the unit hypercube ``(n, D)`` as factor values, one column per factor (a pandas
        ``DataFrame``; :meth:`value_arrays` gives the columns as arrays)."""
        import pandas as pd  # heavy: only where a table is asked for (``import envs`` stays fast)

        return pd.DataFrame(self.value_arrays(unit))

    def value_arrays(self, unit: np.ndarray) -> dict[str, np.ndarray]:
        """Rows of the unit hypercube ``(n, D)`` as factor values: factor name -> ``(n,)`` array."""
        unit = np.atleast_2d(np.asarray(unit, dtype=np.float64))
        if unit.shape[1] != len(self.names) or not np.all((unit >= 0) & (unit <= 1)):
            raise ValueError(f"unit rows: shape (n, {len(self.names)}) in [0, 1] expected, got {unit.shape}")
        cols = {}
        for j, name in enumerate(self.names):
            f, u = self.factors[name], unit[:, j]
            if f.integer:
                cols[name] = f.low + np.minimum(np.floor(u * (f.high - f.low + 1)), f.high - f.low)
            elif f.log:  # libm's pow, not NumPy's: NumPy's AVX-512 power differs in the last bit on some
                # rows, and a sample's parameters enter its batch's content key (the same keys on every CPU)
                cols[name] = f.low * np.array([math.pow(f.high / f.low, x) for x in u.tolist()], dtype=np.float64)
            else:
                cols[name] = f.low + u * (f.high - f.low)
        return cols

    def params(self, values: Mapping[str, float], base: AllianceParams | str) -> AllianceParams:
        """``base`` (a scenario's parameters, or its name) with the sampled ``values`` (name -> value) applied."""
        base = make_params(base) if isinstance(base, str) else base
        over: dict[str, Any] = {}
        w_a = w_e_share = None
        for name, v in values.items():
            if name not in self.factors:
                raise ValueError(f"factor {short_repr(name)} is not in {self.source}: one of {', '.join(self.names)}")
            f = self.factors[name]
            v = int(round(v)) if f.integer else float(v)
            if f.param == "weight_autonomy":
                w_a = v
            elif f.param == "weight_economy_share":
                w_e_share = v
            elif f.param in PER_PHASE_FIELDS:
                row = list(over.get(f.param, getattr(base, f.param)))
                for ph in f.phases or range(N_PHASES):
                    row[ph] = getattr(base, f.param)[ph] * v if f.mode == "scale" else v
                over[f.param] = tuple(row)
            else:
                over[f.param] = getattr(base, f.param) * v if f.mode == "scale" else v
        if w_a is not None or w_e_share is not None:
            w_s, w_a0, w_e = base.weights
            w_a = w_a0 if w_a is None else w_a
            share = w_e / (w_s + w_e) if w_e_share is None else w_e_share
            over["weights"] = ((1 - w_a) * (1 - share), w_a, (1 - w_a) * share)
        return base.with_overrides(over) if over else base

    def unit_params(self, unit_row: Sequence[float], base: AllianceParams | str) -> AllianceParams:
        """One row of the unit hypercube as ``base``'s parameters with every factor applied."""
        return self.params(self.values(np.asarray(unit_row)[None, :]).iloc[0].to_dict(), base)

    # ------------------------------------------------------------------ checks
    def _check(self) -> None:
        covered: dict[str, set[int]] = {}
        for name, f in self.factors.items():
            where = f"{self.source}: factors.{name}"
            if not f.low < f.high:
                raise _fail(where, f"low={f.low!r} and high={f.high!r}: low must be below high")
            if f.log and f.low <= 0:
                raise _fail(where, f"low={f.low!r}: a log range needs low > 0")
            if f.integer and (f.low != int(f.low) or f.high != int(f.high) or f.log or f.mode == "scale"):
                raise _fail(where, "integer=true needs whole low and high, mode 'set' and no log")
            if f.phases is not None and f.param not in PER_PHASE_FIELDS:
                raise _fail(where, f"phases={list(f.phases)}: only for per-phase fields ({', '.join(PER_PHASE_FIELDS)})")
            if f.param in PER_PHASE_FIELDS:
                phases = set(f.phases or range(N_PHASES))
                if covered.get(f.param, set()) & phases:
                    raise _fail(where, f"phases of {f.param} {sorted(phases)} overlap another factor's")
                covered.setdefault(f.param, set()).update(phases)
                entries = {AllianceParams().__getattribute__(f.param)[p] for p in phases}
                if f.mode == "set" and len(entries) > 1:
                    raise _fail(where, f"mode 'set' over phases whose defaults differ ({sorted(entries)}): "
                                       "list phases with one default, or use mode 'scale'")
            else:
                covered.setdefault(f.param, set())
            if f.param in DOMAIN and f.mode == "set" and not DOMAIN[f.param][0] <= f.low <= f.high <= DOMAIN[f.param][1]:
                lo, hi, why = DOMAIN[f.param]
                raise _fail(where, f"[low={f.low!r}, high={f.high!r}] leaves the model's domain of {f.param}, "
                                   f"[{lo}, {hi}]: {why}")
            d = self.default(name)
            if not f.low <= d <= f.high:
                raise _fail(where, f"the default {d!r} (docs/model.md) is outside [low={f.low!r}, high={f.high!r}]")
        for key in self.fixed:
            if key not in param_field_names():
                raise _fail(f"{self.source}: fixed.{short_repr(key)}", "not a model parameter")
        self._check_coverage(covered)
        self._check_model_accepts_ends()

    def _check_coverage(self, covered: dict[str, set[int]]) -> None:
        for param in param_field_names():
            if param in NOT_NUMERIC or param in self.fixed:
                continue
            if param == "weights":
                if not set(WEIGHT_FACTORS) <= {self.factors[n].param for n in self.names}:
                    raise _fail(self.source, "the weights need factors weight_autonomy and weight_economy_share "
                                             "or an entry under fixed")
                continue
            need = set(range(N_PHASES)) if param in PER_PHASE_FIELDS else set()
            if param not in covered or not need <= covered[param]:
                raise _fail(self.source, f"parameter {param} is neither sampled (in every phase) nor under fixed "
                                         "with a reason")

    def _check_model_accepts_ends(self) -> None:
        base = AllianceParams()
        defaults = self.defaults()
        trials = [(name, end, {name: getattr(self.factors[name], end)}) for name in self.names for end in ("low", "high")]
        trials += [("all factors", end, {n: getattr(self.factors[n], end) for n in self.names}) for end in ("low", "high")]
        for name, end, vals in trials:
            try:
                self.params({**defaults, **vals}, base)
            except ValueError as exc:
                raise _fail(f"{self.source}: factors.{name}.{end}", f"the model rejects it: {exc}") from None


def load_ranges(path: str | Path) -> Ranges:
    """Read and validate a ranges YAML file; any problem is a one-line :class:`RangesError`."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RangesError(f"{path}: cannot be read as YAML: {first}") from None
    return ranges_from_mapping(data, source=str(path))


def ranges_from_mapping(data: Any, source: str = "ranges") -> Ranges:
    """Validate an already-parsed mapping (see :func:`load_ranges`)."""
    try:
        spec = RangesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        value = short_repr(err.get("input"))
        raise RangesError(f"{source}: {loc}={value} is not allowed: {err['msg']}".replace("\n", " ")) from None
    return Ranges(spec, source)
