"""``alliance leaderboard CONFIG --tune``: Optuna's TPE on one scenario, ``tune.trials`` trials per
algorithm, and each algorithm's best trial written to ``<zoo>/<algo>.yaml`` with the study's record
(every trial's value and hyperparameters) and a reason per value (``training.leaderboard.space``).

A trial trains one run of the leaderboard's step budget (``total_timesteps``) on ``tune.scenario`` with
seed ``tune.seed + trial`` (seeds the leaderboard never uses) and scores its final model by its share of
V* (``training.leaderboard.checkpoints.policy_value``: exact, or Monte Carlo for RecurrentPPO). The
entries are then reused unchanged on every scenario and seed of the leaderboard. The sampler is seeded:
the same config proposes the same trials (the trained values may differ in the last digits between
machines, as any training does).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from envs.scenarios import make_params
from training.config.errors import ConfigError
from training.leaderboard.checkpoints import policy_value
from training.leaderboard.config import LeaderboardConfig, ZooEntry, train_config, zoo_path
from training.leaderboard.space import N_ENVS, reasons, sample
from training.results import store
from training.run.train import load_model, train

STARTUP_TRIALS = 4  # TPE's random trials before it models the objective (Optuna's default is 10)


def trial_share(cfg: LeaderboardConfig, algo: str, hyperparams: dict[str, Any], seed: int) -> float:
    """Train one run of the budget on the tuning scenario; its final model's share of V*."""
    import torch

    torch.set_num_threads(1)
    entry = ZooEntry(algo=algo, n_envs=N_ENVS[algo], hyperparams=hyperparams)
    tcfg = train_config(cfg, entry, cfg.tune.scenario, seed)
    params = make_params(cfg.tune.scenario)
    with tempfile.TemporaryDirectory(prefix="leaderboard_tune_") as tmp:
        run_dir = Path(tmp) / "run"
        train(tcfg, run_dir, command=f"alliance leaderboard --tune: {algo} seed {seed}")
        model = load_model(run_dir, params=params)
        return float(policy_value(model, params, cfg.recurrent_episodes)["share"])


def tune_algo(cfg: LeaderboardConfig, algo: str, log: Callable[[str], None] = print) -> ZooEntry:
    """Run the study of one algorithm and return its best entry (not yet written)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=cfg.tune.seed, n_startup_trials=STARTUP_TRIALS)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    trials = []
    for i in range(cfg.tune.trials):
        trial = study.ask()
        hp = sample(algo, trial)
        clock = time.perf_counter()
        try:
            value = trial_share(cfg, algo, hp, cfg.tune.seed + i)
        except ConfigError as exc:  # a combination the algorithm refuses (e.g. a batch larger than the rollout)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            log(f"  {algo} trial {i}: refused ({exc.problems[0]})")
            trials.append({"trial": i, "share": None, "params": dict(trial.params), "refused": exc.problems[0]})
            continue
        study.tell(trial, value)
        trials.append({"trial": i, "share": round(value, 6), "params": dict(trial.params),
                       "seconds": round(time.perf_counter() - clock, 1)})
        log(f"  {algo} trial {i}: share of V* {value:.4f} ({time.perf_counter() - clock:.0f} s) {trial.params}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise ConfigError([f"tune.trials={cfg.tune.trials} is not allowed for {algo}: every trial was refused"])
    best = study.best_trial
    hp = sample(algo, optuna.trial.FixedTrial(best.params))
    tuned = {"scenario": cfg.tune.scenario, "trials": cfg.tune.trials, "total_timesteps": cfg.total_timesteps,
             "seeds": f"{cfg.tune.seed}..{cfg.tune.seed + cfg.tune.trials - 1} (one per trial)",
             "sampler": f"optuna {optuna.__version__} TPESampler(seed={cfg.tune.seed}, n_startup_trials={STARTUP_TRIALS})",
             "objective": "the final greedy policy's share of V* on the tuning scenario (exact; RecurrentPPO: Monte Carlo)",
             "best_trial": best.number, "best_share": round(float(best.value), 6), "history": trials}
    return ZooEntry(algo=algo, n_envs=N_ENVS[algo], hyperparams=hp, reasons=reasons(algo, hp), tuned=tuned)


def write_entry(cfg: LeaderboardConfig, entry: ZooEntry) -> Path:
    """``<zoo>/<algo>.yaml``, atomically, with a header saying how it was made."""
    path = zoo_path(cfg, entry.algo)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = (f"# {entry.algo}: tuned by `alliance leaderboard {cfg.source or 'CONFIG'} --tune` (Optuna, "
            f"{cfg.tune.trials} trials on {cfg.tune.scenario}, {cfg.total_timesteps} steps each);\n"
            "# reused unchanged on every scenario and seed of the leaderboard. `reasons` says why each value is what it is.\n")
    return store.atomic_write_text(path, head + yaml.safe_dump(entry.model_dump(mode="json"), sort_keys=False, width=120))


def tune(cfg: LeaderboardConfig, algos: list[str] | None = None, log: Callable[[str], None] = print) -> list[Path]:
    """Tune every algorithm of the config (or ``algos``) in turn and write each entry as it is found."""
    written = []
    for algo in algos or cfg.algos:
        log(f"tuning {algo}: {cfg.tune.trials} trials on {cfg.tune.scenario}, {cfg.total_timesteps} steps each")
        entry = tune_algo(cfg, algo, log)
        written.append(write_entry(cfg, entry))
        log(f"{algo}: best share {entry.tuned['best_share']:.4f} (trial {entry.tuned['best_trial']}) -> {written[-1]}")
    return written
