"""Exact solves and discovery samples: this code beside a reference commit, side by side in one run.

    .venv/bin/python benchmarks/solver_speed.py [--reference 5efa4c9] [--war-sets 32] [--calendar-sets 16]
                                                [--eval-sets 8] [--repeat 2]

The same timing script runs twice per repeat, each time in a fresh subprocess: on this checkout and
on the code of ``--reference`` (extracted with ``git archive`` into a temporary folder), on the same
parameter sets, alternating (new, reference, new, reference, ...); each case keeps its best repeat,
and the median (min, max) of the ratios of each pair of runs is printed beside it.
Issue 25's goals, as ratios against commit 5efa4c9:

1. ``solve_batch`` on sets drawn around ``war`` (stationary) and around ``calendar`` (44 quarters
   and the continuation): >= 3x each, per set.
2. A discovery sample, ``agents.evaluate_samples`` with all ten baselines (solve, the optimum's
   occupancy from s0, ten baselines' exact V^pi(s0)), on ``war`` and on ``calendar`` sets: >= 3x.
3. The full study's discovery, 4,096 samples x (war + calendar), estimated from the per-sample CPU
   seconds of 2. on 2 dedicated workers: <= 15 min.
4. Values: the largest |difference| of V*(s0), of the baselines' V^pi(s0) and of an occupancy
   checksum between the two codes (goal <= 1e-9).
5. Peak memory per set in a batch of 16 war sets and of 8 calendar sets, both codes, each in a
   fresh subprocess: the growth of the peak resident set over a one-set batch (``tracemalloc``'s
   peak beside it: NumPy's arrays only, not what compiled code allocates nor the near-optimal mask
   of a finite horizon, which lives in an anonymous mapping): goal <= 15 MB.

Seconds are CPU seconds of the timing process (``time.process_time``: what a dedicated core takes,
less sensitive to the machine's load than wall seconds, printed too). Each subprocess first solves
and evaluates one set of each scenario untimed (imports, numba's cache, first calls), reported as
"first call". The named scenarios (``solve`` alone, cold) follow, with the reference's seconds.
A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402
from timing import machine, spread  # noqa: E402

REFERENCE = "5efa4c9"  # issue 25's reference: the solver before the compiled loops
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY_SAMPLES = 4096

TIMING_SCRIPT = """
import json, os, sys, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np
from agents import solver
from agents.sample_eval import evaluate_samples
from agents.solver import solve_batch
from envs.scenarios import make_params
from envs.tables import build_tables
job = json.loads(sys.stdin.read())
check = np.random.default_rng(0).random(5400 * 96)

def clear():
    build_tables.cache_clear(); solver._operator.cache_clear(); solver._solve.cache_clear()

def timed(fn):
    clear()
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c

params = {k: [make_params(sc, s) for s in job[k]] for k, sc in job["scenario"].items()}
_, first_w, first_c = timed(lambda: (solve_batch(params["war"][:1]), solve_batch(params["calendar"][:1]),
                                     evaluate_samples(params["eval_war"][:1]), evaluate_samples(params["eval_calendar"][:1])))
out = {"first": [first_w, first_c]}
for k in ("war", "calendar"):
    sols, w, c = timed(lambda: solve_batch(params[k]))
    out[k] = {"wall": w, "cpu": c, "values": [s.value for s in sols]}
for k in ("eval_war", "eval_calendar"):
    res, w, c = timed(lambda: evaluate_samples(params[k]))
    out[k] = {"wall": w, "cpu": c, "values": [r.value for r in res],
              "baselines": [r.baseline_values for r in res],
              "check": [float(r.occupancy.ravel() @ check) for r in res]}
out["scenarios"] = {}
for name in job["named"]:
    clear()
    w = time.perf_counter()
    value = solver.solve(make_params(name)).value
    out["scenarios"][name] = [time.perf_counter() - w, value]
print(json.dumps(out))
"""


MEMORY_SCRIPT = """
import json, os, resource, sys, tracemalloc
os.environ["OPENBLAS_NUM_THREADS"] = "1"
from agents.solver import solve_batch
from envs.scenarios import make_params
job = json.loads(sys.stdin.read())
params = [make_params(job["scenario"], s) for s in job["sets"]]
solve_batch(params[:1])  # imports, first calls, caches: before the baseline of the growth
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
solve_batch(params)
traced = tracemalloc.get_traced_memory()[1]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"rss": grown * 1024 / len(params), "traced": traced / len(params)}))
"""


def run_memory(root: str, scenario: str, sets: list[dict]) -> dict:
    """Peak memory per set of ``solve_batch`` on the code under ``root``, in a fresh subprocess: the
    growth of the peak resident set over a one-set batch, and the peak ``tracemalloc`` sees (NumPy's
    arrays; not what compiled code allocates for itself), per set, in bytes."""
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], input=json.dumps({"scenario": scenario, "sets": sets}),
                         capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": root})
    if out.returncode != 0:
        raise RuntimeError(f"memory run under {root} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def run_timing(root: str, job: dict) -> dict:
    """The timing script on the code under ``root`` in a fresh subprocess; its JSON output."""
    out = subprocess.run([sys.executable, "-c", TIMING_SCRIPT], input=json.dumps(job), capture_output=True,
                         text=True, cwd=root, env={**os.environ, "PYTHONPATH": root})
    if out.returncode != 0:
        raise RuntimeError(f"timing run under {root} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def draws(n: int, seed: int = 0) -> list[dict]:
    """Parameter sets around `war`: the four factors, the threat target and mediation drawn."""
    rng = np.random.default_rng(seed)
    return [{"power": float(rng.uniform(0, 1)), "identification": float(rng.uniform(0, 1)),
             "alpha_west": float(rng.uniform(0, 1)), "alpha_far": float(rng.uniform(0, 1)),
             "tau": float(rng.uniform(0.8, 2.6)), "mediation": float(rng.uniform(0, 0.6))} for _ in range(n)]


def calendar_draws(n: int, seed: int) -> list[dict]:
    """Parameter sets around `calendar`: the four factors and mediation drawn (its calendar fixed)."""
    return [{k: s[k] for k in ("power", "identification", "alpha_west", "alpha_far", "mediation")}
            for s in draws(n, seed)]


def best(runs: list[dict], key: str) -> dict:
    """The repeat with the fewest CPU seconds of one case."""
    return min((r[key] for r in runs), key=lambda x: x["cpu"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=REFERENCE, help="commit to compare with")
    parser.add_argument("--war-sets", type=int, default=32, help="sets around war in a solve_batch")
    parser.add_argument("--calendar-sets", type=int, default=16, help="sets around calendar in a solve_batch")
    parser.add_argument("--eval-sets", type=int, default=8, help="discovery samples per scenario")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each code (alternating); best kept")
    parser.add_argument("--named", nargs="*", default=["war", "calendar", "timeline"],
                        help="named scenarios solved alone, cold (both codes)")
    args = parser.parse_args()
    print(f"{machine()}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    job = {"scenario": {"war": "war", "calendar": "calendar", "eval_war": "war", "eval_calendar": "calendar"},
           "war": draws(args.war_sets, 0), "calendar": calendar_draws(args.calendar_sets, 2),
           "eval_war": draws(args.eval_sets, 1), "eval_calendar": calendar_draws(args.eval_sets, 3),
           "named": args.named}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", ROOT, "archive", args.reference, "envs", "agents"], capture_output=True)
        if archive.returncode != 0:
            print(f"reference {args.reference}: not available ({archive.stderr.decode().strip()[:80]})")
            return 2
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        new, ref = [], []
        for _ in range(args.repeat):
            new.append(run_timing(ROOT, job))
            ref.append(run_timing(tmp, job))
        memory = {(who, sc): run_memory(root, sc, sets) for who, root in (("new", ROOT), ("ref", tmp))
                  for sc, sets in (("war", draws(16, 0)), ("calendar", calendar_draws(8, 2)))}

    print(f"\nper set, best of {args.repeat} alternating runs, each code in a fresh process "
          f"(reference: {args.reference})")
    print(f"{'case':40s}{'new CPU s':>10s}{'ref CPU s':>10s}{'ref/new':>9s}{'new wall':>10s}{'ref wall':>10s}"
          f"{'ref/new':>9s}   CPU ref/new of each pair of runs")
    labels = {"war": f"solve_batch, {args.war_sets} sets around war",
              "calendar": f"solve_batch, {args.calendar_sets} sets around calendar",
              "eval_war": "discovery sample (10 baselines), war",
              "eval_calendar": "discovery sample (10 baselines), calendar"}
    per = {}
    for key, label in labels.items():
        n, r = best(new, key), best(ref, key)
        k = len(job[key])
        per[key] = (n["cpu"] / k, r["cpu"] / k)
        pairs = spread([y[key]["cpu"] for y in ref], [x[key]["cpu"] for x in new])
        print(f"{label:40s}{n['cpu'] / k:10.4f}{r['cpu'] / k:10.4f}{r['cpu'] / n['cpu']:9.2f}"
              f"{n['wall'] / k:10.4f}{r['wall'] / k:10.4f}{r['wall'] / n['wall']:9.2f}   {pairs}")
    first_n = min(x["first"][1] for x in new)
    first_r = min(x["first"][1] for x in ref)
    print(f"{'first call (one set of each, untimed above)':40s}{first_n:10.3f}{first_r:10.3f}")
    print("goals: ref/new >= 3 on each line")

    study = {who: STUDY_SAMPLES * (per["eval_war"][i] + per["eval_calendar"][i]) / 2 / 60 for i, who in
             enumerate(("new", "ref"))}
    print(f"\nthe full study's discovery, {STUDY_SAMPLES} samples x (war + calendar) on 2 dedicated workers: "
          f"new {study['new']:.1f} min, reference {study['ref']:.1f} min (goal <= 15 min)")

    dv = max(abs(a - b) for key in labels for x, y in zip(new, ref)
             for a, b in zip(x[key]["values"], y[key]["values"]))
    db = max(abs(a[b] - c[b]) for key in ("eval_war", "eval_calendar") for x, y in zip(new, ref)
             for a, c in zip(x[key]["baselines"], y[key]["baselines"]) for b in a)
    dc = max(abs(a - b) for key in ("eval_war", "eval_calendar") for x, y in zip(new, ref)
             for a, b in zip(x[key]["check"], y[key]["check"]))
    print(f"largest |new - reference|: V*(s0) {dv:.1e}, baselines' V^pi(s0) {db:.1e}, occupancy checksum {dc:.1e} "
          "(goal <= 1e-9)")

    print("\npeak memory per set of solve_batch, MB: growth of the peak resident set over a one-set batch "
          "(tracemalloc's peak)")
    for sc, k in (("war", 16), ("calendar", 8)):
        n, r = memory[("new", sc)], memory[("ref", sc)]
        print(f"{sc + f' ({k} sets)':20s} new {n['rss'] / 2**20:6.1f} ({n['traced'] / 2**20:5.1f})   "
              f"reference {r['rss'] / 2**20:6.1f} ({r['traced'] / 2**20:5.1f})")
    print("goal: <= 15 MB per set, no more than the reference")

    print(f"\n{'scenario':14s}{'new s':>9s}{'ref s':>9s}{'ref/new':>9s}{'V*(s0)':>14s}{'|dV*(s0)|':>11s}"
          "   (solve alone, cold, every (t, block); best of the runs)")
    for name in args.named:
        n = min(x["scenarios"][name][0] for x in new)
        r = min(x["scenarios"][name][0] for x in ref)
        v, vr = new[0]["scenarios"][name][1], ref[0]["scenarios"][name][1]
        print(f"{name:14s}{n:9.3f}{r:9.3f}{r / n:9.2f}{v:14.6f}{abs(v - vr):11.1e}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
