"""The learners' summary: do the trained policies (PPO, A2C, DQN) find what the optimum finds?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from training.evaluate import stats
from training.render.tables import ci, fmt, pct
from training.study.hypotheses.common import EPS, RL_AGREE, RL_SHARE, criterion, result, untested


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
            # a scenario none of the algorithm's runs reached (its units failed) has no row
            "per_scenario": {s: _scenario_means(ran) for s in scenarios
                             if (ran := [r for r in mine if r["scenario"] == s])},
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
