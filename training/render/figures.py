"""Report figures rendered from plain arrays and dicts (no training, no env): PNG files written atomically.

Each function draws on a fresh ``matplotlib.figure.Figure`` (Agg canvas, no pyplot state), saves it
to a temporary file next to ``path`` and renames it into place, and returns the path.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter

from training.results import store

DPI = 120
Interval = tuple[float, float, float]

ARCHETYPES = ("bandwagon", "limited_bandwagoning", "limited_participation", "limited_participation+mediation",
              "limited_participation+fararc", "limited_participation+mediation+fararc", "hedging", "mediator",
              "neutral", "balancing", "mixed")
"""Known labels (docs/model.md section 9), each with a fixed colour so that figures agree with each other."""
_ABBREV = {"participation": "particip.", "bandwagoning": "bandwag.", "mediation": "med.", "fararc": "far-arc"}


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG through :func:`training.results.store.atomic_write` (a temporary file in
    ``path``'s folder, fsync, then ``os.replace`` onto ``path``): a kill leaves the old file or the new one."""

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return store.atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=DPI))


def _figure(width: float, height: float) -> Figure:
    """A figure (inches) with constrained layout and a little padding around the edges."""
    return Figure(figsize=(width, height), layout=ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08))


def _nonempty(name: str, x: Mapping | Sequence) -> None:
    if len(x) == 0:
        raise ValueError(f"{name}: got an empty collection; allowed: at least one entry")


def plot_interval_estimates(
    estimates: Mapping[str, Interval],
    path: str | os.PathLike[str],
    xlabel: str = "IQM share of V* (1 = optimum)",
    title: str = "Aggregate performance (95 % stratified-bootstrap CI)",
) -> Path:
    """Horizontal interval per policy (best on top), values on the right, a dashed line at the optimum."""
    _nonempty("estimates", estimates)
    names = sorted(estimates, key=lambda n: estimates[n][0])
    pts, lo, hi = (np.array([estimates[n][i] for n in names], dtype=float) for i in range(3))
    y = np.arange(len(names))
    fig = _figure(8.0, 1.6 + 0.42 * len(names))
    ax = fig.add_subplot()
    ax.hlines(y, lo, hi, color="C0", lw=2.5, label="95 % CI")
    ax.plot(pts, y, "o", color="C0", mec="k", label="point estimate")
    ax.axvline(1.0, ls="--", color="k", lw=1, label="optimum")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    right = ax.secondary_yaxis("right")
    right.set_yticks(y, [f"{p:.3f} [{a:.3f}, {b:.3f}]" for p, a, b in zip(pts, lo, hi)], fontsize=8)
    right.set_ylabel("point [95 % CI]", fontsize=8)
    ax.set(xlabel=xlabel, title=title)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return _save(fig, path)


def plot_bar_shares(
    values: Mapping[str, Interval],
    path: str | os.PathLike[str],
    ylabel: str = "share of V* (1 = optimum)",
    title: str = "Baselines: value as a share of the optimum",
) -> Path:
    """Bars of each policy's point estimate (sorted, best first) with (lo, hi) error bars and a line at 1."""
    _nonempty("values", values)
    names = sorted(values, key=lambda n: -values[n][0])
    pts, lo, hi = (np.array([values[n][i] for n in names], dtype=float) for i in range(3))
    x = np.arange(len(names))
    fig = _figure(max(5.0, 2.0 + 0.75 * len(names)), 4.6)
    ax = fig.add_subplot()
    err = np.vstack([np.maximum(pts - lo, 0), np.maximum(hi - pts, 0)])
    ax.bar(x, pts, yerr=err, capsize=4, color="C0", alpha=0.8, ecolor="k", label="point estimate, CI")
    ax.axhline(1.0, ls="--", color="k", lw=1, label="optimum")
    span = max(np.max(np.abs(np.r_[lo, hi, pts, 1.0])), 1e-9)
    for xi, p, top, bot in zip(x, pts, hi, lo):
        ax.text(xi, (max(top, p) + 0.02 * span) if p >= 0 else (min(bot, p) - 0.02 * span), f"{p:.2f}",
                ha="center", va="bottom" if p >= 0 else "top", fontsize=8)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(ylabel=ylabel, title=title)
    ax.margins(y=0.12)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return _save(fig, path)


def plot_action_heatmap(
    shares: Mapping[str, np.ndarray],
    feature_names: Sequence[str],
    phase_names: Sequence[str],
    path: str | os.PathLike[str],
    title: str = "Action shares by phase",
    ylabel: str = "phase",
) -> Path:
    """One annotated heat map per policy: rows phases, columns action features, values in [0, 1].

    NaN cells (a phase the policy never visits) are grey and marked "–". Feature groups (the text
    before "=", e.g. m, k, g, d) are separated by white lines.
    """
    _nonempty("shares", shares)
    nph, nf = len(phase_names), len(feature_names)
    n = len(shares)
    ncols, nrows = (1, 1) if n == 1 else (2, math.ceil(n / 2))
    # at least 3.6 in tall: the colour bar's label must fit beside a one-row map
    fig = _figure(ncols * (0.52 * nf + 1.4) + 1.2, max(3.6, nrows * (0.42 * nph + 1.3) + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    groups = [f.split("=")[0] for f in feature_names]
    for ax, (name, arr) in zip(axes.flat, shares.items()):
        a = np.asarray(arr, dtype=float)
        if a.shape != (nph, nf):
            raise ValueError(f"shares[{name!r}]: got shape {a.shape}; allowed: (n_phases, n_features) = {(nph, nf)}")
        im = ax.imshow(np.ma.masked_invalid(a), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="k" if np.isnan(v) or v > 0.55 else "w")
        for j in range(1, nf):
            if groups[j] != groups[j - 1]:
                ax.axvline(j - 0.5, color="w", lw=2.5)
        ax.set_xticks(range(nf), feature_names, fontsize=8)
        ax.set_yticks(range(nph), phase_names)
        ax.set(xlabel="action feature", ylabel=ylabel, title=name)
    for ax in axes.flat[n:]:
        ax.remove()
    fig.colorbar(im, ax=axes.flat[:n], label="share of the phase's occupancy\n(grey: not visited)",
                 shrink=0.9, pad=0.01)
    fig.suptitle(title)
    return _save(fig, path)


def plot_learning_curves(
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    optimum: float | None,
    path: str | os.PathLike[str],
    ylabel: str = "mean evaluation return",
    xlabel: str = "environment steps",
    title: str = "Learning curves (line: mean over seeds; band: min–max)",
    optimum_label: str = "optimum (exact)",
) -> Path:
    """Mean over seeds with a min-max band per algorithm, on the seeds' common range of timesteps;
    ``optimum``, if given, is a dashed line labelled ``optimum_label``."""
    _nonempty("curves", curves)
    fig = _figure(8.0, 4.8)
    ax = fig.add_subplot()
    for i, (algo, runs) in enumerate(curves.items()):
        _nonempty(f"curves[{algo!r}]", runs)
        ts = [np.asarray(t, dtype=float) for t, _ in runs]
        lo_t, hi_t = max(t.min() for t in ts), min(t.max() for t in ts)
        grid = np.unique(np.concatenate(ts))
        grid = grid[(grid >= lo_t) & (grid <= hi_t)]
        ys = np.array([np.interp(grid, t, np.asarray(r, dtype=float)) for t, (_, r) in zip(ts, runs)])
        seeds = f"{len(runs)} seed{'s' if len(runs) > 1 else ''}"
        ax.plot(grid, ys.mean(axis=0), color=f"C{i}", lw=2, label=f"{algo} ({seeds})")
        if len(runs) > 1:
            ax.fill_between(grid, ys.min(axis=0), ys.max(axis=0), color=f"C{i}", alpha=0.2, lw=0)
    if optimum is not None:
        ax.axhline(optimum, ls="--", color="k", lw=1.2, label=optimum_label)
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def _cell_text(label: str, width: int = 10) -> str:
    """Wrap a label into short lines; long words and "+" modifiers are abbreviated."""
    main, *mods = str(label).split("+")
    words = [_ABBREV.get(w, w) if len(w) > width else w for w in main.split("_")]
    text = textwrap.fill(" ".join(words), width)
    return text + ("\n" + " ".join("+" + _ABBREV.get(m, m) for m in mods) if mods else "")


def plot_phase_diagram(
    grid: np.ndarray,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    path: str | os.PathLike[str],
    title: str,
    xlabel: str,
    ylabel: str,
) -> Path:
    """Categorical map of labels over a 2-D grid; ``grid[i, j]`` is for ``y_labels[i]``, ``x_labels[j]``.

    Row 0 is drawn at the bottom (y grows upward). Known archetypes keep fixed colours.
    """
    g = np.asarray(grid, dtype=object)
    if g.shape != (len(y_labels), len(x_labels)):
        raise ValueError(f"grid: got shape {g.shape}; allowed: (len(y_labels), len(x_labels)) = "
                         f"{(len(y_labels), len(x_labels))}")
    order = list(ARCHETYPES) + sorted({str(v) for v in g.flat} - set(ARCHETYPES))
    palette = [matplotlib.colormaps["Set3"](i % 12) if i < 12 else matplotlib.colormaps["tab20"](i % 20)
               for i in range(len(order))]
    idx = np.vectorize(lambda v: order.index(str(v)), otypes=[int])(g)
    ny, nx = g.shape
    fig = _figure(max(3.5, 1.3 * nx) + 2.8, max(2.8, 1.0 * ny) + 1.2)
    ax = fig.add_subplot()
    ax.imshow(idx, cmap=ListedColormap(palette), vmin=-0.5, vmax=len(order) - 0.5, origin="lower", aspect="auto")
    for (i, j), v in np.ndenumerate(g):
        ax.text(j, i, _cell_text(v), ha="center", va="center", fontsize=7.5, linespacing=1.1)
    ax.set_xticks(np.arange(nx + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(ny + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="w", lw=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xticks(range(nx), x_labels)
    ax.set_yticks(range(ny), y_labels)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    present = sorted({int(k) for k in idx.flat})
    handles = [Patch(facecolor=palette[k], edgecolor="0.4", label=order[k]) for k in present]
    ax.legend(handles=handles, title="archetype", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return _save(fig, path)


def _time_ticks(t_labels: Sequence[str]) -> tuple[list[int], list[str], str]:
    """Ticks at each year's Q1 labelled by the year for 'YYYYQn' labels, else about 12 evenly spaced."""
    if t_labels and all(re.fullmatch(r"\d{4}Q[1-4]", s) for s in t_labels):
        pos = [i for i, s in enumerate(t_labels) if s.endswith("Q1")]
        return pos, [t_labels[i][:4] for i in pos], "calendar quarter (ticks at each year's Q1)"
    step = max(1, math.ceil(len(t_labels) / 12))
    pos = list(range(0, len(t_labels), step))
    return pos, [t_labels[i] for i in pos], "step"


def plot_strategy_timeline(
    t_labels: Sequence[str],
    shares: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    phase_bounds: Sequence[tuple[str, int, int]],
    title: str = "Optimal policy's action shares along the calendar",
) -> Path:
    """One panel per action feature group (text before "="): stacked areas when the group's shares sum
    to 1 at every step, else lines; phases ``(name, first index, last index)`` (inclusive, e.g.
    ``("Φ1", 26, 31)``) shaded, separated by dotted lines and labelled on top.
    """
    _nonempty("shares", shares)
    n_t = len(t_labels)
    for name, first, last in phase_bounds:
        if not 0 <= first <= last < n_t:
            raise ValueError(f"phase_bounds: got ({name!r}, {first}, {last}); allowed: 0 <= first <= last < {n_t}")
    groups: dict[str, list[str]] = {}
    for f, v in shares.items():
        if np.shape(v) != (n_t,):
            raise ValueError(f"shares[{f!r}]: got shape {np.shape(v)}; allowed: ({n_t},) = len(t_labels)")
        groups.setdefault(f.split("=")[0], []).append(f)
    fig = _figure(10.0, 1.0 + 1.7 * len(groups))
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    edges = np.arange(n_t + 1) - 0.5  # step t covers [t - 0.5, t + 0.5)
    for ax, (group, feats) in zip(axes, groups.items()):
        for k, (_, first, last) in enumerate(phase_bounds):
            ax.axvspan(first - 0.5, last + 0.5, color="0.88" if k % 2 == 0 else "0.97", lw=0, zorder=0)
            if k > 0:
                ax.axvline(first - 0.5, color="k", ls=":", lw=1, zorder=3)
        ys = np.array([np.asarray(shares[f], dtype=float) for f in feats])
        if len(feats) > 1 and np.allclose(ys.sum(axis=0), 1.0, atol=1e-6):
            ax.stackplot(edges, np.c_[ys, ys[:, -1]], labels=feats, step="post", alpha=0.85, zorder=2)
        else:
            for f, yv in zip(feats, ys):
                ax.stairs(yv, edges, lw=1.8, label=f, zorder=2, baseline=None)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(f"share ({group})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    last_centre, row, gap = -math.inf, 0, max(2.0, 0.07 * n_t)
    for name, first, last in phase_bounds:  # a label too close to the previous one goes up a row
        centre = (first + last) / 2
        row = 1 - row if centre - last_centre < gap else 0
        axes[0].text(centre, 1.03 + 0.14 * row, name, ha="center", va="bottom", fontsize=9,
                     transform=axes[0].get_xaxis_transform())
        last_centre = centre
    pos, labels, xlabel = _time_ticks(t_labels)
    axes[-1].set_xticks(pos, labels)
    axes[-1].set(xlim=(-0.5, n_t - 0.5), xlabel=xlabel)
    fig.suptitle(title)
    return _save(fig, path)
