"""``alliance benchmark``: every algorithm (seeds grouped), every baseline and the optimum, with IQM,
bootstrap intervals, probability of improvement, archetype labels and figures (training/scoring/benchmark.py,
training/render/benchmark.py)."""

from __future__ import annotations

import argparse
import shlex
import sys

HELP = "benchmark run folders against the baselines and the optimum: IQM share of V*, CIs, P(improvement), figures"
EXAMPLES = """examples:
  alliance benchmark --runs 'results/runs/war/*'
  alliance benchmark --runs 'results/runs/war/*' --scenarios war,alt_open --out results/benchmark/
  alliance benchmark --runs 'results/runs/war/ppo_*' 'results/runs/war/dqn_*' --best --reps 5000
  alliance benchmark --out results/benchmark/ --report-only     re-render from benchmark.json

--runs takes glob patterns (quote them) or the folders themselves; runs are grouped by (training
scenario with its overrides, algorithm) from each run's config.yml, and the seeds of a group are its
runs; run folders of the same config and seed (or the same model bytes) are copies, counted once and
named. --scenarios defaults to the runs' training scenarios with their overrides, named as
war[identification=0.9] (a form --scenarios accepts too); a run is evaluated on another scenario only
if the spaces agree. The IQM and its 95 % stratified-bootstrap interval use rliable with a fixed seed (--seed), so
the same runs give the same files. Writes benchmark.json, benchmark.md, benchmark.csv,
benchmark_runs.csv and figures/ into --out. Models are loaded only if their sha256 matches the run's
manifest (SB3 archives can carry pickled objects), unless --trust is given.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", nargs="+", action="extend", default=[], metavar="PATTERN",
                        help="run folders or glob patterns of run folders (repeatable)")
    parser.add_argument("--scenarios", default=None, metavar="S1,S2",
                        help="comma-separated benchmark scenarios (default: the runs' training scenarios)")
    parser.add_argument("--out", default="results/benchmark", metavar="DIR", help="output folder (default %(default)s)")
    parser.add_argument("--best", action="store_true", help="evaluate each run's best_model.zip instead of model.zip")
    parser.add_argument("--trust", action="store_true",
                        help="load model files even if their sha256 does not match the run's manifest")
    parser.add_argument("--reps", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="bootstrap seed (default 0)")
    parser.add_argument("--report-only", action="store_true",
                        help="re-render benchmark.md, the CSVs and the figures from --out/benchmark.json")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def summary_text(data: dict) -> str:
    """A short terminal table: IQM share of V* per policy and the probability of improvement."""
    agg = data["aggregate"]
    scen = data["scenarios"]
    width = max(len(n) for n in agg["kinds"]) + 2
    lines = [f"{'policy':{width}s}{'runs':>5s}" + "".join(f"{s:>14s}" for s in scen) + f"{'all: IQM [95 % CI]':>28s}"]
    for name in agg["kinds"]:
        est = agg["iqm"][name]
        point, lo, hi = est["aggregate"]
        lines.append(f"{name:{width}s}{agg['n_runs'][name]:5d}" + "".join(f"{est['per_scenario'][s][0]:14.4f}" for s in scen)
                     + f"{point:10.4f} [{lo:.4f}, {hi:.4f}]")
    lines.append(f"best baseline: {agg['best_baseline']}")
    for g, p in agg["poi"].items():
        point, lo, hi = p["aggregate"]
        lines.append(f"P({g} > {agg['best_baseline']}) = {point:.3f} [{lo:.3f}, {hi:.3f}]; "
                     f"label agrees with the optimum's in {agg['labels'][g]['agree']:.0%} of (run, scenario) pairs")
    return "\n".join(lines)


def check_arguments(args: argparse.Namespace) -> None:
    """Numbers out of range and an output folder that cannot be one, before anything is evaluated.

    :raises ValueError: one line naming the option and what is allowed
    """
    from pathlib import Path

    from training.config.hyperparams import MAX_SEED
    from training.config.study import MAX_REPS

    if not 1 <= args.reps <= MAX_REPS:
        raise ValueError(f"--reps={args.reps} is not allowed: an integer in [1, {MAX_REPS:,}]")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed={args.seed} is not allowed: an integer in [0, {MAX_SEED}]")
    out = Path(args.out)
    if not str(args.out).strip() or "\x00" in str(args.out):
        raise ValueError(f"--out={args.out!r} is not allowed: a folder path (not empty, no NUL character)")
    clash = next((p for p in [out, *out.parents] if p.exists() and not p.is_dir()), None)
    if clash is not None:
        raise ValueError(f"--out={args.out} is not allowed: {clash} is a file, not a folder")


def run(args: argparse.Namespace) -> int:
    from training.render import benchmark as report

    check_arguments(args)
    if args.report_only:
        data = report.load_data(args.out)
    else:
        import torch

        from training.config.params import split_scenarios
        from training.scoring.benchmark import benchmark

        if not args.runs:
            raise ValueError("--runs is missing: glob patterns of run folders, e.g. --runs 'results/runs/war/*'")
        torch.set_num_threads(1)
        scenarios = split_scenarios(args.scenarios) if args.scenarios else None
        progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        data = benchmark(args.runs, scenarios, best=args.best, trust=args.trust, reps=args.reps, seed=args.seed,
                         progress=progress)
        data["command"] = shlex.join(["alliance", "benchmark", *_argv(args)])
        report.save_data(data, args.out)
    try:
        paths = report.render(data, args.out)
        summary = summary_text(data)
    except KeyError as exc:  # a benchmark.json from another version, or edited by hand
        raise ValueError(f"{args.out}/benchmark.json: entry {exc} is missing; run the benchmark again") from None
    except (TypeError, IndexError, AttributeError, ValueError) as exc:
        if not args.report_only:
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"{args.out}/benchmark.json: not a benchmark this version can render ({reason[:200]}); "
                         "run the benchmark again") from None
    for dup in data.get("duplicates", []):
        print(f"note: {dup['run_dir']} has {dup.get('why', 'the same model bytes')} as {dup['same_as']}: "
              "a duplicate, counted once")
    print(summary)
    print(f"wrote {paths['md']}, {paths['csv']}, {paths['runs_csv']} and {len(paths) - 3} figures")
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    out = ["--runs", *args.runs]
    if args.scenarios:
        out += ["--scenarios", args.scenarios]
    out += ["--out", str(args.out)]
    for flag in ("best", "trust"):
        if getattr(args, flag):
            out.append(f"--{flag}")
    if args.reps != 2000:
        out += ["--reps", str(args.reps)]
    if args.seed != 0:
        out += ["--seed", str(args.seed)]
    return out
