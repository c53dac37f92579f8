"""Verdicts on the study's hypotheses H1..H6 and on the learners, as pure functions of stored data.

``data`` is what :func:`training.study.report.load_study_data` reads back from a study folder::

    {"scenarios": {name: analysis}, "sweeps": {sweep: [analysis, ...]}, "runs": [evaluation, ...]}

An *analysis* (one JSON file per parameter set, written by ``training/study/tasks.py``) holds
``optimum`` (``value``, ``label``, ``stats``, ``phases``) and ``baselines`` (name -> ``value``,
``share``, ``label``, ``stats``); a sweep point also has ``coords`` (axis -> level). Statistics are
those of docs/model.md section 9 plus the mean autonomy level ``A_bar``: ``m_bar, f3, f2, k_bar, g2,
f_med, f_far, f_west, R_bar, A_bar``.

Each hypothesis is tested by explicit criteria whose thresholds are the constants below (they are
quoted in the report). The verdict is ``supported`` if every criterion holds, ``refuted`` if none
does, ``mixed`` otherwise, and ``untested`` when the study lacks the data (the reason is given).
No threshold was chosen after seeing a result; they restate the hypotheses of the issue.

Over 300 lines on purpose: every threshold stands beside the others at the top and each criterion
quotes one; split over files, a criterion would drift from the number it tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from training.evaluate import stats
from training.render.tables import ci, fmt, pct

NEAR_ZERO = 0.05  # "≈ 0": at most .05
RECOGNITION_MAX = 0.3  # H1: recognition k̄ <= .3
WITHIN = 0.85  # H1: within 15 % of V*: share >= .85
SHORT = 0.80  # H1: >= 20 % short of V*: share <= .80
WEST_MIN = 0.3  # H2: West-signal share >= .3
FALL_MIN = 0.3  # H2: mean participation falls by >= .3
LITTLE = 0.3  # H3: "moves participation little": |Δ m̄| < .3
MOVED = 0.05  # a statistic "moves" when it changes by more than .05
HALF = 0.5  # H4: k̄ >= .5, f2 >= .5 mark recognition / participation
RHO = 0.5  # H5: a monotone direction: Spearman |ρ| >= .5 (and the end-to-end change > .05)
SHRINK = 0.01  # H6: the advantage shrinks by at least .01 of V*
RL_SHARE = 0.95  # learners: IQM share of V* >= .95
RL_AGREE = 0.5  # learners: label agrees with the optimum's in at least half the runs
EPS = 1e-9  # thresholds are inclusive, compared with this slack (as docs/model.md section 9)

LIMITED = ("limited", "limited_mediation")
STAT_KEYS = ("m_bar", "f3", "f2", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar", "A_bar")
GRID_FALLBACK = {("high", "closed"): "war", ("high", "open"): "alt_open", ("low", "closed"): "low_threat"}


# ------------------------------------------------------------------------------------ helpers
def verdict_of(holds: Sequence[bool]) -> str:
    """supported if all hold, refuted if none, mixed otherwise."""
    if all(holds):
        return "supported"
    return "refuted" if not any(holds) else "mixed"


def criterion(text: str, observed: str, holds: bool) -> dict[str, Any]:
    return {"text": text, "observed": observed, "holds": bool(holds)}


CLAIMS = {
    "H1": "High threat, alternatives closed: the optimum is limited participation (troop share ≈ 0, recognition "
          "<= .3, deep integration ≈ 0); the `limited` baselines come within 15 % of V* while `bandwagon` and "
          "`balance` fall >= 20 % short.",
    "H2": "Opening the alternatives turns the optimum to hedging (West-signal share >= .3; mean participation "
          "falls by >= .3).",
    "H3": "Threat and alternatives interact: with alternatives closed, the threat level moves participation "
          "little; with them open, low threat moves hedging toward balancing.",
    "H4": "Identification raises symbolic alignment (recognition) before military participation; troops stay "
          "near 0 even at ι = .9.",
    "H5": "Power lowers mean participation and raises mean autonomy.",
    "H6": "Mediation peaks in the patron-crisis phase and complements limited participation; with mediation "
          "removed (`no_mediation`) the limited strategies' advantage shrinks.",
    "H7": "Of the four factors that move a small state's autonomy (threat, its own power, identification with "
          "the alliance, available alternatives), the decisive ones are the security environment (threat) and "
          "the alternatives: over the sampled parameter space their total Sobol indices exceed those of power "
          "and of identification, for the limited-participation indicator and for m̄.",
    "RL": "The trained policies (PPO, A2C, DQN) find what the optimum finds.",
}


def result(hid: str, title: str, criteria: list[dict], columns: list[str], rows: list[list], note: str = "",
           summary: str = "") -> dict:
    return {"id": hid, "title": title, "claim": CLAIMS.get(hid, ""),
            "verdict": verdict_of([c["holds"] for c in criteria]), "criteria": criteria,
            "table": {"columns": columns, "rows": rows}, "note": note, "summary": summary}


def untested(hid: str, title: str, reason: str) -> dict:
    return {"id": hid, "title": title, "claim": CLAIMS.get(hid, ""), "verdict": "untested", "criteria": [],
            "table": {"columns": [], "rows": []}, "note": f"Not tested: {reason}.", "summary": ""}


def moved(a: str, b: str) -> str:
    """'stays `a`' or 'goes from `a` to `b`' for two archetype labels."""
    return f"stays `{a}`" if a == b else f"goes from `{a}` to `{b}`"


def _at(x: float) -> str:
    return "never (within the sweep)" if math.isinf(x) else f"{x:g}"


def stat(analysis: Mapping, key: str) -> float:
    return float(analysis["optimum"]["stats"][key])


def share(analysis: Mapping, baseline: str) -> float:
    return float(analysis["baselines"][baseline]["share"])


def sweep_point(data: Mapping, sweep: str, **coords: Any) -> Mapping | None:
    for a in data.get("sweeps", {}).get(sweep, []):
        if all(_same(a["coords"].get(k), v) for k, v in coords.items()):
            return a
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) < EPS
    return a == b


def grid_cell(data: Mapping, threat: str, alternatives: str) -> Mapping | None:
    """The threat x alternatives cell: the ``threat_alternatives`` sweep, else the named scenario
    with the same parameters (war, alt_open, low_threat)."""
    found = sweep_point(data, "threat_alternatives", threat=threat, alternatives=alternatives)
    if found is None and (threat, alternatives) in GRID_FALLBACK:
        found = data.get("scenarios", {}).get(GRID_FALLBACK[(threat, alternatives)])
    return found


def opt_row(name: str, a: Mapping, keys: Sequence[str]) -> list:
    return [name, a["optimum"]["label"], *[fmt(stat(a, k)) for k in keys]]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ (average ranks for ties); 0 when either side is constant."""

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(scipy.stats.spearmanr(x, y).statistic)


def reading(data: Mapping, sweep: str, param: str, extra: Mapping[str, float]) -> list[tuple[float, str, Mapping]]:
    """A 1-D reading: (value, source, analysis) over a sweep of ``param`` plus named scenarios that
    are the same model at another value of ``param`` (``extra``: scenario -> value), sorted."""
    out = [(float(a["coords"][param]), f"sweep {sweep}", a) for a in data.get("sweeps", {}).get(sweep, [])]
    for name, value in extra.items():
        a = data.get("scenarios", {}).get(name)
        if a is not None and not any(abs(v - value) < EPS for v, _, _ in out):
            out.append((value, f"scenario {name}", a))
    return sorted(out, key=lambda r: r[0])


# ----------------------------------------------------------------------------------------- H1..H6
def h1(data: Mapping) -> dict:
    title = "High threat, alternatives closed: limited participation is optimal"
    war = grid_cell(data, "high", "closed")
    if war is None:
        return untested("H1", title, "no analysis of `war` (high threat, alternatives closed)")
    label = war["optimum"]["label"]
    crit = [
        criterion("optimal archetype is limited_participation (with or without +mediation/+fararc)", label,
                  label.startswith("limited_participation")),
        criterion(f"troop share f3 <= {NEAR_ZERO}", fmt(stat(war, "f3")), stat(war, "f3") <= NEAR_ZERO + EPS),
        criterion(f"recognition k̄ <= {RECOGNITION_MAX}", fmt(stat(war, "k_bar")),
                  stat(war, "k_bar") <= RECOGNITION_MAX + EPS),
        criterion(f"deep integration g2 <= {NEAR_ZERO}", fmt(stat(war, "g2")), stat(war, "g2") <= NEAR_ZERO + EPS),
    ]
    for b in LIMITED:
        crit.append(criterion(f"`{b}` within 15 % of V* (share >= {WITHIN})", fmt(share(war, b)),
                              share(war, b) >= WITHIN - EPS))
    for b in ("bandwagon", "balance"):
        crit.append(criterion(f"`{b}` >= 20 % short of V* (share <= {SHORT})", fmt(share(war, b)),
                              share(war, b) <= SHORT + EPS))
    rows = [[b, war["baselines"][b]["label"], fmt(war["baselines"][b]["value"]), fmt(share(war, b))]
            for b in sorted(war["baselines"], key=lambda b: -share(war, b))]
    rows.insert(0, ["optimum", label, fmt(war["optimum"]["value"]), "1.000"])
    summary = (f"With high threat and the West closed (`war`) the optimum is `{label}`: combat troops in "
               f"{pct(stat(war, 'f3'))} of quarters, territory or basing (m >= 2) in {pct(stat(war, 'f2'))}, "
               f"recognition {pct(stat(war, 'k_bar'))}, deep integration {pct(stat(war, 'g2'))}. "
               + ", ".join(f"`{b}` reaches {pct(share(war, b))} of V*" for b in (*LIMITED, "bandwagon", "balance"))
               + ".")
    return result("H1", title, crit, ["policy", "archetype", "value", "share of V*"], rows, summary=summary)


def h2(data: Mapping) -> dict:
    title = "Opening the alternatives turns the optimum to hedging"
    closed, opened = grid_cell(data, "high", "closed"), grid_cell(data, "high", "open")
    if closed is None or opened is None:
        return untested("H2", title, "needs `war` and `alt_open` (or the threat_alternatives grid)")
    fall = stat(closed, "m_bar") - stat(opened, "m_bar")
    crit = [
        criterion("optimal archetype with alternatives open is hedging", opened["optimum"]["label"],
                  opened["optimum"]["label"] == "hedging"),
        criterion(f"West-signal share f_west >= {WEST_MIN} (open)", fmt(stat(opened, "f_west")),
                  stat(opened, "f_west") >= WEST_MIN - EPS),
        criterion(f"mean participation m̄ falls by >= {FALL_MIN}", fmt(fall), fall >= FALL_MIN - EPS),
    ]
    keys = ["m_bar", "f2", "k_bar", "f_west", "f_far", "R_bar", "A_bar"]
    rows = [opt_row("closed (war)", closed, keys), opt_row("open (alt_open)", opened, keys)]
    summary = (f"Opening the alternatives turns the optimum from `{closed['optimum']['label']}` into "
               f"`{opened['optimum']['label']}`: the West signal goes from {pct(stat(closed, 'f_west'))} to "
               f"{pct(stat(opened, 'f_west'))} of quarters, mean participation from {stat(closed, 'm_bar'):.2f} "
               f"to {stat(opened, 'm_bar'):.2f} (0 abstain … 3 troops).")
    return result("H2", title, crit, ["alternatives", "archetype", *keys], rows, summary=summary)


def h3(data: Mapping) -> dict:
    title = "Threat and alternatives interact"
    cells = {(t, a): grid_cell(data, t, a) for t in ("high", "low") for a in ("closed", "open")}
    if any(v is None for v in cells.values()):
        return untested("H3", title, "needs all four cells of the threat x alternatives grid")
    d = {k: cells[("low", "open")]["optimum"]["stats"][k] - cells[("high", "open")]["optimum"]["stats"][k]
         for k in STAT_KEYS}
    d_closed = stat(cells[("low", "closed")], "m_bar") - stat(cells[("high", "closed")], "m_bar")
    crit = [
        criterion(f"alternatives closed: threat moves m̄ little (|Δ m̄| < {LITTLE})", fmt(d_closed),
                  abs(d_closed) < LITTLE),
        criterion(f"alternatives open, low vs high threat: f_west rises by > {MOVED}", fmt(d["f_west"]),
                  d["f_west"] > MOVED),
        criterion(f"alternatives open, low vs high threat: m̄ falls by > {MOVED}", fmt(d["m_bar"]),
                  d["m_bar"] < -MOVED),
        criterion(f"alternatives open, low vs high threat: R̄ falls by > {MOVED}", fmt(d["R_bar"]),
                  d["R_bar"] < -MOVED),
        criterion("interaction: threat moves m̄ more with alternatives open than closed",
                  f"|{fmt(d['m_bar'])}| vs |{fmt(d_closed)}|", abs(d["m_bar"]) > abs(d_closed) + EPS),
    ]
    keys = ["m_bar", "f2", "k_bar", "f_west", "f_far", "f_med", "R_bar", "A_bar"]
    rows = [opt_row(f"{t} threat, {a}", cells[(t, a)], keys) for a in ("closed", "open") for t in ("high", "low")]
    lab = {k: v["optimum"]["label"] for k, v in cells.items()}
    summary = (f"With the West closed, lowering the threat changes mean participation by {d_closed:+.2f} "
               f"(the optimum {moved(lab[('high', 'closed')], lab[('low', 'closed')])}); with it open, by "
               f"{d['m_bar']:+.2f} (the optimum {moved(lab[('high', 'open')], lab[('low', 'open')])}), the West "
               f"signal by {d['f_west']:+.2f} "
               f"and mean trust by {d['R_bar']:+.2f}.")
    return result("H3", title, crit, ["cell", "archetype", *keys], rows, summary=summary)


def _first_at(points: Sequence[tuple[float, str, Mapping]], test: Callable[[Mapping], bool]) -> float:
    return next((v for v, _, a in points if test(a)), math.inf)


def h4(data: Mapping) -> dict:
    title = "Identification raises recognition before military participation"
    pts = reading(data, "identification", "identification", {"war": 0.4, "high_id": 0.9, "low_id": 0.0})
    if len(pts) < 2:
        return untested("H4", title, "needs the identification sweep (or war, low_id, high_id)")
    i_k = _first_at(pts, lambda a: stat(a, "k_bar") >= HALF - EPS)
    i_m = _first_at(pts, lambda a: stat(a, "f2") >= HALF - EPS or stat(a, "f3") >= NEAR_ZERO - EPS)
    rise = stat(pts[-1][2], "k_bar") - stat(pts[0][2], "k_bar")
    no_troops = all(stat(a, "f3") <= NEAR_ZERO + EPS for _, _, a in pts)
    at9 = next((a for v, _, a in pts if abs(v - 0.9) < EPS), None)
    crit = [
        criterion(f"recognition before participation: the smallest ι with k̄ >= {HALF} is below the smallest ι "
                  f"with f2 >= {HALF} or f3 >= {NEAR_ZERO}; or else k̄ rises by > {MOVED} over the sweep while "
                  f"f3 <= {NEAR_ZERO} at every ι",
                  f"ι {fmt(i_k, 2)} vs {fmt(i_m, 2)}; k̄ rises {fmt(rise)}, troops ≈ 0 throughout: "
                  f"{'yes' if no_troops else 'no'}", i_k < i_m or (rise > MOVED and no_troops)),
        criterion(f"k̄ rises by > {MOVED} from the lowest to the highest ι", fmt(rise), rise > MOVED),
    ]
    if at9 is not None:
        crit.append(criterion(f"troops stay ≈ 0 at ι = .9 (f3 <= {NEAR_ZERO})", fmt(stat(at9, "f3")),
                              stat(at9, "f3") <= NEAR_ZERO + EPS))
    keys = ["k_bar", "m_bar", "f2", "f3", "g2", "R_bar"]
    rows = [[fmt(v, 2), src, a["optimum"]["label"], *[fmt(stat(a, k)) for k in keys]] for v, src, a in pts]
    note = "" if at9 is not None else "ι = .9 (`high_id`) is not in this study."
    if i_m == pts[0][0] and not i_k < i_m:
        note = (note + " " if note else "") + (
            f"Territory/basing already fills half the quarters at the lowest ι ({pts[0][0]:g}), so the threshold "
            "reading cannot order recognition first; the alternative reading of the first criterion decides it. "
            f"Over the sweep f2 changes by {stat(pts[-1][2], 'f2') - stat(pts[0][2], 'f2'):+.3f} and m̄ by "
            f"{stat(pts[-1][2], 'm_bar') - stat(pts[0][2], 'm_bar'):+.3f}.")
    summary = (f"Recognition reaches k̄ >= .5 first at ι = {_at(i_k)}; territory/basing in half the quarters "
               f"or any troops first at ι = {_at(i_m)}. From ι = {pts[0][0]:g} to {pts[-1][0]:g} recognition goes "
               f"from {pct(stat(pts[0][2], 'k_bar'))} to {pct(stat(pts[-1][2], 'k_bar'))} of quarters"
               + (f"; at ι = .9 troops are sent in {pct(stat(at9, 'f3'))} of quarters." if at9 else "."))
    return result("H4", title, crit, ["ι", "source", "archetype", *keys], rows, note, summary)


def h5(data: Mapping) -> dict:
    title = "Power lowers mean participation and raises mean autonomy"
    pts = reading(data, "power", "power", {"war": 0.2, "strong": 0.9})
    if len(pts) < 2:
        return untested("H5", title, "needs the power sweep (or war and strong)")
    c = [v for v, _, _ in pts]
    m = [stat(a, "m_bar") for _, _, a in pts]
    aut = [stat(a, "A_bar") for _, _, a in pts]
    rho_m, rho_a = spearman(c, m), spearman(c, aut)
    crit = [
        criterion(f"m̄ falls with c: Spearman ρ <= -{RHO} and m̄(max c) - m̄(min c) < -{MOVED}",
                  f"ρ = {fmt(rho_m, 2)}, Δ = {fmt(m[-1] - m[0])}", rho_m <= -RHO + EPS and m[-1] - m[0] < -MOVED),
        criterion(f"Ā rises with c: Spearman ρ >= {RHO} and Ā(max c) - Ā(min c) > {MOVED}",
                  f"ρ = {fmt(rho_a, 2)}, Δ = {fmt(aut[-1] - aut[0])}", rho_a >= RHO - EPS and aut[-1] - aut[0] > MOVED),
    ]
    keys = ["m_bar", "A_bar", "f2", "f3", "k_bar", "f_med", "f_far", "f_west"]
    rows = [[fmt(v, 2), src, a["optimum"]["label"], *[fmt(stat(a, k)) for k in keys]] for v, src, a in pts]
    summary = (f"From c = {c[0]:g} to c = {c[-1]:g} mean participation goes from {m[0]:.2f} to {m[-1]:.2f} "
               f"(0 abstain … 3 troops) and mean autonomy from {aut[0]:.2f} to {aut[-1]:.2f} (levels 0–5); "
               f"the optimum {moved(pts[0][2]['optimum']['label'], pts[-1][2]['optimum']['label'])}.")
    return result("H5", title, crit, ["c", "source", "archetype", *keys], rows, summary=summary)


def limited_advantage(a: Mapping) -> tuple[float, str, float, str]:
    """(best limited share, its name, best non-limited share, its name) of an analysis."""
    shares = {b: float(v["share"]) for b, v in a["baselines"].items()}
    lim = max((b for b in LIMITED if b in shares), key=lambda b: shares[b])
    other = max((b for b in shares if b not in LIMITED), key=lambda b: shares[b])
    return shares[lim], lim, shares[other], other


def _phase_stats(a: Mapping) -> dict[int, Mapping]:
    return {int(ph): v["stats"] for ph, v in a["optimum"].get("phases", {}).items()
            if v.get("stats") is not None and v.get("weight", 1.0) > 0}


def h6(data: Mapping) -> dict:
    title = "Mediation peaks in the patron crisis and complements limited participation"
    sc = data.get("scenarios", {})
    timed = [n for n in ("calendar", "timeline") if n in sc]
    if not timed and not ("war" in sc and "no_mediation" in sc):
        return untested("H6", title, "needs calendar or timeline, or war and no_mediation")
    crit, rows = [], []
    for name in timed:
        ph = _phase_stats(sc[name])
        med = {p: float(s["f_med"]) for p, s in ph.items()}
        others = [v for p, v in med.items() if p != 3]
        peak = 3 in med and med[3] > 0 and all(med[3] > v + EPS for v in others)
        crit.append(criterion(f"{name}: f_med is highest in phase 3 (patron crisis)",
                              ", ".join(f"Φ{p} {fmt(v, 2)}" for p, v in sorted(med.items())), peak))
        if 3 in ph:
            f2, fm = float(ph[3]["f2"]), float(ph[3]["f_med"])
            crit.append(criterion(f"{name}, phase 3: f2 >= .3 together with f_med >= .3",
                                  f"f2 {fmt(f2, 2)}, f_med {fmt(fm, 2)}", f2 >= 0.3 - EPS and fm >= 0.3 - EPS))
        for p, s in sorted(ph.items()):
            rows.append([name, f"Φ{p}", *[fmt(float(s[k])) for k in ("f_med", "f2", "f3", "m_bar", "k_bar", "f_far",
                                                                       "f_west")]])
    if "war" in sc and "no_mediation" in sc:
        adv = {}
        for name in ("war", "no_mediation"):
            lim, lim_name, other, other_name = limited_advantage(sc[name])
            adv[name] = lim - other
            rows.append([name, "advantage", f"best limited `{lim_name}` {fmt(lim)}",
                         f"best other `{other_name}` {fmt(other)}", f"Δ {fmt(lim - other)}", "", "", ""])
        shrink = adv["war"] - adv["no_mediation"]
        crit.append(criterion(f"without mediation the limited strategies' advantage shrinks by >= {SHRINK}",
                              f"{fmt(adv['war'])} → {fmt(adv['no_mediation'])}", shrink >= SHRINK - EPS))
    cols = ["scenario", "phase", "f_med", "f2", "f3", "m_bar", "k_bar", "f_far", "f_west"]
    parts = []
    for name in timed:
        ph = _phase_stats(sc[name])
        text = (f"in `{name}` the optimum offers mediation in "
                + ", ".join(f"{pct(v['f_med'])} of Φ{p}" for p, v in sorted(ph.items())) + " quarters")
        if 3 in ph:
            text += f", and in the patron crisis (Φ3) lends territory in {pct(ph[3]['f2'])} of them"
        parts.append(text)
    if "war" in sc and "no_mediation" in sc:
        parts.append(f"the best limited strategy's lead over the best other baseline is {adv['war']:+.3f} of V* in "
                     f"`war` and {adv['no_mediation']:+.3f} without mediation")
    summary = "; ".join(parts) + "."
    return result("H6", title, crit, cols, rows, summary=summary[0].upper() + summary[1:])


# H7 (issue 15), criteria written before the first full discovery run. A group's total effect is read
# as the largest total Sobol index ST among its factors: a lower bound of the group's own total index
# (the sum of its factors' ST is an upper bound, and favours groups with many factors; it is shown
# beside it). Power and identification are one factor each, so for them both readings coincide.
H7_DECISIVE = ("threat", "alternatives")
H7_OTHERS = ("power", "identification")
H7_OUTPUTS = {"limited_family": "limited-participation indicator", "m_bar": "m̄"}


def group_indices(sobol: Sequence[Mapping], scenario: str, output: str) -> dict[str, tuple[float, float]]:
    """group -> (largest ST of its factors, sum of their ST) for one scenario and output (NaN-free rows)."""
    out: dict[str, tuple[float, float]] = {}
    for r in sobol:
        if r["scenario"] == scenario and r["output"] == output and not math.isnan(float(r["ST"])):
            mx, sm = out.get(r["group"], (-math.inf, 0.0))
            out[r["group"]] = (max(mx, float(r["ST"])), sm + float(r["ST"]))
    return out


def h7(data: Mapping) -> dict:
    title = "Threat and alternatives decide, more than power and identification (global sensitivity)"
    disc = data.get("discovery") or {}
    sobol = disc.get("sobol") or []
    scenarios = [s for s in disc.get("scenarios", []) if any(r["scenario"] == s for r in sobol)]
    if not scenarios:
        return untested("H7", title, "the study has no discovery section, or its Saltelli sample is not solved yet")
    crit, rows = [], []
    for s in scenarios:
        for output, words in H7_OUTPUTS.items():
            g = group_indices(sobol, s, output)
            if not g:
                crit.append(criterion(f"{s}, {words}: indices defined", "constant output (no variance)", False))
                continue
            for dec in H7_DECISIVE:
                top = g.get(dec, (math.nan, math.nan))[0]
                others = {o: g.get(o, (math.nan, math.nan))[0] for o in H7_OTHERS}
                holds = all(top > v + EPS for v in others.values())
                crit.append(criterion(f"{s}, {words}: ST({dec}) > ST(power) and > ST(identification)",
                                      f"{fmt(top)} vs {fmt(others['power'])}, {fmt(others['identification'])}",
                                      holds))
            rows += [[s, words, grp, fmt(mx), fmt(sm)] for grp, (mx, sm) in sorted(g.items(), key=lambda kv: -kv[1][0])]
    best = {}
    for s in scenarios:
        g = group_indices(sobol, s, "limited_family") or group_indices(sobol, s, "m_bar")
        if g and max(v[0] for v in g.values()) > 0:
            best[s] = max(g, key=lambda k: g[k][0])
    summary = ("The group with the largest total index for the limited-participation indicator (else m̄) is "
               + ", ".join(f"`{grp}` in `{s}`" for s, grp in best.items()) + ".") if best else ""
    return result("H7", title, crit, ["scenario", "output", "group", "largest ST", "sum of ST"], rows,
                  note="A group's total effect is the largest ST among its factors (a lower bound of the group's "
                       "index); the sum of its factors' ST (an upper bound) is shown beside it.", summary=summary)


HYPOTHESES: dict[str, Callable[[Mapping], dict]] = {"H1": h1, "H2": h2, "H3": h3, "H4": h4, "H5": h5, "H6": h6,
                                                    "H7": h7}


def all_hypotheses(data: Mapping) -> list[dict]:
    return [f(data) for f in HYPOTHESES.values()]


# ------------------------------------------------------------------------------------- learners
def rl_summary(runs: Sequence[Mapping], reps: int = 2000, seed: int = 0) -> dict:
    """Per algorithm: IQM share of V*, IQM regret (95 % stratified-bootstrap CIs over seeds within
    scenarios), the share of runs whose archetype equals the optimum's (bootstrap CI), and the
    per-scenario means; plus P(X > Y) on share of V* for each pair of algorithms."""

    title = "Trained policies find what the optimum finds"
    if not runs:
        return {**untested("RL", title, "the study has no RL runs"), "algos": {}, "poi": []}
    algos = sorted({r["algo"] for r in runs})
    scenarios = sorted({r["scenario"] for r in runs})
    out: dict[str, Any] = {}
    matrices = {}
    for algo in algos:
        mine = [r for r in runs if r["algo"] == algo]
        share_m, regret_m = _matrix(mine, scenarios, "share"), _matrix(mine, scenarios, "regret")
        matrices[algo] = share_m
        agree = np.array([float(r["label_agrees"]) for r in mine])
        base = np.array([float(base_label(r["label"]) == base_label(r["optimal_label"])) for r in mine])
        out[algo] = {
            "n_runs": len(mine),
            "share": stats.interval_estimates({algo: share_m}, "iqm", reps, seed)[algo],
            "regret": stats.interval_estimates({algo: regret_m}, "iqm", reps, seed)[algo],
            "agreement": stats.bootstrap_ci(agree, reps=reps, seed=seed),
            "base_agreement": float(base.mean()),
            "per_scenario": {s: _scenario_means([r for r in mine if r["scenario"] == s]) for s in scenarios},
        }
    poi = []
    for i, x in enumerate(algos):
        for y in algos[i + 1:]:
            if matrices[x].shape[1] == matrices[y].shape[1]:
                poi.append([x, y, stats.probability_of_improvement(matrices[x], matrices[y], reps, seed)])
    crit = [criterion(f"{a}: IQM share of V* >= {RL_SHARE} and archetype agreement >= {RL_AGREE}",
                      f"share {fmt(v['share'][0])}, agreement {fmt(v['agreement'][0], 2)}",
                      v["share"][0] >= RL_SHARE - EPS and v["agreement"][0] >= RL_AGREE - EPS)
            for a, v in out.items()]
    rows = [[a, v["n_runs"], ci(v["share"]), ci(v["regret"]), ci(v["agreement"], 2), fmt(v["base_agreement"], 2)]
            for a, v in out.items()]
    for algo, v in out.items():
        v["steps"] = int(np.median([r["total_timesteps"] for r in runs if r["algo"] == algo]))
    summary = "; ".join(f"{a} reaches {pct(v['share'][0])} of V* (IQM) after {v['steps']:,} steps per run and names "
                        f"the optimum's archetype in {pct(v['agreement'][0])} of its runs" for a, v in out.items()) + "."
    res = result("RL", title, crit, ["algorithm", "runs", "IQM share of V* [95 % CI]", "IQM regret [95 % CI]",
                                     "archetype agreement [95 % CI]", "same base archetype"], rows, summary=summary,
                 note="*Same base archetype* ignores the +mediation / +fararc modifiers (information only; "
                      "the criterion uses the full label).")
    return {**res, "algos": out, "poi": poi, "scenarios": scenarios}


def base_label(label: str) -> str:
    """An archetype without its +mediation / +fararc modifiers."""
    return str(label).split("+")[0]


def _matrix(runs: Sequence[Mapping], scenarios: Sequence[str], key: str) -> np.ndarray:
    """(seeds, scenarios) when every scenario has the same number of runs, else all runs as one task."""
    cols = [sorted((r["seed"], float(r[key])) for r in runs if r["scenario"] == s) for s in scenarios]
    cols = [c for c in cols if c]
    if len({len(c) for c in cols}) == 1:
        return np.array([[v for _, v in c] for c in cols]).T
    return np.array([float(r[key]) for r in runs])[:, None]


def _scenario_means(runs: Sequence[Mapping]) -> dict[str, Any]:
    labels: dict[str, int] = {}
    for r in runs:
        labels[r["label"]] = labels.get(r["label"], 0) + 1
    return {"n": len(runs), "share": float(np.mean([r["share"] for r in runs])),
            "regret": float(np.mean([r["regret"] for r in runs])),
            "near_optimal": float(np.mean([r["near_optimal_share"] for r in runs])),
            "agreement": float(np.mean([float(r["label_agrees"]) for r in runs])),
            "labels": dict(sorted(labels.items())), "optimal_label": runs[0]["optimal_label"]}
