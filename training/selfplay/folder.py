"""A self-play run folder: the layout, each round's files, and reading them back checked.

Layout of ``<output>/<scenario>/ppo_selfplay_s<seed>_<UTC time>/``::

    config.yml          the resolved config (load_selfplay_config reads it back)
    command.txt         the command line(s) that made and resumed the run
    manifest.json       versions, git commit, seed, spaces, rounds done, sha256 of every file written
    nashconv.json       the curve: the exact NashConv of the learned profile per round (curve.py)
    rounds/round_000/   small_state.zip, patron.zip (SB3 PPO), pi_small.npy (1080, 96) and
    rounds/round_001/   pi_patron.npy (1080, 24): the profile that round scored (float64)  ...

The folder's conventions are ``alliance train``'s (``training/results/run_folder.py``): every file
written atomically and its sha256 recorded in the manifest as it is written; a file is read only
after the hash of the bytes read matches (``training/results/manifest.py``), so a model archive
(which can carry pickled code) is loaded only if the run wrote it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.game.operator import check_policy
from envs.game_tables import N_PATRON
from envs.spaces import N_ACTIONS
from training.results import run_folder as rf
from training.results.manifest import MAX_LOG_BYTES, open_checked, read_checked
from training.run.train import load_archive

ALGO = "ppo_selfplay"  # the run folder's name prefix
ROUNDS = "rounds"
PLAYERS = ("small_state", "patron")
TABLE_KEYS = {"pi_small": N_ACTIONS, "pi_patron": N_PATRON}  # <key>.npy in each round's folder


def round_name(k: int, name: str) -> str:
    """A round's file, relative to the run folder (the manifest's key)."""
    return f"{ROUNDS}/round_{k:03d}/{name}"


def model_name(k: int, player: str) -> str:
    return round_name(k, f"{player}.zip")


def save_round(run_dir: Path, k: int, models: dict[str, Any], pi_small: np.ndarray, pi_patron: np.ndarray) -> None:
    """Both players' models and the profile's tables of round ``k``, each hashed into the manifest."""
    folder = run_dir / ROUNDS / f"round_{k:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    for player in PLAYERS:
        rf.save_model(models[player], run_dir / model_name(k, player), run_dir)
    for key, table in zip(TABLE_KEYS, (pi_small, pi_patron)):
        rf.save_recorded(run_dir, run_dir / round_name(k, f"{key}.npy"),
                         lambda f, table=table: np.lib.format.write_array(f, table, allow_pickle=False))


def read_tables(run_dir: Path, k: int, trust: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Round ``k``'s profile (pi_small, pi_patron), checked against the manifest and as probability tables.

    :raises ValueError: not listed, another hash, not an array of probabilities of the right shape (one line)
    """
    out = []
    for key, n in TABLE_KEYS.items():
        name = round_name(k, f"{key}.npy")
        raw = read_checked(run_dir, name, MAX_LOG_BYTES, trust)
        try:
            table = np.load(io.BytesIO(raw), allow_pickle=False)
        except (OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{run_dir / name}: not a numpy array file ({type(exc).__name__})") from None
        try:
            out.append(check_policy(table, n, f"{run_dir / name}"))
        except ValueError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None
    return out[0], out[1]


def load_player(run_dir: Path, k: int, player: str, env: Any, trust: bool = False) -> Any:
    """Round ``k``'s PPO model of ``player``, loaded from bytes whose sha256 the manifest lists.

    :raises ValueError: not listed, another hash, or not a PPO model SB3 can load (one line)
    """
    name = model_name(k, player)
    return load_archive("PPO", open_checked(run_dir, name, trust), where=run_dir / name, env=env, device="cpu")


def start_run_dir(output: str, scenario: str, seed: int, fill: Callable[[Path], None]) -> Path:
    """A new run folder ``output/<scenario>/ppo_selfplay_s<seed>_<time>``, appearing whole or not at all."""
    return rf.create_run_dir(output, scenario, ALGO, seed, fill)


def clean_temporary_files(run_dir: Path) -> None:
    """Remove what a killed process left half-written, in the folder and its rounds."""
    rf.clean_temporary_files(run_dir)
    rounds = run_dir / ROUNDS
    for folder in sorted(rounds.iterdir()) if rounds.is_dir() else ():
        if folder.is_dir():
            rf.clean_temporary_files(folder)
