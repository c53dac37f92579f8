"""Seeded samples of the unit hypercube with SALib: Saltelli's scheme for Sobol indices and Latin hypercubes.

Samples live in [0, 1]^D; :meth:`training.discovery.ranges.Ranges.values` maps them to parameter
values, so the same code serves the model and a test function (the Ishigami check). Sobol indices of
an output with respect to the unit coordinates equal those with respect to the values, since each
value is a function of its own coordinate only.
"""

from __future__ import annotations

import numpy as np
from SALib.sample import latin
from SALib.sample import sobol as sobol_sampler


def unit_problem(names: list[str]) -> dict:
    """SALib's problem dict over the unit hypercube."""
    if not names or len(set(names)) != len(names):
        raise ValueError(f"names={names!r} is not allowed: distinct factor names")
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def sobol_unit(names: list[str], n: int, seed: int) -> np.ndarray:
    """Saltelli's sample for first-order and total Sobol indices (no second order): ``n * (D + 2)``
    rows in SALib's order (scrambled Sobol' sequence, seeded). ``n`` must be a power of two (the
    sequence's balance properties; SALib only warns)."""
    if not isinstance(n, int) or n < 2 or n & (n - 1):
        raise ValueError(f"n={n!r} is not allowed: a power of two >= 2 (Saltelli base sample size)")
    return sobol_sampler.sample(unit_problem(names), n, calc_second_order=False, seed=seed)


def grouped_problem(names: list[str], groups: list[str]) -> dict:
    """SALib's problem dict over the unit hypercube with ``groups`` (one per name): Saltelli's scheme
    then moves a group's coordinates together, and the indices are the groups' own (Jacques et al. 2006)."""
    problem = unit_problem(names)
    if len(groups) != len(names) or len(set(groups)) < 2:
        raise ValueError(f"groups={groups!r} is not allowed: one group per factor, at least two groups")
    return {**problem, "groups": list(groups)}


def grouped_unit(names: list[str], groups: list[str], n: int, seed: int) -> np.ndarray:
    """Saltelli's sample for the groups' first-order and total indices: ``n * (G + 2)`` rows (G groups, in
    order of first appearance), in SALib's order; ``n`` a power of two as :func:`sobol_unit`."""
    if not isinstance(n, int) or n < 2 or n & (n - 1):
        raise ValueError(f"n={n!r} is not allowed: a power of two >= 2 (Saltelli base sample size)")
    return sobol_sampler.sample(grouped_problem(names, groups), n, calc_second_order=False, seed=seed)


def latin_unit(names: list[str], n: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` rows (seeded)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} is not allowed: a positive number of samples")
    return latin.sample(unit_problem(names), n, seed=seed)
