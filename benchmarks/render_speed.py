"""Milliseconds per ``rgb_array`` frame of the alliance env (goal: <= 5 ms), beside the env's step.

    .venv/bin/python benchmarks/render_speed.py [--frames 2000] [--scenario calendar]

Each frame is a new quarter (a step, then ``render()``), as ``RecordVideo`` asks for it; the step
alone is timed the same way in alternation, and the best of each is kept, so both see the same
machine load. A script, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import envs


def rate(env, actions, render: bool) -> float:
    """Seconds per step (+ frame), over ``actions``."""
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        *_, truncated, _ = env.step(a)
        if render:
            env.render()
        if truncated:
            env.reset()
    return (time.perf_counter() - start) / len(actions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--scenario", default="calendar")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = gym.make(envs.ENV_ID, scenario=args.scenario, render_mode="rgb_array")
    actions = list(np.random.default_rng(0).integers(0, [4, 2, 3, 4], size=(args.frames, 4)))
    rate(env, actions[:100], True)  # warm-up: tables, fonts, text sprites
    with_frame, step_only = [], []
    for _ in range(args.repeats):
        with_frame.append(rate(env, actions, True))
        step_only.append(rate(env, actions, False))
    frame_ms = (min(with_frame) - min(step_only)) * 1e3
    print(f"scenario {args.scenario}, {args.frames} frames, best of {args.repeats}; "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"step alone        {min(step_only) * 1e3:8.3f} ms")
    print(f"step + rgb_array  {min(with_frame) * 1e3:8.3f} ms")
    print(f"frame             {frame_ms:8.3f} ms  (goal <= 5 ms; {frame_ms / (min(step_only) * 1e3):.0f} steps' time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
