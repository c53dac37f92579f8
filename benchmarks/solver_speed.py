"""Exact solves: the batched path (``agents.solve_batch``) beside one-at-a-time solves, in one run.

    .venv/bin/python benchmarks/solver_speed.py [--sets 64] [--single 8] [--reference 9295f5b]

1. 64 parameter sets drawn around ``war`` (seed 0): ``solve_batch`` of all of them, against
   ``solve`` one set at a time (caches cleared, the first ``--single`` sets; throughput per set),
   and against *today's* path: the code of commit ``--reference`` (the last commit before the
   batched core), extracted with ``git archive`` into a temporary folder and timed in a
   subprocess on the same sets and machine, in this run. Goal: batched throughput >= 8x today's.
2. Peak memory per set in a batch (``tracemalloc`` peak during ``solve_batch`` / K). Goal <= 32 MB.
3. Every named scenario solved alone (``solve``, cold, every block at every t) and in a batch of
   ``--scenario-batch`` copies (``solve_batch``, per set: the blocks reachable from s0, as discovery
   solves): seconds, V*(s0), residual; for ``--reference-scenarios`` also today's seconds and
   V*(s0) from the same subprocess. Goal: calendar <= 1 s.
4. Per sample of scenario discovery: solve a set, then the optimum's occupancy from s0 and N
   baselines' exact values (``agents.evaluate_samples``), against the path of commit
   ``--eval-reference`` (``solve``, ``evaluate_table`` of the optimum, ``policy_values`` per
   baseline, as ``training/discovery`` calls them), in a subprocess, on the same sets: seconds per
   sample side by side, and the largest differences of V^pi(s0) and of an occupancy checksum.

BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set. Timings depend on the machine's
load: read the ratios, measured side by side. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported

import numpy as np  # noqa: E402

from agents import evaluate_samples, solve_batch, solver  # noqa: E402
from agents.baselines import baseline_names  # noqa: E402
from envs.scenarios import make_params, scenario_names  # noqa: E402
from envs.tables import build_tables  # noqa: E402

TODAY = "9295f5b"  # the last commit with the one-at-a-time solver (tables over all 5,400 x 96 rows)
REFERENCE_SCRIPT = """
import json, os, sys, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
from agents.solver import solve
from envs.scenarios import make_params
job = json.loads(sys.stdin.read())
start = time.perf_counter()
values = [solve(make_params("war", s)).value for s in job["sets"]]
out = {"seconds": time.perf_counter() - start, "values": values, "scenarios": {}}
for name in job["scenarios"]:
    start = time.perf_counter()
    value = solve(make_params(name)).value
    out["scenarios"][name] = [time.perf_counter() - start, value]
print(json.dumps(out))
"""


EVAL_REFERENCE = "e14e5f4"  # main before agents.sample_eval: evaluate_table + policy_values per sample
EVAL_SCRIPT = """
import json, os, sys, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np
from agents.solver import solve
from agents.exact_eval import evaluate_table, policy_values
from agents.baselines import make_policy
from agents.policy import as_policy, policy_table
from envs.scenarios import make_params
from envs.spaces import encode_states
job = json.loads(sys.stdin.read())
check = np.random.default_rng(0).random(5400 * 96)
out = []
for case in job:
    rows, start = [], time.perf_counter()
    for over in case["sets"]:
        p = make_params(case["scenario"], over)
        sol = solve(p)
        res = evaluate_table(p, sol.start_table())
        s0 = int(encode_states(np.array([p.start]))[0])
        end = sol.values[p.horizon] if p.finite_horizon else None
        vals = {}
        for b in case["baselines"]:
            pol = make_policy(b, p, seed=0)
            table = policy_table(pol, p, stochastic=not as_policy(pol).deterministic_table)
            vals[b] = float(policy_values(p, table, terminal=end)[0, s0])
        rows.append({"value": res.optimum, "check": float(res.occupancy.ravel() @ check), "baselines": vals})
    out.append({"seconds": (time.perf_counter() - start) / len(case["sets"]), "rows": rows})
print(json.dumps(out))
"""


def archive_run(commit: str, script: str, job: object) -> object | None:
    """Run ``script`` (reading ``job`` as JSON on stdin) on the code of ``commit`` (``git archive``
    into a temporary folder); its JSON output, or None if git, the commit or the run fails."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", root, "archive", commit, "envs", "agents"], capture_output=True)
        if archive.returncode != 0:
            print(f"reference {commit}: not available ({archive.stderr.decode().strip()[:80]})")
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        out = subprocess.run([sys.executable, "-c", script], input=json.dumps(job), capture_output=True,
                             text=True, cwd=tmp, env={**os.environ, "PYTHONPATH": tmp})
        if out.returncode != 0:
            print(f"reference {commit} failed: {out.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(out.stdout)


def draws(n: int, seed: int = 0) -> list[dict]:
    """Parameter sets around `war`: the four factors, the threat target and mediation drawn."""
    rng = np.random.default_rng(seed)
    return [{"power": float(rng.uniform(0, 1)), "identification": float(rng.uniform(0, 1)),
             "alpha_west": float(rng.uniform(0, 1)), "alpha_far": float(rng.uniform(0, 1)),
             "tau": float(rng.uniform(0.8, 2.6)), "mediation": float(rng.uniform(0, 0.6))} for _ in range(n)]


def clear_caches() -> None:
    build_tables.cache_clear()
    solver._operator.cache_clear()
    solver._solve.cache_clear()


def reference_run(commit: str, sets: list[dict], scenarios: list[str]) -> dict | None:
    """Today's path on ``sets`` and the named ``scenarios`` (each solved cold), from ``git archive
    commit``; None if git or the commit is missing."""
    return archive_run(commit, REFERENCE_SCRIPT, {"sets": sets, "scenarios": scenarios})


def eval_cases(n_sets: int) -> list[dict]:
    """Discovery samples: sets around `war` with one baseline and with all ten; `calendar` with ten."""
    ten = baseline_names()
    war = draws(n_sets, seed=1)
    cal = [{"identification": s["identification"], "power": s["power"]} for s in draws(max(1, n_sets // 2), seed=2)]
    return [{"scenario": "war", "sets": war, "baselines": ["limited"]},
            {"scenario": "war", "sets": war, "baselines": ten},
            {"scenario": "calendar", "sets": cal, "baselines": ten}]


def eval_section(commit: str, n_sets: int) -> None:
    """Per-sample seconds of the new path (``evaluate_samples``) beside the reference's, in one run."""
    cases = eval_cases(n_sets)
    check = np.random.default_rng(0).random(5400 * 96)
    new = []
    for case in cases:
        clear_caches()
        start = time.perf_counter()
        res = evaluate_samples([make_params(case["scenario"], s) for s in case["sets"]], case["baselines"])
        new.append(((time.perf_counter() - start) / len(case["sets"]), res))
    ref = archive_run(commit, EVAL_SCRIPT, cases) if commit else None
    print("\nper sample of discovery: solve + the optimum's occupancy + N baselines' V^pi(s0), seconds per sample")
    print(f"{'case':34s}{'new s':>8s}{'old s':>8s}{'old/new':>9s}{'|dV^pi|':>10s}{'|dcheck|':>10s}")
    for i, (case, (sec, res)) in enumerate(zip(cases, new)):
        label = f"{case['scenario']}, {len(case['baselines'])} baseline(s), {len(case['sets'])} sets"
        line = f"{label:34s}{sec:8.3f}"
        if ref is not None:
            old = ref[i]
            dv = max(abs(r.baseline_values[b] - o["baselines"][b]) for r, o in zip(res, old["rows"])
                     for b in case["baselines"])
            dc = max(abs(float(r.occupancy.ravel() @ check) - o["check"]) for r, o in zip(res, old["rows"]))
            line += f"{old['seconds']:8.3f}{old['seconds'] / sec:9.1f}{dv:10.1e}{dc:10.1e}"
        print(line)
    if ref is not None:
        print(f"(old: commit {commit}, solve + evaluate_table + policy_values per baseline, in a subprocess)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=64, help="parameter sets in the batch")
    parser.add_argument("--single", type=int, default=8, help="sets solved one at a time (each path)")
    parser.add_argument("--reference", default=TODAY, help="commit of today's path ('' to skip)")
    parser.add_argument("--scenarios", nargs="*", default=scenario_names(), help="named scenarios")
    parser.add_argument("--eval-reference", default=EVAL_REFERENCE,
                        help="commit of the per-sample evaluation's old path ('' to skip)")
    parser.add_argument("--eval-sets", type=int, default=2, help="sets per per-sample case (0 to skip)")
    parser.add_argument("--scenario-batch", type=int, default=8, help="copies per named scenario's batch")
    parser.add_argument("--reference-scenarios", nargs="*", default=["calendar", "timeline", "war"],
                        help="named scenarios also solved by today's path, side by side")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average {os.getloadavg()[0]:.2f}")
    sets = draws(args.sets)
    params = [make_params("war", s) for s in sets]

    clear_caches()
    start = time.perf_counter()
    batch = solve_batch(params)
    t_batch = (time.perf_counter() - start) / len(params)
    singles = []
    for p in params[:args.single]:
        clear_caches()
        start = time.perf_counter()
        solver.solve(p)
        singles.append(time.perf_counter() - start)
    t_single = float(np.mean(singles))
    ref = reference_run(args.reference, sets[:args.single], args.reference_scenarios) if args.reference else None
    print(f"\n{args.sets} parameter sets around war (stationary), seconds per set")
    print(f"{'path':44s}{'s/set':>9s}{'sets/s':>9s}{'batched x':>11s}")
    rows = [(f"solve_batch (K = {len(params)})", t_batch), ("solve, one at a time (this code)", t_single)]
    if ref is not None:
        t_ref = ref["seconds"] / args.single
        rows.append((f"solve, one at a time (today: {args.reference})", t_ref))
        diff = max(abs(a - b.value) for a, b in zip(ref["values"], batch))
        print(f"(largest |V*(s0) today - V*(s0) batched| over the {args.single} sets: {diff:.1e})")
    for name, sec in rows:
        print(f"{name:44s}{sec:9.3f}{1 / sec:9.2f}{sec / t_batch:11.1f}")
    print("goal: batched >= 8x today's one-at-a-time throughput")

    k_mem = min(16, len(params))
    clear_caches()
    tracemalloc.start()
    solve_batch(params[:k_mem])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\npeak memory in a batch of {k_mem}: {peak / 2**20:.1f} MB, {peak / k_mem / 2**20:.1f} MB per set "
          "(goal <= 32 MB per set)")

    today = ref["scenarios"] if ref is not None else {}
    kb = args.scenario_batch
    print(f"\n{'scenario':14s}{'solve s':>9s}{'batch s':>9s}{'V*(s0)':>14s}{'residual':>10s}{'today s':>9s}"
          f"{'today/batch':>12s}{'|dV*(s0)|':>11s}")
    for name in args.scenarios:
        clear_caches()
        start = time.perf_counter()
        sol = solver.solve(make_params(name))
        dt = time.perf_counter() - start
        start = time.perf_counter()
        per_set = solve_batch([make_params(name)] * kb)
        db = (time.perf_counter() - start) / kb
        assert abs(per_set[0].value - sol.value) <= 1e-9
        line = f"{name:14s}{dt:9.3f}{db:9.3f}{sol.value:14.6f}{sol.bellman_residual:10.1e}"
        if name in today:
            line += f"{today[name][0]:9.3f}{today[name][0] / db:12.2f}{abs(today[name][1] - sol.value):11.1e}"
        print(line)
    print(f"solve s: solve() alone, cold, every (t, block); batch s: solve_batch of {kb} copies, per set (the blocks\n"
          "reachable from s0, as discovery solves). goal: calendar <= 1 s")
    if args.eval_sets:
        eval_section(args.eval_reference, args.eval_sets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
