"""The discovery read across the sampled space (issue 31) on hand-made rows: one-at-a-time pairs are the
design's (A, AB_i) rows ordered by the factor, a label's fragility counts the samples a ±.02 move of a
threshold relabels, criteria read on pairs use the blocks as units, and the table by integer level
splits the samples by level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.archetypes import STAT_NAMES
from training.study import space

LIMITED = dict(m_bar=2.0, f3=0.0, f2=0.6, k_bar=0.0, g2=0.0, f_med=0.0, f_far=0.0, f_west=0.0, R_bar=3.0)


def test_pairs_are_the_a_and_ab_rows_ordered_by_the_factor_and_ties_are_left_out():
    # two factors (block = 4 rows: A, AB_x, AB_y, B), three blocks
    values = pd.DataFrame({"x": [0.1, 0.9, 0.1, 0.5, 0.8, 0.2, 0.8, 0.3, 0.4, 0.4, 0.4, 0.6],
                           "y": [0.5, 0.5, 0.7, 0.7, 0.2, 0.2, 0.9, 0.9, 1.0, 1.0, 2.0, 2.0]})
    frame = pd.DataFrame({"m_bar": np.arange(12.0)})
    p = space.pairs(frame, values, "x", n_sobol=12, block=4, keys=["m_bar"])
    # block 0: A x=.1 (row 0), AB_x x=.9 (row 1): rises; block 1: A x=.8 (row 4), AB_x x=.2 (row 5): the
    # pair is ordered by x, so lo is row 5; block 2: x .4 and .4: a tie, left out
    assert p["block"].tolist() == [0, 1]
    assert p["lo"].tolist() == [0.1, 0.2] and p["hi"].tolist() == [0.9, 0.8]
    assert p["m_bar_lo"].tolist() == [0.0, 5.0] and p["m_bar_hi"].tolist() == [1.0, 4.0]


def test_a_label_at_a_threshold_is_fragile_and_one_far_from_every_threshold_is_not():
    at = {**LIMITED, "f2": 0.3}  # limited participation exactly at f2 >= .3
    far = LIMITED  # f2 = .6, every other statistic far from its thresholds
    stats = pd.DataFrame([at, far, far, far])[list(STAT_NAMES)]
    labels = space.relabel(stats)
    assert labels.tolist() == ["limited_participation"] * 4
    rows = space.label_shares("war", "all", labels, stats, np.arange(4), seed=0)
    (row,) = rows
    assert row["share"] == 1.0 and row["fragility"] == pytest.approx(0.25)
    assert row["share_min"] == pytest.approx(0.75) and row["share_max"] == 1.0
    # a phase not visited (NaN statistics) keeps its label under every move
    nan = pd.DataFrame([{k: np.nan for k in STAT_NAMES}])
    assert space.relabel(nan).isna().all()


def test_criteria_on_pairs_resample_blocks_and_the_integer_table_splits_by_level():
    rng = np.random.default_rng(0)
    names = ["power", "demand_war"]
    block, n = 4, 40
    a = rng.random((n, 2))
    rows = []
    for i in range(n):
        b = rng.random(2)
        rows += [a[i], [b[0], a[i, 1]], [a[i, 0], b[1]], b]
    values = pd.DataFrame(np.array(rows), columns=names)
    values["demand_war"] = np.where(values["demand_war"] < 0.5, 2.0, 3.0)
    # m̄ falls with power only where demand_war = 2
    m = np.where(values["demand_war"] == 2, 2.0 - values["power"], 2.0)
    war = pd.DataFrame({**{k: 0.0 for k in STAT_NAMES}, "m_bar": m, "A_bar": 3.0, "value": 1.0,
                        "limited_family": False, "label": "mixed"})
    units = np.arange(len(values)) // block
    out = space.readings({"war": war}, values, units, n_sobol=len(values), block=block, seed=0)
    falls = next(r for r in out["H5"] if r["text"].startswith("m̄ falls"))
    p = space.pairs(war, values, "power", len(values), block, ["m_bar", "A_bar"])
    expected = ((p["m_bar_hi"] - p["m_bar_lo"]) < -0.05).mean()
    assert falls["share"] == pytest.approx(expected) and falls["n"] == len(p) and falls["low"] < falls["share"]
    table = space.conditional_table(
        lambda mask: {r["text"]: (r["share"], r["low"], r["high"])
                      for r in space.readings({"war": war}, values, units, len(values), block, 0, mask)["H5"]},
        values, ["demand_war"])
    by = {(r["factor"], r["level"]): r for r in table if r["headline"].startswith("m̄ falls")}
    assert by[("demand_war", 3.0)]["share"] == 0.0 and by[("demand_war", 2.0)]["share"] > 0.5
    assert by[("demand_war", 2.0)]["n"] + by[("demand_war", 3.0)]["n"] == len(values)
