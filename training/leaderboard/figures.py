"""The leaderboard's figures from plain numbers (``training.leaderboard.scores``): the sample-efficiency
curves per scenario with V* and the best baseline as lines, and the performance profiles. The aggregate
intervals are ``training.render.figures.plot_interval_estimates``. PNGs written atomically."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from training.results import store

DPI = 120
Interval = tuple[float, float, float]


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return store.atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=DPI))


def _colours(algos: Sequence[str]) -> dict[str, str]:
    return {a: f"C{i % 10}" for i, a in enumerate(algos)}


def plot_curves(curves: Mapping[tuple[str, str], Mapping[str, list[float]]], scenarios: Sequence[str],
                algos: Sequence[str], baselines: Mapping[str, tuple[str, float]], path: str | os.PathLike[str],
                title: str) -> Path:
    """One panel per scenario: each algorithm's mean share of V* over seeds at each checkpoint (band: min
    to max), V* (share 1) and the best baseline's exact share as horizontal lines."""
    cols = min(2, len(scenarios))
    rows = math.ceil(len(scenarios) / cols)
    fig = Figure(figsize=(6.0 * cols, 3.8 * rows), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))
    colour = _colours(algos)
    for i, scenario in enumerate(scenarios):
        ax = fig.add_subplot(rows, cols, i + 1)
        for algo in algos:
            c = curves.get((algo, scenario))
            if not c:
                continue
            ax.plot(c["steps"], c["mean"], "-o", ms=3, color=colour[algo], label=algo if i == 0 else None)
            ax.fill_between(c["steps"], c["min"], c["max"], color=colour[algo], alpha=0.12, lw=0)
        ax.axhline(1.0, color="k", lw=1.2, label="V* (exact optimum)" if i == 0 else None)
        if scenario in baselines:
            name, share = baselines[scenario]
            ax.axhline(share, color="k", ls="--", lw=1, label="best baseline" if i == 0 else None)
            ax.annotate(f"{name} {share:.3f}", (0.01, share), xycoords=("axes fraction", "data"), fontsize=7,
                        va="bottom")
        ax.set(title=scenario, xlabel="env steps", ylabel="share of V*")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.legend(loc="outside lower center", ncols=min(6, len(algos) + 2), fontsize=8, frameon=False)
    return _save(fig, path)


def plot_profiles(profiles: Mapping[str, Sequence[Interval]], taus: Sequence[float], order: Sequence[str],
                  path: str | os.PathLike[str], title: str) -> Path:
    """Performance profiles: the fraction of runs (seeds x scenarios) with share of V* >= tau, with
    their stratified-bootstrap 95 % bands."""
    fig = Figure(figsize=(7.5, 4.8), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))
    ax = fig.add_subplot()
    colour = _colours(order)
    x = np.asarray(taus)
    for algo in order:
        p = np.asarray(profiles[algo], dtype=float)
        ax.plot(x, p[:, 0], color=colour[algo], label=algo)
        ax.fill_between(x, p[:, 1], p[:, 2], color=colour[algo], alpha=0.12, lw=0)
    ax.set(xlabel="tau (share of V*)", ylabel="fraction of runs with share >= tau", title=title, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    return _save(fig, path)
