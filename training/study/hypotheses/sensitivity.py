"""H7: do threat and the alternatives decide more than power and identification, over the sampled space?

Criteria written before the first full discovery run (issue 15): for the limited-participation indicator
and for m̄, in each scenario of the discovery, the total Sobol index of `threat` and that of the
`alternatives` each exceed those of `power` and of `identification`.

A group's total index is read from the grouped Saltelli design (issue 31; SALib's ``groups``:
``discovery/grouped_sobol.csv``), with its 95 % interval: a criterion **holds** when the decisive group's
interval lies above both others', **fails** when it lies below either, and is **undecided** when they
overlap. The first reading — a group's largest factor ST (a lower bound of its index) against the sum of
its factors' ST (an upper bound) — is shown beside it; without a grouped design the criteria are read
from those bounds (holds: the lower bound above the others' indices; fails: the upper bound below
either; undecided otherwise; power and identification are one factor each, so both bounds are their
index).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from training.render.tables import fmt
from training.study.hypotheses.common import EPS, FAILS, HOLDS, UNDECIDED, criterion, result, untested

H7_DECISIVE = ("threat", "alternatives")
H7_OTHERS = ("power", "identification")
H7_OUTPUTS = {"limited_family": "limited-participation indicator", "m_bar": "m̄"}
TITLE = "Threat and alternatives decide, more than power and identification (global sensitivity)"


def group_indices(sobol: Sequence[Mapping], scenario: str, output: str) -> dict[str, tuple[float, float]]:
    """group -> (largest ST of its factors, sum of their ST) for one scenario and output (NaN-free rows)."""
    out: dict[str, tuple[float, float]] = {}
    for r in sobol:
        if r["scenario"] == scenario and r["output"] == output and not math.isnan(float(r["ST"])):
            mx, sm = out.get(r["group"], (-math.inf, 0.0))
            out[r["group"]] = (max(mx, float(r["ST"])), sm + float(r["ST"]))
    return out


def grouped(rows: Sequence[Mapping], scenario: str, output: str) -> dict[str, tuple[float, float, float]]:
    """group -> (ST, low, high) of the grouped design's total index and its 95 % interval (NaN-free rows)."""
    return {r["group"]: (float(r["ST"]), float(r["ST"]) - float(r["ST_conf"]), float(r["ST"]) + float(r["ST_conf"]))
            for r in rows if r["scenario"] == scenario and r["output"] == output and not math.isnan(float(r["ST"]))}


def compare(dec: tuple[float, float], others: Sequence[tuple[float, float]]) -> str:
    """holds / fails / undecided for a decisive group's (low, high) against the others' (low, high)."""
    if any(math.isnan(v) for pair in (dec, *others) for v in pair):
        return UNDECIDED
    if all(dec[0] > o[1] + EPS for o in others):
        return HOLDS
    return FAILS if any(dec[1] < o[0] - EPS for o in others) else UNDECIDED


def _iv(v: tuple[float, float, float]) -> str:
    return f"{fmt(v[0])} [{fmt(v[1])}, {fmt(v[2])}]"


def h7(data: Mapping) -> dict:
    disc = data.get("discovery") or {}
    sobol, rows_g = disc.get("sobol") or [], disc.get("grouped_sobol") or []
    use_grouped = bool(rows_g)
    source = rows_g if use_grouped else sobol
    scenarios = [s for s in disc.get("scenarios", []) if any(r["scenario"] == s for r in source)]
    if not scenarios:
        return untested("H7", TITLE, "the study has no discovery section, or its Saltelli samples are not solved yet")
    crit, rows = [], []
    nan3 = (math.nan, math.nan, math.nan)
    for s in scenarios:
        for output, words in H7_OUTPUTS.items():
            b = group_indices(sobol, s, output)
            g = grouped(rows_g, s, output) if use_grouped else {k: (v[0], v[0], v[1]) for k, v in b.items()}
            if not g:
                crit.append(criterion(f"{s}, {words}: indices defined", "constant output (no variance)", False,
                                      status=UNDECIDED))
                continue
            for dec in H7_DECISIVE:
                d, others = g.get(dec, nan3), {o: g.get(o, nan3) for o in H7_OTHERS}
                status = compare((d[1], d[2]), [(v[1], v[2]) for v in others.values()])
                what = "grouped ST [95 % interval]" if use_grouped else "ST [largest, sum]"
                crit.append(criterion(f"{s}, {words}: ST({dec}) > ST(power) and > ST(identification) ({what})",
                                      f"{_iv(d)} vs {_iv(others['power'])}, {_iv(others['identification'])}",
                                      status == HOLDS, status=status))
            for grp, v in sorted(g.items(), key=lambda kv: -kv[1][0]):
                mx, sm = b.get(grp, (math.nan, math.nan))
                rows.append([s, words, grp, _iv(v) if use_grouped else "", fmt(mx), fmt(sm)])
    best = {}
    for s in scenarios:
        g = (grouped(rows_g, s, "limited_family") or grouped(rows_g, s, "m_bar")) if use_grouped else {
            k: (v[0],) for k, v in (group_indices(sobol, s, "limited_family") or group_indices(sobol, s, "m_bar")).items()}
        if g and max(v[0] for v in g.values()) > 0:
            best[s] = max(g, key=lambda k: g[k][0])
    summary = ("The group with the largest total index for the limited-participation indicator (else m̄) is "
               + ", ".join(f"`{grp}` in `{s}`" for s, grp in best.items()) + ".") if best else ""
    note = ("A group's total index is computed directly on the grouped Saltelli design (SALib's groups: a group's "
            "factors move together), with its 95 % bootstrap interval; a criterion whose intervals overlap is "
            "undecided. Beside it, the first reading's bounds from the factor-level design: the largest ST among a "
            "group's factors (a lower bound) and their sum (an upper bound)." if use_grouped else
            "No grouped design in this study: a group is read from its factors' ST — the largest (a lower bound "
            "of its total index) and the sum (an upper bound); a criterion the bounds cannot settle is undecided.")
    return result("H7", TITLE, crit, ["scenario", "output", "group", "grouped ST [95 % interval]", "largest factor ST",
                                      "sum of factor ST"], rows, note=note, summary=summary)
