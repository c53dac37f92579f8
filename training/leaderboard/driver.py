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

import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from training.config.hyperparams import RECURRENT_ALGOS
from training.leaderboard.config import LeaderboardConfig, load_zoo, train_config
from training.leaderboard.units import RunUnit, ScenarioUnit, Unit, run_unit, schema_of, unit_key
from training.results import store
from training.study.driver import ray_session
from training.study.keys import KEY_FIELD
from training.study.verify import first_difference

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
    path = cfg.out_dir / unit.relpath()
    if not path.is_file():
        return False
    try:
        data = store.read_stored(path, schema_of(unit))
    except ValueError as exc:
        if log:
            log(f"{unit.relpath()}: not a valid stored unit ({str(exc).splitlines()[0]}): recomputing")
        return False
    if data.get(KEY_FIELD) == unit_key(unit):
        return True
    if log:
        log(f"{unit.relpath()}: stale (stored unit key {str(data.get(KEY_FIELD))[:12]}, its inputs now make "
            f"{unit_key(unit)[:12]}): recomputing")
    return False


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def run(cfg: LeaderboardConfig, num_cpus: int | None = 1, address: str | None = None,
        log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None) -> Outcome:
    """Compute every missing unit on Ray and write it (the report is :func:`training.leaderboard.report.write_report`)."""
    clock = time.perf_counter()
    out = Outcome()
    scenarios, runs = plan(cfg)
    todo: list[Unit] = []
    for u in [*scenarios, *runs]:
        (out.skipped.append(u.relpath()) if fresh(cfg, u, log) else todo.append(u))
    total = len(todo) + len(out.skipped)
    log(f"leaderboard {cfg.name}: {total} units, {len(out.skipped)} already done, {len(todo)} to run -> {cfg.out_dir}")
    if todo:
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        with ray_session(address, num_cpus) as ray:
            task = ray.remote(num_cpus=1, max_retries=0)(run_unit)
            refs = {task.remote(u): u for u in todo}
            count = len(out.skipped)
            try:
                while refs:
                    ready, _ = ray.wait(list(refs), num_returns=1)
                    unit = refs.pop(ready[0])
                    count += 1
                    try:
                        data = ray.get(ready[0])
                    except Exception as exc:  # a task's error: note it, carry on
                        out.failed[unit.relpath()] = str(exc).strip().splitlines()[-1]
                        log(f"[{count}/{total}] FAILED {unit.relpath()}: {out.failed[unit.relpath()]}")
                        continue
                    path = cfg.out_dir / unit.relpath()
                    path.parent.mkdir(parents=True, exist_ok=True)
                    store.write_stored(path, schema_of(unit), {**data, KEY_FIELD: unit_key(unit)})
                    out.done.append(unit.relpath())
                    log(f"[{count}/{total}] {unit.relpath()}: {_describe(data)}")
                    if on_result:
                        on_result(unit.relpath())
            finally:
                for ref in refs:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
    out.seconds = time.perf_counter() - clock
    return out


def _describe(data: dict[str, Any]) -> str:
    if data["kind"] == "scenario":
        best = max(data["baselines"].items(), key=lambda kv: kv[1]["value"])
        return f"V* = {data['optimum']:.4f}, best baseline {best[0]} {best[1]['share']:.3f} ({data['seconds']:.1f} s)"
    how = "exact" if data["exact"] else "Monte Carlo"
    return (f"share of V* {data['share']:.4f} ({how}), {len(data['curve'])} checkpoints "
            f"(train {data['train_seconds']:.0f} s, evaluate {data['evaluate_seconds']:.0f} s)")


@dataclass
class Verdict:
    unit: str
    difference: str | None


def choose(cfg: LeaderboardConfig, n: int, seed: int = 0) -> list[Unit]:
    """``n`` stored units at random (seeded), at least one run when runs are stored."""
    scenarios, runs = plan(cfg)
    stored = [u for u in [*scenarios, *runs] if (cfg.out_dir / u.relpath()).is_file()]
    if not stored:
        raise ValueError(f"--verify: {cfg.out_dir} holds no stored unit of this leaderboard; run it first")
    rng = random.Random(seed)
    stored_runs = [u for u in stored if isinstance(u, RunUnit)]
    picks: list[Unit] = [rng.choice(stored_runs)] if stored_runs else []
    rest = [u for u in stored if u not in picks]
    picks += rng.sample(rest, max(0, min(n - len(picks), len(rest))))
    return picks


def verify(cfg: LeaderboardConfig, n: int, num_cpus: int | None = 1, address: str | None = None, seed: int = 0,
           log: Callable[[str], None] = print) -> list[Verdict]:
    """Recompute ``n`` stored units chosen at random and compare each number with the stored one to 1e-9
    (timings and keys left out: ``training.study.verify.VOLATILE``). Nothing is written."""
    picks = choose(cfg, n, seed)
    log(f"verify {cfg.name}: recomputing {len(picks)} stored units: " + ", ".join(u.relpath() for u in picks))
    verdicts = []
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1, max_retries=0)(run_unit)
        refs = {task.remote(u): u for u in picks}
        for ref, unit in refs.items():
            data = store.read_json(cfg.out_dir / unit.relpath())
            if data.get(KEY_FIELD) != unit_key(unit):
                diff = f"{KEY_FIELD}: stored {str(data.get(KEY_FIELD))[:12]}, its inputs now make {unit_key(unit)[:12]} (stale)"
            else:
                diff = first_difference(data, json.loads(json.dumps(ray.get(ref))))
            verdicts.append(Verdict(unit.relpath(), diff))
            log(f"  {unit.relpath()}: " + ("agrees (1e-9)" if diff is None else f"DIFFERS: {diff}"))
    return verdicts


def stored_units(cfg: LeaderboardConfig) -> tuple[list[dict], list[dict]]:
    """The fresh stored units' data (scenarios, runs), in plan order; missing or stale ones are left out."""
    scenarios, runs = plan(cfg)
    return ([store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in scenarios if fresh(cfg, u)],
            [store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in runs if fresh(cfg, u)])


def recurrent(algo: str) -> bool:
    return algo in RECURRENT_ALGOS
