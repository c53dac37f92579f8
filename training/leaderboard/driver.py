"""Run the leaderboard on Ray (``alliance leaderboard CONFIG``): plan the units, skip those stored and
still right, compute the others as Ray tasks (one CPU each), write each result atomically as it
arrives. Resumable as the study is (``training/study/driver.py``): a unit's file holds its content key
(:func:`training.leaderboard.units.unit_key`); a missing, damaged, schema-refused or stale file is
computed again, and the log says why. ``--verify N`` (:func:`verify`) recomputes N stored units and
compares every number (``training.study.verify.first_difference``, 1e-9).

Order: the scenarios' exact units (seconds), then the runs scenario by scenario in the config's order
(within one, the slowest algorithms first), so that a run stopped by the clock leaves whole scenarios,
which the report aggregates (and names those it leaves out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from training.config.hyperparams import RECURRENT_ALGOS
from training.leaderboard.config import LeaderboardConfig, load_zoo, train_config
from training.leaderboard.units import RunUnit, ScenarioUnit, Unit, run_unit, schema_of, unit_key
from training.results import store
from training.study.keyed_units import Outcome, Verdict, choose_stored, compute, is_fresh, recompute, run_all

SLOW_FIRST = ("RecurrentPPO", "QRDQN", "PPO", "MaskablePPO", "TRPO", "A2C", "DQN", "ARS")


def plan(cfg: LeaderboardConfig) -> tuple[list[ScenarioUnit], list[RunUnit]]:
    """Every unit of the run: one per scenario, one per (scenario, algorithm, seed).

    :raises training.config.errors.ConfigError: a missing or bad zoo entry (before any work)
    """
    zoo = {algo: load_zoo(cfg, algo) for algo in cfg.algos}
    order = sorted(cfg.algos, key=lambda a: SLOW_FIRST.index(a) if a in SLOW_FIRST else len(SLOW_FIRST))
    runs = [RunUnit(s, algo, seed, train_config(cfg, zoo[algo], s, seed), cfg.recurrent_episodes)
            for s in cfg.scenarios for algo in order for seed in range(cfg.seeds)]
    return [ScenarioUnit(s) for s in cfg.scenarios], runs


def fresh(cfg: LeaderboardConfig, unit: Unit, log: Callable[[str], None] | None = None) -> bool:
    """Whether ``unit``'s file holds its result from the inputs it has now."""
    return is_fresh(cfg.out_dir / unit.relpath(), unit.relpath(), schema_of(unit), unit_key(unit), log)


def run(cfg: LeaderboardConfig, num_cpus: int | None = 1, address: str | None = None,
        log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None) -> Outcome:
    """Compute every missing unit on Ray and write it (the report is :func:`training.leaderboard.report.write_report`)."""
    scenarios, runs = plan(cfg)
    return run_all([*scenarios, *runs], cfg.out_dir, lambda u: fresh(cfg, u, log), f"leaderboard {cfg.name}",
                   lambda out, todo: compute(out, todo, cfg.out_dir, run_unit, schema_of, unit_key, _describe,
                                             num_cpus, address, log, on_result), log)


def _describe(data: dict[str, Any]) -> str:
    if data["kind"] == "scenario":
        best = max(data["baselines"].items(), key=lambda kv: kv[1]["value"])
        return f"V* = {data['optimum']:.4f}, best baseline {best[0]} {best[1]['share']:.3f} ({data['seconds']:.1f} s)"
    how = "exact" if data["exact"] else "Monte Carlo"
    return (f"share of V* {data['share']:.4f} ({how}), {len(data['curve'])} checkpoints "
            f"(train {data['train_seconds']:.0f} s, evaluate {data['evaluate_seconds']:.0f} s)")


def choose(cfg: LeaderboardConfig, n: int, seed: int = 0) -> list[Unit]:
    """``n`` stored units at random (seeded), at least one run when runs are stored."""
    scenarios, runs = plan(cfg)
    return choose_stored(scenarios, runs, cfg.out_dir, n, seed, "leaderboard")


def verify(cfg: LeaderboardConfig, n: int, num_cpus: int | None = 1, address: str | None = None, seed: int = 0,
           log: Callable[[str], None] = print) -> list[Verdict]:
    """Recompute ``n`` stored units chosen at random and compare each number with the stored one to 1e-9
    (timings and keys left out: ``training.study.verify.VOLATILE``). Nothing is written."""
    picks = choose(cfg, n, seed)
    log(f"verify {cfg.name}: recomputing {len(picks)} stored units: " + ", ".join(u.relpath() for u in picks))
    return recompute(picks, cfg.out_dir, run_unit, unit_key, num_cpus, address, log)


def stored_units(cfg: LeaderboardConfig) -> tuple[list[dict], list[dict]]:
    """The fresh stored units' data (scenarios, runs), in plan order; missing or stale ones are left out."""
    scenarios, runs = plan(cfg)
    return ([store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in scenarios if fresh(cfg, u)],
            [store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in runs if fresh(cfg, u)])


def recurrent(algo: str) -> bool:
    return algo in RECURRENT_ALGOS
