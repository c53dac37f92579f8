"""H8's design (docs/h8.md, "The space"): a seeded Latin hypercube over the discovery's factors
(``configs/discovery/ranges.yaml``, mapped by :class:`training.discovery.ranges.Ranges` exactly as the
discovery maps them) plus the patron's eight reward weights, each uniform on [w/2, 2w] around its
docs/model.md section 11 default w (a factor of two either way: the weights are the model's
judgement, not measured).

The unit hypercube has the ranges' factors first (in the file's order), then the eight weights in
the order of :data:`envs.params.PATRON_WEIGHT_NAMES`; SALib's ``latin.sample`` draws it
(:func:`training.discovery.sampling.latin_unit`, the discovery's own sampler).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from envs.params import PATRON_WEIGHT_NAMES, PATRON_WEIGHTS, AllianceParams
from envs.scenarios import make_params
from training.discovery.ranges import Ranges
from training.discovery.sampling import latin_unit

PATRON_FACTOR = 2.0  # docs/h8.md: each weight uniform on [w / 2, 2 w]
PATRON_PREFIX = "patron_"
PATRON_REASON = ("u_P's weights (docs/model.md section 11) are the model's judgement, not measured: a factor of two "
                 "either way (docs/h8.md)")


def patron_names() -> list[str]:
    """The eight weights' factor names, ``patron_<term>``."""
    return [PATRON_PREFIX + n for n in PATRON_WEIGHT_NAMES]


def patron_bounds() -> dict[str, tuple[float, float]]:
    """Each weight's range [w / 2, 2 w] around its default."""
    return {PATRON_PREFIX + n: (w / PATRON_FACTOR, w * PATRON_FACTOR) for n, w in zip(PATRON_WEIGHT_NAMES, PATRON_WEIGHTS)}


def factor_names(ranges: Ranges) -> list[str]:
    """Every coordinate of the design: the ranges' factors, then the patron's weights."""
    return list(ranges.names) + patron_names()


def unit_rows(ranges: Ranges, n: int, seed: int) -> np.ndarray:
    """The design's ``n`` rows in the unit hypercube (seeded)."""
    return latin_unit(factor_names(ranges), n, seed)


def values(ranges: Ranges, unit: np.ndarray) -> pd.DataFrame:
    """Unit rows as factor values, one column per factor (the ranges' own mapping for theirs)."""
    unit = np.atleast_2d(np.asarray(unit, dtype=np.float64))
    d = len(ranges.names)
    if unit.shape[1] != d + len(PATRON_WEIGHTS):
        raise ValueError(f"unit rows: shape (n, {d + len(PATRON_WEIGHTS)}) expected, got {unit.shape}")
    frame = ranges.values(unit[:, :d])
    for j, (name, (low, high)) in enumerate(patron_bounds().items()):
        u = unit[:, d + j]
        if not np.all((u >= 0) & (u <= 1)):
            raise ValueError(f"unit rows: column {name} outside [0, 1]")
        frame[name] = low + u * (high - low)
    return frame


def row_params(ranges: Ranges, row_values: dict[str, float], base: AllianceParams | str) -> AllianceParams:
    """``base`` with one row's values: the ranges' factors as the discovery applies them, then the
    patron's weights."""
    own = {k: v for k, v in row_values.items() if not k.startswith(PATRON_PREFIX)}
    params = ranges.params(own, make_params(base) if isinstance(base, str) else base)
    weights = tuple(float(row_values[n]) for n in patron_names())
    return params.with_overrides({"patron_weights": weights})


@dataclass(frozen=True)
class Design:
    """The whole design: its unit rows, their values, each row's parameters."""

    names: list[str]
    unit: np.ndarray
    values: pd.DataFrame
    params: tuple[AllianceParams, ...]


def build_design(ranges: Ranges, n: int, seed: int, scenario: str) -> Design:
    """The design of ``n`` rows of ``scenario`` (seeded)."""
    unit = unit_rows(ranges, n, seed)
    vals = values(ranges, unit)
    base = make_params(scenario)
    params = tuple(row_params(ranges, vals.iloc[i].to_dict(), base) for i in range(n))
    return Design(factor_names(ranges), unit, vals, params)
