"""The discovery's part of a report (issue 15): the section "How robust is the answer?" and its
figures — fine phase diagrams, a Sobol bar chart, the share of each label per calendar phase.

Plain data in (what :func:`training.study.robustness.analyse` returns and the verdicts), Markdown
and PNG files out; nothing here solves or samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from training.render.figures import ARCHETYPES, _figure, _save
from training.render.tables import fmt, pct, table

OUTPUT_WORDS = {"limited_family": "limited-participation optimal", "m_bar": "mean participation m̄",
                "f_med": "mediation share f_med", "f_west": "West-signal share f_west",
                "share_limited": "share of V* of `limited`", "hedging": "hedging optimal", "k_bar": "recognition k̄"}
PHASE_WORDS = ("Φ0 hedging era", "Φ1 regime crisis", "Φ2 invasion", "Φ3 patron crisis", "Φ4 protracted war")


def _palette(labels: Sequence[str]) -> tuple[list[str], list]:
    order = list(ARCHETYPES) + sorted(set(labels) - set(ARCHETYPES))
    colours = [matplotlib.colormaps["Set3"](i % 12) if i < 12 else matplotlib.colormaps["tab20"](i % 20)
               for i in range(len(order))]
    return order, colours


def plot_fine_diagram(cells: Sequence[Sequence[Any]], n: int, xlabel: str, ylabel: str, title: str,
                      path: Path) -> Path:
    """An ``n x n`` categorical map from cells (x, y, label), x varying fastest."""
    labels = [str(c[2]) for c in cells]
    order, colours = _palette(labels)
    idx = np.array([order.index(lab) for lab in labels]).reshape(n, n)
    xs, ys = sorted({c[0] for c in cells}), sorted({c[1] for c in cells})
    fig = _figure(8.0, 5.6)
    ax = fig.add_subplot()
    ax.imshow(idx, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(order) - 0.5, origin="lower", aspect="auto",
              extent=(xs[0], xs[-1], ys[0], ys[-1]), interpolation="nearest")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    present = sorted({int(k) for k in idx.flat})
    ax.legend(handles=[Patch(facecolor=colours[k], edgecolor="0.4", label=order[k]) for k in present],
              title="archetype", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return _save(fig, path)


def plot_sobol(sobol: Sequence[Mapping], scenario: str, outputs: Sequence[str], path: Path, top: int = 10) -> Path:
    """Total (ST) and first-order (S1) indices with 95 % intervals, the ``top`` factors per output."""
    fig = _figure(4.2 * len(outputs), 4.6)
    axes = fig.subplots(1, len(outputs), squeeze=False)[0]
    for ax, out in zip(axes, outputs):
        rows = sorted([r for r in sobol if r["scenario"] == scenario and r["output"] == out
                       and not math.isnan(r["ST"])], key=lambda r: -r["ST"])[:top][::-1]
        y = np.arange(len(rows))
        ax.barh(y + 0.2, [r["ST"] for r in rows], 0.4, xerr=[r["ST_conf"] for r in rows], label="total ST",
                color="#4c72b0")
        ax.barh(y - 0.2, [r["S1"] for r in rows], 0.4, xerr=[r["S1_conf"] for r in rows], label="first-order S1",
                color="#dd8452")
        ax.set_yticks(y, [f"{r['factor']} ({r['group']})" for r in rows], fontsize=7)
        ax.set(title=OUTPUT_WORDS.get(out, out), xlabel="Sobol index")
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Sobol indices on `{scenario}` (bars: 95 % bootstrap intervals)")
    return _save(fig, path)


def plot_phase_labels(shares: Sequence[Mapping], scenario: str, path: Path) -> Path:
    """Stacked bars: per phase, the share of samples whose optimum has each label in that phase."""
    phases = sorted({r["phase"] for r in shares if r["scenario"] == scenario and r["phase"] != "all"})
    labels = sorted({r["label"] for r in shares if r["scenario"] == scenario and r["phase"] in phases})
    order, colours = _palette(labels)
    fig = _figure(8.5, 4.4)
    ax = fig.add_subplot()
    bottom = np.zeros(len(phases))
    for lab in labels:
        v = np.array([sum(r["share"] for r in shares if r["scenario"] == scenario and r["phase"] == ph
                          and r["label"] == lab) for ph in phases])
        ax.bar(range(len(phases)), v, bottom=bottom, color=colours[order.index(lab)], edgecolor="0.4", label=lab)
        bottom += v
    ax.set_xticks(range(len(phases)), [PHASE_WORDS[int(p[-1])] for p in phases], fontsize=8)
    ax.set(ylabel="share of samples", title=f"The optimum's archetype per phase of `{scenario}` across samples")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _save(fig, path)


def render_figures(disc: Mapping | None, folder: Path) -> dict[str, Path]:
    """Every discovery figure the data allows; name -> path."""
    if not disc:
        return {}
    out: dict[str, Path] = {}
    words = {"tau": "threat τ (every phase)", "lockout": "Western lock-out L (1 = open)",
             "identification": "identification ι", "power": "power c"}
    for name, g in disc["diagrams"].items():
        if len(g["cells"]) == g["n"] ** 2:
            out[f"diagram_{name}"] = plot_fine_diagram(
                g["cells"], g["n"], words.get(g["x"], g["x"]), words.get(g["y"], g["y"]),
                f"Optimal archetype on `{g['scenario']}`, {g['n']} × {g['n']} exact solves", folder / f"diagram_{name}.png")
    for s in disc["scenarios"]:
        if any(r["scenario"] == s for r in disc["sobol"]):
            out[f"sobol_{s}"] = plot_sobol(disc["sobol"], s, ["limited_family", "m_bar", "f_med", "f_west",
                                                                 "share_limited"], folder / f"sobol_{s}.png")
        if any(r["scenario"] == s and r["phase"] != "all" for r in disc["shares"]):
            out[f"phase_labels_{s}"] = plot_phase_labels(disc["shares"], s, folder / f"phase_labels_{s}.png")
    return out


# ------------------------------------------------------------------------------------------ words
def top_factors(sobol: Sequence[Mapping], scenario: str, output: str, k: int = 3) -> list[Mapping]:
    rows = [r for r in sobol if r["scenario"] == scenario and r["output"] == output and not math.isnan(r["ST"])]
    return sorted(rows, key=lambda r: -r["ST"])[:k]


def _deciders(sobol: Sequence[Mapping], scenario: str, output: str) -> str:
    top = top_factors(sobol, scenario, output)
    if not top:
        return "no Sobol indices (the Saltelli sample is not complete, or the output does not vary)"
    return ", ".join(f"`{r['factor']}` (ST {fmt(r['ST'], 2)})" for r in top)


def _iv(share: float, low: float, high: float) -> str:
    return f"{pct(share)} [{pct(low)}, {pct(high)}]" if share == share else "—"


def _reading(disc: Mapping, hid: str, start: str) -> Mapping | None:
    return next((r for r in disc.get("readings", {}).get(hid, []) if r["text"].startswith(start) and r["n"]), None)


def _read(r: Mapping | None) -> str:
    return f"{_iv(r['share'], r['low'], r['high'])} of {r['n']:,} {r['basis']}" if r else "not read"


def robust_sentences(disc: Mapping, hypotheses: Sequence[Mapping]) -> list[str]:
    """One sentence per hypothesis: how much of the sampled space meets its criteria and which parameters
    decide it (each hypothesis's section gives every criterion across the space)."""
    sob, corr, nr = disc["sobol"], disc["correlations"], disc.get("not_read", {})
    verdict = {h["id"]: h["verdict"] for h in hypotheses}
    lines = []
    if "H1" in disc.get("readings", {}):
        lines.append("**H1** (limited participation optimal in `war`): the optimum is limited participation with "
                     "troops ≈ 0, recognition <= .3 and deep integration ≈ 0 in "
                     f"{_read(_reading(disc, 'H1', 'all four'))}; deciding parameters (total Sobol index of the "
                     f"limited indicator): {_deciders(sob, 'war', 'limited_family')}.")
    lines += [f"**{h}**: {nr[h]}." for h in ("H2", "H3") if h in nr]
    if "H4" in disc.get("readings", {}):
        lines.append("**H4** (identification raises recognition before participation): on the `identification` "
                     "pairs, recognition comes first (the criterion as first written) in "
                     f"{_read(_reading(disc, 'H4', 'recognition before'))}, k̄ rises by > .05 in "
                     f"{_read(_reading(disc, 'H4', 'k̄ rises'))}; troops ≈ 0 in {_read(_reading(disc, 'H4', 'troops'))}; "
                     f"recognition k̄ is decided by {_deciders(sob, 'war', 'k_bar')}.")
    if "H5" in disc.get("readings", {}):
        rho = (f"; Spearman ρ(c, m̄) = {fmt(corr['war']['m_bar'], 2)} and ρ(c, Ā) = {fmt(corr['war']['A_bar'], 2)} "
               "over all samples" if corr.get("war") else "")
        lines.append("**H5** (power lowers participation, raises autonomy): on the `power` pairs m̄ falls by > .05 in "
                     f"{_read(_reading(disc, 'H5', 'm̄ falls'))} and Ā rises by > .05 in "
                     f"{_read(_reading(disc, 'H5', 'Ā rises'))}{rho}; m̄ is decided by {_deciders(sob, 'war', 'm_bar')}.")
    if "H6" in disc.get("readings", {}):
        lines.append("**H6** (mediation peaks in the patron crisis): in `calendar` the optimum's mediation share is "
                     f"highest in Φ3 in {_read(_reading(disc, 'H6', 'f_med is highest'))}; the mediation share is "
                     f"decided by {_deciders(sob, 'calendar', 'f_med')}.")
    lines.append(f"**H7** (threat and alternatives decide): verdict **{verdict.get('H7', 'untested')}** (below).")
    return lines


def conditional_part(disc: Mapping) -> list[str]:
    """Item 5 of issue 31: every headline share over all samples and at each level of each integer factor."""
    rows = disc.get("conditional") or []
    if not rows or not disc.get("integers"):
        return []

    def col(r: Mapping) -> tuple[str, float | None]:
        return r["factor"], None if r["factor"] == "all" else r["level"]

    cols = list(dict.fromkeys(col(r) for r in rows))
    n = {col(r): r["n"] for r in rows}
    head = ["headline share", *[("all samples" if f == "all" else f"`{f}` = {lv:g}") + f" (n = {n[(f, lv)]:,})"
                                for f, lv in cols]]
    by = {(r["headline"], *col(r)): r for r in rows}
    body = [[name, *[_iv(c["share"], c["low"], c["high"]) if (c := by.get((name, *k))) else "—" for k in cols]]
            for name in dict.fromkeys(r["headline"] for r in rows)]
    return ["**What the integer factors decide.** Each headline share over all samples and at each level of each "
            "integer factor (" + ", ".join(f"`{f}`" for f in disc["integers"]) + "; n counts samples, a pair's "
            "criterion reads the pairs whose block sits at that level):", "", table(head, body), ""]


def robust_section(disc: Mapping | None, hypotheses: Sequence[Mapping], figs: Mapping[str, str]) -> str:
    """The section "How robust is the answer?" (empty without a discovery)."""
    if not disc:
        return ""
    n, d = disc["n_samples"], len(disc["factors"])
    parts = ["## How robust is the answer?", "",
             f"Every verdict below is read at one parameter vector, docs/model.md's. Here {n:,} parameter vectors are "
             f"drawn over the plausible ranges of all {d} uncertain factors (docs/uncertainty.md; {disc['n_sobol']:,} "
             "of them Saltelli's sample for Sobol indices) and each is solved exactly in "
             + ", ".join(f"`{s}`" for s in disc["scenarios"]) + ". "
             f"**Intervals** of a share of samples: {disc.get('interval_method', '95 % bootstrap')} — the rows of a "
             "block are not independent draws, so resampling rows would make the intervals too narrow.", ""]
    parts += [f"- {line}" for line in robust_sentences(disc, hypotheses)] + [""]
    rows = [[r["scenario"], r["label"], _iv(r["share"], r["low"], r["high"]),
             pct(r["fragility"]) if "fragility" in r else "—",
             f"{pct(r['share_min'])}–{pct(r['share_max'])}" if "share_min" in r else "—"]
            for r in disc["shares"] if r["phase"] == "all"]
    shift = disc.get("shift", 0.02)
    parts += ["**Optimal archetype across the sampled space** (share of samples, 95 % interval; *fragile*: the share "
              f"of samples whose membership in the archetype changes when any one threshold of docs/model.md §9 moves "
              f"by ±{shift:g}, and the archetype's share over those moves; per phase in `archetype_shares.csv`):", "",
              table(["scenario", "optimal archetype", "share of samples", "fragile", f"share, thresholds ±{shift:g}"],
                    rows), ""]
    parts += conditional_part(disc)
    for s in disc["scenarios"]:
        for out in ("limited_family", "m_bar"):
            top = top_factors(disc["sobol"], s, out)
            if top:
                parts.append(f"Top three by total Sobol index, `{s}`, {OUTPUT_WORDS[out]}: "
                             + ", ".join(f"`{r['factor']}` {fmt(r['ST'], 2)} ± {fmt(r['ST_conf'], 2)}" for r in top) + ".")
    parts.append("")
    boxes = [r for r in disc["boxes"]]
    if boxes:
        seen: dict[tuple, list] = {}
        for r in boxes:
            seen.setdefault((r["scenario"], r["question"], r["box"]), []).append(r)
        rows = [[s, q, b + 1, "; ".join(f"{r['input']} ∈ [{fmt(r['low'], 2)}, {fmt(r['high'], 2)}]" for r in rs),
                 fmt(rs[0]["coverage"], 2), fmt(rs[0]["density"], 2)] for (s, q, b), rs in seen.items()]
        parts += ["**Where it holds** (PRIM boxes, Bryant & Lempert 2010: coverage = share of the cases inside the "
                  "box, density = share of the box that are cases):", "",
                  table(["scenario", "question", "box", "restricted parameters", "coverage", "density"], rows), ""]
    for key in sorted(figs):
        if key.startswith(("diagram_", "sobol_", "phase_labels_")):
            parts.append(f"![{key}]({figs[key]})\n")
    if disc["solved"]:
        counts = ", ".join(f"{v:,} {k}" for k, v in disc["solved"].items())
        parts += [f"Compute: {sum(disc['solved'].values()):,} exact solves ({counts}), one Ray task per batch of "
                  f"{disc['batch']}. Wall time is linear in both: ≈ (samples × the seconds of a sample, summed over "
                  "the scenarios, + cells × the seconds of a cell) ÷ workers; "
                  f"`benchmarks/discovery_speed.py --config {disc['config'] or 'CONFIG'}` measures those seconds "
                  "(samples per second per worker) on the machine at hand (the report depends on the stored results "
                  "only, not on how long they took). Tables: "
                  f"`{disc['folder']}/` (samples.csv, archetype_shares.csv, criteria_across.csv, conditional_shares.csv, "
                  "sobol.csv, grouped_sobol.csv, boxes.csv).", ""]
    return "\n".join(parts)
