"""Steps per second of the alliance envs beside Gymnasium's CartPole-v1 (the reference).

    .venv/bin/python benchmarks/env_speed.py [--steps 200000] [--scenario war]

Single env: both through ``gym.make``, the same number of steps, random actions drawn before the
clock starts (action sampling is not timed), ``reset`` on episode end included; the two are
measured alternately, ``--repeats`` times; each pair gives a ratio, and the script prints the median
ratio with its minimum and maximum (a single best-of figure hides how much the ratio moves between
runs on a loaded machine). Vector env:
``AllianceVectorEnv`` at N = 1, 256, 4096 (``gym.make_vec(..., "vector_entry_point")``), beside
``CartPoleVectorEnv`` at the same N. Weight: for a new parameter set (``war`` with a drawn
``power``), the time and resident memory (RSS) added by ``gym.make`` + ``reset``, and
``len(pickle.dumps(env.unwrapped))``, beside CartPole-v1's. Goals: single-env ratio alliance /
CartPole >= 1.0; vector env >= 0.5x CartPoleVectorEnv at N = 4096; creation <= 0.1 s and
<= 10 MB; pickle <= 1 MB. A script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import platform
import time

import gymnasium as gym
import numpy as np
from timing import machine, spread

import envs  # noqa: F401  (registers SmallStateAlliance-v0)

ALLIANCE_ID = "SmallStateAlliance-v0"


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


def interleaved(fn_a, fn_b, repeats: int) -> tuple[list[float], list[float]]:
    """The rates of each over ``repeats`` alternating runs (a, b, a, b, ...), so the two of a pair see the
    same machine load; pair i's ratio is a[i] / b[i]."""
    a, b = [], []
    for _ in range(repeats):
        a.append(fn_a())
        b.append(fn_b())
    return a, b






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
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    # same number of steps, actions pre-sampled in each env's own action format
    alliance_actions = list(rng.integers(0, [4, 2, 3, 4], size=(args.steps, 4)))
    cartpole_actions = rng.integers(0, 2, size=args.steps).tolist()
    gym.make("CartPole-v1").reset(seed=0)  # imports and registrations outside the clock
    gym.make(ALLIANCE_ID, scenario="phase0").reset(seed=0)
    new = envs.make_params(args.scenario, {"power": float(rng.uniform(0.05, 0.95))})  # a set never built
    a_sec, a_mb, a_pickle = creation(ALLIANCE_ID, params=new)
    c_sec, c_mb, c_pickle = creation("CartPole-v1")
    gym.make(ALLIANCE_ID, scenario=args.scenario).reset(seed=0)  # build the tables outside the clock

    load_before = load_average()
    a_rates, c_rates = interleaved(
        lambda: single_env_rate(ALLIANCE_ID, alliance_actions, scenario=args.scenario),
        lambda: single_env_rate("CartPole-v1", cartpole_actions), args.repeats)
    alliance, cartpole = float(np.median(a_rates)), float(np.median(c_rates))

    print(f"python {platform.python_version()}, gymnasium {gym.__version__}, numpy {np.__version__}, "
          f"{machine()}; {args.repeats} interleaved runs of each (rates: medians; ratios: median, min, max over "
          f"the runs' pairs); load average at start {load_before}")
    print("\nA new parameter set: gym.make + reset + one step")
    print(f"{'env':<34}{'seconds':>10}{'added MB':>10}{'pickle bytes':>14}")
    print(f"{'SmallStateAlliance-v0 (new set)':<34}{a_sec:>10.4f}{a_mb:>10.1f}{a_pickle:>14,}")
    print(f"{'CartPole-v1':<34}{c_sec:>10.4f}{c_mb:>10.1f}{c_pickle:>14,}")
    print("goals: <= 0.1 s, <= 10 MB, pickle <= 1 MB")
    print(f"\nSingle env through gym.make, {args.steps:,} steps (random actions pre-sampled)")
    print(f"{'env':<34}{'steps/s':>14}{'us/step':>10}")
    print(f"{'SmallStateAlliance-v0 (' + args.scenario + ')':<34}{alliance:>14,.0f}{1e6 / alliance:>10.2f}")
    print(f"{'CartPole-v1 (reference)':<34}{cartpole:>14,.0f}{1e6 / cartpole:>10.2f}")
    print(f"ratio alliance / CartPole: {spread(a_rates, c_rates)}  (goal >= 1.0)")

    print(f"\nVector env (vector_entry_point), ~{args.vector_steps:,} env steps per measurement")
    print(f"{'N':>6}{'AllianceVectorEnv':>22}{'CartPoleVectorEnv':>22}  ratio")
    for n in (1, 256, 4096):
        total = min(args.vector_steps, 100_000) if n == 1 else args.vector_steps
        a_act = rng.integers(0, [4, 2, 3, 4], size=(16, n, 4))
        c_act = rng.integers(0, 2, size=(16, n))
        a_r, c_r = interleaved(
            lambda n=n, total=total, a_act=a_act: vector_env_rate(ALLIANCE_ID, n, total, a_act, scenario=args.scenario),
            lambda n=n, total=total, c_act=c_act: vector_env_rate("CartPole-v1", n, total, c_act), args.repeats)
        print(f"{n:>6}{np.median(a_r):>22,.0f}{np.median(c_r):>22,.0f}  {spread(a_r, c_r)}")
    print("goal: AllianceVectorEnv >= 0.5x CartPoleVectorEnv at N = 4096")
    print(f"load average at end {load_average()} (other processes on the machine slow every figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
