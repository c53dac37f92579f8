"""Steps per second of the contextual vector env beside the single-context vector env (issue 30).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/context_speed.py [--num-envs 4096] [--contexts 256]

Both are ``gym.make_vec("SmallStateAlliance-v0", num_envs=N, vectorization_mode="vector_entry_point")``
on ``war``, one with ``contexts={"sample": C, "seed": 0}, context_in_obs=True``; random actions
drawn before the clock; each is stepped ``--calls`` times per measurement (episode ends and
autoresets included, which draw new contexts), the two alternately, ``--repeats`` times. Prints
each rate, the ratio's median with its minimum and maximum (and the ratio of a contextual env of one
context, stepped in the same rounds: what the contexts' indexing costs without the memory), the time to make the contextual env
(every context's tables built) and the bytes of its tables per context. Then the single env
(``gym.make`` with the same contexts, hidden): the resident memory (RSS) it adds per context after
``--episodes`` episodes of random actions (each context's shared tables filled state by state),
beside the same episodes of the plain env. Goal (issue 30): ratio >= 0.8 at N = 4096 and C = 256;
tables <= 1 MB per context. A script, not a test.

Measured 2026-12-07 (2 shared cores, loaded): ratio 0.28 at N = 4096, C = 256 (goal missed), tables
0.84 MB per context (met; 1.85 MB before repeated columns were stored once); single env 8.2 MB per
context after 1,024 episodes (missed: its shared tables are filled state by state, with reward terms);
0.44 MB per context since each context keeps its visited states' entries compactly (envs/state_rows.py).
Later the same day, this script on the base tree and on the env branch back to back (load average ~3.5):
contextual env 3.54 -> 6.58 M steps/s (kernel prefetching 4 envs ahead, uniforms drawn compiled, the move
rule without a branch), but the single-context env sped up too: ratio 0.30 -> 0.40 (goal 0.8 missed).
Then (branch env2, this script on its parent and on the branch back to back): the contextual loop
drawing its uniforms inside (no (N, 8) buffer): 8.28 -> 8.80 M steps/s, ratio 0.39 -> 0.42 (goal missed;
the rest is the tables' memory).
Then (branch ctx, this script on it and on the base tree alternately, three runs each, load ~2.6): the
moves as shared entry codes and per-context class values (envs/context_tables.py: 0.84 -> 0.45 MB per
context), values aligned to cache lines, key parts precomputed, look-up positions worked out once:
ratio 0.40-0.43 -> 0.52-0.54, one context 0.67-0.80 -> 0.86-0.88. After main's fused plain step (vec,
130bc51) was merged into both, the same three alternating runs: 0.31-0.32 -> 0.39-0.40, one context
0.54-0.55 -> 0.66-0.68 (goal 0.8 missed: the contextual kernel alone takes 209 us at C = 256, the
single-context env's whole step 137 us).
Then (branch ctx2, this script on main 17174bc and on the branch alternately, three runs each, load
~1.7): the contextual step in one compiled call (envs/context_step.py), 8-lane draws, observations
copied 8 bytes at a time: contextual env 11.3-11.7 -> 11.9-13.0 M steps/s, ratio 0.39-0.40 -> 0.41-0.44,
one context 0.65-0.68 -> 0.86-0.87 (goal 0.8 missed: the memory of 256 contexts' rows, about 200 us of
a 330-350 us step; envs/context_tables.py's docstring).
Then (branch ctx3, this script on its base b9e2a36 and on the branch alternately, three runs each, load
~2): r(s, a) put together in the step from each context's terms (envs/context_rewards.py) instead of read
from a table per context (106 MB; tables 115.7 -> 9.9 MB, 0.45 -> 0.04 MB per context): contextual env
9.2-9.4 -> 11.3-12.3 M steps/s, ratio 0.33-0.34 -> 0.40-0.42 (base's third run disturbed: 0.45 with its
single-context env at 18.7 M), one context 0.90-0.91 -> 0.74-0.76 (its 25-30 us of arithmetic). Timing
only, before: moves at context 0 alone 0.58, r(s, a) at context 0 alone 0.46-0.49, both 0.77-0.78; after,
moves at context 0: 0.65 (r's arithmetic, 25-30 us, is then what is left). Goal 0.8 missed: the moves' records.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
from timing import machine, spread

import envs  # noqa: F401  (registers SmallStateAlliance-v0)


def rate(venv, actions: np.ndarray) -> float:
    step = venv.step
    start = time.perf_counter()
    for a in actions:
        step(a)
    return len(actions) * venv.num_envs / (time.perf_counter() - start)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def single_env_memory(contexts: int, episodes: int) -> tuple[float, float]:
    """RSS added by ``episodes`` random episodes of the plain env, then of the contextual env (MB)."""
    out = []
    for kwargs in ({}, {"contexts": {"sample": contexts, "seed": 1}}):
        before = rss_mb()
        env = gym.make("SmallStateAlliance-v0", **kwargs)
        env.reset(seed=0)
        env.action_space.seed(0)
        for _ in range(episodes):
            truncated = False
            while not truncated:
                truncated = env.step(env.action_space.sample())[3]
            env.reset()
        out.append(rss_mb() - before)
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-envs", type=int, default=4096)
    ap.add_argument("--contexts", type=int, default=256)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--episodes", type=int, default=1024)
    args = ap.parse_args()
    n = args.num_envs
    plain_mb, ctx_mb = single_env_memory(args.contexts, args.episodes)
    plain = gym.make_vec("SmallStateAlliance-v0", num_envs=n, vectorization_mode="vector_entry_point")
    start = time.perf_counter()
    ctx = gym.make_vec("SmallStateAlliance-v0", num_envs=n, vectorization_mode="vector_entry_point",
                       contexts={"sample": args.contexts, "seed": 0}, context_in_obs=True)
    ctx.reset(seed=0)
    made = time.perf_counter() - start
    one = gym.make_vec("SmallStateAlliance-v0", num_envs=n, vectorization_mode="vector_entry_point",
                       contexts={"sample": 1, "seed": 0}, context_in_obs=True)
    for venv in (plain, one):
        venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, [4, 2, 3, 4], size=(args.calls, n, 4))
    for venv in (plain, ctx, one):  # warm-up: compiled code loaded
        rate(venv, actions[:5])
    a_rates, b_rates, c_rates = [], [], []
    for _ in range(args.repeats):
        b_rates.append(rate(plain, actions))
        a_rates.append(rate(ctx, actions))
        c_rates.append(rate(one, actions))
    tables = ctx.unwrapped.context_tables
    print(f"machine: {machine()}")
    print(f"N = {n}, {args.contexts} contexts (war, sampled from configs/discovery/ranges.yaml), "
          f"{args.calls} steps x {args.repeats} alternating repeats")
    print(f"single-context vector env : {np.median(b_rates):12,.0f} steps/s (median)")
    print(f"contextual vector env     : {np.median(a_rates):12,.0f} steps/s (median)")
    print(f"ratio contextual / single : {spread(a_rates, b_rates)}   (goal >= 0.8)")
    print(f"the same with 1 context   : {spread(c_rates, b_rates)}   (the contexts' machinery alone; the rest "
          "of the gap is the tables of many contexts outgrowing the caches)")
    print(f"making the contextual env (all tables built): {made:.2f} s; tables {tables.nbytes / 1e6:.1f} MB = "
          f"{tables.nbytes / args.contexts / 1e6:.2f} MB per context (blocks built: "
          f"{int((tables.slot >= 0).sum())})")
    print(f"single env, {args.episodes} random episodes of 80 steps: RSS +{plain_mb:.1f} MB plain, +{ctx_mb:.1f} MB over "
          f"{args.contexts} contexts = {ctx_mb / args.contexts:.2f} MB per context (tables filled state by state)")


if __name__ == "__main__":
    main()
