"""Why the optimum wins, in words and tables: value streams (``agents.streams``), one state's
decomposition (``agents.decompose``) and the frontier's points (``agents.frontier``), rendered from
their plain ``to_dict()`` data (so ``alliance explain`` and the study report, which reads stored
JSON, write the same text). Every table goes through :func:`training.render.tables.table`.

The sentence under each baseline compares it with the optimum on the three goods of docs/model.md
section 6 (discounted means, each in [0, 1]) and names its entrapment: ``bandwagon: less security
(0.24 vs 0.67), far less autonomy (0.31 vs 0.62), entrapment 0.46 (optimum 0.05)``. "far" marks a
difference of at least :data:`FAR` (a sixth of the goods' whole range would be clearer but less
round; the threshold is a reader's aid, never a test of anything).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from training.render.tables import fmt, pct, table

GOODS = ("security", "autonomy", "economy")
PARTS = ("ces", "identity_bonus", "troop_cost", "basing_cost", "diplomacy_cost")  # envs.model.REWARD_PARTS
STREAM_COLUMNS = (*GOODS, *PARTS, "trap")
SAME = 0.005  # a difference below this, at two decimals, reads "the same"
FAR = 0.15  # "far more" / "far less" from here


def _num(x: float, digits: int = 4) -> str:
    """:func:`fmt` without a negative zero (a difference of -1e-17 reads 0.0000)."""
    return fmt(round(float(x), digits) + 0.0, digits)


def _compare(name: str, mine: float, best: float) -> str:
    diff = mine - best
    if abs(diff) < SAME:
        return f"the same {name} ({mine:.2f})"
    word = ("far " if abs(diff) >= FAR else "") + ("more" if diff > 0 else "less")
    return f"{word} {name} ({mine:.2f} vs {best:.2f})"


def verdict(report: Mapping[str, Any], optimum: Mapping[str, Any]) -> str:
    """One sentence: a policy against the optimum, from two ``StreamReport.to_dict()``."""
    s, o = report["streams"], optimum["streams"]
    parts = [_compare(g, s[g], o[g]) for g in GOODS]
    parts.append(f"entrapment {s['trap']:.2f} (optimum {o['trap']:.2f})")
    cost, cost_opt = s["troop_cost"] + s["basing_cost"], o["troop_cost"] + o["basing_cost"]
    if max(cost, cost_opt) >= SAME:
        parts.append(f"troop and basing costs {cost:.3f} (optimum {cost_opt:.3f})")
    return f"{report['policy']}: {', '.join(parts)}; {pct(report['share'])} of V*"


def streams_table(reports: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: one row per policy (value, share of V*, discounted mean of the value and of each stream)."""
    columns = ["policy", "V^pi(s0)", "share of V*", "(1-γ)V", *STREAM_COLUMNS]
    rows = [[r["policy"], fmt(r["value"]), pct(r["share"]), _num(r["mean_value"]),
             *(_num(r["streams"][c]) for c in STREAM_COLUMNS)] for r in reports]
    return table(columns, rows, ["---"] + ["---:"] * (len(columns) - 1))


def streams_text(reports: Sequence[Mapping[str, Any]]) -> str:
    """The streams table, then a sentence per policy against the optimum (the first report)."""
    optimum = reports[0]
    lines = [streams_table(reports), ""]
    lines += [f"- {verdict(r, optimum)}" for r in reports[1:]]
    return "\n".join(lines)


STREAMS_LEGEND = (
    "Discounted means (× (1 − γ)) of each term of the reward from the start state (docs/model.md "
    "section 6); the policy's value is scored as section 7 says. security, autonomy and economy are "
    "the three goods (each in [0, 1]); ces is their CES aggregate; ces + identity_bonus − troop_cost − "
    "basing_cost − diplomacy_cost = (1 − γ) V^π exactly; trap is the entrapment charged inside security.")


def state_text(expl: Mapping[str, Any]) -> str:
    """One state's decomposition (``StateExplanation.to_dict()``): the optimal action and each
    family's best action, the gap Q*(a*) − Q*(a_f) split into this quarter's reward and the continuation."""
    state = ", ".join(f"{k}={v}" for k, v in expl["state"].items())
    opt = expl["optimal"]
    lines = [f"scenario {expl['scenario']}, quarter t = {expl['t']}, state {state}: V* = {expl['value']:.4f}",
             f"optimal action {tuple(opt['action'])}: {opt['words']}", ""]
    columns = ["family", "best action (m, k, g, d)", "Q*", "gap", *(f"Δ {p}" for p in PARTS), "Δ continuation",
               *(f"Δ {g}" for g in GOODS)]
    rows = [["optimal", str(tuple(opt["action"])), fmt(opt["q"], 4), fmt(0.0, 4), *[""] * (len(PARTS) + 1 + 3)]]
    for family, best in expl["best"].items():
        gap = expl["gaps"][family]
        rows.append([family, str(tuple(best["action"])), _num(best["q"]), _num(gap["gap"]),
                     *(_num(gap["reward_parts"][p]) for p in PARTS), _num(gap["continuation"]),
                     *(_num(gap["goods"][g], 3) for g in GOODS)])
    lines.append(table(columns, rows, ["---", "---"] + ["---:"] * (len(columns) - 2)))
    lines += ["", "gap = the Δ reward parts (signed as they enter r) + Δ continuation (γ E[V*(s')]); "
              "Δ goods are the optimal action's minus the family's (they enter r only through ces)."]
    return "\n".join(lines)


def frontier_table(frontier: Mapping[str, Any]) -> str:
    """The frontier's points (``Frontier.to_dict()``): the optima along w_A, the optimum at the
    scenario's weights and every baseline."""
    columns = ["policy", "w_S", "w_A", "w_E", "security", "autonomy", "economy", "V^pi / V*"]
    points = [("optimal", p) for p in frontier["optima"]] + [("optimal (scenario's weights)", frontier["default"])]
    points += [(p["label"], p) for p in frontier["baselines"]]
    rows = [[name, *(f"{w:.3f}" for w in p["weights"]), fmt(p["security"]), fmt(p["autonomy"]),
             fmt(p["economy"]), pct(p["value"] / p["optimum"])] for name, p in points]
    return table(columns, rows, ["---"] + ["---:"] * (len(columns) - 1))
