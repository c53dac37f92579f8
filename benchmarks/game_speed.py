"""The patron game's exact solvers beside the single-agent solve of the same scenario, in one run.

    .venv/bin/python benchmarks/game_speed.py [--scenario war] [--repeat 3]

Each measurement is repeated ``--repeat`` times (caches cleared where they hold the result) and
printed as min / median / max seconds and as a ratio to the reference measured in the same run:
one cold single-agent ``solve`` of the scenario (``agents.solver.solve``, caches cleared). Goals of
issue 24, as absolute seconds on this machine (read them beside the reference, which moves with the
machine's load): the commitment table <= 5 s, one best response <= 0.2 s, the NashConv of a profile
<= 0.5 s; the MPE homotopy's two pieces per step (no goal); peak memory of the game on one block <= 200 MB (``tracemalloc`` over building the
operator and one NashConv). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402

from agents import solver  # noqa: E402
from agents.game import operator as game_op  # noqa: E402
from agents.game.best_response import best_response, nash_conv  # noqa: E402
from agents.game.commitment import commitment_table  # noqa: E402
from agents.game.homotopy import LogitPath  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="war")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
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
    print(f"peak memory, operator + one NashConv: {peak:.0f} MB (goal <= 200 MB: {'met' if peak <= 200 else 'NOT met'})")


if __name__ == "__main__":
    main()
