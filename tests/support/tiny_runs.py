"""The tiny PPO training config that tests train on: one update of 2,048 steps on `war`, in seconds."""

from __future__ import annotations

from pathlib import Path

from training.config.run import TrainConfig, config_from_dict

ROLLOUT = 8 * 256  # n_envs * n_steps: one PPO update per 2,048 steps


def tiny_ppo_config(output: str | Path, seed: int = 0, **changes) -> TrainConfig:
    """A 2,048-step PPO config writing run folders under ``output``; ``changes`` replace top-level keys."""
    data = {"env": {"scenario": "war"}, "algo": "PPO",
            "hyperparams": {"n_steps": 256, "batch_size": 256, "n_epochs": 2,
                            "policy_kwargs": {"net_arch": [16, 16]}},
            "n_envs": 8, "total_timesteps": ROLLOUT, "seed": seed,
            "eval": {"freq": 1024, "n_episodes": 2}, "checkpoint": {"freq": ROLLOUT},
            "output": str(output)}
    data.update(changes)
    return config_from_dict(data)
