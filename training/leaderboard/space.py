"""What the Optuna study searches per algorithm, what it holds fixed, and why.

Each algorithm gets a few of the hyperparameters RL Baselines3 Zoo's samplers tune for it
(``rl_zoo3/hyperparams_opt.py``: learning rate, rollout length, GAE lambda, entropy, exploration), in
ranges around the Zoo's and SB3's defaults, chosen before any trial was run. What is held fixed, and
why, is :data:`FIXED` (with :data:`FIXED_REASONS`): the discount is the model's (V* is scored with it),
networks are PPO's [64, 64] of ``configs/ppo_war.yaml`` (26 one-hot inputs), and the settings that
decide a step's *cost* (RecurrentPPO's LSTM width and epochs, QR-DQN's quantiles, the gradient steps
per env step) are fixed at values that let every algorithm train the same step budget on one shared
core (measured: ``configs/leaderboard.yaml``).
"""

from __future__ import annotations

from typing import Any

N_ENVS = {"PPO": 8, "A2C": 8, "DQN": 4, "QRDQN": 4, "TRPO": 8, "ARS": 8, "RecurrentPPO": 8, "MaskablePPO": 8}
N_ENVS_REASON = ("8 envs (the batched vector env makes them nearly free); DQN and QR-DQN 4, as configs/dqn_war.yaml: "
                 "train_freq counts vector steps, so 4 envs x train_freq 4 = one gradient step per 16 env steps")

FIXED: dict[str, dict[str, Any]] = {
    "PPO": {"policy_kwargs": {"net_arch": [64, 64]}, "clip_range": 0.2},
    "MaskablePPO": {"policy_kwargs": {"net_arch": [64, 64]}, "clip_range": 0.2},
    "A2C": {"policy_kwargs": {"net_arch": [64, 64]}},
    "TRPO": {"policy_kwargs": {"net_arch": [64, 64]}},
    "RecurrentPPO": {"policy_kwargs": {"net_arch": [64, 64], "lstm_hidden_size": 32}, "n_epochs": 2,
                     "batch_size": 512},
    "DQN": {"policy_kwargs": {"net_arch": [64, 64]}, "buffer_size": 50_000, "train_freq": 4, "gradient_steps": 1,
            "batch_size": 64},
    "QRDQN": {"policy_kwargs": {"net_arch": [64, 64], "n_quantiles": 25}, "buffer_size": 50_000, "train_freq": 4,
              "gradient_steps": 1, "batch_size": 64},
    "ARS": {"policy_kwargs": {"net_arch": [64, 64]}},
}
FIXED_REASONS = {
    "policy_kwargs.net_arch": "[64, 64] for every network: configs/ppo_war.yaml's choice for 26 one-hot inputs ([128, 128] needed twice the steps)",
    "policy_kwargs.lstm_hidden_size": "32: SB3-contrib's default 256 trains at 56 steps/s here (measured), 32 with 2 epochs at ~1,200",
    "n_epochs": "RecurrentPPO: 2 epochs (cost: an LSTM rollout is replayed sequentially per epoch)",
    "batch_size": "RecurrentPPO 512 (cost); DQN/QR-DQN 64 (SB3's QR-DQN default is 32; one update per 4 vector steps)",
    "policy_kwargs.n_quantiles": "25: the default 200 quantiles x 96 actions trains at 157 steps/s here (measured), 25 at ~5,000",
    "train_freq": "4 vector steps (16 env steps) per gradient step for DQN/QR-DQN, as configs/dqn_war.yaml's ratio; the cost of a gradient step bounds the budget",
    "gradient_steps": "1 per update (cost)",
    "buffer_size": "50,000 transitions: more than the step budget, so nothing is forgotten",
    "clip_range": "SB3's default 0.2",
    "gamma": "0.95 for all (not tuned): the model's discount, with which V* is scored (docs/model.md section 2)",
}


def _lr(trial: Any) -> float:
    return trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)


def sample(algo: str, trial: Any) -> dict[str, Any]:
    """One trial's hyperparameters of ``algo`` (the searched ones, then :data:`FIXED`)."""
    hp: dict[str, Any] = {}
    if algo in ("PPO", "MaskablePPO"):
        hp = {"learning_rate": _lr(trial), "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256]),
              "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512]),
              "n_epochs": trial.suggest_categorical("n_epochs", [5, 10]),
              "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95]),
              "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.01])}
    elif algo == "RecurrentPPO":
        hp = {"learning_rate": _lr(trial), "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256]),
              "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95]),
              "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.01])}
    elif algo == "A2C":
        hp = {"learning_rate": _lr(trial), "n_steps": trial.suggest_categorical("n_steps", [5, 16, 32]),
              "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 1.0]),
              "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.01])}
    elif algo == "TRPO":
        hp = {"learning_rate": _lr(trial), "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256]),
              "target_kl": trial.suggest_categorical("target_kl", [0.005, 0.01, 0.03]),
              "gae_lambda": trial.suggest_categorical("gae_lambda", [0.8, 0.9, 0.95])}
    elif algo in ("DQN", "QRDQN"):
        hp = {"learning_rate": _lr(trial),
              "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.5),
              "learning_starts": trial.suggest_categorical("learning_starts", [500, 1000, 2000]),
              "target_update_interval": trial.suggest_categorical("target_update_interval", [250, 1000, 2000])}
    elif algo == "ARS":
        hp = {"learning_rate": trial.suggest_float("learning_rate", 0.005, 0.1, log=True),
              "delta_std": trial.suggest_float("delta_std", 0.01, 0.1, log=True),
              "n_delta": trial.suggest_categorical("n_delta", [4, 8, 16])}
    else:
        raise ValueError(f"algo={algo!r} is not allowed: one of {', '.join(FIXED)}")
    return {**hp, **FIXED[algo]}


SEARCHED_REASONS = {
    "learning_rate": "searched log-uniformly in [1e-4, 3e-3] (ARS: [0.005, 0.1]), around SB3's defaults",
    "n_steps": "searched: rollout length per env (the Zoo's sampler's choices, cut to what a small budget updates often)",
    "batch_size": "searched among 128, 256, 512 (at most the rollout n_steps x 8)",
    "n_epochs": "searched: 5 or 10 (SB3's default)",
    "gae_lambda": "searched: configs/ppo_war.yaml found 0.9 faster than 0.95 on war",
    "ent_coef": "searched: 0 (SB3's default) or 0.01",
    "target_kl": "searched: TRPO's trust region (sb3-contrib's default 0.01)",
    "exploration_fraction": "searched uniformly in [0.05, 0.5] of the budget",
    "learning_starts": "searched: random steps before the first update",
    "target_update_interval": "searched: env steps between target-network copies",
    "delta_std": "searched log-uniformly in [0.01, 0.1] (sb3-contrib's default 0.05)",
    "n_delta": "searched: random directions per update (sb3-contrib's default 8)",
}


def reasons(algo: str, hyperparams: dict[str, Any]) -> dict[str, str]:
    """Why each value of a tuned entry of ``algo`` is what it is: searched by the study, or fixed
    (:data:`FIXED`) and why."""
    fixed = FIXED[algo]
    out = {}
    for name, value in hyperparams.items():
        if name == "policy_kwargs":
            for sub in value:
                out[f"policy_kwargs.{sub}"] = "fixed: " + FIXED_REASONS.get(f"policy_kwargs.{sub}", "")
        elif name in fixed:
            out[name] = "fixed: " + FIXED_REASONS.get(name, "")
        else:
            out[name] = SEARCHED_REASONS[name]
    out["gamma"] = "fixed: " + FIXED_REASONS["gamma"]
    out["n_envs"] = "fixed: " + N_ENVS_REASON
    return out
