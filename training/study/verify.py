"""``alliance study CONFIG --verify N``: are the stored results what this code computes?

:func:`verify` picks N stored units at random among all kinds a study stores — exact and sweep
analyses, RL runs, "why the optimum wins" units and discovery batches — (a fixed seed, so the same
N picks the same units; at least one per RL algorithm when the study has RL units, even if that
makes more than N), computes each again from scratch on Ray (an RL unit is trained again in a
temporary folder: the study's own folders are only read) and compares every number with the stored one (absolute
difference at most :data:`TOLERANCE`), every label and string exactly. Timings, how a run was
obtained and the unit key are left out of the comparison; a stored unit key that is not the one its
inputs make now is itself a difference (the unit is stale). Nothing is written.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config.study import Point, RunSpec, StudyConfig, plan_points, plan_runs
from training.discovery.plan import Batch, run_batch
from training.results.store import EVALUATION, read_json
from training.study import explain_units as xu
from training.study.driver import point_file, ray_session, run_dir
from training.study.keys import KEY_FIELD, unit_key
from training.study.robustness import plan_discovery
from training.study.tasks import analyse_point, rl_run

Unit = Point | RunSpec | xu.ExplainUnit | Batch

TOLERANCE = 1e-9
SEED = 0  # the random choice of units
VOLATILE = frozenset({"seconds", "train_seconds", "evaluate_seconds", "training", KEY_FIELD, "schema_version"})


@dataclass
class Verdict:
    unit: str  # the stored file, relative to the study's out folder
    difference: str | None  # None: it agrees; else the first difference, one line


def stored_file(cfg: StudyConfig, unit: Unit) -> Path:
    if isinstance(unit, Point):
        return point_file(cfg, unit)
    if isinstance(unit, RunSpec):
        return run_dir(cfg, unit) / EVALUATION
    return cfg.out_dir / unit.relpath()


def choose(cfg: StudyConfig, n: int, seed: int = SEED) -> list[Unit]:
    """``n`` stored units at random, at least one per RL algorithm of the stored RL units."""
    others: list[Unit] = [*plan_points(cfg), *xu.plan_explain(cfg), *plan_discovery(cfg)]
    points = [u for u in others if stored_file(cfg, u).is_file()]
    runs = [r for r in plan_runs(cfg) if stored_file(cfg, r).is_file()]
    rng = random.Random(seed)
    picks: list[Unit] = [rng.choice([r for r in runs if r.algo == algo])
                         for algo in sorted({r.algo for r in runs})]
    rest = [*points, *(r for r in runs if r not in picks)]
    return picks + rng.sample(rest, max(0, min(n - len(picks), len(rest))))


def first_difference(stored: Any, fresh: Any, where: str = "") -> str | None:
    """The first place two results differ (numbers by more than :data:`TOLERANCE`), or None."""
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in sorted(set(stored) | set(fresh), key=str):
            if key in VOLATILE:
                continue
            name = f"{where}.{key}" if where else str(key)
            if key not in stored or key not in fresh:
                return f"{name}: {'missing in the stored file' if key not in stored else 'not computed any more'}"
            found = first_difference(stored[key], fresh[key], name)
            if found:
                return found
        return None
    if isinstance(stored, list) and isinstance(fresh, list):
        if len(stored) != len(fresh):
            return f"{where}: {len(stored)} items stored, {len(fresh)} computed"
        return next((d for i, (a, b) in enumerate(zip(stored, fresh)) if (d := first_difference(a, b, f"{where}[{i}]"))),
                    None)
    numbers = (int, float)
    if isinstance(stored, numbers) and isinstance(fresh, numbers) and not isinstance(stored, bool) \
            and not isinstance(fresh, bool):
        if math.isclose(stored, fresh, rel_tol=0.0, abs_tol=TOLERANCE) or (stored != stored and fresh != fresh):
            return None
        return f"{where}: stored {stored!r}, computed {fresh!r} (differs by {abs(stored - fresh):.3g})"
    return None if stored == fresh else f"{where}: stored {stored!r}, computed {fresh!r}"


def verify(cfg: StudyConfig, n: int, address: str | None = None, num_cpus: int | None = None,
           log: Callable[[str], None] = print) -> list[Verdict]:
    """Recompute ``n`` stored units (see the module docstring); one :class:`Verdict` per unit."""
    units = choose(cfg, n)
    if not units:
        raise ValueError(f"--verify: {cfg.out_dir} holds no stored unit of this study to verify; run the study first")
    log(f"verify {cfg.name}: recomputing {len(units)} of the stored units: "
        + ", ".join(stored_file(cfg, u).relative_to(cfg.out_dir).as_posix() for u in units))
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="alliance-verify-") as tmp, ray_session(address, num_cpus) as ray:
        task = {kind: ray.remote(num_cpus=1, max_retries=0)(fn) for kind, fn in
                ((Point, analyse_point), (RunSpec, rl_run), (xu.ExplainUnit, xu.explain_unit), (Batch, run_batch))}
        refs = {}
        for i, unit in enumerate(units):
            args = (str(Path(tmp) / f"run{i}"),) if isinstance(unit, RunSpec) else ()
            refs[task[type(unit)].remote(unit, *args)] = unit
        for ref, unit in refs.items():
            name = stored_file(cfg, unit).relative_to(cfg.out_dir).as_posix()
            stored = read_json(stored_file(cfg, unit))
            key = unit_key(unit)
            if stored.get(KEY_FIELD) != key:
                diff = f"{KEY_FIELD}: stored {str(stored.get(KEY_FIELD))[:12]}, its inputs now make {key[:12]} (stale)"
            else:
                diff = first_difference(stored, json.loads(json.dumps(ray.get(ref))))  # as it is stored
            verdicts.append(Verdict(name, diff))
            log(f"  {name}: " + ("agrees (1e-9)" if diff is None else f"DIFFERS: {diff}"))
    return verdicts
