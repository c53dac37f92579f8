"""SB3 callbacks of a run folder: checkpoints and evaluations written atomically, resumable.

- :class:`RunCheckpointCallback` saves ``checkpoints/model_<steps>_steps.zip`` (and, for DQN, the
  replay buffer) at the start of a rollout, i.e. after the previous update, so that a resumed run
  restarts from a clean point: the step count it reaches is the one of an uninterrupted run.
- :class:`RunEvalCallback` is SB3's ``EvalCallback`` whose ``evaluations.npz`` and
  ``best_model.zip`` are written to a temporary name and renamed, and which carries on the
  evaluation log of a run it resumes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

from training.results import run_folder as rf
from training.results import store


class RunCheckpointCallback(BaseCallback):
    """Save a checkpoint every ``save_freq`` env steps, keep the newest ``keep``.

    :param run_dir: the run folder; checkpoints go to ``run_dir/checkpoints``
    :param save_freq: env steps (summed over the vector env) between checkpoints
    :param keep: how many model checkpoints to keep (replay buffers: only the newest)
    :param save_replay_buffer: also save an off-policy algorithm's replay buffer
    """

    def __init__(self, run_dir: str | Path, save_freq: int, keep: int = 5, save_replay_buffer: bool = True):
        super().__init__(verbose=0)
        self.run_dir = Path(run_dir)
        self.save_freq = save_freq
        self.keep = keep
        self.save_replay_buffer = save_replay_buffer
        self._last_saved = 0

    def _init_callback(self) -> None:
        (self.run_dir / rf.CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        self._last_saved = self.model.num_timesteps

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - self._last_saved >= self.save_freq:
            self.save()

    def _on_step(self) -> bool:
        return True

    def save(self) -> Path:
        """Replay buffer first, model next, the manifest's hashes last: a checkpoint the manifest
        lists is complete with its buffer (``run_folder.newest_checkpoint`` resumes only from one)."""
        steps = self.model.num_timesteps
        buffer = getattr(self.model, "replay_buffer", None)
        if self.save_replay_buffer and buffer is not None:
            rf.save_recorded(self.run_dir, rf.replay_buffer_path(self.run_dir, steps), self.model.save_replay_buffer)
        path = rf.save_model(self.model, rf.checkpoint_path(self.run_dir, steps), self.run_dir)
        self._last_saved = steps
        self._prune(steps)
        return path

    def _prune(self, newest: int) -> None:
        """Delete the older checkpoints the run wrote (files it did not write are left alone) and
        drop them from the manifest."""
        listed = rf.manifest_files(self.run_dir)
        ours = [p for _, p in rf.list_checkpoints(self.run_dir) if self._name(p) in listed]
        old = ours[: -self.keep] + [p for p in (self.run_dir / rf.CHECKPOINTS).glob("replay_buffer_*_steps.pkl")
                                    if self._name(p) in listed and p != rf.replay_buffer_path(self.run_dir, newest)]
        if old:
            rf.write_manifest(self.run_dir, forget=[self._name(p) for p in old])
            for p in old:
                p.unlink(missing_ok=True)

    def _name(self, path: Path) -> str:
        return path.relative_to(self.run_dir).as_posix()


class _SaveBest(BaseCallback):
    """``callback_on_new_best`` of :class:`RunEvalCallback`: ``best_model.zip``, atomically."""

    def __init__(self, run_dir: Path):
        super().__init__(verbose=0)
        self.run_dir = run_dir

    def _on_step(self) -> bool:
        rf.save_model(self.model, self.run_dir / rf.BEST_MODEL, self.run_dir)
        return True


class RunEvalCallback(EvalCallback):
    """SB3's ``EvalCallback`` writing ``evaluations.npz`` and ``best_model.zip`` atomically.

    :param eval_env: the evaluation vector env
    :param run_dir: the run folder
    :param eval_freq: env steps (summed over the training vector env) between evaluations
    :param n_envs: number of training envs (SB3 counts callback calls, one per vector step)
    :param n_eval_episodes: episodes per evaluation
    :param deterministic: evaluate the greedy policy
    :param log: the run's evaluation log to carry on (``results.manifest.read_evaluations``, read and
        checked by the caller before anything was written)
    """

    def __init__(self, eval_env: Any, run_dir: str | Path, eval_freq: int, n_envs: int,
                 n_eval_episodes: int = 10, deterministic: bool = True, log: dict[str, np.ndarray] | None = None):
        self.run_dir = Path(run_dir)
        super().__init__(eval_env, callback_on_new_best=_SaveBest(self.run_dir), n_eval_episodes=n_eval_episodes,
                         eval_freq=max(eval_freq // n_envs, 1), log_path=str(self.run_dir),
                         deterministic=deterministic, verbose=0, warn=False)
        self.n_envs = n_envs
        self._log = log
        # np.savez writes here (it appends .npz); _on_step renames it over evaluations.npz.
        self.log_path = str(self.run_dir / f".evaluations.{os.getpid()}.tmp")

    def _init_callback(self) -> None:
        super()._init_callback()
        self._restore(self.model.num_timesteps)
        # Evaluate on the same env-step grid after a resume (SB3 counts calls from 0).
        self.n_calls = self.model.num_timesteps // self.n_envs

    def _restore(self, steps: int) -> None:
        """Carry on the log of a resumed run up to its checkpoint at ``steps`` (evaluations after it
        belong to the lost stretch, which the run now trains again) and its best mean return."""
        log = self._log
        if log is None:
            return
        keep = log["timesteps"] <= steps
        self.evaluations_timesteps = [int(t) for t in log["timesteps"][keep]]
        self.evaluations_results = [list(map(float, r)) for r in log["results"][keep]]
        self.evaluations_length = [list(map(int, r)) for r in log["ep_lengths"][keep]]
        if self.evaluations_results:
            self.best_mean_reward = max(float(np.mean(r)) for r in self.evaluations_results)

    def _on_step(self) -> bool:
        before = len(self.evaluations_timesteps)
        continue_training = super()._on_step()
        if len(self.evaluations_timesteps) > before:
            written = self.log_path + ".npz"
            digest = store.sha256(written)  # the bytes np.savez wrote, hashed before the rename
            os.replace(written, self.run_dir / rf.EVALUATIONS)
            rf.record_written(self.run_dir, self.run_dir / rf.EVALUATIONS, digest)
        return continue_training
