"""Run H8 on Ray (``alliance h8 CONFIG``): plan the units, skip those stored and still right,
compute the others as Ray tasks (one CPU each), write each result atomically as it arrives, then the
report. Resumable as the study is (``training/study/driver.py``): a unit's file holds its content key
(:func:`training.h8.units.unit_key`); a missing, damaged, schema-refused or stale file is computed
again, and the log says why. ``--verify N`` (:func:`verify`) recomputes N stored units and compares.

Order: the scenario's own point, then the commitment batches (seconds a row), then the MPE units
(a minute or more a row), so that the commitment part is whole first.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.scenarios import make_params
from training.config.h8 import H8Config
from training.discovery.ranges import load_ranges
from training.h8.design import build_design
from training.h8.units import POINT, CommitUnit, MpeUnit, run_unit, unit_key
from training.results import store
from training.results.schemas import H8CommitmentUnit, H8MpeUnit
from training.study.driver import ray_session
from training.study.keys import KEY_FIELD
from training.study.verify import first_difference

Unit = CommitUnit | MpeUnit


def plan(cfg: H8Config) -> tuple[list[CommitUnit], list[MpeUnit]]:
    """Every unit of the run, in order: the point's, then the design's.

    :raises training.discovery.ranges.RangesError: a bad ranges file (one line, before any work)
    """
    ranges = load_ranges(cfg.ranges)
    design = build_design(ranges, cfg.n_commitment, cfg.seed, cfg.scenario)
    point = make_params(cfg.scenario)
    settings = tuple(sorted(cfg.mpe_settings().items()))
    coords = [tuple(float(x) for x in r) for r in design.unit]
    commits = [CommitUnit(cfg.scenario, (POINT,), ((),), (point,))]
    for first in range(0, cfg.n_commitment, cfg.batch):
        rows = tuple(range(first, min(first + cfg.batch, cfg.n_commitment)))
        commits.append(CommitUnit(cfg.scenario, rows, tuple(coords[i] for i in rows), tuple(design.params[i] for i in rows)))
    mpes = [MpeUnit(cfg.scenario, POINT, (), point, settings)] if cfg.n_mpe else []  # n_mpe 0: no search at all
    mpes += [MpeUnit(cfg.scenario, i, coords[i], design.params[i], settings) for i in range(cfg.n_mpe)]
    return commits, mpes


def schema_of(unit: Unit):
    return H8CommitmentUnit if isinstance(unit, CommitUnit) else H8MpeUnit


def fresh(cfg: H8Config, unit: Unit, log: Callable[[str], None] | None = None) -> bool:
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


def run(cfg: H8Config, num_cpus: int | None = 1, address: str | None = None,
        log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None) -> Outcome:
    """Compute every missing unit on Ray and write it (the report is :func:`training.h8.report.write_report`)."""
    clock = time.perf_counter()
    out = Outcome()
    commits, mpes = plan(cfg)
    todo: list[Unit] = []
    for u in [*commits, *mpes]:
        (out.skipped.append(u.relpath()) if fresh(cfg, u, log) else todo.append(u))
    total = len(todo) + len(out.skipped)
    log(f"h8 {cfg.name}: {total} units, {len(out.skipped)} already done, {len(todo)} to run -> {cfg.out_dir}")
    if todo:
        (cfg.out_dir / "units").mkdir(parents=True, exist_ok=True)
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
                    store.write_stored(cfg.out_dir / unit.relpath(), schema_of(unit), {**data, KEY_FIELD: unit_key(unit)})
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
    if data["kind"] == "commitment":
        picks = ", ".join(f"({r['D']},{r['IP']},{r['sigma']}) {r['label']}" for r in data["rows"][:2])
        return f"{len(data['rows'])} rows, {picks}{' ...' if len(data['rows']) > 2 else ''} ({data['seconds']:.1f} s)"
    return (f"NashConv max {data['nashconv_max']:.3f}, sigma_bar {data['sigma_bar']:.2f}, m_bar {data['m_bar']:.2f}, "
            f"{data['label']} ({data['seconds']:.0f} s)")


@dataclass
class Verdict:
    unit: str
    difference: str | None


def verify(cfg: H8Config, n: int, num_cpus: int | None = 1, address: str | None = None, seed: int = 0,
           log: Callable[[str], None] = print) -> list[Verdict]:
    """Recompute ``n`` stored units chosen at random (seeded; at least one of each kind stored) and
    compare each number with the stored one to 1e-9 (``training.study.verify.first_difference``;
    timings and keys left out). Nothing is written."""
    commits, mpes = plan(cfg)
    stored = [u for u in [*commits, *mpes] if (cfg.out_dir / u.relpath()).is_file()]
    if not stored:
        raise ValueError(f"--verify: {cfg.out_dir} holds no stored unit of this run; run it first")
    rng = random.Random(seed)
    picks = [rng.choice(kind) for kind in ([u for u in stored if isinstance(u, CommitUnit)],
                                           [u for u in stored if isinstance(u, MpeUnit)]) if kind]
    rest = [u for u in stored if u not in picks]
    picks += rng.sample(rest, max(0, min(n - len(picks), len(rest))))
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


def stored_units(cfg: H8Config) -> tuple[list[dict], list[dict]]:
    """The fresh stored units' data (commitment, MPE), in plan order; missing or stale ones are left out."""
    commits, mpes = plan(cfg)
    read = [], []
    for i, units in enumerate((commits, mpes)):
        for u in units:
            if fresh(cfg, u):
                read[i].append(store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)))
    return read


def units_path(cfg: H8Config) -> Path:
    return cfg.out_dir / "units"
