"""Train one SB3 agent from a :class:`~training.config.run.TrainConfig` into a run folder.

In the spirit of CleanRL, :func:`train` reads top to bottom: threads and seeds, environments,
model (new or from the newest checkpoint), callbacks, ``learn``, then the final model and the
manifest, both written atomically. :func:`load_model` loads a trained model back and checks its
sha256 against the manifest (an SB3 archive can carry pickled code) and, given a scenario, its
spaces (:func:`check_spaces`).

Same config + same seed gives the same final parameters on CPU: ``set_random_seed(seed)``, the
training env seeded with ``seed``, the model with ``seed``, the evaluation env with its own seed
derived from it. A resumed run restarts from a checkpoint taken between two updates and is itself
reproducible (its seed is ``seed + steps at the checkpoint``), though not bit-identical to the
uninterrupted run (the random streams restart). A run stopped before its first checkpoint resumes
from step 0 and is then the uninterrupted run. A resume reads and checks every file it will use
(checkpoint, replay buffer, ``config.yml``, ``command.txt``, ``evaluations.npz``: against the
manifest, ``training/results/manifest.py``) before it writes anything.

(Over 300 lines: training, loading a trained model back and checking its spaces share the run
folder's conventions and are read together.)
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.env import action_space, observation_space
from envs.params import short_repr
from envs.registration import DISCRETE_ENV_ID, ENV_ID
from envs.scenarios import make_params, scenario_key
from envs.spaces import N_ACTIONS
from training.config.errors import ConfigError
from training.config.files import parse_yaml
from training.config.hyperparams import DISCRETE_ALGOS, RESERVED, algo_class, policy_alias, signature_of
from training.config.run import TrainConfig, config_from_dict, sb3_kwargs
from training.results import run_folder as rf
from training.results.lock import LOCK_NAME, folder_lock
from training.results.manifest import (
    MAX_CONFIG_BYTES,
    open_checked,
    read_checked,
    read_config_text,
    read_evaluations,
)
from training.run.determinism import cpu_environment, pin_cpu_kernels

EVAL_SEED_OFFSET = 1_000_003  # the evaluation env's seed is seed + this: a stream apart from training's
SEED_MODULUS = 2**32  # numpy's global seed is 32-bit: a resumed run's seed + steps wraps around
# What SB3 or torch raise when they refuse hyperparameters while building a model.
BUILD_ERRORS = (AssertionError, ValueError, TypeError, KeyError, RuntimeError, OverflowError, MemoryError)
MAX_EVAL_ENVS = 32  # evaluation episodes run side by side, at most this many at once
# envs.registration.make_env warns that a horizon override does not set gym.make's episode length; here it does
HORIZON_WARNING = r".*sets the horizon of the exact evaluation's statistics"


def make_vec_env(cfg: TrainConfig, num_envs: int, seed: int) -> Any:
    """The SB3 vector env of a config, wrapped in ``VecMonitor`` (episode returns for the logs).

    ``vec_env: alliance`` is the project's batched ``AllianceSB3VecEnv``; ``dummy`` is SB3's
    ``DummyVecEnv`` over ``gym.make("SmallStateAlliance-v0")``. DQN, QRDQN and ARS get ``Discrete(96)`` actions
    (``SmallStateAllianceDiscrete-v0``: the env with ``discrete_actions=True``). Either way an episode is
    ``params.horizon`` steps, a ``horizon`` override included.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    flatten = cfg.algo in DISCRETE_ALGOS
    overrides = dict(cfg.env.overrides) or None
    contextual = {"contexts": dict(cfg.env.contexts), "context_in_obs": cfg.env.context_in_obs} \
        if cfg.env.contexts is not None else {}
    if cfg.vec_env == "alliance":
        from envs.sb3_vec_env import AllianceSB3VecEnv

        env = AllianceSB3VecEnv(num_envs, scenario=cfg.env.scenario, overrides=overrides,
                                flatten_actions=flatten, seed=seed, **contextual)
    else:
        env_id = DISCRETE_ENV_ID if flatten else ENV_ID  # the Discrete id: the env with Discrete(96) actions
        horizon = make_params(cfg.env.scenario, overrides).horizon

        def make() -> gym.Env:
            # gym.make leaves the length of stationary episodes to TimeLimit (registered 80): the run's
            # episodes are its horizon (overrides may change it), as in the batched env
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=HORIZON_WARNING)
                return gym.make(env_id, scenario=cfg.env.scenario, overrides=overrides, max_episode_steps=horizon,
                                **contextual)

        env = DummyVecEnv([make] * num_envs)
        env.seed(seed)
    return VecMonitor(env)


def build_model(cfg: TrainConfig, env: Any, gamma: float) -> Any:
    """A new SB3 model. ``gamma`` is the model's discount unless the hyperparameters set one.

    :raises ConfigError: SB3 rejects the hyperparameters (one line).
    """
    cls = algo_class(cfg.algo)
    # ARS has no discount (it ranks whole episodes' returns): gamma only where the constructor takes one
    kwargs = {**({"gamma": gamma} if "gamma" in signature_of(cls, RESERVED) else {}), **sb3_kwargs(cfg)}
    try:
        return cls(policy_alias(cfg.algo), env, seed=cfg.seed, device=cfg.device, verbose=0, **kwargs)
    except BUILD_ERRORS as exc:
        raise ConfigError([f"hyperparams={short_repr(cfg.hyperparams, 200)} is not allowed: {cfg.algo} rejects "
                           f"them: {_first_line(exc)}"]) from None


def train(cfg: TrainConfig, run_dir: str | Path | None = None, callbacks: Sequence[Any] = (), *,
          resume: bool = False, progress_bar: bool = False, command: str | None = None,
          trust: bool = False) -> Path:
    """Train ``cfg`` and return the run folder, holding the folder's lock while writing it
    (``training/results/lock.py``: a second writer of the same folder is refused at once, naming
    this process; a new folder is locked as soon as it exists).

    :param cfg: the validated config
    :param run_dir: the run folder; None makes a new one under ``cfg.output``. With ``resume``,
        the folder to continue.
    :param callbacks: extra SB3 callbacks (after the evaluation and checkpoint callbacks)
    :param resume: continue ``run_dir`` from its newest complete checkpoint to ``cfg.total_timesteps``
    :param progress_bar: SB3's rich progress bar
    :param command: the command line to record in ``command.txt``
    :param trust: resume from a checkpoint (and replay buffer) whose sha256 the manifest does not
        list: SB3 archives and replay buffers can carry pickled objects, which run code when loaded
    """
    with contextlib.ExitStack() as locks:
        if run_dir is not None:
            locks.enter_context(folder_lock(run_dir, command or "training.run.train.train (Python API)",
                                            create=not resume))
        return _train(cfg, run_dir, callbacks, locks, resume=resume, progress_bar=progress_bar, command=command,
                      trust=trust)


def _train(cfg: TrainConfig, run_dir: str | Path | None, callbacks: Sequence[Any], locks: contextlib.ExitStack, *,
           resume: bool, progress_bar: bool, command: str | None, trust: bool) -> Path:
    """:func:`train`'s body, under the lock of ``run_dir`` (a new folder's lock joins ``locks``)."""
    pin_cpu_kernels()  # effective if torch has not run an operation yet (the alliance command pins it at start)
    import torch
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.utils import set_random_seed

    from training.run.callbacks import RunCheckpointCallback, RunEvalCallback

    torch.set_num_threads(cfg.torch_threads)
    params = make_params(cfg.env.scenario, cfg.env.overrides)
    if resume and run_dir is None:
        raise ValueError("run_dir=None is not allowed: resuming needs the run folder")
    log, buffer, commands = None, None, ""
    if resume:  # read and check everything the resume will use before anything is written
        run_dir = Path(run_dir)
        rf.clean_temporary_files(run_dir)  # what a killed process left half-written
        start_steps, source = rf.newest_checkpoint(run_dir, trust=trust)
        log = read_evaluations(run_dir, trust)
        stored_config = read_config_text(run_dir, trust)
        commands = read_checked(run_dir, rf.COMMAND, MAX_CONFIG_BYTES, trust).decode("utf-8", "replace")
        buffer_path = rf.replay_buffer_path(run_dir, start_steps)
        if source is not None and buffer_path.is_file() and hasattr(algo_class(cfg.algo), "load_replay_buffer"):
            buffer = open_checked(run_dir, buffer_path.relative_to(run_dir).as_posix(), trust)
    else:
        start_steps, source = 0, None
    seed = (cfg.seed + start_steps) % SEED_MODULUS  # a resumed run gets fresh, still reproducible, random streams
    set_random_seed(seed)

    train_env = make_vec_env(cfg, cfg.n_envs, seed)
    eval_env = make_vec_env(cfg, min(cfg.eval.n_episodes, MAX_EVAL_ENVS), seed + EVAL_SEED_OFFSET)
    try:
        if resume:
            if source is None:  # killed before its first checkpoint: from step 0, as a new run would
                model = build_model(cfg, train_env, params.gamma)
            else:
                model = load_checkpoint(cfg, run_dir, start_steps, source, train_env, seed, trust=trust, buffer=buffer)
            if cfg.to_yaml() != stored_config:  # a raised total_timesteps (nothing else may change)
                rf.save_recorded(run_dir, run_dir / rf.CONFIG, lambda f: f.write(cfg.to_yaml().encode()))
            _append_command(run_dir, command, commands)
        else:
            model = build_model(cfg, train_env, params.gamma)  # a bad config fails before any folder exists
            new = run_dir is None
            run_dir = _start_run_dir(cfg, run_dir, model, command)
            if new:
                locks.enter_context(folder_lock(run_dir, command or "training.run.train.train (Python API)"))
        model.tensorboard_log = str(run_dir / rf.TENSORBOARD)

        evaluation = RunEvalCallback(eval_env, run_dir, cfg.eval.freq, cfg.n_envs, cfg.eval.n_episodes,
                                     cfg.eval.deterministic, log=log)
        checkpoints = RunCheckpointCallback(run_dir, cfg.checkpoint.freq, cfg.checkpoint.keep,
                                            cfg.checkpoint.save_replay_buffer)
        steps_before, clock = model.num_timesteps, time.perf_counter()
        if model.num_timesteps < cfg.total_timesteps:
            model.learn(cfg.total_timesteps - model.num_timesteps, callback=CallbackList(
                [evaluation, checkpoints, *callbacks]), reset_num_timesteps=not resume, tb_log_name=cfg.algo,
                progress_bar=progress_bar)
            if model.num_timesteps > checkpoints._last_saved:
                checkpoints.save()  # the final state is a checkpoint too: a finished run can be extended
        seconds = time.perf_counter() - clock

        rf.save_model(model, run_dir / rf.MODEL, run_dir)
        manifest = rf.read_manifest(run_dir)
        total_seconds = manifest.get("train_seconds", 0.0) + seconds
        rf.write_manifest(run_dir, status="complete", num_timesteps=int(model.num_timesteps),
                          finished_utc=rf.utc_stamp(), train_seconds=round(total_seconds, 3),
                          last_session={"from_steps": int(steps_before), "steps": int(model.num_timesteps - steps_before),
                                        "seconds": round(seconds, 3),
                                        "steps_per_second": round((model.num_timesteps - steps_before) / max(seconds, 1e-9), 1)},
                          # a session that evaluated nothing (a finished run resumed) keeps the run's values
                          best_mean_reward=_finite(evaluation.best_mean_reward, manifest.get("best_mean_reward")),
                          last_mean_reward=_finite(evaluation.last_mean_reward, manifest.get("last_mean_reward")))
    finally:
        train_env.close()
        eval_env.close()
    return run_dir


def load_checkpoint(cfg: TrainConfig, run_dir: Path, steps: int, path: Path, env: Any, seed: int,
                    trust: bool = False, buffer: Any = None) -> Any:
    """A model from a checkpoint, ready to continue on ``env`` (with its replay buffer ``buffer``, a
    file object of checked bytes, if given). The checkpoint's bytes are checked against the manifest
    (unless ``trust``) and loaded from what was checked.

    :raises ValueError: the checkpoint's sha256 is not the manifest's, or SB3 cannot load it (one line)
    """
    raw = open_checked(run_dir, path.relative_to(run_dir).as_posix(), trust)
    model = load_archive(cfg.algo, raw, where=path, env=env, device=cfg.device)
    model._last_obs = None  # the saved observation belongs to the old env: make learn() reset the new one
    model.set_random_seed(seed)
    if buffer is not None and hasattr(model, "load_replay_buffer"):
        model.load_replay_buffer(buffer)
    return model


def check_spaces(model: Any, params: Any, where: str = "model") -> None:
    """The model's spaces must be the scenario's: observation ``Box(0, 1, (26,) or (27,), float32)``
    (27 with t/horizon: timeline, calendar), action ``MultiDiscrete([4, 2, 3, 4])`` or its
    ``Discrete(96)`` flattening (DQN, QRDQN, ARS).

    :param model: anything with ``observation_space`` and ``action_space`` (an SB3 model)
    :param params: the scenario's :class:`envs.params.AllianceParams`
    :param where: what to call the model in the message (e.g. its file)
    :raises ValueError: one line naming the space that differs and how
    """


    obs = getattr(model, "observation_space", None)
    want = observation_space(params)
    if obs != want:
        raise ValueError(f"{where}: observation space {obs} differs from scenario {params.name}'s {want}: "
                         f"{_space_difference(obs, want)} (26 inputs: stationary scenarios; 27 with t/horizon: "
                         "timeline, calendar)")
    act = getattr(model, "action_space", None)
    allowed = (action_space(), spaces.Discrete(N_ACTIONS))
    if not any(act == a for a in allowed):
        near = allowed[1] if isinstance(act, spaces.Discrete) else allowed[0]
        raise ValueError(f"{where}: action space {act} differs from scenario {params.name}'s {allowed[0]} "
                         f"(or {allowed[1]} for {', '.join(DISCRETE_ALGOS)}): {_space_difference(act, near)}")


def _space_difference(got: Any, want: Any) -> str:
    """How two Gymnasium spaces differ, in a few words."""

    if type(got) is not type(want):
        return f"a {type(got).__name__} where a {type(want).__name__} is needed"
    for attr in ("shape", "dtype", "n", "nvec", "low", "high"):
        a, b = getattr(got, attr, None), getattr(want, attr, None)
        if a is None and b is None:
            continue
        same = a is not None and b is not None and np.shape(a) == np.shape(b) and bool(np.all(np.asarray(a) == b))
        if not same:
            show = lambda x: str(x) if isinstance(x, np.dtype) else short_repr(getattr(x, "tolist", lambda: x)(), 60)  # noqa: E731
            return f"{attr} {show(a)} instead of {show(b)}"
    return "they differ"


def load_archive(algo: str, source: Any, where: Path | None = None, **kwargs: Any) -> Any:
    """``ALGO.load(source)`` (a path, or a file object of checked bytes) once the archive's sizes are
    within the limits (``run_folder.check_archive``: every path that loads a model comes here); a
    file SB3 cannot read as an ``algo`` model is one ``ValueError`` line naming ``where`` (default:
    ``source``)."""
    where = source if where is None else where
    rf.check_archive(source, where)  # sizes from the directory, before SB3 inflates anything
    try:
        return algo_class(algo).load(source, **kwargs)
    except Exception as exc:  # a foreign or broken archive can fail in any part of SB3 or torch
        raise ValueError(f"{where}: not a {algo} model this SB3 can load: {type(exc).__name__}: "
                         f"{_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return short_repr(lines[0], 200).strip("'\"") if lines else type(exc).__name__


def load_model(run_dir: str | Path, best: bool = False, trust: bool = False, env: Any = None,
               params: Any = None) -> Any:
    """Load ``model.zip`` (or ``best_model.zip``) of a run folder after checking its sha256.

    An SB3 archive can carry pickled objects, which run code when loaded: a file whose sha256 is not
    the one the run's manifest recorded is refused unless ``trust``.

    :param params: a scenario's parameters: the model's spaces must be that scenario's (:func:`check_spaces`)
    :raises FileNotFoundError: the model file is missing (one line naming it)
    :raises ValueError: the file is not listed in the manifest or its hash differs (unless ``trust``),
        SB3 cannot load it, or its spaces are not the scenario's (one line)
    """
    run_dir = Path(run_dir)
    name = rf.BEST_MODEL if best else rf.MODEL
    path = run_dir / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    cfg = run_config(run_dir, trust)
    model = load_archive(cfg.algo, open_checked(run_dir, name, trust), where=path, env=env, device=cfg.device)
    if params is not None:
        check_spaces(model, params, str(path))
    return model


def run_config(run_dir: str | Path, trust: bool = False) -> TrainConfig:
    """The resolved config a run folder was trained with: its ``config.yml``, whose sha256 must be
    the one the run recorded when it wrote it (unless ``trust``).

    :raises ValueError: the file changed after the run wrote it, or is not a valid config (one line)
    """
    path = Path(run_dir) / rf.CONFIG
    data = parse_yaml(read_config_text(run_dir, trust), str(path))
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a {type(data).__name__} is not allowed: a mapping of config keys"])
    return config_from_dict(data)


# ------------------------------------------------------------------------------------ helpers
def _start_run_dir(cfg: TrainConfig, run_dir: str | Path | None, model: Any, command: str | None) -> Path:
    """Create the run folder with config.yml, command.txt and the first manifest (listing both), the
    manifest last: a folder without one was never a run (a new folder under ``cfg.output`` appears
    whole or not at all, ``run_folder.create_run_dir``)."""

    def fill(folder: Path) -> None:
        config = rf.write_hashed(folder / rf.CONFIG, lambda f: f.write(cfg.to_yaml().encode()))
        said = rf.write_hashed(folder / rf.COMMAND, lambda f: f.write(_command_text("", command).encode()))
        rf.write_manifest(folder, written={rf.CONFIG: config, rf.COMMAND: said}, status="running", algo=cfg.algo,
                          scenario=cfg.env.scenario, seed=cfg.seed, total_timesteps=cfg.total_timesteps,
                          num_timesteps=0, started_utc=rf.utc_stamp(), versions=rf.package_versions(),
                          git=rf.git_commit(), environment=cpu_environment(),
                          observation_space=rf.space_description(model.observation_space),
                          action_space=rf.space_description(model.action_space))

    if run_dir is None:
        return rf.create_run_dir(cfg.output, scenario_key(cfg.env.scenario), cfg.algo, cfg.seed, fill)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        raise ValueError(f"run_dir={str(run_dir)!r} is not allowed: an empty or new folder (to continue a "
                         "run, resume it)")
    fill(run_dir)
    return run_dir


def _append_command(run_dir: Path, command: str | None, old: str) -> None:
    """Append the command line to ``command.txt`` (``old``: its checked content)."""
    text = _command_text(old, command)
    rf.save_recorded(run_dir, run_dir / rf.COMMAND, lambda f: f.write(text.encode()))


def _command_text(old: str, command: str | None) -> str:
    return old + f"{rf.utc_stamp()}  {command or 'training.run.train.train(cfg) (Python API)'}\n"


def _finite(x: float, otherwise: float | None = None) -> float | None:
    return float(x) if x == x and abs(x) != float("inf") else otherwise
