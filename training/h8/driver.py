"""Run H8 on Ray (``alliance h8 CONFIG``): plan the units, skip those stored and still right,
compute the others as Ray tasks (one CPU each), write each result atomically as it arrives, then the
report. Resumable as the study is (``training/study/driver.py``): a unit's file holds its content key
(:func:`training.h8.units.unit_key`); a missing, damaged, schema-refused or stale file is computed
again, and the log says why. ``--verify N`` (:func:`verify`) recomputes N stored units and compares.

Order: the scenario's own point, then the commitment batches (seconds a row), then the MPE units
(a minute or more a row), so that the commitment part is whole first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.scenarios import make_params
from training.config.h8 import H8Config
from training.discovery.ranges import load_ranges
from training.h8.design import build_design
from training.h8.units import POINT, CommitUnit, MpeUnit, run_unit, unit_key
from training.results import store
from training.results.schemas import H8CommitmentUnit, H8MpeUnit
from training.study.keyed_units import Outcome, Verdict, compute, is_fresh, recompute, run_all

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
    return is_fresh(cfg.out_dir / unit.relpath(), unit.relpath(), schema_of(unit), unit_key(unit), log)


def run(cfg: H8Config, num_cpus: int | None = 1, address: str | None = None,
        log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None) -> Outcome:
    """Compute every missing unit on Ray and write it (the report is :func:`training.h8.report.write_report`)."""
    commits, mpes = plan(cfg)
    return run_all([*commits, *mpes], cfg.out_dir, lambda u: fresh(cfg, u, log), f"h8 {cfg.name}",
                   lambda out, todo: compute(out, todo, cfg.out_dir, run_unit, schema_of, unit_key, _describe,
                                             num_cpus, address, log, on_result), log)


def _describe(data: dict[str, Any]) -> str:
    if data["kind"] == "commitment":
        picks = ", ".join(f"({r['D']},{r['IP']},{r['sigma']}) {r['label']}" for r in data["rows"][:2])
        return f"{len(data['rows'])} rows, {picks}{' ...' if len(data['rows']) > 2 else ''} ({data['seconds']:.1f} s)"
    return (f"NashConv max {data['nashconv_max']:.3f}, sigma_bar {data['sigma_bar']:.2f}, m_bar {data['m_bar']:.2f}, "
            f"{data['label']} ({data['seconds']:.0f} s)")


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
    return recompute(picks, cfg.out_dir, run_unit, unit_key, num_cpus, address, log)


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
