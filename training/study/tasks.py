"""The units of work of a study, as plain functions that return JSON-ready dicts (Ray runs them;
``training/study/driver.py`` writes what they return). Nothing here computes a probability, a value or an
archetype itself: the exact solver, the exact evaluator, the baselines and the archetype rules of
``agents/`` do, and this module only arranges their output.

- :func:`analyse_point`: one parameter set — the exact optimum (its value, archetype, per-phase
  archetypes, nearest baseline, action agreement; per quarter for `timeline`/`calendar`) and every
  baseline's exact value and share of V*.
- :func:`rl_run`: one RL run — train (or reuse a finished model of the same config) into its run
  folder, then evaluate the greedy policy exactly against the optimum.

Besides docs/model.md section 9's statistics, each statistics dict carries ``A_bar``, the mean autonomy
level (0..5) under the same occupancy, and the optimum carries ``episode_return``, the exact
expected undiscounted return of one evaluation episode (horizon x the occupancy's mean reward),
which is the optimum's line on the learning curves.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agents.archetypes import label, stats_from_occupancy
from agents.exact_eval import evaluate_policy, evaluate_table
from agents.solver import solve
from agents.summary import baseline_results, summarize
from envs.params import N_PHASES, AllianceParams
from envs.scenarios import CALENDAR, make_params
from envs.spaces import ALL_STATES, N_ACTIONS, PHASE
from training.config.study import Point, RunSpec
from training.discovery.solving import mean_autonomy
from training.evaluate.evaluation import FEATURE_MATRIX, FEATURES, action_shares, episode_return
from training.results import run_folder as rf
from training.results.lock import clear_folder, folder_lock
from training.results.store import EVALUATION, read_json
from training.run.train import load_model, run_config, train
from training.study.keys import KEY_FIELD, config_fingerprint, run_key

# The action features (one per level of m, k, g, d) and their shares are defined once, in training.evaluate.evaluation.


def quarter_labels(n: int = len(CALENDAR)) -> list[str]:
    """'2014Q1', '2014Q2', ... for t = 0..n-1 (t = 0 is 2014Q1, docs/model.md section 7)."""
    return [f"{2014 + t // 4}Q{t % 4 + 1}" for t in range(n)]


# ------------------------------------------------------------------------------- statistics
def _stats(stats: Any, occupancy: np.ndarray, phase: int | None = None) -> dict[str, float]:
    """Section 9's statistics plus A_bar, the mean autonomy level under the occupancy."""
    return {**stats.to_dict(), "A_bar": mean_autonomy(occupancy, phase)}


def _phase_block(summary: Any, occupancy: np.ndarray) -> dict[str, Any]:
    """Per visited phase: its weight in the occupancy, archetype, statistics and action shares."""
    out = {}
    for ph, st in sorted(summary.phase_stats.items()):
        weight = float(occupancy[ALL_STATES[:, PHASE] == ph].sum())
        actions = action_shares(occupancy, ph)
        out[str(ph)] = {"weight": weight, "label": summary.phase_labels[ph], "stats": _stats(st, occupancy, ph),
                        "actions": dict(zip(FEATURES, map(float, actions)))}
    return out


def _per_quarter(result: Any) -> dict[str, Any]:
    """Per step t: the action-feature shares of the policy under Pr(s_t) and Pr(phase_t)."""
    dist = result.state_distribution  # (H, 5400)
    table = result.table
    shares = np.zeros((dist.shape[0], len(FEATURES)))
    for t in range(dist.shape[0]):
        row = table[min(t, table.shape[0] - 1)]
        probs = row if row.ndim == 2 else np.eye(N_ACTIONS)[row]
        shares[t] = (dist[t] @ probs) @ FEATURE_MATRIX
    phases = np.stack([dist[:, ALL_STATES[:, PHASE] == ph].sum(axis=1) for ph in range(N_PHASES)], axis=1)
    return {"t_labels": quarter_labels(dist.shape[0]),
            "actions": {f: [float(v) for v in shares[:, j]] for j, f in enumerate(FEATURES)},
            "phase": {str(ph): [float(v) for v in phases[:, ph]] for ph in range(N_PHASES)}}


# --------------------------------------------------------------------------------- the optimum
@lru_cache(maxsize=4)
def optimum_summary(params: AllianceParams) -> Any:
    """``agents.summary.summarize`` of the optimum. For a stationary scenario only the phase blocks
    reachable from the start are solved (``agents.solver.solve``); the table's other blocks are
    never visited from s0, so they are filled with action 0 instead of solving them
    (``Solution.complete`` would take as long again, and change nothing evaluated here)."""

    sol = solve(params)
    table = sol.policy if params.finite_horizon else np.where(sol.policy < 0, 0, sol.policy)
    return summarize(evaluate_table(params, table), params, "optimal")


def analyse_point(point: Point) -> dict[str, Any]:
    """The exact analysis of one parameter set (see the module docstring)."""

    clock = time.perf_counter()
    params = make_params(point.scenario, dict(point.overrides))
    opt = optimum_summary(params)
    res = opt.result
    optimum = {"value": res.optimum, "policy_value": res.value, "near_optimal_share": res.near_optimal_share,
               "label": opt.label, "stats": _stats(opt.stats, res.occupancy),
               "phases": _phase_block(opt, res.occupancy), "nearest_baseline": opt.nearest,
               "distances": opt.distances, "agreement": opt.agreement,
               "top_actions": [{"action": list(a), "share": s} for a, s in opt.top_actions()],
               "episode_return": episode_return(res, params)}
    baselines = {}
    for name, r in baseline_results(params).items():
        st = stats_from_occupancy(r.occupancy)
        baselines[name] = {"value": r.value, "share": r.share, "regret": r.regret,
                           "near_optimal_share": r.near_optimal_share, "label": label(st),
                           "stats": _stats(st, r.occupancy)}
    out = {"kind": point.kind, "key": point.key, "scenario": point.scenario, "overrides": dict(point.overrides),
           "sweep": point.sweep, "coords": dict(point.coords), "horizon": params.horizon,
           "finite_horizon": params.finite_horizon, "start": list(params.start),
           "optimum": optimum, "baselines": baselines}
    if params.finite_horizon:
        out["quarters"] = _per_quarter(res)
    out["seconds"] = round(time.perf_counter() - clock, 3)
    return out


# ------------------------------------------------------------------------------------ RL runs
def _same_config(run_dir: Path, cfg: Any, but: tuple[str, ...] = ()) -> bool:
    """The run folder's config.yml is ``cfg`` (its output folder, and the keys ``but``, left out)."""

    try:
        stored = config_fingerprint(run_config(run_dir))
    except (OSError, ValueError):  # no config.yml, or one that no longer loads
        return False
    wanted = config_fingerprint(cfg)
    return {k: v for k, v in stored.items() if k not in but} == {k: v for k, v in wanted.items() if k not in but}


def _finished(run_dir: Path, cfg: Any, key: str | None = None) -> bool:
    """A complete run of exactly ``cfg``, its final model on disk, and no stored evaluation of
    another unit key (``key``: a model trained by another version of the model's code is stale)."""

    try:
        manifest = rf.read_manifest(run_dir)
        stored = read_json(run_dir / EVALUATION).get(KEY_FIELD) if (run_dir / EVALUATION).is_file() else key
    except (FileNotFoundError, ValueError):
        return False
    return (manifest.get("status") == "complete" and manifest.get("num_timesteps", 0) >= cfg.total_timesteps
            and (run_dir / rf.MODEL).is_file() and _same_config(run_dir, cfg) and stored == key)


def train_run(spec: RunSpec, run_dir: Path, command: str | None = None, resume: bool = False) -> str:
    """Train a run into ``run_dir``; returns what was done: ``reused``, ``resumed`` or ``trained``.

    A complete run of this very config is reused. Anything else in the folder (an interrupted
    attempt, a run of another config) is removed and the run trained from the start, so that its
    result is the one an uninterrupted study gets: a run continued from a checkpoint is reproducible
    but not bit-identical to one trained in one go (its random streams restart at the checkpoint,
    training/run/train.py). With ``resume``, a run of the same config (its budget aside) continues from
    its newest complete checkpoint instead, which saves time and gives up that identity. The run
    folder is locked throughout (``training/results/lock.py``): a folder another process writes
    (another study on the same ``out``, an ``alliance train --resume``) is refused at once, never
    cleared under it.
    """

    cfg = spec.train_config
    with folder_lock(run_dir, command or f"a study's unit {spec.relpath()}"):  # one writer: refused at once
        if _finished(run_dir, cfg, run_key(spec)):
            return "reused"
        if resume and (run_dir / rf.CONFIG).is_file() and _same_config(run_dir, cfg, but=("total_timesteps",)):
            try:
                rf.newest_checkpoint(run_dir)
            except ValueError:
                pass
            else:
                train(cfg, run_dir, resume=True, command=command)
                return "resumed"
        clear_folder(run_dir)  # not the folder itself: its lock file stays, held
        train(cfg, run_dir, command=command)
        return "trained"


def rl_run(spec: RunSpec, run_dir: str | Path, command: str | None = None) -> dict[str, Any]:
    """Train (or reuse) one run and evaluate its greedy policy exactly (docs/model.md section 10)."""
    import torch


    torch.set_num_threads(1)
    clock = time.perf_counter()
    run_dir = Path(run_dir)
    how = train_run(spec, run_dir, command)
    trained = time.perf_counter()
    params = make_params(spec.scenario)
    model = load_model(run_dir)
    summ = summarize(evaluate_policy(model, params, stochastic=False), params, f"{spec.algo} s{spec.seed}")
    res = summ.result
    optimal_label = optimum_summary(params).label
    manifest = rf.read_manifest(run_dir)
    return {"scenario": spec.scenario, "algo": spec.algo, "seed": spec.seed,
            "total_timesteps": int(manifest.get("num_timesteps", spec.train_config.total_timesteps)),
            "value": res.value, "optimum": res.optimum, "regret": res.regret, "share": res.share,
            "near_optimal_share": res.near_optimal_share, "label": summ.label, "optimal_label": optimal_label,
            "label_agrees": summ.label == optimal_label, "stats": _stats(summ.stats, res.occupancy),
            "phase_labels": {str(k): v for k, v in summ.phase_labels.items()},
            "train_config": config_fingerprint(spec.train_config),
            "nearest_baseline": summ.nearest, "training": how,
            "train_seconds": manifest.get("train_seconds"),
            "evaluate_seconds": round(time.perf_counter() - trained, 3),
            "seconds": round(time.perf_counter() - clock, 3)}
