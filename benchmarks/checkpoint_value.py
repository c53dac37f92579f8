"""A checkpoint's value, as the leaderboard computes it (issue 29: "a checkpoint's exact value <= 0.3 s
(war)"), beside a reference measured in the same rounds: the exact value of the `limited` baseline.

A tiny PPO run (the leaderboard's PPO zoo entry, ``--steps`` env steps, two checkpoints) is trained
into a temporary run folder once; then, in ``--repeats`` interleaved rounds, the script times
``training.leaderboard.checkpoints``'s path for one checkpoint — its bytes checked against the
manifest's sha256, loaded by SB3, read off on every state and evaluated exactly
(``agents.exact_eval``) — and, for reference, ``agents.exact_eval.evaluate_policy`` of the `limited`
baseline on the same scenario (the same exact evaluator on a policy that needs no network). It
prints the median seconds of each and their ratio (a lone absolute time says little on a shared
machine; the ratio says what the network and the archive cost on top of the evaluator).

    .venv/bin/python benchmarks/checkpoint_value.py [--scenario war] [--repeats 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import machine, spread

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="war")
    parser.add_argument("--steps", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import torch

    from agents.baselines import make_policy
    from agents.exact_eval import evaluate_policy
    from envs.scenarios import make_params
    from training.leaderboard.checkpoints import load_checkpoint_model, policy_value
    from training.leaderboard.config import load_leaderboard_config, load_zoo, train_config
    from training.results import run_folder as rf
    from training.run.train import train

    torch.set_num_threads(1)
    cfg = load_leaderboard_config(REPO / "configs" / "leaderboard.yaml")
    params = make_params(args.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        tcfg = train_config(cfg.model_copy(update={"checkpoints": 2}), load_zoo(cfg, "PPO"), args.scenario, 0, args.steps)
        train(tcfg, run_dir)
        steps, path = rf.list_checkpoints(run_dir)[-1]
        baseline = make_policy("limited", params)
        evaluate_policy(baseline, params)  # warm: the scenario's tables and optimum are built once per process
        policy_value(load_checkpoint_model(run_dir, "PPO", path, params), params, cfg.recurrent_episodes)
        ours, ref = [], []
        for _ in range(args.repeats):  # interleaved: both see the same machine load
            clock = time.perf_counter()
            value = policy_value(load_checkpoint_model(run_dir, "PPO", path, params), params, cfg.recurrent_episodes)
            ours.append(time.perf_counter() - clock)
            clock = time.perf_counter()
            evaluate_policy(baseline, params)
            ref.append(time.perf_counter() - clock)
    print(f"{args.scenario}: PPO checkpoint at {steps} steps, {args.repeats} interleaved rounds, 1 torch thread; {machine()}")
    print(f"checkpoint's exact value (hash check, load, read-off, exact evaluation): {np.median(ours):.3f} s "
          f"(share of V* {value['share']:.4f}; the issue's goal: <= 0.3 s on war)")
    print(f"reference, exact value of the limited baseline:                            {np.median(ref):.3f} s")
    print(f"ratio checkpoint / baseline: {spread(ours, ref)}")


if __name__ == "__main__":
    main()
