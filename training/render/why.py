"""The report's section "Why the optimum wins", from the stored explain units only
(``training/study/explain_units.py``): per scenario the streams table with a sentence per baseline
(``training.render.explain``, through the one table writer) and the autonomy-security frontier
figure (``training.render.frontier``), the baselines' points taken from the streams file.

    why = {"war": {"streams": {...}, "frontier": {...}}, ...}    # explain_units.load_explain
    figs = why_figures(why, out / "figures")                      # name -> PNG path
    text = why_section(why, relative_figs)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.frontier import Frontier, FrontierPoint
from training.render.explain import STREAMS_LEGEND, streams_text
from training.render.frontier import plot_frontier
from training.render.tables import write_csv

INTRO = (
    "The theory behind the question is the autonomy–security trade-off (Morrow 1991): an ally buys "
    "security with autonomy. Each table below splits the value of the optimum and of every baseline into "
    "the reward's terms — what each strategy gains and gives up — and each figure traces the frontier "
    "the exact optimum draws when the autonomy weight w_A runs from 0 to 0.8 (w_S and w_E rescaled in "
    "their default ratio), with every baseline as a point at the scenario's own weights. A baseline below "
    "and left of the curve gives up both goods; one off the curve elsewhere pays in economy or costs.")


def frontier_of(entry: Mapping[str, Any]) -> Frontier | None:
    """The stored frontier with the baselines' points from the stored streams (None if either is missing)."""
    fr, st = entry.get("frontier"), entry.get("streams")
    if fr is None or st is None:
        return None
    data = fr["frontier"]

    def point(p: Mapping[str, Any]) -> FrontierPoint:
        return FrontierPoint(label=p["label"], weights=tuple(p["weights"]), security=p["security"],
                             autonomy=p["autonomy"], economy=p["economy"], value=p["value"], optimum=p["optimum"])

    default = point(data["default"])
    baselines = [FrontierPoint(label=r["policy"], weights=default.weights, security=r["streams"]["security"],
                               autonomy=r["streams"]["autonomy"], economy=r["streams"]["economy"],
                               value=r["value"], optimum=r["optimum"]) for r in st["policies"][1:]]
    return Frontier(scenario=data["scenario"], optima=[point(p) for p in data["optima"]], baselines=baselines,
                    default=default)


def why_figures(why: Mapping[str, Mapping[str, Any]], folder: Path) -> dict[str, Path]:
    """``figures/frontier_<scenario>.png`` for each scenario with both files stored."""
    out = {}
    for scenario, entry in why.items():
        frontier = frontier_of(entry)
        if frontier is not None:
            out[f"frontier_{scenario}"] = plot_frontier(frontier, folder / f"frontier_{scenario}.png")
    return out


def why_tables(why: Mapping[str, Mapping[str, Any]], folder: Path) -> dict[str, Path]:
    """``tables/streams_<scenario>.csv``: one row per policy, every stream (exact digits)."""
    out = {}
    for scenario, entry in why.items():
        if "streams" in entry:
            rows = [{"policy": r["policy"], "value": r["value"], "share": r["share"], "mean_value": r["mean_value"],
                     **r["streams"]} for r in entry["streams"]["policies"]]
            out[f"streams_{scenario}"] = write_csv(folder / f"streams_{scenario}.csv", rows, digits=None)
    return out


def why_section(why: Mapping[str, Mapping[str, Any]], figs: Mapping[str, str]) -> str:
    """The Markdown section (empty when the config explains no scenario)."""
    if not why:
        return ""
    parts = ["## Why the optimum wins", "", INTRO, "", STREAMS_LEGEND, ""]
    for scenario, entry in why.items():
        parts += [f"### `{scenario}`", ""]
        if "streams" in entry:
            parts += [streams_text(entry["streams"]["policies"]), ""]
        else:
            parts += ["*The streams of this scenario are not computed yet.*", ""]
        fig = figs.get(f"frontier_{scenario}")
        if fig:
            parts += [f"![The autonomy–security frontier on `{scenario}`]({fig})", ""]
        elif "frontier" not in entry:
            parts += ["*The frontier of this scenario is not computed yet.*", ""]
    return "\n".join(parts).rstrip()
