"""Alternating PPO self-play in the patron game, scored each round by its exact NashConv.

:func:`selfplay` reads top to bottom. Round 0: both players' PPO models are built (seeded), the
small state's untrained policy is read off as a table, the patron's starting table is its table
action (``start_patron: table``) or its untrained policy; the profile is scored. Round k = 1, 2, ...:

1. the small state trains ``steps_per_round`` steps against the patron frozen on its last table
   (:class:`envs.game_views.FrozenOpponentEnv`: the game's own step), and is read off as a table;
2. the patron trains as many steps against the small state frozen on that new table, and is read off;
3. the profile (pi_small, pi_patron) is scored exactly (:func:`agents.game.best_response.nash_conv`)
   as it is played (stochastic) and greedy; both models, both tables and the curve are written,
   each file's sha256 into the manifest; the curve is written last: a round is finished once
   ``nashconv.json`` lists it.

Each training phase starts from fresh env resets and seeds derived from (seed, round, player), so
a resumed run (:func:`selfplay` with ``resume=True``: from the last finished round's models and
tables, each checked against the manifest before it is loaded) gives the numbers the
uninterrupted run gives, and the same config and seed give the same curve.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.game.best_response import nash_conv
from agents.game.operator import GameOperator, game_operator, pure
from envs.game_views import FrozenOpponentEnv
from envs.params import short_repr
from envs.scenarios import make_params, scenario_key
from envs.spaces import ALL_STATES
from training.config.errors import ConfigError
from training.config.selfplay import SelfPlayConfig, ppo_kwargs
from training.results import run_folder as rf
from training.results.lock import folder_lock
from training.results.manifest import MAX_CONFIG_BYTES, read_checked
from training.run.determinism import cpu_environment, pin_cpu_kernels
from training.run.train import BUILD_ERRORS
from training.selfplay import folder
from training.selfplay.curve import read_curve, score, write_curve
from training.selfplay.tables import block_observations, greedy_table, policy_table

PLAYERS = folder.PLAYERS


def phase_seed(seed: int, k: int, player: str) -> int:
    """The seed of ``player``'s training in round ``k`` (k = 0: the model's construction), 32-bit."""
    return int(np.random.SeedSequence([seed, k, PLAYERS.index(player)]).generate_state(1)[0])


def make_env(cfg: SelfPlayConfig, learner: str, opponent: np.ndarray, rows: np.ndarray) -> Any:
    """SB3's ``DummyVecEnv`` of ``n_envs`` views of the game for ``learner``, the opponent frozen on its table."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    overrides = dict(cfg.env.overrides)

    def make() -> FrozenOpponentEnv:
        return FrozenOpponentEnv(learner, opponent, scenario=cfg.env.scenario, rows=rows, **overrides)

    return DummyVecEnv([make] * cfg.n_envs)


def build_model(cfg: SelfPlayConfig, env: Any, player: str, gamma: float) -> Any:
    """A new PPO model of ``player`` (seeded); SB3 refusing the hyperparameters is one config line."""
    from stable_baselines3 import PPO

    try:
        return PPO("MlpPolicy", env, seed=phase_seed(cfg.seed, 0, player), device=cfg.device, verbose=0,
                   **{"gamma": gamma, **ppo_kwargs(cfg)})
    except BUILD_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError([f"hyperparams={short_repr(cfg.hyperparams, 200)} is not allowed: PPO rejects them: "
                           f"{short_repr(first, 200)}"]) from None


def train_phase(model: Any, cfg: SelfPlayConfig, k: int, player: str, opponent: np.ndarray, op: GameOperator) -> None:
    """``player`` trains ``steps_per_round`` steps against ``opponent``'s frozen table (round ``k``)."""
    env = make_env(cfg, player, opponent, op.rows)
    model.set_env(env)
    model._last_obs = None  # learn() resets the new env: every phase starts from its seeds alone
    model.set_random_seed(phase_seed(cfg.seed, k, player))
    try:
        model.learn(cfg.steps_per_round, reset_num_timesteps=False)
    finally:
        env.close()


def score_profile(op: GameOperator, pi_small: np.ndarray, pi_patron: np.ndarray, greedy: tuple) -> dict:
    """Exact scores of the profile as played and of its greedy version."""
    return {"stochastic": score(nash_conv(op, pi_small, pi_patron), op.s0),
            "greedy": score(nash_conv(op, *greedy), op.s0)}


def selfplay(cfg: SelfPlayConfig, run_dir: str | Path | None = None, *, resume: bool = False,
             command: str | None = None, trust: bool = False,
             log: Callable[[dict], None] = lambda row: None) -> Path:
    """Run (or with ``resume``, continue) self-play to ``cfg.rounds`` rounds; the run folder.

    :param run_dir: None: a new folder under ``cfg.output``; with ``resume``: the folder to continue
    :param command: the command line to record in ``command.txt``
    :param trust: resume from files the manifest does not vouch for (model files can carry pickled code)
    :param log: called with each finished round's :class:`~training.selfplay.curve.RoundScore` mapping
    """
    if resume and run_dir is None:
        raise ValueError("run_dir=None is not allowed: resuming needs the run folder")
    with contextlib.ExitStack() as locks:  # one writer per folder (training/results/lock.py), released on any exit
        purpose = command or "training.selfplay.loop.selfplay (Python API)"
        if resume:
            locks.enter_context(folder_lock(run_dir, purpose, create=False))
        return _selfplay(cfg, run_dir, locks, purpose, resume=resume, command=command, trust=trust, log=log)


def _selfplay(cfg: SelfPlayConfig, run_dir: str | Path | None, locks: contextlib.ExitStack, purpose: str, *,
              resume: bool, command: str | None, trust: bool, log: Callable[[dict], None]) -> Path:
    pin_cpu_kernels()
    import torch

    torch.set_num_threads(cfg.torch_threads)
    params = make_params(cfg.env.scenario, dict(cfg.env.overrides) or None)
    op = game_operator(params)
    obs = block_observations(op.rows, params)
    if resume:  # read and check everything the resume will use before anything is written
        run_dir = Path(run_dir)
        folder.clean_temporary_files(run_dir)
        curve = read_curve(run_dir, trust)
        done = curve["rounds"][-1]["round"] if curve["rounds"] else -1
        if done < 0 or [r["round"] for r in curve["rounds"]] != list(range(done + 1)):
            raise ValueError(f"{run_dir / 'nashconv.json'}: rounds {[r['round'] for r in curve['rounds']]} are not "
                             "allowed: 0, 1, ... in order")
        commands = read_checked(run_dir, rf.COMMAND, MAX_CONFIG_BYTES, trust).decode("utf-8", "replace")
        pi_small, pi_patron = folder.read_tables(run_dir, done, trust)
        models = {p: folder.load_player(run_dir, done, p, make_env(cfg, p, pi_patron if p == PLAYERS[0] else pi_small,
                                                                   op.rows), trust) for p in PLAYERS}
        rf.save_recorded(run_dir, run_dir / rf.CONFIG, lambda f: f.write(cfg.to_yaml().encode()))  # rounds may rise
        rf.save_recorded(run_dir, run_dir / rf.COMMAND, lambda f: f.write(_command_text(commands, command).encode()))
        rf.write_manifest(run_dir, status="running", rounds=cfg.rounds)
    else:
        models, pi_small, pi_patron, row = _round_zero(cfg, op, obs, params.gamma)
        curve = {"scenario": params.name, "seed": cfg.seed, "s0": [int(x) for x in ALL_STATES[op.rows[op.s0]]],
                 "rounds": [row]}
        run_dir = _start(cfg, run_dir, models, command)
        locks.enter_context(folder_lock(run_dir, purpose))  # locked as soon as it exists
        folder.save_round(run_dir, 0, models, pi_small, pi_patron)
        write_curve(run_dir, curve)
        log(row)
        done = 0
    for k in range(done + 1, cfg.rounds + 1):
        clock = time.perf_counter()
        train_phase(models["small_state"], cfg, k, "small_state", pi_patron, op)
        pi_small = policy_table(models["small_state"], obs)
        train_phase(models["patron"], cfg, k, "patron", pi_small, op)
        pi_patron = policy_table(models["patron"], obs)
        trained = time.perf_counter() - clock
        clock = time.perf_counter()
        greedy = (greedy_table(models["small_state"], obs), greedy_table(models["patron"], obs))
        row = {"round": k, "steps_small_state": int(models["small_state"].num_timesteps),
               "steps_patron": int(models["patron"].num_timesteps), **score_profile(op, pi_small, pi_patron, greedy),
               "train_seconds": round(trained, 3), "score_seconds": round(time.perf_counter() - clock, 3)}
        folder.save_round(run_dir, k, models, pi_small, pi_patron)
        curve["rounds"].append(row)
        write_curve(run_dir, curve)  # last: the round is finished
        rf.write_manifest(run_dir, rounds_done=k)
        log(row)
    rf.write_manifest(run_dir, status="complete", rounds_done=cfg.rounds, finished_utc=rf.utc_stamp())
    return run_dir


def _round_zero(cfg: SelfPlayConfig, op: GameOperator, obs: np.ndarray, gamma: float) -> tuple:
    """Both untrained models, the profile before training (the small state's untrained policy, the
    starting patron) and its score."""
    table = pure(np.full(op.rows.size, op.table_patron), op.game.reward_patron.shape[2])  # the patron's table action
    uniform = np.full((op.rows.size, op.game.reward_small.shape[1]), 1.0 / op.game.reward_small.shape[1])
    models = {p: build_model(cfg, make_env(cfg, p, table if p == PLAYERS[0] else uniform, op.rows), p, gamma)
              for p in PLAYERS}
    clock = time.perf_counter()
    pi_small = policy_table(models["small_state"], obs)
    if cfg.start_patron == "table":
        pi_patron, greedy_patron = table, table
    else:
        pi_patron, greedy_patron = policy_table(models["patron"], obs), greedy_table(models["patron"], obs)
    row = {"round": 0, "steps_small_state": 0, "steps_patron": 0,
           **score_profile(op, pi_small, pi_patron, (greedy_table(models["small_state"], obs), greedy_patron)),
           "train_seconds": 0.0, "score_seconds": round(time.perf_counter() - clock, 3)}
    return models, pi_small, pi_patron, row


def _start(cfg: SelfPlayConfig, run_dir: str | Path | None, models: dict, command: str | None) -> Path:
    """Create the run folder with config.yml, command.txt and the first manifest (listing both)."""

    def fill(where: Path) -> None:
        config = rf.write_hashed(where / rf.CONFIG, lambda f: f.write(cfg.to_yaml().encode()))
        said = rf.write_hashed(where / rf.COMMAND, lambda f: f.write(_command_text("", command).encode()))
        rf.write_manifest(where, written={rf.CONFIG: config, rf.COMMAND: said}, status="running", algo="PPO self-play",
                          scenario=cfg.env.scenario, seed=cfg.seed, rounds=cfg.rounds, rounds_done=0,
                          steps_per_round=cfg.steps_per_round, started_utc=rf.utc_stamp(),
                          versions=rf.package_versions(), git=rf.git_commit(), environment=cpu_environment(),
                          spaces={p: {"observation": rf.space_description(m.observation_space),
                                      "action": rf.space_description(m.action_space)} for p, m in models.items()})

    if run_dir is None:
        return folder.start_run_dir(cfg.output, scenario_key(cfg.env.scenario), cfg.seed, fill)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if any(run_dir.iterdir()):
        raise ValueError(f"run_dir={str(run_dir)!r} is not allowed: an empty or new folder (to continue a run, resume it)")
    fill(run_dir)
    return run_dir


def _command_text(old: str, command: str | None) -> str:
    return old + f"{rf.utc_stamp()}  {command or 'training.selfplay.loop.selfplay(cfg) (Python API)'}\n"
