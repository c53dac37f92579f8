"""The patron game's exact solvers beside the single-agent solve of the same scenario, in one run.

    .venv/bin/python benchmarks/game_speed.py [--scenario war] [--repeat 3]

Each measurement is repeated ``--repeat`` times (caches cleared where they hold the result) and
printed as min / median / max seconds and as a ratio to the reference measured in the same run:
one cold single-agent ``solve`` of the scenario (``agents.solver.solve``, caches cleared). Goals of
issue 24, as absolute seconds on this machine (read them beside the reference, which moves with the
machine's load): the commitment table <= 5 s, one best response <= 0.2 s, the NashConv of a profile
<= 0.5 s; the MPE homotopy's two pieces per step (no goal); peak memory of the game on one block <= 200 MB,
the whole process's peak resident memory (``--memory``; the last line here is ``tracemalloc`` over
building the operator and one NashConv: the arrays the game allocates, not the process). A script,
not a test.

    .venv/bin/python benchmarks/game_speed.py --mpe [--lam-stop 1650] [--polish]

instead runs the MPE search's pieces each in a fresh process and prints each one's peak resident
memory (``resource.getrusage`` maxrss, the whole process) and seconds: the operator and one NashConv
(the reference), the search of ``agents.game.equilibrium.STANDARD`` up to ``--lam-stop`` (the
homotopy, its Richardson extrapolation and the path again with a prior: the path's certificate and
the final one), and
with ``--polish`` the support polish (``agents.game.polish.polish``, which the search does not run)
from the search's profile, with its certificate.

    .venv/bin/python benchmarks/game_speed.py --memory [--scenario war] [--evict-llvm]

runs each of the game's exact pieces in a fresh process and prints its peak resident memory
(``resource.getrusage`` maxrss, the whole process) beside the 200 MB goal, the process's peak
after its imports alone (the baseline, most of it numba's LLVM library) and its seconds: the
imports alone, numba's runtime (what numba sets up on loading the first cached kernel: its
implementation modules and the compile of its runtime's functions, no kernel of ours: the floor
of every piece that runs a kernel), the single-agent solve (whose optimum the others read from a
file), the operator, the operator and one NashConv, the operator and the two best responses, the
commitment table; and, on Linux, the resident memory at the piece's end split into anonymous
(arrays, the interpreter's objects) and file-backed pages (mapped libraries, mostly numba's
libllvmlite.so). The file-backed part is not this code's: how many pages of that 179 MB library the
kernel maps for the same work depends on how its page cache holds the file (the same library gave
41, 66 and 101 MB after ``import llvmlite.binding`` on this machine: read from disk, an older copy,
freshly written by pip), so compare trees with one interpreter (``PYTHONPATH=<tree>``) and with
``--evict-llvm`` (Linux: the library dropped from the page cache before each piece, so that every
piece reads it from disk; three runs then agree to 1 MB). What numba's floor holds besides the
library: its runtime's implementation modules, among them ``scipy.linalg`` (numba checks for BLAS
through ``scipy.linalg.cython_blas``), and scipy's array-API layer, which imports ``numpy.testing`` and
``numpy.f2py`` (about 10 MB, with ``scipy.sparse`` as much as with ``scipy.linalg``). Above the floor,
part of a piece's anonymous memory is heap that glibc keeps after the arrays are freed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402

from agents import solver  # noqa: E402
from agents.game import operator as game_op  # noqa: E402
from agents.game.best_response import best_response, nash_conv  # noqa: E402
from agents.game.commitment import commitment_table  # noqa: E402
from envs import game_tables  # noqa: E402
from envs.scenarios import make_params  # noqa: E402
from envs.tables import build_tables  # noqa: E402


def _clear() -> None:
    solver._solve.cache_clear()
    solver._operator.cache_clear()
    build_tables.cache_clear()
    game_tables.patron_block.cache_clear()
    game_op.game_operator.cache_clear()


def _timed(fn, repeat: int, clear: bool) -> list[float]:
    out = []
    for _ in range(repeat):
        if clear:
            _clear()
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _child(piece: str, scenario: str, lam_stop: float, path: str) -> None:
    """One piece of the MPE search in this process; prints a JSON line with its seconds, peak memory, certificate."""
    from agents.game.equilibrium import STANDARD, search_mpe
    from agents.game.polish import polish

    params = make_params(scenario)
    start = time.perf_counter()
    op = game_op.game_operator(params)
    out: dict = {}
    if piece == "reference":
        table = game_op.pure(np.full(op.rows.size, op.table_patron), 24)
        optimum = game_op.pure(solver.solve(params).policy[0, op.rows], 96)
        out["nashconv_max"] = nash_conv(op, optimum, table).max
    elif piece == "homotopy":
        res = search_mpe(op, **{**STANDARD, "lam_stop": lam_stop})
        np.savez(path, pi_s=res.pi_small, pi_p=res.pi_patron)
        path = [c for c in res.curve if "extrapolated_from" not in c and not c.get("prior")][-1]
        out.update(nashconv_max=res.nashconv_max, nashconv_s0=res.nashconv_s0, steps=res.iterations,
                   path_lambda=round(path["lambda"], 1), path_nashconv_max=path["nashconv_max"],
                   path_nashconv_s0=path["nashconv_s0"], extrapolated="Richardson" in res.method)
    else:
        found = np.load(path)
        res = polish(op, found["pi_s"], found["pi_p"], budget_seconds=300.0)
        out.update(nashconv_max=res.certificate.max, nashconv_s0=res.certificate.at_start, rounds=res.rounds,
                   exact=res.exact, curve=res.curve)
    out.update(piece=piece, seconds=time.perf_counter() - start,
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


MEMORY_PIECES = ("imports", "numba", "solve", "operator", "nashconv", "best_response", "commitment")
GOAL_MB = 200.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _resident_now() -> dict:
    """This process's resident memory now, split as Linux counts it (MB): anonymous (the heap, the
    arrays, the interpreter's objects) and file-backed (mapped libraries: most of it numba's LLVM
    library, whose count depends on how the kernel cached the file, not on this code); {} elsewhere."""
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile"):
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        return {}
    return out


def _memory_child(piece: str, scenario: str, path: str) -> None:
    """One exact piece of the game in this process: a JSON line with its seconds and peak memory."""
    base = _peak_mb()
    params = make_params(scenario)
    start = time.perf_counter()
    out: dict = {}
    if piece == "solve":
        np.save(path, solver.solve(params).policy[0])
    elif piece == "numba":  # what numba sets up on loading the first cached kernel (numba.core.caching), no kernel
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    elif piece == "commitment":  # no operator: the table solves the single-agent model 24 times
        out["best_value_patron"] = max(c.value_patron for c in commitment_table(params))
    elif piece != "imports":
        op = game_op.game_operator(params)
        table = game_op.pure(np.full(op.rows.size, op.table_patron), 24)
        if piece in ("nashconv", "best_response"):
            optimum = game_op.pure(np.load(path)[op.rows], 96)
        if piece == "nashconv":
            out["nashconv_max"] = nash_conv(op, optimum, table).max
        elif piece == "best_response":
            out["br_iterations"] = [best_response(op, "small_state", table).iterations,
                                    best_response(op, "patron", optimum).iterations]
    out.update(piece=piece, seconds=time.perf_counter() - start, peak_mb=_peak_mb(), base_mb=base, now=_resident_now())
    print(json.dumps(out))


def _evict_llvm() -> str:
    """Drop numba's LLVM library (llvmlite's ``libllvmlite.so``) from the kernel's page cache
    (``posix_fadvise`` DONTNEED: clean pages no process maps), so that the next process reads it from
    disk; returns the note printed with the figures ("" where this cannot be done)."""
    import importlib.util

    spec = importlib.util.find_spec("llvmlite")
    if spec is None or not spec.submodule_search_locations or not hasattr(os, "posix_fadvise"):
        return ""
    lib = os.path.join(list(spec.submodule_search_locations)[0], "binding", "libllvmlite.so")
    try:
        fd = os.open(lib, os.O_RDONLY)
    except OSError:
        return ""
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return "; numba's LLVM library dropped from the page cache before each piece"


def _memory(scenario: str, evict: bool = False) -> None:
    note = _evict_llvm() if evict else ""
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; scenario {scenario}; each piece in a fresh process "
          f"(peak = resource.getrusage maxrss of that process; base = its peak after the imports alone){note}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "optimum.npy")
        for piece in MEMORY_PIECES:
            if evict:
                _evict_llvm()
            cmd = [sys.executable, __file__, "--scenario", scenario, "--memory-child", piece, "--profile", path]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            extra = {k: v for k, v in r.items() if k not in ("piece", "seconds", "peak_mb", "base_mb", "now")}
            now = r["now"]
            split = f"; at the end {now['RssAnon']:4.0f} anon + {now['RssFile']:4.0f} file" if now else ""
            print(f"{piece:14s} peak {r['peak_mb']:6.0f} MB (goal <= {GOAL_MB:.0f} MB: "
                  f"{'met' if r['peak_mb'] <= GOAL_MB else 'NOT met'}; {r['peak_mb'] - r['base_mb']:5.0f} MB above the "
                  f"imports' {r['base_mb']:4.0f} MB{split})  {r['seconds']:6.2f} s  {extra}")


def _mpe(scenario: str, lam_stop: float, polish: bool) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; scenario {scenario}; each piece in a fresh process "
          f"(peak = resource.getrusage maxrss of that process)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "profile.npz")
        rows = []
        for piece in ("reference", "homotopy") + (("polish",) if polish else ()):
            cmd = [sys.executable, __file__, "--scenario", scenario, "--child", piece, "--lam-stop", str(lam_stop),
                   "--profile", path]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=7200)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    ref = rows[0]
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in ("piece", "seconds", "peak_mb", "curve")}
        print(f"{r['piece']:10s} {r['seconds']:8.1f} s ({r['seconds'] / ref['seconds']:6.1f} x ref)  peak "
              f"{r['peak_mb']:6.0f} MB ({r['peak_mb'] / ref['peak_mb']:4.2f} x ref; goal <= 200 MB: "
              f"{'met' if r['peak_mb'] <= 200 else 'NOT met'})  {extra}")
    for c in rows[-1].get("curve", []) if polish else []:
        print("  polish round", c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="war")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mpe", action="store_true", help="peak memory and seconds of the MPE search's pieces")
    ap.add_argument("--lam-stop", type=float, default=1650.0)  # STANDARD's
    ap.add_argument("--polish", action="store_true", help="with --mpe: the support polish from the search's profile too")
    ap.add_argument("--memory", action="store_true", help="peak memory of each exact piece, each in a fresh process")
    ap.add_argument("--evict-llvm", action="store_true",
                    help="with --memory: drop numba's LLVM library from the page cache before each piece (Linux)")
    ap.add_argument("--child", choices=("reference", "homotopy", "polish"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-child", choices=MEMORY_PIECES, help=argparse.SUPPRESS)
    ap.add_argument("--profile", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child, args.scenario, args.lam_stop, args.profile)
    if args.memory_child:
        return _memory_child(args.memory_child, args.scenario, args.profile)
    if args.memory:
        return _memory(args.scenario, args.evict_llvm)
    if args.mpe:
        return _mpe(args.scenario, args.lam_stop, args.polish)
    params = make_params(args.scenario)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"scenario {args.scenario}; {args.repeat} repeats")
    reference = _timed(lambda: solver.solve(params), args.repeat, clear=True)
    op = game_op.game_operator(params)
    table = game_op.pure(np.full(op.rows.size, op.table_patron), 24)
    optimum = game_op.pure(solver.solve(params).policy[0, op.rows], 96)
    rows = [
        ("single-agent solve (reference)", reference, None),
        ("game operator, cold", _timed(lambda: game_op.GameOperator(params), args.repeat, clear=True), None),
        ("commitment table (24), cold", _timed(lambda: commitment_table(params), args.repeat, clear=True), 5.0),
    ]
    op = game_op.game_operator(params)
    rows += [
        ("best response, small state vs table", _timed(lambda: best_response(op, "small_state", table), args.repeat, False), 0.2),
        ("best response, patron vs optimum", _timed(lambda: best_response(op, "patron", optimum), args.repeat, False), 0.2),
        ("NashConv of the table profile", _timed(lambda: nash_conv(op, optimum, table), args.repeat, False), 0.5),
    ]
    # imported here: --memory's children measure the game without the homotopy (scipy.linalg)
    from agents.game.homotopy import LogitPath

    path = LogitPath(op)  # the MPE homotopy's pieces at the table profile's values, lambda = 100
    values = np.stack(op.evaluate(optimum, table))
    stage = path.stage(values, 100.0, np.zeros((op.rows.size, 24)))
    rows += [
        ("homotopy: stage equilibria from x = 0", _timed(lambda: path.stage(values, 100.0, np.zeros_like(stage.x)),
                                                         args.repeat, False), None),
        ("homotopy: dense Jacobian (2160 x 2161)", _timed(lambda: path.jacobian(stage), args.repeat, False), None),
    ]
    ref = statistics.median(reference)
    print(f"{'measurement':40s} {'min':>8s} {'median':>8s} {'max':>8s} {'x ref':>7s}  goal")
    for name, times, goal in rows:
        med = statistics.median(times)
        verdict = "" if goal is None else f"<= {goal} s: {'met' if med <= goal else 'NOT met'}"
        print(f"{name:40s} {min(times):8.3f} {med:8.3f} {max(times):8.3f} {med / ref:7.2f}  {verdict}")
    _clear()
    tracemalloc.start()
    op = game_op.game_operator(params)
    nash_conv(op, optimum, table)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"peak memory traced (tracemalloc: the arrays the game allocates), operator + one NashConv: {peak:.0f} MB "
          f"(goal <= 200 MB: {'met' if peak <= 200 else 'NOT met'}); the whole process's peak, imports included: --memory")


if __name__ == "__main__":
    main()
