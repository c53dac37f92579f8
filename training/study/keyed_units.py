"""Keyed units on Ray for the commands that store one file per unit (``alliance h8``, ``alliance
leaderboard``), resumable as the study is: a unit's file holds its content key (``KEY_FIELD``); a
missing, damaged, schema-refused or stale file is computed again and the log says why
(:func:`is_fresh`); the missing units run as Ray tasks, one CPU each, each result written atomically
as it arrives and a task's error noted while the rest carry on (:func:`compute`); ``--verify``
recomputes stored units and compares every number to 1e-9 (:func:`recompute`). What differs between
the commands (their units, keys, schemas and the line logged per result) is passed in."""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.results import store
from training.study.driver import ray_session
from training.study.keys import KEY_FIELD
from training.study.verify import first_difference


@dataclass
class Outcome:
    """What a run did: units computed, units skipped (stored and fresh), units failed (their error's line)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Verdict:
    """A recomputed unit: ``difference`` None when every number agrees to 1e-9, else the first that does not."""

    unit: str
    difference: str | None


def is_fresh(path: Path, relpath: str, schema: Any, key: str, log: Callable[[str], None] | None = None) -> bool:
    """Whether the file at ``path`` holds, read through ``schema``, the result of the unit whose content
    key is ``key`` (its inputs now); ``log`` says why not when it exists."""
    if not path.is_file():
        return False
    try:
        data = store.read_stored(path, schema)
    except ValueError as exc:
        if log:
            log(f"{relpath}: not a valid stored unit ({str(exc).splitlines()[0]}): recomputing")
        return False
    if data.get(KEY_FIELD) == key:
        return True
    if log:
        log(f"{relpath}: stale (stored unit key {str(data.get(KEY_FIELD))[:12]}, its inputs now make "
            f"{key[:12]}): recomputing")
    return False


def compute(out: Outcome, todo: Sequence[Any], out_dir: Path, run_unit: Callable[[Any], dict],
            schema_of: Callable[[Any], Any], unit_key: Callable[[Any], str], describe: Callable[[dict], str],
            num_cpus: int | None, address: str | None, log: Callable[[str], None],
            on_result: Callable[[str], None] | None) -> None:
    """Run ``todo`` as Ray tasks and write each result to ``out_dir / unit.relpath()`` with its key,
    as it arrives; ``out.skipped`` already holds the units stored and fresh (the count starts there)."""
    total = len(todo) + len(out.skipped)
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
                path = out_dir / unit.relpath()
                path.parent.mkdir(parents=True, exist_ok=True)
                store.write_stored(path, schema_of(unit), {**data, KEY_FIELD: unit_key(unit)})
                out.done.append(unit.relpath())
                log(f"[{count}/{total}] {unit.relpath()}: {describe(data)}")
                if on_result:
                    on_result(unit.relpath())
        finally:
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)


def run_all(units: Sequence[Any], out_dir: Path, fresh: Callable[[Any], bool], name: str,
            compute_todo: Callable[[Outcome, list[Any]], None], log: Callable[[str], None]) -> Outcome:
    """Skip the fresh units, compute the others with ``compute_todo`` (:func:`compute` bound to the
    command's units), and time it all."""
    clock = time.perf_counter()
    out = Outcome()
    todo: list[Any] = []
    for u in units:
        (out.skipped.append(u.relpath()) if fresh(u) else todo.append(u))
    log(f"{name}: {len(todo) + len(out.skipped)} units, {len(out.skipped)} already done, {len(todo)} to run "
        f"-> {out_dir}")
    if todo:
        out_dir.mkdir(parents=True, exist_ok=True)
        compute_todo(out, todo)
    out.seconds = time.perf_counter() - clock
    return out


def recompute(picks: Sequence[Any], out_dir: Path, run_unit: Callable[[Any], dict], unit_key: Callable[[Any], str],
              num_cpus: int | None, address: str | None, log: Callable[[str], None]) -> list[Verdict]:
    """Recompute the stored units ``picks`` on Ray and compare each number with the stored one to 1e-9
    (``training.study.verify.first_difference``; timings and keys left out); a stored unit whose key is
    not its inputs' now is named stale. Nothing is written."""
    verdicts = []
    with ray_session(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1, max_retries=0)(run_unit)
        refs = {task.remote(u): u for u in picks}
        for ref, unit in refs.items():
            data = store.read_json(out_dir / unit.relpath())
            if data.get(KEY_FIELD) != unit_key(unit):
                diff = (f"{KEY_FIELD}: stored {str(data.get(KEY_FIELD))[:12]}, its inputs now make "
                        f"{unit_key(unit)[:12]} (stale)")
            else:
                diff = first_difference(data, json.loads(json.dumps(ray.get(ref))))
            verdicts.append(Verdict(unit.relpath(), diff))
            log(f"  {unit.relpath()}: " + ("agrees (1e-9)" if diff is None else f"DIFFERS: {diff}"))
    return verdicts


def choose_stored(others: Sequence[Any], runs: Sequence[Any], out_dir: Path, n: int, seed: int, what: str) -> list[Any]:
    """``n`` of the stored units (``out_dir / unit.relpath()`` exists) at random (seeded) for
    ``--verify``, at least one of ``runs`` (the units that train) when one is stored; ``what`` names
    the study in the error when nothing is stored."""
    stored = [u for u in [*others, *runs] if (out_dir / u.relpath()).is_file()]
    if not stored:
        raise ValueError(f"--verify: {out_dir} holds no stored unit of this {what}; run it first")
    rng = random.Random(seed)
    stored_runs = [u for u in runs if (out_dir / u.relpath()).is_file()]
    picks: list[Any] = [rng.choice(stored_runs)] if stored_runs else []
    rest = [u for u in stored if u not in picks]
    picks += rng.sample(rest, max(0, min(n - len(picks), len(rest))))
    return picks
