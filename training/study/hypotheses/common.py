"""The thresholds, claims and helpers every verdict shares (the package's docstring says what a verdict is).

Every threshold stands here, beside the others, and each criterion in :mod:`.point` and
:mod:`.sensitivity` quotes one by name, so a criterion cannot drift from the number it tests.

A criterion's *status* is ``holds``, ``fails`` or ``undecided`` (issue 31: two intervals that overlap
decide nothing); a *fallback* is another reading of a criterion, added after it was first written: it
is shown, marked as a fallback, and never counted in the verdict.
"""


from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

from training.render.tables import fmt

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
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"


def verdict_of(statuses: Sequence[bool | str]) -> str:
    """From the criteria's statuses (a bool is holds / fails): **supported** if every criterion holds,
    **refuted** if every one fails, **mixed** if at least one holds and one fails, else **undecided**
    (some are undecided and the decided ones agree, or none is decided)."""
    st = [(HOLDS if s else FAILS) if isinstance(s, bool) else s for s in statuses]
    if all(s == HOLDS for s in st):
        return "supported"
    if all(s == FAILS for s in st):
        return "refuted"
    return "mixed" if HOLDS in st and FAILS in st else "undecided"


def criterion(text: str, observed: str, holds: bool, status: str | None = None, fallback: bool = False) -> dict[str, Any]:
    """One criterion: ``holds`` (bool), or a ``status`` (holds / fails / undecided); a ``fallback`` is shown
    and never counted in the verdict."""
    status = status or (HOLDS if holds else FAILS)
    return {"text": text, "observed": observed, "holds": status == HOLDS, "status": status, "fallback": fallback}


def counted(criteria: Sequence[Mapping]) -> list[Mapping]:
    """The criteria a verdict counts (fallbacks left out)."""
    return [c for c in criteria if not c.get("fallback")]


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
            "verdict": verdict_of([c.get("status", c["holds"]) for c in counted(criteria)]), "criteria": criteria,
            "table": {"columns": columns, "rows": rows}, "note": note, "summary": summary}


def untested(hid: str, title: str, reason: str) -> dict:
    return {"id": hid, "title": title, "claim": CLAIMS.get(hid, ""), "verdict": "untested", "criteria": [],
            "table": {"columns": [], "rows": []}, "note": f"Not tested: {reason}.", "summary": ""}


def moved(a: str, b: str) -> str:
    """'stays `a`' or 'goes from `a` to `b`' for two archetype labels."""
    return f"stays `{a}`" if a == b else f"goes from `{a}` to `{b}`"


def at_text(x: float) -> str:
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


