"""Benchmark trained runs against the baselines and the optimum: collect, then aggregate (data only).

- :func:`collect` evaluates every run folder (its greedy policy), every baseline and the optimum on
  each benchmark scenario through :func:`training.evaluate.evaluation.evaluate` (exact evaluation, docs/model.md
  section 10; no Monte Carlo is needed for a benchmark), and reads each run's learning curve
  (``evaluations.npz``). Runs are grouped by (training scenario with its overrides, algorithm) from
  their ``config.yml``: the seeds of a group are its runs. Runs of one content key (the same resolved
  config and seed, ``training.config.run.content_key``) or of the same model bytes are copies, not
  seeds: the first counts, the others are listed in ``duplicates`` and named in the report.
- :func:`aggregate` turns the shares of V* into statistics with ``training.evaluate.stats``: per scenario and
  over all scenarios, the IQM with a 95 % stratified-bootstrap interval (rliable), and each
  algorithm's probability of improvement over the best baseline (the highest mean share over the
  scenarios); plus archetype labels and how often a run's label is the optimum's.

A group's score matrix is (n_seeds, n_scenarios); a baseline and the optimum are deterministic and
enter as one "run" (the `random` baseline through its exact uniform distribution), so their
intervals have zero width. The bootstrap has a fixed seed: the same inputs give the same output.

    data = benchmark(["results/runs/war/*"], ["war", "alt_open"])
    data["aggregate"]["iqm"]["PPO"]["aggregate"]      # (point, lo, hi)
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines import baseline_names, make_policy
from training.config.params import scenario_label
from training.config.run import content_key
from training.evaluate import stats
from training.evaluate.evaluation import evaluate, load_run, scenario_params, trained_params
from training.results.manifest import read_evaluations
from training.results.store import sha256
from training.run.train import check_spaces, run_config

OPTIMUM = "optimal"


def find_runs(patterns: Sequence[str]) -> list[Path]:
    """Run folders (folders holding config.yml) matched by glob ``patterns``, sorted, each once.

    :raises ValueError: a pattern matches no run folder (one line)
    """
    if not patterns:
        raise ValueError("runs=[] is not allowed: at least one glob pattern of run folders")
    found: set[Path] = set()
    for pattern in patterns:
        matches = [Path(p) for p in glob.glob(str(pattern)) if (Path(p) / "config.yml").is_file()]
        if not matches:
            raise ValueError(f"runs={str(pattern)!r} is not allowed: it matches no run folder (a folder "
                             "holding config.yml); quote the pattern, e.g. 'results/runs/war/*'")
        found.update(matches)
    return sorted(found)


def _training_key(source: dict[str, Any]) -> str:
    """A run's training scenario with its overrides: ``war`` or ``war[identification=0.9]``."""
    return scenario_label(source["trained_on"], source.get("overrides"))


def learning_curve(run_dir: str | Path, trust: bool = False) -> dict[str, list[float]] | None:
    """EvalCallback's log of a run (checked against its manifest unless ``trust``): timesteps and the
    mean evaluation return (undiscounted sum of rewards of one episode, averaged over the evaluation
    episodes); None without ``evaluations.npz``.

    :raises ValueError: the log is not the one the run wrote, or damaged (one line naming it)
    """
    log = read_evaluations(run_dir, trust)
    if log is None:
        return None
    results = np.asarray(log["results"], dtype=float)
    return {"timesteps": [int(t) for t in log["timesteps"]],
            "mean_return": [float(r) for r in results.mean(axis=1)], "n_episodes": int(results.shape[1])}


def collect(run_dirs: Sequence[str | Path], scenarios: Sequence[str], *, best: bool = False, trust: bool = False,
            seed: int = 0, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluate runs, baselines and the optimum on ``scenarios`` (JSON-ready data, no statistics yet).

    :param run_dirs: run folders (see :func:`find_runs`)
    :param scenarios: benchmark scenario names or YAML files (at least one)
    :param best: evaluate ``best_model.zip`` instead of ``model.zip``
    :param trust: load model files whose sha256 is not the manifest's
    :param seed: the `random` baseline's seed (its exact value does not depend on it)
    :param progress: called with one line per evaluation
    """

    say = progress or (lambda line: None)
    duplicates: list[dict[str, str]] = []
    if not scenarios:
        raise ValueError("scenarios=[] is not allowed: at least one scenario name")
    params = {str(s): scenario_params(s) for s in scenarios}
    loaded, keys, copies = [], {}, {}
    for d in run_dirs:  # copies count once: they are not seeds
        key = content_key(run_config(d, trust))  # the same config and seed: the same experiment
        if key in keys:
            duplicates.append({"run_dir": str(d), "same_as": keys[key], "why": "the same config and seed"})
            continue
        model, src = load_run(d, best, trust)
        digest = sha256(Path(d) / src["model"])
        if digest in copies:  # the same model bytes under another config (a copied model file)
            duplicates.append({"run_dir": str(d), "same_as": copies[digest], "why": "the same model bytes"})
            continue
        keys[key], copies[digest] = str(d), str(d)
        loaded.append((model, src))
    for model, src in loaded:  # every space is checked before anything is evaluated
        for p in params.values():
            check_spaces(model, p, str(Path(src["run_dir"]) / src["model"]))
    keys = sorted({_training_key(src) for _, src in loaded})
    runs = []
    for _, src in sorted(loaded, key=lambda ms: (ms[1]["algo"], _training_key(ms[1]), ms[1]["seed"], ms[1]["run_dir"])):
        group = src["algo"] if len(keys) <= 1 else f"{src['algo']}@{_training_key(src)}"
        runs.append({**{k: src[k] for k in ("run_dir", "algo", "seed", "trained_on", "overrides", "num_timesteps")},
                     "group": group, "results": {}, "curve": learning_curve(src["run_dir"], trust)})
    models = {src["run_dir"]: model for model, src in loaded}
    data: dict[str, Any] = {"scenarios": list(params), "model_file": loaded[0][1]["model"] if loaded else None,
                            "hash_checked": not trust, "runs": runs, "duplicates": duplicates, "optimum": {},
                            "baselines": {b: {} for b in baseline_names()}, "curve_optimum": {}}
    for name, p in params.items():  # scenario by scenario: agents' per-scenario caches stay warm
        data["optimum"][name] = evaluate(make_policy(OPTIMUM, p), p, OPTIMUM, episodes=0)
        say(f"{name}: optimum V* = {data['optimum'][name]['optimum']:.4f} ({data['optimum'][name]['label']})")
        for b in baseline_names():
            data["baselines"][b][name] = evaluate(make_policy(f"baseline:{b}", p, seed=seed), p, b, episodes=0)
        for run in runs:
            res = evaluate(models[run["run_dir"]], p, f"{run['group']} s{run['seed']}", episodes=0)
            run["results"][name] = res
            say(f"{name}: {run['group']} seed {run['seed']}: share of V* {res['share_of_optimum']:.4f} ({res['label']})")
    for run in runs:  # the optimum's expected evaluation-episode return on each training scenario
        if run["group"] not in data["curve_optimum"]:
            p = trained_params(run)
            match = [n for n, q in params.items() if q == p]
            opt = data["optimum"][match[0]] if match else evaluate(make_policy(OPTIMUM, p), p, OPTIMUM, episodes=0)
            data["curve_optimum"][run["group"]] = {"training": _training_key(run), "scenario": p.name,
                                                   "horizon": p.horizon,
                                                   "episode_return": opt["episode_return"]}
    return data


def score_matrices(data: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Share of V* per policy as (n_runs, n_scenarios) and each policy's kind (algorithm, optimum,
    baseline), in display order: algorithms, the optimum, the baselines."""
    scen = data["scenarios"]
    scores: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for group in sorted({r["group"] for r in data["runs"]}):
        rows = [[r["results"][s]["share_of_optimum"] for s in scen] for r in data["runs"] if r["group"] == group]
        scores[group], kinds[group] = np.array(rows, dtype=float), "algorithm"
    scores[OPTIMUM] = np.array([[data["optimum"][s]["share_of_optimum"] for s in scen]])
    kinds[OPTIMUM] = "optimum"
    for b, res in data["baselines"].items():
        scores[b], kinds[b] = np.array([[res[s]["share_of_optimum"] for s in scen]]), "baseline"
    return scores, kinds


def aggregate(data: dict[str, Any], reps: int = 2000, seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Statistics of collected data (JSON-ready): IQM and stratified-bootstrap CIs of the share of V*,
    probability of improvement over the best baseline, archetype labels and their agreement."""

    scen = data["scenarios"]
    scores, kinds = score_matrices(data)
    overall = stats.interval_estimates(scores, "iqm", reps, seed, confidence)
    per = stats.per_task_estimates(scores, "iqm", reps, seed, confidence)
    baselines = [n for n, k in kinds.items() if k == "baseline"]
    best = max(baselines, key=lambda b: float(scores[b].mean()))  # ties: the first in the table's order
    groups = [n for n, k in kinds.items() if k == "algorithm"]
    poi = {}
    for g in groups:
        per_poi = [stats.probability_of_improvement(scores[g][:, [j]], scores[best][:, [j]], reps, seed, confidence)
                   for j in range(len(scen))]
        poi[g] = {"aggregate": list(stats.probability_of_improvement(scores[g], scores[best], reps, seed, confidence)),
                  "per_scenario": dict(zip(scen, map(list, per_poi)))}
    optimum_labels = {s: data["optimum"][s]["label"] for s in scen}
    labels: dict[str, Any] = {}
    for g in groups:
        runs = [r for r in data["runs"] if r["group"] == g]
        cells = {s: [r["results"][s]["label"] for r in runs] for s in scen}
        agree = [lab == optimum_labels[s] for s in scen for lab in cells[s]]
        labels[g] = {"per_scenario": {s: {"labels": cells[s], "agree": float(np.mean([lab == optimum_labels[s]
                                                                                    for lab in cells[s]]))}
                                      for s in scen},
                     "agree": float(np.mean(agree))}
    all_agree = [lab == optimum_labels[s] for g in groups for s in scen for lab in labels[g]["per_scenario"][s]["labels"]]
    return {
        "settings": {"metric": "iqm", "reps": int(reps), "seed": int(seed), "confidence": confidence,
                     "backend": stats.BOOTSTRAP_BACKEND},
        "kinds": kinds, "n_runs": {n: int(x.shape[0]) for n, x in scores.items()},
        "scores": {n: x.tolist() for n, x in scores.items()},
        "iqm": {n: {"aggregate": list(overall[n]), "per_scenario": dict(zip(scen, map(list, per[n])))} for n in scores},
        "best_baseline": best, "poi": poi,
        "optimum_labels": optimum_labels,
        "baseline_labels": {b: {s: data["baselines"][b][s]["label"] for s in scen} for b in baselines},
        "labels": labels, "label_agreement": float(np.mean(all_agree)) if all_agree else None,
    }


def benchmark(patterns: Sequence[str], scenarios: Sequence[str] | None = None, *, best: bool = False,
              trust: bool = False, reps: int = 2000, seed: int = 0,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`find_runs`, :func:`collect` and :func:`aggregate`: the whole benchmark as data.

    ``scenarios`` defaults to the runs' training scenarios, each with its overrides
    (``war[identification=0.9]``: a run is scored where it was trained, and named so)."""
    run_dirs = find_runs(patterns)
    if not scenarios:  # each run's own scenario, its overrides included (war[identification=0.9])
        scenarios = sorted({scenario_label(c.env.scenario, c.env.overrides) for c in map(
            lambda d: run_config(d, trust), run_dirs)})
    data = collect(run_dirs, scenarios, best=best, trust=trust, seed=seed, progress=progress)
    data["aggregate"] = aggregate(data, reps, seed)
    return data
