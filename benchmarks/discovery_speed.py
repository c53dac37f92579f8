"""Discovery: seconds per sample of each scenario a study's ``discovery:`` section names, in cumulative stages,
beside a plain ``war`` solve in the same run, and the discovery's wall time estimated from them.

    .venv/bin/python benchmarks/discovery_speed.py [--config configs/study.yaml] [--samples 8] [--workers 2]

For each scenario of the section: the first ``--samples`` sample rows (the plan's own parameter sets),
solved as one batch the way a Ray task does (``agents.evaluate_samples``, as
``training.discovery.solving.evaluate`` calls it): ``solve_batch`` alone; the solve and the optimum's
statistics (occupancy from s0); and with the baselines the section names (their exact values). Then one diagram cell (solve and statistics, no baselines). Each stage in wall seconds and
CPU seconds of this process (``time.process_time``: what a dedicated core would take; the wall time
grows with the machine's load, printed). The reference is ``solve(make_params("war"))`` cold, timed in
the same run: read the ratios, not the absolute times.

Estimate: (samples x sum over scenarios of a sample's CPU seconds + cells x a cell's) / workers, with
one task per worker on a dedicated core. A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402

from agents import solver  # noqa: E402
from agents.sample_eval import evaluate_samples  # noqa: E402
from envs.scenarios import make_params  # noqa: E402
from envs.tables import build_tables  # noqa: E402
from training.config.study import load_study_config  # noqa: E402
from training.discovery.plan import plan_batches, sample_rows  # noqa: E402
from training.discovery.ranges import load_ranges  # noqa: E402


def clear_caches() -> None:
    build_tables.cache_clear()
    solver._operator.cache_clear()
    solver._solve.cache_clear()


class Clock:
    """Wall and CPU seconds of one stage."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0


def stages(params: list, baselines: tuple[str, ...] | None) -> dict[str, Clock]:
    """What :func:`training.discovery.solving.evaluate` costs, cumulatively: the solve alone, the solve
    and the optimum's statistics (no baseline), and with the baselines a batch scores."""
    out = {}
    clear_caches()
    with Clock() as out["solve_batch alone"]:
        solver.solve_batch(params)
    clear_caches()
    with Clock() as out["+ optimum statistics"]:
        evaluate_samples(params, [])
    if baselines is None or baselines:
        clear_caches()
        with Clock() as out[f"+ baselines ({'all' if baselines is None else len(baselines)}): a sample"]:
            evaluate_samples(params, baselines)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/study.yaml", help="a study YAML with a discovery section")
    parser.add_argument("--samples", type=int, default=8, help="samples timed per scenario (one batch)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the estimate")
    args = parser.parse_args()
    cfg = load_study_config(args.config)
    dcfg = cfg.discovery
    if dcfg is None:
        print(f"{args.config}: no discovery section")
        return 2
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average {os.getloadavg()[0]:.2f} at start")
    ranges = load_ranges(dcfg.ranges)
    n_samples = len(sample_rows(ranges, dcfg)[0])
    batches = plan_batches(dcfg.model_copy(update={"batch": args.samples}), ranges)

    clear_caches()
    with Clock() as ref:
        solver.solve(make_params("war"))
    print(f"reference: solve(war) cold {ref.wall:.3f} s wall, {ref.cpu:.3f} s CPU\n")
    print(f"{'scenario':10s}{'stage (cumulative)':34s}{'wall s/sample':>14s}{'CPU s/sample':>14s}{'CPU / war solve':>16s}")
    per_sample: dict[str, float] = {}
    for scenario in dcfg.scenarios:
        batch = next(b for b in batches if b.kind == "sample" and b.scenario == scenario)
        k = len(batch.params)
        timed = stages(list(batch.params), batch.baselines)
        for name, c in timed.items():
            print(f"{scenario:10s}{name:34s}{c.wall / k:14.3f}{c.cpu / k:14.3f}{c.cpu / k / ref.cpu:16.1f}")
        per_sample[scenario] = list(timed.values())[-1].cpu / k
    cells, cell_cpu = 0, 0.0
    if dcfg.diagram is not None:
        batch = next(b for b in batches if b.kind.startswith("diagram"))
        cell = stages(list(batch.params), ())["+ optimum statistics"]
        cell_cpu = cell.cpu / len(batch.params)
        cells = len(dcfg.diagram.axes) * dcfg.diagram.n ** 2
        print(f"{dcfg.diagram.scenario:10s}{'a diagram cell':34s}"
              f"{cell.wall / len(batch.params):14.3f}{cell_cpu:14.3f}"
              f"{cell_cpu / ref.cpu:16.1f}")
    total = n_samples * sum(per_sample.values()) + cells * cell_cpu
    print(f"\nestimate for {args.config}: {n_samples} samples x ({' + '.join(f'{v:.2f}' for v in per_sample.values())})"
          f" s + {cells} cells x {cell_cpu:.2f} s = {total:,.0f} CPU s; on {args.workers} dedicated workers "
          f"{total / args.workers / 60:,.1f} min ({args.workers / sum(per_sample.values()):.2f} samples/s of all "
          f"scenarios, {1 / sum(per_sample.values()):.2f} per worker)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
