"""Steps per second of the alliance envs beside Gymnasium's CartPole-v1 (the reference).

    .venv/bin/python benchmarks/env_speed.py [--steps 200000] [--cold-steps 20000] [--scenario war]
        [--parts weight,cold,warm,vector] [--sizes 1,256,4096]

Cold single env (issue 25: "from the first step, in a fresh process"): each measurement is a new
Python process that imports, makes and resets the env, then times its first ``--cold-steps`` steps
from the very first one (random actions drawn before the clock; ``reset`` on episode end
included); the alliance and CartPole processes alternate, ``--repeats`` times. Twice for the
alliance env: with its block cache (``envs/block_cache.py``, filled by one untimed process first, as
numba's cache is by a first compilation; a folder of the script's own, removed at the end) and with
the cache off (``ALLIANCE_GYM_CACHE=off``: a process on a machine that never ran the env). Warm single env: both through ``gym.make`` in this
process, the same number of steps, measured alternately. Each pair gives a ratio; the script
prints the median ratio with its minimum and maximum (a single best-of figure hides how much the
ratio moves between runs on a loaded machine). Vector env: ``AllianceVectorEnv`` at N = 1, 256,
4096 (``gym.make_vec(..., "vector_entry_point")``), beside ``CartPoleVectorEnv`` at the same N; ``paired``:
the same two stepped alternately step by step, the minimum and median time of a step.
Weight: for a new parameter set (``war`` with a drawn ``power``), the time and resident memory
(RSS) added by ``gym.make`` + ``reset``, and ``len(pickle.dumps(env.unwrapped))``, beside
CartPole-v1's. Goals (issue 25): single env >= 1.0x CartPole from the first step of a fresh
process; vector env >= 1.0x CartPoleVectorEnv at N = 1, 256 and 4096; creation <= 0.1 s and
<= 10 MB; pickle <= 1 MB. A script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np
from timing import machine, spread

import envs  # noqa: F401  (registers SmallStateAlliance-v0)

ALLIANCE_ID = "SmallStateAlliance-v0"
PARTS = ("weight", "cold", "warm", "vector", "paired")


def single_env_rate(env_id: str, actions: list, **kwargs) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    step, reset = env.step, env.reset
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    return len(actions) / (time.perf_counter() - start)


def vector_env_rate(env_id: str, num_envs: int, total_steps: int, actions: np.ndarray, **kwargs) -> float:
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    venv.reset(seed=0)
    calls = max(total_steps // num_envs, 20)
    step = venv.step
    for i in range(5):  # warm-up: tables built, caches filled
        step(actions[i % len(actions)])
    start = time.perf_counter()
    for i in range(calls):
        step(actions[i % len(actions)])
    return calls * num_envs / (time.perf_counter() - start)


def paired_steps(num_envs: int, calls: int, a_act: np.ndarray, c_act: np.ndarray, **kwargs) -> tuple[list, list]:
    """Seconds of each ``step`` of an ``AllianceVectorEnv`` and a ``CartPoleVectorEnv`` of ``num_envs``,
    stepped alternately step by step (episode ends included): the two see the same load at the same
    moment, so the minimum and the median of the ratio move less than whole-run rates do."""
    a = gym.make_vec(ALLIANCE_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    c = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    a.reset(seed=0)
    c.reset(seed=0)
    ta, tc = [], []
    for i in range(calls):
        x, y = a_act[i % len(a_act)], c_act[i % len(c_act)]
        start = time.perf_counter()
        a.step(x)
        ta.append(time.perf_counter() - start)
        start = time.perf_counter()
        c.step(y)
        tc.append(time.perf_counter() - start)
    return ta, tc


def interleaved(fn_a, fn_b, repeats: int) -> tuple[list[float], list[float]]:
    """The rates of each over ``repeats`` alternating runs (a, b, a, b, ...), so the two of a pair see the
    same machine load; pair i's ratio is a[i] / b[i]."""
    a, b = [], []
    for _ in range(repeats):
        a.append(fn_a())
        b.append(fn_b())
    return a, b






COLD_CHILD = "--cold-child"


def cold_child(env_id: str, steps: int) -> None:
    """In a fresh process: import, make, reset, then print the seconds of make + reset and the
    steps per second of the first ``steps`` steps, timed from the first."""
    start = time.perf_counter()  # the script's imports (gymnasium, envs) are done: outside the clock
    env = gym.make(env_id)
    env.reset(seed=0)
    made = time.perf_counter() - start
    rng = np.random.default_rng(0)
    actions = (list(rng.integers(0, [4, 2, 3, 4], size=(steps, 4))) if env_id != "CartPole-v1"
               else rng.integers(0, 2, size=steps).tolist())
    step, reset = env.step, env.reset
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    print(made, steps / (time.perf_counter() - start))


def cold_rate(env_id: str, steps: int, cache: str) -> tuple[float, float]:
    """(seconds of make + reset, steps/s of the first steps) of a fresh process whose block cache is
    the folder ``cache`` (or ``"off"``)."""
    env = dict(os.environ, ALLIANCE_GYM_CACHE=cache)
    out = subprocess.run([sys.executable, __file__, COLD_CHILD, env_id, str(steps)], capture_output=True, text=True,
                         check=True, env=env, timeout=600).stdout.split()
    return float(out[0]), float(out[1])


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def creation(env_id: str, **kwargs) -> tuple[float, float, int]:
    """Seconds and RSS MB added by make + reset + one step, and the pickled size of the env."""
    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    seconds = time.perf_counter() - start
    added = rss_mb() - before
    return seconds, added, len(pickle.dumps(env.unwrapped))


def load_average() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000, help="single-env steps per measurement")
    parser.add_argument("--vector-steps", type=int, default=4_000_000, help="env steps per vector measurement")
    parser.add_argument("--scenario", default="war", help="alliance scenario")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each measurement")
    parser.add_argument("--cold-steps", type=int, default=20_000, help="steps timed in each fresh process")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to measure, of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--sizes", default="1,256,4096", help="vector env sizes N, comma-separated")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if not parts or any(p not in PARTS for p in parts):
        parser.error(f"--parts={args.parts!r} is not allowed: a comma-separated list of {', '.join(PARTS)}")
    try:
        sizes = [int(n) for n in args.sizes.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        parser.error(f"--sizes={args.sizes!r} is not allowed: comma-separated positive integers")

    rng = np.random.default_rng(0)
    # same number of steps, actions pre-sampled in each env's own action format
    alliance_actions = list(rng.integers(0, [4, 2, 3, 4], size=(args.steps, 4)))
    cartpole_actions = rng.integers(0, 2, size=args.steps).tolist()
    gym.make("CartPole-v1").reset(seed=0)  # imports and registrations outside the clock
    gym.make(ALLIANCE_ID, scenario="phase0").reset(seed=0)
    new = envs.make_params(args.scenario, {"power": float(rng.uniform(0.05, 0.95))})  # a set never built
    load_before = load_average()
    print(f"python {platform.python_version()}, gymnasium {gym.__version__}, numpy {np.__version__}, "
          f"{machine()}; {args.repeats} interleaved runs of each (rates: medians; ratios: median, min, max over "
          f"the runs' pairs); load average at start {load_before}")
    if "weight" in parts:
        a_sec, a_mb, a_pickle = creation(ALLIANCE_ID, params=new)
        c_sec, c_mb, c_pickle = creation("CartPole-v1")
        print("\nA new parameter set: gym.make + reset + one step")
        print(f"{'env':<34}{'seconds':>10}{'added MB':>10}{'pickle bytes':>14}")
        print(f"{'SmallStateAlliance-v0 (new set)':<34}{a_sec:>10.4f}{a_mb:>10.1f}{a_pickle:>14,}")
        print(f"{'CartPole-v1':<34}{c_sec:>10.4f}{c_mb:>10.1f}{c_pickle:>14,}")
        print("goals: <= 0.1 s, <= 10 MB, pickle <= 1 MB")
    gym.make(ALLIANCE_ID, scenario=args.scenario).reset(seed=0)  # build the tables outside the clock

    if "cold" in parts:
        # the script's own block cache, so that other checkouts sharing ~/.cache (another code, other
        # blocks) cannot evict its blocks between the filling run and the timed ones
        folder = tempfile.mkdtemp(prefix="env_speed-cache-")
        cold_rate(ALLIANCE_ID, args.cold_steps, folder)  # fills the block cache (untimed)
        cold = {"cache": ([], []), "off": ([], []), "cartpole": ([], [])}
        for _ in range(args.repeats):
            for key, fn in (("cache", lambda: cold_rate(ALLIANCE_ID, args.cold_steps, folder)),
                            ("cartpole", lambda: cold_rate("CartPole-v1", args.cold_steps, "off")),
                            ("off", lambda: cold_rate(ALLIANCE_ID, args.cold_steps, "off"))):
                made, rate = fn()
                cold[key][0].append(made)
                cold[key][1].append(rate)
        shutil.rmtree(folder, ignore_errors=True)
        print(f"\nCold single env: the first {args.cold_steps:,} steps of a fresh process, timed from the first step")
        print(f"{'env':<42}{'steps/s':>12}{'make+reset s':>14}  ratio to CartPole (same round)")
        c_cold = cold["cartpole"][1]
        for key, title in (("cache", "SmallStateAlliance-v0, block cache"),
                           ("off", "SmallStateAlliance-v0, cache off"), ("cartpole", "CartPole-v1 (reference)")):
            made, rates = cold[key]
            ratio = spread(rates, c_cold) if key != "cartpole" else ""
            print(f"{title:<42}{np.median(rates):>12,.0f}{np.median(made):>14.4f}  {ratio}")
        print("goal: >= 1.0 from the first step (block cache: filled once per machine and parameter set, "
              "as numba's cache)")

    if "warm" in parts:
        a_rates, c_rates = interleaved(
            lambda: single_env_rate(ALLIANCE_ID, alliance_actions, scenario=args.scenario),
            lambda: single_env_rate("CartPole-v1", cartpole_actions), args.repeats)
        alliance, cartpole = float(np.median(a_rates)), float(np.median(c_rates))
        print(f"\nWarm single env through gym.make, {args.steps:,} steps (random actions pre-sampled)")
        print(f"{'env':<34}{'steps/s':>14}{'us/step':>10}")
        print(f"{'SmallStateAlliance-v0 (' + args.scenario + ')':<34}{alliance:>14,.0f}{1e6 / alliance:>10.2f}")
        print(f"{'CartPole-v1 (reference)':<34}{cartpole:>14,.0f}{1e6 / cartpole:>10.2f}")
        print(f"ratio alliance / CartPole: {spread(a_rates, c_rates)}  (goal >= 1.0)")

    if "vector" in parts:
        print(f"\nVector env (vector_entry_point), ~{args.vector_steps:,} env steps per measurement")
        print(f"{'N':>6}{'AllianceVectorEnv':>22}{'CartPoleVectorEnv':>22}  ratio")
        for n in sizes:
            total = min(args.vector_steps, 100_000) if n == 1 else args.vector_steps
            a_act = rng.integers(0, [4, 2, 3, 4], size=(16, n, 4))
            c_act = rng.integers(0, 2, size=(16, n))
            a_r, c_r = interleaved(
                lambda n=n, total=total, a_act=a_act: vector_env_rate(ALLIANCE_ID, n, total, a_act,
                                                                      scenario=args.scenario),
                lambda n=n, total=total, c_act=c_act: vector_env_rate("CartPole-v1", n, total, c_act), args.repeats)
            print(f"{n:>6}{np.median(a_r):>22,.0f}{np.median(c_r):>22,.0f}  {spread(a_r, c_r)}")
        print("goal: AllianceVectorEnv >= 1.0x CartPoleVectorEnv at N = 1, 256 and 4096")

    if "paired" in parts:
        print("\nVector env stepped alternately with CartPoleVectorEnv, step by step, 300 steps each (us per step)")
        print(f"{'N':>6}{'alliance min':>14}{'CartPole min':>14}{'ratio':>7}{'alliance med':>14}{'CartPole med':>14}"
              f"{'ratio':>7}")
        for n in sizes:
            ta, tc = paired_steps(n, 300, rng.integers(0, [4, 2, 3, 4], size=(16, n, 4)),
                                  rng.integers(0, 2, size=(16, n)), scenario=args.scenario)
            a_min, c_min, a_med, c_med = (1e6 * f(x) for f, x in ((min, ta), (min, tc), (np.median, ta),
                                                                   (np.median, tc)))
            print(f"{n:>6}{a_min:>14.1f}{c_min:>14.1f}{c_min / a_min:>7.2f}{a_med:>14.1f}{c_med:>14.1f}"
                  f"{c_med / a_med:>7.2f}")
        print("ratio: CartPole's time / the alliance env's (>= 1.0: the alliance env is as fast)")
    print(f"load average at end {load_average()} (other processes on the machine slow every figure)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == COLD_CHILD:
        cold_child(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(main())
