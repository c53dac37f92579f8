"""The discovery read across the sampled space (issue 31): shares with intervals over the design's
independent units, each label share's fragility near the thresholds of docs/model.md section 9, the
hypotheses' criteria as the share of samples (or of one-at-a-time pairs) where each holds, and every
headline share conditioned on each integer factor's level.

Intervals: the share of samples and its 95 % percentile-bootstrap interval, resampling the design's
independent units (:func:`training.discovery.plan.sample_units`: a Saltelli block of D + 2 rows is one
unit, each Latin row its own; :func:`training.discovery.analysis.share_interval`). One-at-a-time pairs:
in each Saltelli block, row AB_i differs from row A in factor i only, so (A, AB_i) is one pair per block
for factor i, ordered by the factor's value (ties of an integer factor left out); pairs of different
blocks are independent.

Pure functions of the stored rows (pandas frames) and the ranges; nothing here solves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agents.archetypes import STAT_NAMES, THRESHOLDS, label
from training.discovery.analysis import share_interval

EPS = 1e-9
SHIFT = 0.02  # issue 31: how far a threshold moves for a label's fragility
NEAR_ZERO, RECOGNITION_MAX, WITHIN, SHORT, HALF, MOVED = 0.05, 0.3, 0.85, 0.80, 0.5, 0.05  # as hypotheses' constants
INTERVAL_METHOD = ("95 % percentile bootstrap (2,000 resamples) over the design's independent units: each "
                   "Saltelli block (its A, B and the D rows AB_i that share all but one coordinate with A) is one "
                   "unit, each Latin row its own")


# ----------------------------------------------------------------------------------- label shares
def relabel(stats: pd.DataFrame, thresholds: Mapping[str, float] | None = None) -> pd.Series:
    """The archetype of each row of ``stats`` (columns: section 9's nine statistics) by
    :func:`agents.archetypes.label`; rows with a missing statistic (a phase not visited) are NaN."""
    out = []
    for row in stats[list(STAT_NAMES)].itertuples(index=False):
        out.append(np.nan if any(v != v for v in row) else label(row, thresholds))
    return pd.Series(out, index=stats.index, dtype=object)


def shifted_labels(stats: pd.DataFrame) -> list[pd.Series]:
    """The labels with each threshold moved by -SHIFT and by +SHIFT, one at a time."""
    return [relabel(stats, {name: value + sign * SHIFT}) for name, value in THRESHOLDS.items() for sign in (-1, 1)]


def label_shares(scenario: str, phase: str, labels: pd.Series, stats: pd.DataFrame | None, units: np.ndarray,
                 seed: int) -> list[dict[str, Any]]:
    """Per label: its share of the samples with a 95 % interval over units, and its fragility: the share
    of samples whose membership in the label changes when any one threshold moves by ±SHIFT, with the
    lowest and highest share over those moves (``stats``: the statistics the label was read from)."""
    labels = labels.fillna("not visited")
    moved = [s.fillna("not visited") for s in shifted_labels(stats)] if stats is not None else []
    out = []
    for lab in sorted(labels.unique()):
        flags = (labels == lab).to_numpy()
        share, low, high = share_interval(flags, seed, units)
        row = {"scenario": scenario, "phase": phase, "label": lab, "share": share, "low": low, "high": high,
               "n": len(labels)}
        if moved:
            members = np.array([(m == lab).to_numpy() for m in moved])
            row.update(fragility=float((members != flags).any(axis=0).mean()),
                       share_min=float(members.mean(axis=1).min()), share_max=float(members.mean(axis=1).max()))
        out.append(row)
    return out


def phase_stats_frame(frame: pd.DataFrame, phase: int) -> pd.DataFrame | None:
    """A phase's statistics as section 9's names (None when the rows do not hold all of them)."""
    cols = {f"phase{phase}_{k}": k for k in STAT_NAMES}
    return frame[list(cols)].rename(columns=cols) if set(cols) <= set(frame.columns) else None


# ----------------------------------------------------------------------------------------- pairs
def pairs(frame: pd.DataFrame, values: pd.DataFrame, factor: str, n_sobol: int, block: int,
          keys: Sequence[str]) -> pd.DataFrame:
    """The one-at-a-time pairs of ``factor`` in the Saltelli design: per block, the A row and the AB row
    that moves ``factor`` only, ordered so that ``factor`` rises; columns ``block``, ``lo``, ``hi`` (the
    factor's two values) and ``<key>_lo``, ``<key>_hi`` for each output key. Ties are left out."""
    i = list(values.columns).index(factor)
    a = np.arange(0, n_sobol, block)
    ab = a + 1 + i
    va, vb = values[factor].to_numpy()[a], values[factor].to_numpy()[ab]
    up = vb > va
    lo_rows, hi_rows = np.where(up, a, ab), np.where(up, ab, a)
    keep = va != vb
    out = {"block": np.arange(len(a))[keep], "lo": np.minimum(va, vb)[keep], "hi": np.maximum(va, vb)[keep]}
    for k in keys:
        col = frame[k].to_numpy()
        out[f"{k}_lo"], out[f"{k}_hi"] = col[lo_rows][keep], col[hi_rows][keep]
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------ criteria
Reading = dict[str, Any]


def _share(text: str, flags: np.ndarray, units: np.ndarray, seed: int, basis: str, fallback: bool = False) -> Reading:
    flags = np.asarray(flags, bool)
    headline = not fallback and not text.startswith(H1_PARTS)
    if not len(flags):
        return {"text": text, "basis": basis, "n": 0, "share": float("nan"), "low": float("nan"),
                "high": float("nan"), "fallback": fallback, "headline": headline}
    share, low, high = share_interval(flags, seed, units)
    return {"text": text, "basis": basis, "n": int(len(flags)), "share": share, "low": low, "high": high,
            "fallback": fallback, "headline": headline}


H1_PARTS = ("optimal archetype is", "troop share", "recognition k̄ <=", "deep integration")
"""H1's four criteria on the optimum, read together in the headline ("all four above")."""


def h1_flags(w: pd.DataFrame) -> dict[str, np.ndarray]:
    """H1's criteria as first written, per sample of `war` (the baselines' only where the rows score them)."""
    out = {"optimal archetype is limited_participation (any modifier)": w["limited_family"].astype(bool).to_numpy(),
           f"troop share f3 <= {NEAR_ZERO}": (w["f3"] <= NEAR_ZERO + EPS).to_numpy(),
           f"recognition k̄ <= {RECOGNITION_MAX}": (w["k_bar"] <= RECOGNITION_MAX + EPS).to_numpy(),
           f"deep integration g2 <= {NEAR_ZERO}": (w["g2"] <= NEAR_ZERO + EPS).to_numpy()}
    out["all four above (the optimum's criteria)"] = np.logical_and.reduce(list(out.values()))
    for b in ("limited", "limited_mediation"):
        if f"share_{b}" in w:
            out[f"`{b}` within 15 % of V* (share >= {WITHIN})"] = (w[f"share_{b}"] >= WITHIN - EPS).to_numpy()
    for b in ("bandwagon", "balance"):
        if f"share_{b}" in w:
            out[f"`{b}` >= 20 % short of V* (share <= {SHORT})"] = (w[f"share_{b}"] <= SHORT + EPS).to_numpy()
    return out


def h4_pair_flags(p: pd.DataFrame) -> dict[str, np.ndarray]:
    """H4's criteria on the identification pairs (ι lo -> hi): the ordering criterion as first written on
    the pair's two points, its fallback (a key starting with ``fallback:``), and k̄'s rise."""
    def first(at_lo: pd.Series, at_hi: pd.Series) -> np.ndarray:
        return np.where(at_lo, 0, np.where(at_hi, 1, 2))  # 0: at the lower ι, 1: at the higher, 2: never

    i_k = first(p["k_bar_lo"] >= HALF - EPS, p["k_bar_hi"] >= HALF - EPS)
    i_m = first(*[(p[f"f2_{e}"] >= HALF - EPS) | (p[f"f3_{e}"] >= NEAR_ZERO - EPS) for e in ("lo", "hi")])
    rise = (p["k_bar_hi"] - p["k_bar_lo"]).to_numpy()
    no_troops = ((p["f3_lo"] <= NEAR_ZERO + EPS) & (p["f3_hi"] <= NEAR_ZERO + EPS)).to_numpy()
    return {f"recognition before participation: k̄ >= {HALF} at a lower ι than f2 >= {HALF} or f3 >= {NEAR_ZERO}":
            i_k < i_m,
            f"fallback: k̄ rises by > {MOVED} while f3 <= {NEAR_ZERO} at both ι": (rise > MOVED) & no_troops,
            f"k̄ rises by > {MOVED} as ι rises": rise > MOVED}


def h5_pair_flags(p: pd.DataFrame) -> dict[str, np.ndarray]:
    """H5's criteria on the power pairs (c lo -> hi)."""
    return {f"m̄ falls by > {MOVED} as c rises": (p["m_bar_hi"] - p["m_bar_lo"] < -MOVED).to_numpy(),
            f"Ā rises by > {MOVED} as c rises": (p["A_bar_hi"] - p["A_bar_lo"] > MOVED).to_numpy()}


def h6_flags(c: pd.DataFrame) -> dict[str, np.ndarray]:
    """H6's criteria as first written, per sample of `calendar` (phases the optimum visits)."""
    med = c[[f"phase{p}_f_med" for p in range(5) if f"phase{p}_f_med" in c]]
    others = med.drop(columns="phase3_f_med").max(axis=1, skipna=True).fillna(-np.inf)
    peak = (med["phase3_f_med"] > 0) & (med["phase3_f_med"] > others + EPS)
    both = (c["phase3_f2"] >= 0.3 - EPS) & (c["phase3_f_med"] >= 0.3 - EPS)
    return {"f_med is highest in phase 3 (patron crisis)": peak.fillna(False).to_numpy(bool),
            "phase 3: f2 >= .3 together with f_med >= .3": both.fillna(False).to_numpy(bool)}


NOT_READ = {
    "H2": "not read across the space: the discovery solves `war` and `calendar`, where the West stays nearly "
          "closed after 2020 (`lockout_closed` <= .3); opening the alternatives (`alt_open`, L = 1) is outside "
          "the sampled space of `war`",
    "H3": "not read across the space: the threat × alternatives contrast needs the alternatives open, outside "
          "the sampled space of `war` (see H2)",
    "H6.no_mediation": "the criterion on `no_mediation` (q = 0) is not read across the space: mediation is scaled "
                       "by .5–1.5, never removed",
}


def readings(frames: Mapping[str, pd.DataFrame], values: pd.DataFrame, units: np.ndarray, n_sobol: int,
             block: int, seed: int, rows: np.ndarray | None = None) -> dict[str, list[Reading]]:
    """Each hypothesis's criteria across the space: per criterion the share of samples (or pairs) where it
    holds with its interval. ``rows``: a mask of the samples to read (all when None; a subset for the
    table by integer factor level)."""
    mask = np.ones(len(values), bool) if rows is None else np.asarray(rows, bool)
    out: dict[str, list[Reading]] = {}
    war, cal = frames.get("war"), frames.get("calendar")
    if war is not None and "value" in war:
        ok = war["value"].notna().to_numpy() & mask
        out["H1"] = [_share(t, f, units[ok], seed, "samples of `war`") for t, f in h1_flags(war[ok]).items()]
        sobol_ok = war["value"].notna().to_numpy()[:n_sobol].all()
        for hid, factor, keys, fn in (("H4", "identification", ("k_bar", "f2", "f3"), h4_pair_flags),
                                      ("H5", "power", ("m_bar", "A_bar"), h5_pair_flags)):
            if not sobol_ok or factor not in values:
                continue
            p = pairs(war, values, factor, n_sobol, block, keys)
            keep = mask[np.arange(0, n_sobol, block)][p["block"].to_numpy()]  # the block's A row in the subset
            p = p[keep]
            out[hid] = [_share(t, f, p["block"].to_numpy(), seed, f"`{factor}` pairs of `war`",
                               fallback=t.startswith("fallback:")) for t, f in fn(p).items()]
        if "H4" in out:
            out["H4"].append(_share(f"troops ≈ 0 (f3 <= {NEAR_ZERO}) at every sampled ι (ι <= .7: ι = .9 lies outside "
                                    "the range)", (war["f3"][ok] <= NEAR_ZERO + EPS).to_numpy(), units[ok], seed,
                                    "samples of `war`"))
    if cal is not None and "value" in cal and "phase3_f_med" in cal:
        ok = cal["value"].notna().to_numpy() & mask
        out["H6"] = [_share(t, f, units[ok], seed, "samples of `calendar`") for t, f in h6_flags(cal[ok]).items()]
    return out


# ------------------------------------------------------------------------------- by integer level
def integer_levels(values: pd.DataFrame, integers: Sequence[str]) -> list[tuple[str, float, np.ndarray]]:
    """(factor, level, mask of the samples at that level) for each integer factor's levels."""
    return [(f, float(v), (values[f] == v).to_numpy()) for f in integers for v in sorted(values[f].unique())]


def conditional_table(headlines: Callable[[np.ndarray], dict[str, tuple[float, float, float]]], values: pd.DataFrame,
                      integers: Sequence[str]) -> list[dict[str, Any]]:
    """Every headline share (``headlines(mask)`` -> name -> (share, low, high)) over all samples and at each
    level of each integer factor: one row per (headline, subset)."""
    out = []
    for factor, level, mask in [("all", float("nan"), np.ones(len(values), bool)), *integer_levels(values, integers)]:
        for name, (share, low, high) in headlines(mask).items():
            out.append({"headline": name, "factor": factor, "level": level, "n": int(mask.sum()), "share": share,
                        "low": low, "high": high})
    return out
