"""Sampling and analysis primitives of training/discovery on problems with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.discovery import latin_unit, prim_boxes, share_interval, sobol_indices, sobol_unit
from training.discovery.analysis import grouped_indices
from training.discovery.sampling import grouped_unit

# Ishigami (a = 7, b = 0.1) on [-pi, pi]^3: analytic first-order and total indices (Saltelli et al. 2008)
A, B = 7.0, 0.1
V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
V1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1_TRUE = np.array([V1 / V, V2 / V, 0.0])
ST_TRUE = np.array([(V1 + V13) / V, V2 / V, V13 / V])


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_match_the_analytic_values_within_their_intervals():
    names = ["x1", "x2", "x3"]
    unit = sobol_unit(names, 2**12, seed=1)
    assert unit.shape == (2**12 * 5, 3) and unit.min() >= 0 and unit.max() <= 1
    idx = sobol_indices(names, ishigami(-np.pi + 2 * np.pi * unit), seed=2)
    assert list(idx.index) == names
    assert np.all(np.abs(idx["S1"].to_numpy() - S1_TRUE) <= idx["S1_conf"].to_numpy())
    assert np.all(np.abs(idx["ST"].to_numpy() - ST_TRUE) <= idx["ST_conf"].to_numpy())
    assert np.all(idx["S1_conf"] < 0.05) and np.all(idx["ST_conf"] < 0.05)  # the intervals say something


def test_samples_are_seeded_and_sized():
    names = ["a", "b"]
    assert np.array_equal(sobol_unit(names, 8, seed=3), sobol_unit(names, 8, seed=3))
    assert not np.array_equal(sobol_unit(names, 8, seed=3), sobol_unit(names, 8, seed=4))
    lhs = latin_unit(names, 10, seed=5)
    assert lhs.shape == (10, 2) and np.array_equal(lhs, latin_unit(names, 10, seed=5))
    # a Latin hypercube has one point in each of the n strata of every coordinate
    assert all(sorted(np.floor(lhs[:, j] * 10).astype(int)) == list(range(10)) for j in range(2))
    with pytest.raises(ValueError, match="power of two"):
        sobol_unit(names, 12, seed=0)


def test_sobol_indices_refuse_outputs_of_the_wrong_length_and_a_constant_output_has_none():
    with pytest.raises(ValueError, match="Saltelli"):
        sobol_indices(["a", "b"], np.zeros(7), seed=0)
    assert sobol_indices(["a", "b"], np.ones(8), seed=0)["ST"].isna().all()


def test_prim_recovers_a_planted_box():
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.random((3000, 5)), columns=list("abcde"))
    inside = ((x.a > 0.3) & (x.a < 0.7) & (x.b < 0.4)).to_numpy()
    noise = rng.random(len(x)) < 0.03
    flags = inside ^ noise
    boxes = prim_boxes(x, flags, threshold=0.9)
    first = boxes[boxes.box == 0].set_index("input")
    assert set(first.index) == {"a", "b"}
    assert abs(first.loc["a", "low"] - 0.3) < 0.05 and abs(first.loc["a", "high"] - 0.7) < 0.05
    assert first.loc["b", "high"] == pytest.approx(0.4, abs=0.05)
    assert first["density"].iloc[0] >= 0.9 and first["coverage"].iloc[0] >= 0.8


def test_prim_with_no_case_of_interest_finds_no_box():
    x = pd.DataFrame(np.random.default_rng(0).random((200, 2)), columns=["a", "b"])
    assert prim_boxes(x, np.zeros(200, bool)).empty


def test_share_interval_covers_the_share_and_has_the_binomial_width():
    rng = np.random.default_rng(2)
    flags = rng.random(4000) < 0.3
    share, lo, hi = share_interval(flags, seed=0, units=np.arange(4000))
    assert share == flags.mean() and lo < share < hi and lo < 0.3 < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * np.sqrt(0.3 * 0.7 / 4000), rel=0.2)
    assert share_interval(np.ones(10, bool), seed=0, units=np.arange(10)) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="units"):
        share_interval(flags, seed=0, units=np.arange(10))


def test_share_interval_of_rows_copied_within_blocks_widens_as_the_blocks_say():
    """Issue 31: 150 independent flags, each copied into a block of 28 rows (as a Saltelli block's AB rows
    share all but one coordinate with A). The design holds 150 independent draws, not 4,200: resampled by
    blocks the interval has the binomial width of 150 draws, sqrt(28) ≈ 5.3 times the width a row
    bootstrap gives. A row bootstrap (each row its own unit) fails the first assertion."""
    n, block, p = 150, 28, 0.3
    rng = np.random.default_rng(5)
    flags = np.repeat(rng.random(n) < p, block)
    units = np.repeat(np.arange(n), block)
    share, lo, hi = share_interval(flags, seed=1, units=units)
    assert (hi - lo) == pytest.approx(2 * 1.96 * np.sqrt(share * (1 - share) / n), rel=0.2)
    _, row_lo, row_hi = share_interval(flags, seed=1, units=np.arange(n * block))
    assert (hi - lo) / (row_hi - row_lo) == pytest.approx(np.sqrt(block), rel=0.25)
    # blocks of unequal size (Latin rows are units of one): the share is still the share of rows
    mixed = np.concatenate([flags, np.ones(40, bool)])
    s2, lo2, hi2 = share_interval(mixed, seed=1, units=np.concatenate([units, n + np.arange(40)]))
    assert s2 == mixed.mean() and lo2 < s2 < hi2


def test_sample_units_are_the_saltelli_blocks_then_each_latin_row():
    """The unit of each row of the discovery's sample: SALib's order is A, AB_1 .. AB_D, B per base row,
    and each AB_i differs from its block's A in coordinate i only."""
    from repo import REPO

    from training.config.discovery import DiscoveryConfig
    from training.discovery.plan import sample_rows, sample_units
    from training.discovery.ranges import load_ranges

    ranges = load_ranges(REPO / "configs" / "discovery" / "ranges.yaml")
    dcfg = DiscoveryConfig(scenarios=["war"], sobol_n=4, lhs=5, ranges=str(REPO / "configs" / "discovery" / "ranges.yaml"))
    rows, design = sample_rows(ranges, dcfg)
    units = sample_units(ranges, dcfg)
    d = len(ranges.names)
    assert len(units) == len(rows) == 4 * (d + 2) + 5
    assert list(np.unique(units[design == "lhs"], return_counts=True)[1]) == [1] * 5
    for b in range(4):
        block = rows[units == b]
        assert len(block) == d + 2
        assert all(np.flatnonzero(block[0] != block[1 + i]).tolist() == [i] for i in range(d))


def test_sobol_intervals_are_the_same_for_the_same_seed_including_0():
    """SALib skips seeding for a seed of 0 (``if seed:``): the study's seed 0 must still fix the bootstrap."""
    names = ["x1", "x2", "x3"]
    unit = sobol_unit(names, 64, seed=0)
    y = ishigami(-np.pi + 2 * np.pi * unit)
    first, again = (sobol_indices(names, y, seed=0, resamples=200) for _ in range(2))
    assert first.equals(again)


def test_grouped_indices_of_ishigami_match_the_groups_analytic_values_within_their_intervals():
    """Groups {x1} and {x2, x3}: x1's total index is ST1; the pair's total index is 1 - S1(x1) (the
    variance x1 alone does not explain) and its first-order index V2 / V (x2 + x3 without x1's
    interaction)."""
    names, groups = ["x1", "x2", "x3"], ["one", "pair", "pair"]
    unit = grouped_unit(names, groups, 2**12, seed=1)
    assert unit.shape == (2**12 * 4, 3)
    idx = grouped_indices(names, groups, ishigami(-np.pi + 2 * np.pi * unit), seed=2)
    assert list(idx.index) == ["one", "pair"]
    truth_st, truth_s1 = np.array([ST_TRUE[0], 1 - S1_TRUE[0]]), np.array([S1_TRUE[0], V2 / V])
    assert np.all(np.abs(idx["ST"].to_numpy() - truth_st) <= idx["ST_conf"].to_numpy())
    assert np.all(np.abs(idx["S1"].to_numpy() - truth_s1) <= idx["S1_conf"].to_numpy())
    assert np.all(idx["ST_conf"] < 0.05)
    # the largest of the pair's factor ST (x2's, .44) reads the pair's total effect (.69) well short
    assert idx.loc["pair", "ST"] - idx.loc["pair", "ST_conf"] > ST_TRUE[1]
    with pytest.raises(ValueError, match="grouped Saltelli"):
        grouped_indices(names, groups, np.zeros(7), seed=0)
