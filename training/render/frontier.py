"""The autonomy-security frontier as a figure, from :func:`agents.frontier.trade_off_frontier`'s data.

Imports only matplotlib and agents (``training.render.figures``'s atomic save could replace the
write below).

    from agents.frontier import trade_off_frontier
    plot_frontier(trade_off_frontier(make_params("war")), "frontier_war.png")
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from agents.frontier import Frontier
from training.results.store import atomic_write

DPI = 120


def draw_frontier(frontier: Frontier) -> Figure:
    """Discounted mean security against discounted mean autonomy: the optima along w_A joined by a
    line (w_A written beside every other point), each baseline a labelled point, the optimum at the
    scenario's own weights a star."""
    fig = Figure(figsize=(7.0, 5.2), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))
    ax = fig.add_subplot()
    aut = [p.autonomy for p in frontier.optima]
    sec = [p.security for p in frontier.optima]
    ax.plot(aut, sec, "-o", color="tab:blue", ms=4, lw=1.5, label="optimum for w_A = 0 ... 0.8")
    for i, p in enumerate(frontier.optima):
        if i % 2 == 0:
            ax.annotate(f"{p.weights[1]:.2f}", (p.autonomy, p.security), textcoords="offset points",
                        xytext=(4, 4), fontsize=7, color="tab:blue")
    d = frontier.default
    ax.plot([d.autonomy], [d.security], "*", color="tab:red", ms=14, zorder=5,
            label=f"optimum at the scenario's weights {tuple(round(w, 2) for w in d.weights)}")
    for b in frontier.baselines:
        ax.plot([b.autonomy], [b.security], "s", color="0.35", ms=5)
        ax.annotate(b.label, (b.autonomy, b.security), textcoords="offset points", xytext=(5, -3), fontsize=8)
    ax.set_xlabel("autonomy Aut (discounted mean)")
    ax.set_ylabel("security S (discounted mean)")
    ax.set_title(f"The autonomy-security frontier: {frontier.scenario}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)  # where it covers the fewest points
    return fig


def plot_frontier(frontier: Frontier, path: str | os.PathLike[str]) -> Path:
    """Draw the frontier and write it as PNG to ``path`` atomically (``results.store.atomic_write``);
    returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = draw_frontier(frontier)
    atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=DPI))
    return out
