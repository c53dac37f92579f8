"""Run a study on Ray: every unit of work not yet on disk becomes a Ray task; the driver writes
each result atomically as it arrives, then renders the report from the files.

Units (``training/config/study.py``) and where their results live under the study's ``out``:
``exact/<scenario>.json`` and ``sweeps/<sweep>_<point>.json`` (:func:`training.study.tasks.analyse_point`),
``runs/<scenario>/<algo>_s<seed>/evaluation.json`` (:func:`training.study.tasks.rl_run`; the run folder
itself is written by the task, ``evaluation.json`` last, by the driver), ``explain/<scenario>_streams.json``
and ``explain/<scenario>_frontier.json`` (:mod:`training.study.explain_units`),
``discovery/batches/<scenario>_<kind>_<first row>.json`` (:func:`training.discovery.plan.run_batch`, a
batch of samples or diagram cells of a ``discovery:`` section, holding its unit key). A unit whose file exists is
skipped, so an interrupted study continues where it stopped; an RL run interrupted mid-training
is trained again from the start (:func:`training.study.tasks.train_run`), so that a study killed
mid-way and continued gets the same results, and the same report, as one run in one go. A
stored unit whose unit key differs from the one its inputs make now (its config, scenario or the
model's version changed) is computed again, and the log says so (:func:`pending`); it is never
silently reused.

``ray.init()`` starts a local Ray instance (``num_cpus`` CPUs) unless ``address`` names a running
cluster (then run folders are assumed to be on a filesystem the workers share with the driver).
Each task takes one CPU and trains with one torch thread.
"""

from __future__ import annotations

import contextlib
import platform
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.config.study import Point, RunSpec, StudyConfig, plan_points, plan_runs
from training.discovery.plan import Batch, run_batch
from training.results import run_folder as rf
from training.results import store
from training.results.lock import folder_lock
from training.results.schemas import DiscoveryBatch, Environment, GroupedBatch, PointAnalysis, RunEvaluation
from training.results.store import EVALUATION, read_json, read_stored
from training.run.determinism import cpu_environment, runtime_env
from training.study import explain_units as xu
from training.study.keys import KEY_FIELD, unit_key
from training.study.report import stored_units, write_report
from training.study.robustness import batch_schema, plan_discovery
from training.study.tasks import analyse_point, rl_run


@dataclass
class StudyOutcome:
    """What one call of :func:`run_study` did."""

    done: list[str] = field(default_factory=list)  # units computed in this call
    skipped: list[str] = field(default_factory=list)  # units found on disk
    failed: dict[str, str] = field(default_factory=dict)  # unit -> one-line error
    report: Path | None = None
    seconds: float = 0.0


def point_file(cfg: StudyConfig, point: Point) -> Path:
    return cfg.out_dir / point.relpath()


def run_dir(cfg: StudyConfig, spec: RunSpec) -> Path:
    return cfg.out_dir / spec.relpath()


def pending(cfg: StudyConfig, log: Callable[[str], None] | None = None) -> tuple[list[Point], list[RunSpec], list[str]]:
    """The points and runs to compute, and the keys of those stored and still right. A stored unit
    whose unit key (``training/study/keys.py``: a hash of its resolved inputs and the model's version)
    is not the one its inputs make now is stale: it is computed again, and ``log`` says so. Each
    stored file is read through its schema: one that does not pass (damaged, edited, a NaN where a
    number belongs) is computed again too, and ``log`` names it and why."""
    points, runs, skipped = [], [], []
    for p in plan_points(cfg):
        (skipped.append(p.relpath()) if _fresh(cfg, p.relpath(), p, PointAnalysis, log) else points.append(p))
    for r in plan_runs(cfg):
        name = f"{r.relpath()}/{EVALUATION}"
        (skipped.append(name) if _fresh(cfg, name, r, RunEvaluation, log) else runs.append(r))
    return points, runs, skipped


def pending_explain(cfg: StudyConfig, skipped: list[str],
                    log: Callable[[str], None] | None = None) -> list[xu.ExplainUnit]:
    """The "why the optimum wins" units to compute, as :func:`pending` (their files have no schema
    yet: read as JSON mappings); the keys of the others are added to ``skipped``."""
    todo = []
    for u in xu.plan_explain(cfg):
        (skipped.append(u.relpath()) if _fresh(cfg, u.relpath(), u, None, log) else todo.append(u))
    return todo


def pending_batches(cfg: StudyConfig, skipped: list[str], log: Callable[[str], None] | None = None) -> list[Batch]:
    """The discovery's batches to compute, as :func:`pending` (a batch's unit key hashes its resolved
    parameter sets); the files of the others are added to ``skipped``.

    :raises training.discovery.ranges.RangesError: a bad ranges file (one line, before any work)
    """
    todo = []
    for b in plan_discovery(cfg):
        (skipped.append(b.relpath()) if _fresh(cfg, b.relpath(), b, batch_schema(b), log) else todo.append(b))
    return todo


def _fresh(cfg: StudyConfig, name: str, unit: Any, schema: Any, log: Callable[[str], None] | None) -> bool:
    """Whether the file ``name`` (under the study's out folder) holds ``unit``'s result made from the
    inputs it has now (its unit key)."""
    path = cfg.out_dir / name
    if not path.is_file():
        return False
    try:
        data = read_json(path) if schema is None else read_stored(path, schema)
    except ValueError as exc:  # damaged, or a value its schema refuses (NaN where a number belongs)
        if log is not None:
            log(f"{name}: not a valid stored unit ({_reason(exc, path)}): recomputing")
        return False
    stored, wanted = data.get(KEY_FIELD), unit_key(unit)
    if stored == wanted:
        return True
    if log is not None:
        log(f"{name}: stale "
            f"(stored unit key {str(stored)[:12]}, its inputs now make {wanted[:12]}): recomputing")
    return False


def _reason(exc: ValueError, path: Path) -> str:
    """The store's one-line refusal without the file's name (the log names it) and its advice."""
    text = str(exc).removeprefix(f"{path}: ")
    return text.rsplit("; ", 1)[0] if "; " in text else text


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """``ray.init`` unless Ray is already initialised in this process (then it is left running)."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": True, "logging_level": "warning",
                              "runtime_env": runtime_env()}  # every worker: torch's plain CPU kernels
    if address:
        ray.init(address=address, **kwargs)
    else:  # "local": a cluster of its own, even if another study's (or a killed one's) is running here
        ray.init(address="local", num_cpus=num_cpus, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def run_study(cfg: StudyConfig, address: str | None = None, num_cpus: int | None = None,
              log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None,
              report: bool = True) -> StudyOutcome:
    """Compute every missing unit on Ray, write each result, then write the report.

    :param cfg: the validated study config
    :param address: a Ray cluster to join; None starts a local instance
    :param num_cpus: CPUs of the local instance (None: all)
    :param log: where progress lines go
    :param on_result: called with a unit's key after its result is written (tests use it to interrupt)
    :param report: render the report at the end
    :raises training.results.lock.FolderBusy: another process writes the study's folder (one line naming it)
    """
    with folder_lock(cfg.out_dir, _command(cfg), note=log):  # one writer per study folder: a second is refused
        return _run_study(cfg, address, num_cpus, log, on_result, report)


def _command(cfg: StudyConfig) -> str:
    return shlex.join(["alliance", "study", cfg.source or f"<{cfg.name}>"])


def _run_study(cfg: StudyConfig, address: str | None, num_cpus: int | None, log: Callable[[str], None],
               on_result: Callable[[str], None] | None, report: bool) -> StudyOutcome:
    clock = time.perf_counter()
    out = StudyOutcome()
    points, runs, out.skipped = pending(cfg, log)
    explain = pending_explain(cfg, out.skipped, log)
    batches = pending_batches(cfg, out.skipped, log)
    todo = len(points) + len(runs) + len(explain) + len(batches)
    total = todo + len(out.skipped)
    log(f"study {cfg.name}: {total} units, {len(out.skipped)} already done, {todo} to run -> {cfg.out_dir}")
    if todo:
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        write_environment(cfg)
        with ray_session(address, num_cpus) as ray:
            _execute(ray, cfg, points, runs, out, log, on_result, total, explain, batches)
    if report and stored_units(cfg):
        out.report = write_report(cfg)
        log(f"report: {out.report}")
    elif report:
        log(f"no report: {cfg.out_dir} holds none of the study's units (every one failed)")
    out.seconds = time.perf_counter() - clock
    return out


def _execute(ray: Any, cfg: StudyConfig, points: list[Point], runs: list[RunSpec], out: StudyOutcome,
             log: Callable[[str], None], on_result: Callable[[str], None] | None, total: int,
             explain: Sequence[xu.ExplainUnit] = (), batches: Sequence[Batch] = ()) -> None:
    analyse = ray.remote(num_cpus=1, max_retries=0)(analyse_point)
    solve = ray.remote(num_cpus=1, max_retries=0)(run_batch)
    train = ray.remote(num_cpus=1, max_retries=0)(rl_run)
    command = _command(cfg)
    refs: dict[Any, tuple[str, Path, str]] = {}
    for spec in runs:  # the longest units first
        folder = run_dir(cfg, spec)
        folder.parent.mkdir(parents=True, exist_ok=True)
        refs[train.remote(spec, str(folder.resolve()), command)] = (spec.relpath(), folder / EVALUATION,
                                                                    unit_key(spec))
    why = ray.remote(num_cpus=1, max_retries=0)(xu.explain_unit)
    for u in explain:  # a frontier is 17 solves: before the quick exact analyses
        refs[why.remote(u)] = (u.relpath(), cfg.out_dir / u.relpath(), unit_key(u))
    for p in points:
        refs[analyse.remote(p)] = (p.relpath(), point_file(cfg, p), unit_key(p))
    for b in batches:  # discovery: many short tasks, last
        refs[solve.remote(b)] = (b.relpath(), cfg.out_dir / b.relpath(), unit_key(b))
    count = len(out.skipped)
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            key, path, content_key = refs.pop(ready[0])
            count += 1
            try:
                data = ray.get(ready[0])
            except Exception as exc:  # a task's error: note it, carry on with the others
                out.failed[key] = _one_line(exc)
                log(f"[{count}/{total}] FAILED {key}: {out.failed[key]}")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            data = {**data, KEY_FIELD: content_key}
            if data.get("kind") in xu.KINDS:  # an explain unit: not yet under a result schema
                store.atomic_write_json(path, data)
            else:
                schema = (GroupedBatch if data.get("kind") == "grouped" else DiscoveryBatch if "rows" in data
                          else PointAnalysis if "kind" in data else RunEvaluation)
                store.write_stored(path, schema, data)
            out.done.append(key)
            log(f"[{count}/{total}] {key}: {_describe(data)}")
            if on_result is not None:
                on_result(key)
    finally:
        for ref in refs:  # interrupted: stop what is still running (its partial output is resumable)
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def _describe(data: dict) -> str:
    if data.get("kind") in xu.KINDS:
        return xu.describe(data)
    if "rows" in data:
        return f"{data['kind']} {data['scenario']}: {len(data['rows'])} solved ({data['seconds']:.1f} s)"
    if "kind" in data:
        return f"{data['optimum']['label']}, V* = {data['optimum']['value']:.3f} ({data['seconds']:.1f} s)"
    return (f"{data['label']}, share of V* = {data['share']:.3f} ({data['training']}, "
            f"{data['seconds']:.1f} s)")


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    lines = [ln for ln in "".join(traceback.format_exception_only(type(cause), cause)).splitlines() if ln.strip()]
    return lines[-1] if lines else type(cause).__name__


def write_environment(cfg: StudyConfig) -> Path:
    """``environment.json``: package versions, Python and the git commit of this session."""

    import ray

    versions = rf.package_versions()
    versions["ray"] = ray.__version__
    data = {"python": platform.python_version(), "platform": sys.platform, "versions": versions,
            "git": rf.git_commit(), "config": cfg.source, "cpu": cpu_environment()}
    return store.write_stored(cfg.out_dir / "environment.json", Environment, data)
