"""H8's readings from the stored units: the criteria at the point and across the space, their
statuses and H8's verdict (docs/h8.md, "Criteria", quoted in :data:`CRITERIA`), and the drivers.

Across the space a criterion's share is the share of the design's rows where it holds (H8c: of the
rows whose equilibrium search is certified, max_s NashConv <= :data:`CERTIFIED`), with a 95 %
percentile-bootstrap interval that resamples the design's independent units
(``training.discovery.analysis.share_interval``; each Latin row is its own unit). A criterion
**holds** if the interval's lower bound is above 50 %, **fails** if its upper bound is below 50 %,
else it is **undecided**. H8 is *supported* if all three hold, *refuted* if all three fail,
*undecided* if any is undecided, *mixed* otherwise.

Drivers: Sobol indices need Saltelli's design, which a Latin hypercube is not. SALib's ``rbd_fast``
(Tarantola et al. 2006, with Tissot and Prieur's 2012 bias correction) estimates each factor's
first-order index from any sample of independent inputs, such as a Latin hypercube (it reorders
the sample along each factor), with bootstrap intervals. SALib's ``delta`` takes such samples too,
but on this design size its estimator's floor (about .07-.17 for a factor with no effect) is higher
than the effects, and it misses a factor that decides a 0/1 output alone; ``rbd_fast`` finds it
(checked on a synthetic output of the same design size before the run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.discovery.analysis import share_interval
from training.discovery.sampling import unit_problem

LIMITED = "limited_participation"  # H8a: the label starts with it (with or without +mediation / +fararc)
GAP = 0.05  # H8b, H8c: "by more than 0.05"
SIGMA_LOW = 1.0  # H8c: sigma_bar < 1
CERTIFIED = 0.10  # H8c is read only where max_s NashConv <= 0.10
HALF = 0.5  # across the space: the interval's bound against 50 %
EPS = 1e-9  # a threshold compared with this slack (as docs/model.md section 9): exact ties go as in exact arithmetic
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"

CRITERIA = {
    "H8a": "(limited participation under commitment): the small state's optimum under the patron's chosen commitment "
           "is labelled `limited_participation` (with or without `+mediation`/`+fararc`).",
    "H8b": "(demand exceeds participation): the chosen demand D exceeds the small state's m̄ under it by more than 0.05.",
    "H8c": "(withdrawal without commitment): in the certified equilibrium, σ̄ < 1 **and** m̄ is lower than under the "
           "chosen commitment by more than 0.05.",
}
RULE = ("Across the space a criterion **holds** if the interval's lower bound is above 50 %, **fails** if its upper "
        "bound is below 50 %, and is **undecided** otherwise. H8 is *supported* if all three hold, *refuted* if all "
        "three fail, and *mixed* (or *undecided*, when any is undecided) otherwise.")


def h8a(label: str) -> bool:
    return label.startswith(LIMITED)


def h8b(demand: float, m_bar: float) -> bool:
    """D − m̄ > .05 (strictly: a tie within 1e-9 is not "more than")."""
    return demand - m_bar > GAP + EPS


def h8c(sigma_bar: float, m_bar_mpe: float, m_bar_commitment: float) -> bool:
    """σ̄ < 1 and m̄ lower than under the commitment by more than .05 (strictly, 1e-9 slack)."""
    return sigma_bar < SIGMA_LOW - EPS and m_bar_commitment - m_bar_mpe > GAP + EPS


def certified(nashconv_max: float) -> bool:
    """max_s NashConv <= .10 (inclusive, 1e-9 slack)."""
    return nashconv_max <= CERTIFIED + EPS


def status(low: float, high: float) -> str:
    """A criterion's status from its share's interval (docs/h8.md)."""
    if low > HALF:
        return HOLDS
    if high < HALF:
        return FAILS
    return UNDECIDED


def verdict(statuses: Sequence[str]) -> str:
    """H8's verdict from its criteria's statuses (docs/h8.md: undecided wins over mixed)."""
    if all(s == HOLDS for s in statuses):
        return "supported"
    if all(s == FAILS for s in statuses):
        return "refuted"
    return UNDECIDED if UNDECIDED in statuses else "mixed"


def frames(commits: Sequence[Mapping], mpes: Sequence[Mapping]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per design row (the point, row -1, included): the commitment part, and the MPE part
    joined with the commitment's m̄; each with its criteria's flags."""
    c = pd.DataFrame([{k: v for k, v in r.items() if k not in ("stats", "table_V_S", "table_V_P", "table_labels")}
                      for u in commits for r in u["rows"]]).set_index("row").sort_index()
    c["H8a"] = [h8a(x) for x in c["label"]]
    c["H8b"] = [h8b(d, m) for d, m in zip(c["D"], c["m_bar"])]
    c["gap"] = c["D"] - c["m_bar"]
    m = pd.DataFrame([{k: u[k] for k in ("row", "nashconv_s0", "nashconv_max", "V_S", "V_P", "label", "m_bar",
                                          "sigma_bar", "D_bar", "seconds")} for u in mpes])
    if len(m):
        m = m.set_index("row").sort_index()
        m = m[m.index.isin(c.index)]
        m["m_bar_commitment"] = c.loc[m.index, "m_bar"]
        m["certified"] = [certified(x) for x in m["nashconv_max"]]
        m["H8c"] = [h8c(s, a, b) for s, a, b in zip(m["sigma_bar"], m["m_bar"], m["m_bar_commitment"])]
        m["m_drop"] = m["m_bar_commitment"] - m["m_bar"]
    return c, m


def point_readings(c: pd.DataFrame, m: pd.DataFrame, point: int = -1) -> dict[str, Any]:
    """The criteria at the scenario's point (yes/no; H8c undecided when its search is not certified)."""
    out: dict[str, Any] = {}
    if point in c.index:
        r = c.loc[point]
        out["H8a"] = {"holds": bool(r["H8a"]), "status": HOLDS if r["H8a"] else FAILS, "observed": f"label {r['label']}"}
        out["H8b"] = {"holds": bool(r["H8b"]), "status": HOLDS if r["H8b"] else FAILS,
                      "observed": f"D = {int(r['D'])}, m̄ = {r['m_bar']:.3f}, D − m̄ = {r['gap']:.3f}"}
    if len(m) and point in m.index:
        r = m.loc[point]
        obs = (f"max NashConv {r['nashconv_max']:.3f}; σ̄ = {r['sigma_bar']:.3f}, m̄ = {r['m_bar']:.3f} against "
               f"{r['m_bar_commitment']:.3f} under commitment")
        st = (HOLDS if r["H8c"] else FAILS) if r["certified"] else UNDECIDED
        out["H8c"] = {"holds": bool(r["H8c"]) and bool(r["certified"]), "status": st, "observed": obs,
                      "certified": bool(r["certified"])}
    if len(out) == 3:
        out["verdict"] = verdict([out[k]["status"] for k in ("H8a", "H8b", "H8c")])
    return out


def share(flags: np.ndarray, seed: int, resamples: int) -> dict[str, Any]:
    """A share, its interval (independent rows) and its status; no rows: undecided, no share."""
    flags = np.asarray(flags, dtype=bool)
    if not len(flags):
        return {"share": None, "low": None, "high": None, "n": 0, "status": UNDECIDED}
    s, lo, hi = share_interval(flags, seed, np.arange(len(flags)), resamples)
    return {"share": s, "low": lo, "high": hi, "n": int(len(flags)), "status": status(lo, hi)}


def space_readings(c: pd.DataFrame, m: pd.DataFrame, seed: int, resamples: int) -> dict[str, Any]:
    """Each criterion's share across the design's rows with its interval and status, the certified
    share, and H8's verdict."""
    rows = c[c.index >= 0]
    mp = m[m.index >= 0] if len(m) else m
    out = {"H8a": share(rows["H8a"].to_numpy(), seed, resamples), "H8b": share(rows["H8b"].to_numpy(), seed, resamples)}
    if len(mp):
        out["certified"] = share(mp["certified"].to_numpy(), seed, resamples)
        out["H8c"] = share(mp.loc[mp["certified"], "H8c"].to_numpy(), seed, resamples)
        out["H8c_all"] = share((mp["certified"] & mp["H8c"]).to_numpy(), seed, resamples)
        cert = mp[mp["certified"]]
        out["sigma_low"] = share((cert["sigma_bar"] < SIGMA_LOW - EPS).to_numpy(), seed, resamples)
        out["m_falls"] = share((cert["m_drop"] > GAP + EPS).to_numpy(), seed, resamples)
    else:
        out["certified"] = out["H8c"] = share(np.zeros(0, bool), seed, resamples)
    out["verdict"] = verdict([out[k]["status"] for k in ("H8a", "H8b", "H8c")])
    return out


def drivers(names: list[str], coords: np.ndarray, outputs: Mapping[str, np.ndarray], seed: int,
            resamples: int = 200) -> list[dict[str, Any]]:
    """SALib's RBD-FAST first-order index of each output over the design's unit coordinates, with the
    half-width of its 95 % bootstrap interval; an output with no variance (or under 10 rows) gets none."""
    from SALib.analyze import rbd_fast

    rows = []
    x = np.asarray(coords, dtype=np.float64)
    for out_name, y in outputs.items():
        y = np.asarray(y, dtype=np.float64)
        if len(y) < 10 or np.ptp(y) == 0:
            continue
        res = rbd_fast.analyze(unit_problem(names), x, y, M=10, num_resamples=resamples, conf_level=0.95, seed=seed + 1)
        rows += [{"output": out_name, "factor": n, "S1": _finite(res["S1"][i]), "S1_conf": _finite(res["S1_conf"][i]),
                  "n": int(len(y))} for i, n in enumerate(names)]
    return rows


def _finite(x: float) -> float | None:
    """A number, or None where SALib returns NaN (a bootstrap of an output that barely varies)."""
    x = float(x)
    return x if np.isfinite(x) else None
