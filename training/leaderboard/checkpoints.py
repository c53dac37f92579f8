"""The value of one checkpoint of a run folder: exact for a Markov policy, Monte Carlo with its memory
carried for a recurrent one (``training.evaluate.recurrent``, the reason stated with it).

A checkpoint's bytes are checked against the sha256 the run's manifest recorded before SB3 loads
them (``training.results.manifest.read_checked`` through :func:`training.run.train.load_archive`):
an archive can carry pickled objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.exact_eval import evaluate_policy
from agents.policy import SB3Policy
from envs.params import AllianceParams
from training.evaluate.recurrent import NOT_EXACT, is_recurrent, recurrent_evaluation
from training.results import run_folder as rf
from training.results.manifest import open_checked
from training.run.train import check_spaces, load_archive

MC_SEED = 0  # the Monte Carlo episodes' seed of a recurrent policy's value
CHUNK = 16_384  # observations per predict call: QR-DQN's quantiles for calendar's 237,600 rows at once would be 2.3 GB


class ChunkedPolicy(SB3Policy):
    """A trained SB3 model read off in chunks of :data:`CHUNK` observations (the same actions as one call)."""

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        obs = np.asarray(observation)
        if obs.ndim < 2 or obs.shape[0] <= CHUNK:
            return super().predict(obs, state, episode_start, deterministic)
        parts = [super(ChunkedPolicy, self).predict(obs[i:i + CHUNK], None, None, deterministic)[0]
                 for i in range(0, obs.shape[0], CHUNK)]
        return np.concatenate(parts), None


def load_checkpoint_model(run_dir: Path, algo: str, path: Path, params: AllianceParams) -> Any:
    """The model of one checkpoint, its hash checked against the run's manifest and its spaces the scenario's."""
    raw = open_checked(run_dir, path.relative_to(run_dir).as_posix(), False)
    model = load_archive(algo, raw, where=path, device="cpu")
    check_spaces(model, params, str(path))
    return model


def policy_value(model: Any, params: AllianceParams, episodes: int) -> dict[str, Any]:
    """V^pi(s0), V*, share and regret of a model's greedy policy: exact (``agents.exact_eval``) unless the
    policy is recurrent, then Monte Carlo over ``episodes`` episodes with its 95 % interval."""
    if is_recurrent(model):
        res, mc = recurrent_evaluation(model, params, episodes, seed=MC_SEED)
        lo, hi = mc["value_ci"]
        return {"value": float(res.value), "optimum": float(res.optimum), "share": float(res.value / res.optimum),
                "regret": float(res.optimum - res.value), "exact": False, "value_ci": [float(lo), float(hi)],
                "episodes": int(episodes)}
    res = evaluate_policy(ChunkedPolicy(model), params, stochastic=False)
    return {"value": float(res.value), "optimum": float(res.optimum), "share": float(res.value / res.optimum),
            "regret": float(res.regret), "exact": True}


def checkpoint_curve(run_dir: str | Path, algo: str, params: AllianceParams, episodes: int) -> list[dict[str, Any]]:
    """Every checkpoint of the run folder (oldest first) with its value (:func:`policy_value`)."""
    run_dir = Path(run_dir)
    curve = []
    for steps, path in rf.list_checkpoints(run_dir):
        model = load_checkpoint_model(run_dir, algo, path, params)
        curve.append({"steps": int(steps), **policy_value(model, params, episodes)})
    return curve


def why_not_exact() -> str:
    """Why a recurrent policy's values are Monte Carlo estimates (stated in the report)."""
    return NOT_EXACT
