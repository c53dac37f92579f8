"""Wall time of the exact solve per named scenario, beside one outcomes sweep (the reference).

    .venv/bin/python benchmarks/solver_speed.py [--scenarios war calendar] [--repeats 3] [--labels]

For each scenario every cache is cleared first (tables, factor tensors, operator, solutions),
then ``agents.solver.solve(params)`` is timed: it includes building the transition tables. The
reference is one *outcomes sweep*: ``envs.tables.build_tables(params)`` from a cold cache, i.e.
``envs.model.move_probs`` for M = 0 and 1, the reward and Pr(M) over all 5,400 x 96
state-actions. Stationary scenarios solve the phase blocks reachable from the start (one block
for ``phaseN`` and the ``war`` family; ``complete`` is timed separately for the other four);
timeline/calendar include the continuation model's five blocks and 44 backward steps.
Goal: solve <= 2 s per scenario. BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set
(on a shared 2-core machine OpenBLAS's spinning threads double the solve time). CPU seconds are
printed beside wall seconds: they move less with the machine's load. ``--labels`` also prints the optimum's archetype (that runs the
ten baselines' exact evaluations too, not timed). Best of ``--repeats`` runs. A script, not a
test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402

from agents import bellman, solver  # noqa: E402
from envs.scenarios import make_params, scenario_names  # noqa: E402
from envs.tables import build_tables  # noqa: E402


def clear_caches() -> None:
    build_tables.cache_clear()
    bellman.move_factors.cache_clear()
    solver._operator.cache_clear()
    solver._solve.cache_clear()


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def cpu_timed(fn) -> tuple[float, float, object]:
    cpu = time.process_time()
    wall, out = timed(fn)
    return wall, time.process_time() - cpu, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="*", default=scenario_names(), help="named scenarios")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many cold runs")
    parser.add_argument("--labels", action="store_true", help="print the optimum's archetype label too")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'scenario':14s}{'sweep s':>9s}{'solve s':>9s}{'cpu s':>8s}{'ratio':>7s}{'complete s':>12s}"
          f"{'V*(s0)':>14s}{'residual':>10s}  {'label' if args.labels else ''}")
    worst = 0.0
    for name in args.scenarios:
        p = make_params(name)
        sweeps, solves, cpus, completes = [], [], [], []
        for _ in range(args.repeats):
            clear_caches()
            sweeps.append(timed(lambda p=p: build_tables(p))[0])
            clear_caches()
            dt, cpu, sol = cpu_timed(lambda p=p: solver.solve(p))
            solves.append(dt)
            cpus.append(cpu)
            completes.append(timed(sol.complete)[0] if p.stationary else 0.0)
        sweep, solve_s, cpu_s, complete = min(sweeps), min(solves), min(cpus), min(completes)
        worst = max(worst, solve_s)
        text = ""
        if args.labels:
            from agents.summary import summarize_optimum

            text = summarize_optimum(p).label
        print(f"{name:14s}{sweep:9.3f}{solve_s:9.3f}{cpu_s:8.3f}{solve_s / sweep:7.1f}{complete:12.3f}{sol.value:14.6f}"
              f"{sol.bellman_residual:10.1e}  {text}")
    print(f"slowest solve {worst:.3f} s (goal <= 2 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
