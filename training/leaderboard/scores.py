"""The leaderboard's numbers from its stored units: plain functions over the runs' dicts (no training,
no solving), so a synthetic set of runs is scored exactly as a real one.

- :func:`score_matrix`: per algorithm, the final share of V* as an array (seeds, scenarios), the
  scenarios in the config's order (rliable's runs x tasks).
- :func:`aggregate`: IQM and mean share of V* and IQM normalised regret (1 - share) with stratified-
  bootstrap intervals (``training.evaluate.stats``, rliable's scheme), the performance profile (the
  fraction of runs with share >= tau, with its interval) and the probability of improvement of the
  best algorithm (by IQM) over each other one.
- :func:`steps_to`: the first checkpoint at which a run's share reaches a threshold (95 %, 99 % of V*),
  None if no checkpoint does; :func:`sample_efficiency` per algorithm and scenario (runs that reach it,
  their median steps), :func:`curves` the mean share per checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from training.evaluate.stats import interval_estimates, probability_of_improvement

THRESHOLDS = (0.95, 0.99)
TAUS = tuple(float(t) for t in np.round(np.linspace(0.5, 1.0, 26), 3))  # the performance profile's grid


def by_algo(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Runs grouped by algorithm, in order of first appearance."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in runs:
        out.setdefault(r["algo"], []).append(r)
    return out


def score_matrix(runs: Sequence[Mapping[str, Any]], scenarios: Sequence[str], key: str = "share"
                 ) -> dict[str, np.ndarray]:
    """Per algorithm an array (seeds, scenarios) of each run's final ``key``. An algorithm whose scenarios
    do not all have the same number of seeds is left out (a stratified bootstrap needs a full matrix)."""
    out = {}
    for algo, rs in by_algo(runs).items():
        cols = [sorted((r for r in rs if r["scenario"] == s), key=lambda r: r["seed"]) for s in scenarios]
        if not cols or len({len(c) for c in cols}) != 1 or not cols[0]:
            continue
        out[algo] = np.array([[c[i][key] for c in cols] for i in range(len(cols[0]))], dtype=float)
    return out


def complete_scenarios(runs: Sequence[Mapping[str, Any]], scenarios: Sequence[str], algos: Sequence[str],
                       seeds: int) -> list[str]:
    """The scenarios (in order) on which every algorithm has all ``seeds`` seeds stored: the ones a
    stratified bootstrap over runs x scenarios can use."""
    have = {(r["scenario"], r["algo"], r["seed"]) for r in runs}
    return [s for s in scenarios if all((s, a, k) in have for a in algos for k in range(seeds))]


def steps_to(curve: Sequence[Mapping[str, Any]], threshold: float) -> int | None:
    """Env steps of the first checkpoint whose share of V* is at least ``threshold``; None if none is."""
    for point in curve:
        if point["share"] >= threshold:
            return int(point["steps"])
    return None


def aggregate(runs: Sequence[Mapping[str, Any]], scenarios: Sequence[str], reps: int = 2000, seed: int = 0
              ) -> dict[str, Any]:
    """The aggregate numbers of the leaderboard (see the module docstring)."""
    shares = score_matrix(runs, scenarios)
    if not shares:
        raise ValueError("runs: no algorithm has the same number of seeds on every scenario; nothing to aggregate")
    regrets = {a: 1.0 - s for a, s in shares.items()}
    iqm = interval_estimates(shares, "iqm", reps, seed)
    mean = interval_estimates(shares, "mean", reps, seed)
    regret_iqm = interval_estimates(regrets, "iqm", reps, seed)
    order = sorted(shares, key=lambda a: -iqm[a][0])
    best = order[0]
    poi = {a: probability_of_improvement(shares[best], shares[a], reps, seed) for a in order[1:]}
    profiles = {a: [interval_estimates({a: (s >= tau).astype(float)}, "mean", reps, seed)[a] for tau in TAUS]
                for a, s in shares.items()}
    return {"order": order, "best": best, "iqm": iqm, "mean": mean, "regret_iqm": regret_iqm, "poi": poi,
            "profiles": profiles, "taus": list(TAUS), "n_runs": {a: int(s.size) for a, s in shares.items()},
            "shares": shares}


def sample_efficiency(runs: Sequence[Mapping[str, Any]], thresholds: Sequence[float] = THRESHOLDS
                      ) -> list[dict[str, Any]]:
    """Per (algorithm, scenario) and threshold: the runs that reach it and the median of their steps
    over all runs (a run that never reaches it counts as infinitely many steps, so the median is None
    when fewer than half the runs reach it)."""
    rows = []
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["algo"], r["scenario"]), []).append(r)
    for (algo, scenario), rs in groups.items():
        row: dict[str, Any] = {"algo": algo, "scenario": scenario, "runs": len(rs)}
        for th in thresholds:
            steps = [steps_to(r["curve"], th) for r in rs]
            reached = sorted(s for s in steps if s is not None)
            padded = np.array(reached + [np.inf] * (len(steps) - len(reached)))
            med = float(np.median(padded))
            tag = f"{round(100 * th)}"
            row[f"reached_{tag}"] = len(reached)
            row[f"median_steps_{tag}"] = None if not np.isfinite(med) else int(round(med))
        rows.append(row)
    return rows


def curves(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Per (algorithm, scenario): the mean, min and max share over seeds at each checkpoint (the k-th
    checkpoints of the seeds; its steps the mean of theirs: a rollout boundary may differ by a rollout)."""
    out: dict[tuple[str, str], dict[str, list[float]]] = {}
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["algo"], r["scenario"]), []).append(r)
    for key, rs in groups.items():
        n = min(len(r["curve"]) for r in rs)
        s = np.array([[p["share"] for p in r["curve"][:n]] for r in rs])
        steps = np.array([[p["steps"] for p in r["curve"][:n]] for r in rs]).mean(axis=0)
        out[key] = {"steps": steps.tolist(), "mean": s.mean(axis=0).tolist(), "min": s.min(axis=0).tolist(),
                    "max": s.max(axis=0).tolist()}
    return out


def per_scenario(runs: Sequence[Mapping[str, Any]], scenario_units: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (scenario, algorithm): mean, min and max final share and mean regret, with V* and the best baseline."""
    base = {u["scenario"]: u for u in scenario_units}
    rows = []
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["scenario"], r["algo"]), []).append(r)
    for (scenario, algo), rs in groups.items():
        sh = np.array([r["share"] for r in rs])
        row = {"scenario": scenario, "algo": algo, "seeds": len(rs), "mean_share": float(sh.mean()),
               "min_share": float(sh.min()), "max_share": float(sh.max()),
               "mean_regret": float(np.mean([r["regret"] for r in rs])), "exact": all(r["exact"] for r in rs)}
        if scenario in base:
            name, b = best_baseline(base[scenario])
            row.update(optimum=base[scenario]["optimum"], best_baseline=name, best_baseline_share=b["share"])
        rows.append(row)
    return rows


def best_baseline(scenario_unit: Mapping[str, Any]) -> tuple[str, Mapping[str, float]]:
    """The baseline of highest exact value in a scenario unit."""
    return max(scenario_unit["baselines"].items(), key=lambda kv: kv[1]["value"])
