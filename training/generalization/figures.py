"""The generalization study's figure from plain numbers (the per-context table of the report): per
scenario, each held-out context's share of V*_c under each learner (mean over its runs) against the
default point's optimum carried there. Points above the diagonal: the learner does better than carrying
the default's optimum. PNG written atomically (the same numbers give the same bytes)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from training.results import store

DPI = 120


def plot_learners_vs_carried(per_context: Mapping[str, Sequence[Mapping[str, Any]]], learners: Mapping[str, Sequence[str]],
                             path: str | os.PathLike[str]) -> Path | None:
    """One panel per scenario with learners; None (nothing written) when there is none."""
    scenarios = [s for s in per_context if learners.get(s)]
    if not scenarios:
        Path(path).unlink(missing_ok=True)
        return None
    fig = Figure(figsize=(5.0 * len(scenarios), 4.6), layout=ConstrainedLayoutEngine(w_pad=0.08))
    axes = fig.subplots(1, len(scenarios), squeeze=False)[0]
    for ax, s in zip(axes, scenarios):
        rows = [r for r in per_context[s] if r["set"] == "test"]
        x = [r["carried share"] for r in rows]
        low = min([*x, *[r[f"{k} share"] for r in rows for k in learners[s]]])
        for i, k in enumerate(learners[s]):
            ax.scatter(x, [r[f"{k} share"] for r in rows], s=9, alpha=0.6, color=f"C{i}", label=k)
        ax.plot([low, 1.0], [low, 1.0], color="0.4", lw=0.8, ls="--", label="equal")
        ax.set_xlabel("default optimum carried: share of V*_c")
        ax.set_ylabel("learner (mean over runs): share of V*_c")
        ax.set_title(f"{s}: {len(rows)} held-out contexts")
        ax.legend(fontsize=8, loc="lower right")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return store.atomic_write(out, lambda fh: fig.savefig(fh, format="png", dpi=DPI))
