"""Scenario discovery and global sensitivity over the model's plausible parameter space (issue 15).

``study`` imports it; it imports ``config``, ``results``, ``agents`` and ``envs`` (the rule in
``training/__init__.py``), numpy, scipy, pandas, SALib and the EMA Workbench.

- :mod:`.ranges`: the uncertainty ranges (configs/discovery/ranges.yaml, docs/uncertainty.md):
  :func:`load_ranges` -> :class:`Ranges` (``values(unit)``, ``params(values, base)``,
  ``unit_params(row, base)``, ``defaults()``); :class:`RangesError`; :func:`markdown_table`.
- :mod:`.sampling`: seeded unit-hypercube samples with SALib: :func:`sobol_unit` (Saltelli),
  :func:`grouped_unit` (Saltelli over groups of factors), :func:`latin_unit`.
- :mod:`.analysis`: :func:`sobol_indices` (S1, ST with 95 % intervals), :func:`grouped_indices` (each
  group's own S1, ST), :func:`prim_boxes` (PRIM, EMA Workbench), :func:`share_interval` (bootstrap
  95 % interval of a share over the design's independent units).
"""

from training.discovery.analysis import grouped_indices, prim_boxes, share_interval, sobol_indices
from training.discovery.ranges import Ranges, RangesError, load_ranges, markdown_table, ranges_from_mapping
from training.discovery.sampling import grouped_unit, latin_unit, sobol_unit, unit_problem

__all__ = ["Ranges", "RangesError", "grouped_indices", "grouped_unit", "latin_unit", "load_ranges", "markdown_table", "prim_boxes",
           "ranges_from_mapping", "share_interval", "sobol_indices", "sobol_unit", "unit_problem"]
