"""Contexts of the contextual env (issue 30; CARL's conventions): a list of parameter sets the env
draws one of at each ``reset``, and the features a learner may see of it.

``contexts`` is either

- a non-empty list of override dicts, each a context as ``overrides=`` takes it (applied on top of
  the env's scenario, ``params`` and ``overrides``); or
- ``{"sample": N, "seed": S}``: N contexts drawn from ``configs/discovery/ranges.yaml`` by the rules
  of :mod:`envs.ranges` (uniform, log-uniform or integer on [low, high]; the discovery's one copy):
  a unit row ``numpy.random.default_rng(S).random((N, D))`` mapped by ``Ranges.value_arrays`` and
  applied to the scenario by ``Ranges.params``. A context is then the dict factor -> value.

Features (``context_features``): for sampled contexts, every factor of the ranges file, scaled to
[0, 1] by its ``[low, high]`` (linearly, also for a log or integer factor). For a list of override
dicts, every numeric entry of the parameters that differs between the contexts (``name`` for a
number, ``name[i]`` for the i-th entry of a per-phase tuple or of ``weights``), scaled by the range
of the ranges file's factor that sets exactly that entry when there is one (widened to the values
given), else by the smallest and largest value among the contexts.

Bad input is a one-line ``ValueError`` naming the context, the key, the value and what is allowed
(the parameter checks are :mod:`envs.params`').
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from envs.params import PER_PHASE_FIELDS, AllianceParams, short_repr
from envs.ranges import Ranges, load_ranges

RANGES_FILE = Path(__file__).resolve().parents[1] / "configs" / "discovery" / "ranges.yaml"
SAMPLE_ALLOWED = ('a non-empty list of override dicts (one per context) or {"sample": N, "seed": S} '
                  "with integers N >= 1 and S >= 0")


@lru_cache(maxsize=1)
def default_ranges() -> Ranges:
    """The discovery's ranges (``configs/discovery/ranges.yaml``), read and checked once."""
    return load_ranges(RANGES_FILE)


@dataclass(frozen=True)
class ContextSet:
    """The contexts of one env: ``contexts[i]`` (the dict given or sampled), ``params[i]`` (its
    parameter set), ``features`` (names) and ``feature_values`` ``(C, F)`` float32 in [0, 1]."""

    contexts: tuple[dict, ...]
    params: tuple[AllianceParams, ...]
    features: tuple[str, ...]
    feature_values: np.ndarray

    def __len__(self) -> int:
        return len(self.params)

    def check_id(self, context_id: Any, name: str = "options.context_id") -> int:
        """A context id in ``0..C-1``; a one-line ``ValueError`` otherwise."""
        ok = isinstance(context_id, int | np.integer) and not isinstance(context_id, bool | np.bool_)
        if not ok or not 0 <= int(context_id) < len(self):
            raise ValueError(f"{name}={short_repr(context_id)} is not allowed: an integer in 0..{len(self) - 1} "
                             f"(one of the {len(self)} contexts)")
        return int(context_id)


def _int(value: Any, lowest: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_) and value >= lowest


def sample_values(n: int, seed: int, ranges: Ranges | None = None) -> list[dict[str, float]]:
    """N contexts of the ranges (factor -> value), seeded: the rows of
    ``default_rng(seed).random((n, D))`` mapped by the ranges' rules."""
    ranges = ranges or default_ranges()
    unit = np.random.default_rng(seed).random((n, len(ranges.names)))
    cols = ranges.value_arrays(unit)
    return [{name: (int(round(cols[name][i])) if ranges.factors[name].integer else float(cols[name][i]))
             for name in ranges.names} for i in range(n)]


def check_sample_spec(spec: Any) -> tuple[int, int]:
    """``(N, S)`` of a ``{"sample": N, "seed": S}`` mapping; a one-line ``ValueError`` otherwise."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"contexts={short_repr(spec)} is not allowed: {SAMPLE_ALLOWED}")
    unknown = sorted(set(spec) - {"sample", "seed"}, key=str)
    if unknown:
        raise ValueError(f"contexts key {short_repr(unknown[0])} is not allowed: {SAMPLE_ALLOWED}")
    n, seed = spec.get("sample"), spec.get("seed")
    if not _int(n, 1):
        raise ValueError(f"contexts.sample={short_repr(n)} is not allowed: an integer >= 1 (contexts to draw)")
    if not _int(seed, 0):
        raise ValueError(f"contexts.seed={short_repr(seed)} is not allowed: an integer >= 0")
    return int(n), int(seed)


def _sampled(spec: Mapping, base: AllianceParams) -> ContextSet:
    n, seed = check_sample_spec(spec)
    ranges = default_ranges()
    values = sample_values(n, seed, ranges)
    params = tuple(ranges.params(v, base) for v in values)
    lows = np.array([ranges.factors[k].low for k in ranges.names])
    highs = np.array([ranges.factors[k].high for k in ranges.names])
    raw = np.array([[v[k] for k in ranges.names] for v in values], dtype=np.float64).reshape(len(values), -1)
    scaled = np.clip((raw - lows) / (highs - lows), 0.0, 1.0).astype(np.float32)
    return ContextSet(tuple(values), params, tuple(ranges.names), scaled)


def _entries(p: AllianceParams) -> dict[str, float]:
    """The numeric entries of a parameter set: ``name`` or ``name[i]`` -> value."""
    out: dict[str, float] = {}
    for f in fields(p):
        v = getattr(p, f.name)
        if isinstance(v, bool | int | float | np.number) and not isinstance(v, str):
            out[f.name] = float(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, int | float | np.number) for x in v):
            out.update({f"{f.name}[{i}]": float(x) for i, x in enumerate(v)})
    return out


def _file_range(entry: str, ranges: Ranges) -> tuple[float, float] | None:
    """[low, high] of the ranges' factor that sets exactly ``entry`` (mode 'set'), if there is one."""
    param, _, rest = entry.partition("[")
    phase = int(rest[:-1]) if rest else None
    for f in ranges.factors.values():
        if f.param != param or f.mode != "set":
            continue
        if param in PER_PHASE_FIELDS and phase is not None and phase in (f.phases or range(5)):
            return f.low, f.high
        if param not in PER_PHASE_FIELDS and phase is None:
            return f.low, f.high
    return None


def _listed(items: Sequence, base: AllianceParams) -> ContextSet:
    params = []
    for i, ctx in enumerate(items):
        if not isinstance(ctx, Mapping):
            raise ValueError(f"contexts[{i}]={short_repr(ctx)} is not allowed: an override dict "
                             "(parameter name -> value), as overrides= takes")
        try:
            params.append(base.with_overrides(dict(ctx)))
        except ValueError as exc:
            raise ValueError(f"contexts[{i}]: {exc}") from None
    for i, p in enumerate(params):
        for key in ("horizon", "finite_horizon", "time_in_observation"):
            if getattr(p, key) != getattr(params[0], key):
                raise ValueError(f"contexts[{i}].{key}={short_repr(getattr(p, key))} is not allowed: every context "
                                 f"must share {key} ({short_repr(getattr(params[0], key))} in contexts[0])")
    entries = [_entries(p) for p in params]
    names = [k for k in entries[0] if len({e[k] for e in entries}) > 1]
    raw = np.array([[e[k] for k in names] for e in entries], dtype=np.float64).reshape(len(params), len(names))
    ranges = default_ranges()
    cols = []
    for j, k in enumerate(names):
        lo, hi = float(raw[:, j].min()), float(raw[:, j].max())
        file_range = _file_range(k, ranges)
        if file_range is not None:
            lo, hi = min(lo, file_range[0]), max(hi, file_range[1])
        cols.append((raw[:, j] - lo) / (hi - lo))
    scaled = np.clip(np.array(cols).T.reshape(len(params), len(names)), 0.0, 1.0).astype(np.float32)
    return ContextSet(tuple(dict(c) for c in items), tuple(params), tuple(names), scaled)


def make_contexts(contexts: Any, base: AllianceParams) -> ContextSet:
    """The :class:`ContextSet` of ``contexts`` (see the module docstring) on top of ``base``."""
    if isinstance(contexts, Mapping):
        return _sampled(contexts, base)
    if isinstance(contexts, Sequence) and not isinstance(contexts, str):
        if len(contexts) == 0:
            raise ValueError(f"contexts=[] is not allowed: {SAMPLE_ALLOWED}")
        return _listed(contexts, base)
    raise ValueError(f"contexts={short_repr(contexts)} is not allowed: {SAMPLE_ALLOWED}")


def check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}={short_repr(value)} is not allowed: True or False")
    return bool(value)
