"""The units of a discovery: batches of samples (or of phase-diagram cells) of one scenario, each
solved by one task (:func:`run_batch`; Ray runs it, the study driver stores what it returns).

Samples: Saltelli's sample (``sobol_n * (D + 2)`` rows, for Sobol indices) then ``lhs`` Latin-hypercube
rows, both seeded, in the unit hypercube over the factors of the ranges file; each row is mapped to a
scenario's parameters by :meth:`training.discovery.ranges.Ranges.unit_params`. Diagram cells: an
``n x n`` grid over two model parameters of the diagram's scenario, every other parameter at the
scenario's value.

A batch's file is ``discovery/batches/<scenario>_<kind>_<first row>.json`` (where it lives); the study
stores its unit key with it (``training/study/keys.py``: a hash of its resolved parameter sets,
scenario, baselines, the rows' version :data:`~training.discovery.solving.DISCOVERY_VERSION` and the
model's version), which says whether it is still right: a killed discovery continues from the
batches on disk, and a batch stored from other inputs (ranges, seed, batch size, scenario, model) is
stale and computed again, as the study's other units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.params import AllianceParams
from envs.scenarios import make_params
from training.config.discovery import DiscoveryConfig
from training.discovery.ranges import Ranges, load_ranges
from training.discovery.sampling import grouped_unit, latin_unit, sobol_unit
from training.discovery.solving import analyse_batch

FOLDER = "discovery"


@dataclass(frozen=True)
class Batch:
    """One task: ``params`` of ``scenario`` solved together; ``first`` is the index of its first row
    among the samples (or the diagram's cells); ``coords`` the rows' sample coordinates or cell values."""

    kind: str  # "sample", "grouped" or "diagram:<name>"
    scenario: str
    first: int
    coords: tuple[tuple[float, ...], ...]
    params: tuple[AllianceParams, ...]
    baselines: tuple[str, ...] | None = None  # whose share of V* to store (None: all)

    def relpath(self) -> str:
        """Where its file lives, relative to the study's out folder (its position, not its content)."""
        return f"{FOLDER}/batches/{self.scenario}_{self.kind.replace(':', '_')}_{self.first:06d}.json"


def sample_rows(ranges: Ranges, dcfg: DiscoveryConfig) -> tuple[np.ndarray, np.ndarray]:
    """The unit rows (Saltelli first, then Latin) and each row's design name."""
    parts = [sobol_unit(ranges.names, dcfg.sobol_n, dcfg.seed)]
    if dcfg.lhs:
        parts.append(latin_unit(ranges.names, dcfg.lhs, dcfg.seed))
    design = np.array(["sobol"] * len(parts[0]) + ["lhs"] * (dcfg.lhs or 0))
    return np.concatenate(parts), design


def sample_units(ranges: Ranges, dcfg: DiscoveryConfig) -> np.ndarray:
    """The independent unit of each sample row (in :func:`sample_rows`' order), for bootstraps: SALib's
    Saltelli sample comes in blocks of D + 2 rows (A, AB_1 .. AB_D, B; AB_i is A with B's i-th
    coordinate), so a block is one unit; each Latin row is its own."""
    block = len(ranges.names) + 2
    n_sobol = dcfg.sobol_n * block
    return np.concatenate([np.arange(n_sobol) // block, dcfg.sobol_n + np.arange(dcfg.lhs or 0)])


GROUPED = "grouped"
GROUPED_SEED_OFFSET = 1
"""The grouped design's seed is the discovery's + 1: with the same seed its A and B matrices would be the
first rows of the main design's (the same scrambled Sobol' sequence), solved twice and not independent."""


def group_names(ranges: Ranges) -> list[str]:
    """Each factor's group, in the factors' order."""
    return [ranges.factors[n].group for n in ranges.names]


def grouped_rows(ranges: Ranges, dcfg: DiscoveryConfig) -> np.ndarray:
    """The grouped Saltelli sample (``grouped_n * (G + 2)`` unit rows; none when ``grouped_n`` is 0)."""
    if not dcfg.grouped_n:
        return np.zeros((0, len(ranges.names)))
    return grouped_unit(ranges.names, group_names(ranges), dcfg.grouped_n, dcfg.seed + GROUPED_SEED_OFFSET)


def diagram_cells(dcfg: DiscoveryConfig, name: str) -> tuple[list[str], np.ndarray]:
    """The two parameters of diagram ``name`` and its ``n * n`` cells (x varies fastest)."""
    axes = dcfg.diagram.axes[name]
    (px, (x0, x1)), (py, (y0, y1)) = axes.items()
    xs, ys = np.linspace(x0, x1, dcfg.diagram.n), np.linspace(y0, y1, dcfg.diagram.n)
    grid = np.array([(x, y) for y in ys for x in xs])
    return [px, py], grid


def _chunks(n: int, size: int) -> list[range]:
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def plan_batches(dcfg: DiscoveryConfig, ranges: Ranges | None = None) -> list[Batch]:
    """Every batch of the discovery, samples then diagrams, in a fixed order.

    :raises training.discovery.ranges.RangesError: the ranges file is bad (one line, before any work)
    """
    ranges = ranges or load_ranges(dcfg.ranges)
    rows, _ = sample_rows(ranges, dcfg)
    batches = _design_batches("sample", rows, ranges, dcfg, None if dcfg.baselines is None else tuple(dcfg.baselines))
    batches += plan_grouped(dcfg, ranges)
    if dcfg.diagram is not None:
        for name in dcfg.diagram.axes:
            (px, py), cells = diagram_cells(dcfg, name)
            base = make_params(dcfg.diagram.scenario)
            for chunk in _chunks(len(cells), dcfg.batch):
                params = tuple(base.with_overrides({px: float(cells[i, 0]), py: float(cells[i, 1])}) for i in chunk)
                batches.append(Batch(f"diagram:{name}", dcfg.diagram.scenario, chunk.start,
                                     tuple(tuple(map(float, cells[i])) for i in chunk), params, ()))
    return batches


def plan_grouped(dcfg: DiscoveryConfig, ranges: Ranges) -> list[Batch]:
    """The batches of the grouped design (issue 31), per scenario: kind ``grouped``, no baselines (the
    groups' indices read the optimum's own outputs)."""
    rows = grouped_rows(ranges, dcfg)
    if not len(rows):
        return []
    return _design_batches(GROUPED, rows, ranges, dcfg, ())


def _design_batches(kind: str, rows, ranges: Ranges, dcfg: DiscoveryConfig, names: tuple | None) -> list[Batch]:
    """The batches of one design's rows (unit-cube samples), per scenario, ``dcfg.batch`` rows each."""
    values = ranges.values(rows)
    batches = []
    for scenario in dcfg.scenarios:
        base = make_params(scenario)
        for chunk in _chunks(len(rows), dcfg.batch):
            params = tuple(ranges.params(values.iloc[i].to_dict(), base) for i in chunk)
            batches.append(Batch(kind, scenario, chunk.start, tuple(tuple(map(float, rows[i])) for i in chunk),
                                 params, names))
    return batches


def run_batch(batch: Batch) -> dict[str, Any]:
    """Solve a batch (diagram cells without the baselines: a cell is the optimum's archetype)."""
    clock = time.perf_counter()
    rows = analyse_batch(batch.params, batch.baselines)
    return {"kind": batch.kind, "scenario": batch.scenario, "first": batch.first,
            "coords": [list(c) for c in batch.coords], "rows": rows,
            "seconds": round(time.perf_counter() - clock, 3)}
