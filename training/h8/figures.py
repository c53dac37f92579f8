"""H8's figures, drawn from the stored units' numbers (no solving): the commitment table at the
point as a heat-map (24 actions, V_S and V_P, the follower's archetype in each cell) and the MPE's
values against the commitment's for both players (the point and the design's rows)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from training.results import store

DPI = 120
SHORT = (("limited_participation", "LP"), ("limited_bandwagoning", "LB"), ("+mediation", "+med"),
         ("+fararc", "+far"), ("bandwagon", "BW"), ("balancing", "bal"), ("hedging", "hedge"))


def short_label(label: str) -> str:
    """A section-9 label in a few characters (the figure's legend spells them out)."""
    for long, short in SHORT:
        label = label.replace(long, short)
    return label


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return store.atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=DPI))


def plot_commitment_heatmap(v_small: Sequence[float], v_patron: Sequence[float], labels: Sequence[str], pick: int,
                            path: str | os.PathLike[str], title: str) -> Path:
    """Two heat-maps (V_S(s0), V_P(s0)) over the 24 commitments: rows (D, IP), columns σ; each cell
    the value and the small state's archetype; the patron's pick framed."""
    if not len(v_small) == len(v_patron) == len(labels) == 24:
        raise ValueError(f"the commitment table: 24 values and labels expected, got {len(v_small)}")
    fig = Figure(figsize=(11.5, 6.4), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))
    axes = fig.subplots(1, 2)
    rows = [f"D={d}, IP={ip}" for d in range(4) for ip in range(2)]
    for ax, values, name in zip(axes, (v_small, v_patron), ("V_S(s0): the small state", "V_P(s0): the patron")):
        grid = np.asarray(values, dtype=float).reshape(8, 3)
        im = ax.imshow(grid, cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_xticks(range(3), ["σ=0 withdrawn", "σ=1 reduced", "σ=2 full"])
        ax.set_yticks(range(8), rows)
        ax.set_title(name)
        lo, hi = float(grid.min()), float(grid.max())
        for a in range(24):
            r, c = divmod(a, 3)
            dark = (grid[r, c] - lo) < 0.5 * (hi - lo)
            ax.text(c, r, f"{grid[r, c]:.2f}\n{short_label(labels[a])}", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
        r, c = divmod(pick, 3)
        ax.add_patch(_frame(c, r))
    fig.suptitle(f"{title}\n(framed: the patron's pick; LP = limited participation, LB = limited bandwagoning, "
                 "BW = bandwagon, +med/+far = mediation/far-arc)", fontsize=9)
    return _save(fig, path)


def _frame(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)


def plot_mpe_vs_commitment(m: pd.DataFrame, path: str | os.PathLike[str], title: str) -> Path:
    """For each player, the certified equilibrium's V(s0) against its value under the patron's chosen
    commitment: the design's rows (hollow where the search is not certified) and the point (a star)."""
    if not len(m):
        raise ValueError("the MPE rows: at least one expected")
    fig = Figure(figsize=(10.5, 4.8), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))
    axes = fig.subplots(1, 2)
    for ax, who, name in zip(axes, ("V_S", "V_P"), ("the small state", "the patron")):
        x, y = m[f"{who}_commitment"].to_numpy(), m[who].to_numpy()
        design, cert = m.index >= 0, m["certified"].to_numpy()
        ax.scatter(x[design & cert], y[design & cert], s=22, color="tab:blue", label="design row, certified")
        ax.scatter(x[design & ~cert], y[design & ~cert], s=22, facecolors="none", edgecolors="tab:gray",
                   label="design row, not certified (NashConv > .10)")
        ax.scatter(x[~design], y[~design], s=160, marker="*", color="tab:red", label="the point (war)")
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle="--", label="equal")
        ax.set_xlabel(f"{who}(s0) under the patron's chosen commitment")
        ax.set_ylabel(f"{who}(s0) in the equilibrium found (no commitment)")
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
