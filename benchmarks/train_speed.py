"""PPO training speed on the alliance env beside PPO on CartPole-v1, in one run.

Both use the hyperparameters and ``n_envs`` of ``configs/ppo_war.yaml`` (so the same rollout
size, minibatches and epochs), one torch thread, ``VecMonitor`` over the vector env, and time
``model.learn`` alone (no evaluation or checkpoint callbacks). The alliance env is the project's
batched ``AllianceSB3VecEnv``; CartPole is SB3's ``DummyVecEnv`` of ``gym.make("CartPole-v1")``.
The three are timed in ``--repeats`` interleaved rounds; each round gives a ratio, and the script
prints the median ratio with its minimum and maximum (the machine is shared). Goal: ratio >= 0.9.

A third line, for reference, trains PPO on the same env with the flattened ``Discrete(96)``
actions: SB3's ``MultiDiscrete`` distribution (four categoricals, each built, sampled and scored
separately) costs more per update than CartPole's single categorical, and this line shows how much
of the gap is that rather than the env.

    .venv/bin/python benchmarks/train_speed.py [--steps 65536] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from timing import machine, spread

REPO = Path(__file__).resolve().parent.parent


def steps_per_second(make_env, cfg, steps: int, seed: int) -> float:
    """One timing of ``model.learn(steps)``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    from training.config.run import sb3_kwargs

    env = VecMonitor(make_env())
    model = PPO(cfg.policy, env, seed=seed, device="cpu", verbose=0, **sb3_kwargs(cfg))
    clock = time.perf_counter()
    model.learn(steps)
    rate = model.num_timesteps / (time.perf_counter() - clock)
    env.close()
    return rate






def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "ppo_war.yaml"))
    parser.add_argument("--steps", type=int, default=65_536)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import gymnasium as gym
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv

    from envs.sb3_vec_env import AllianceSB3VecEnv
    from training.config.run import load_config

    torch.set_num_threads(1)
    cfg = load_config(args.config)
    n = cfg.n_envs
    makers = {"alliance": lambda: AllianceSB3VecEnv(n, scenario=cfg.env.scenario, seed=0),
              "flat": lambda: AllianceSB3VecEnv(n, scenario=cfg.env.scenario, flatten_actions=True, seed=0),
              "cartpole": lambda: DummyVecEnv([lambda: gym.make("CartPole-v1")] * n)}
    rates: dict[str, list[float]] = {k: [] for k in makers}
    for rep in range(args.repeats):  # interleaved rounds: the three of a round see the same machine load
        for k, make in makers.items():
            rates[k].append(steps_per_second(make, cfg, args.steps, rep))
    h = cfg.hyperparams
    print(f"PPO, {n} envs, n_steps={h.get('n_steps')}, batch_size={h.get('batch_size')}, "
          f"n_epochs={h.get('n_epochs')}, net_arch={h.get('policy_kwargs', {}).get('net_arch')}, "
          f"{args.steps} steps, {args.repeats} interleaved rounds (rates: medians), 1 torch thread; {machine()}")
    print(f"alliance ({cfg.env.scenario}, AllianceSB3VecEnv): {np.median(rates['alliance']):10,.0f} steps/s")
    print(f"CartPole-v1 (DummyVecEnv):            {np.median(rates['cartpole']):10,.0f} steps/s")
    print(f"ratio alliance / CartPole: {spread(rates['alliance'], rates['cartpole'])}  (goal >= 0.9)")
    print(f"for reference, alliance with Discrete(96) actions: {np.median(rates['flat']):,.0f} steps/s, "
          f"ratio to CartPole {spread(rates['flat'], rates['cartpole'])}")


if __name__ == "__main__":
    main()
