"""Episodes of a behaviour policy written as a Minari dataset, atomically.

The episodes come from the registered env (``gym.make(env_id, **kwargs)``: the one step function of
``envs.env``) wrapped in Minari's ``DataCollector``, the policy acting through its ``predict`` (a trained
model greedily, ``deterministic=True``, as its exact value reads it). Episode ``i`` resets with seed
``SeedSequence(seed).generate_state(N)[i]`` (Minari records each episode's seed), and the ``random``
baseline draws from its own generator seeded with ``seed``: the same seed gives the same dataset.

Nothing half-written: the dataset is built under a hidden staging folder inside the datasets root
(``MINARI_DATASETS_PATH`` pointed there while Minari writes), its metadata completed, then moved into
place with one rename; an existing dataset id is refused unless ``force``, which replaces it only once
the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the ids)
from training.dataset.behaviour import Behaviour, exact_metadata
from training.results.store import atomic_write

EXTRA = "datasets"
MAX_EPISODES = 1_000_000
STAGING_PREFIX = ".alliance-staging-"
INSTALL_HINT = f"pip install -e '.[{EXTRA}]'"


def require_minari() -> Any:
    """The ``minari`` module with its ``DataCollector`` usable.

    :raises ModuleNotFoundError: as a one-line ``ValueError`` naming the extra
    """
    try:
        import jax  # noqa: F401  (minari[create]: the DataCollector's requirement)
        import minari
    except ImportError as exc:
        raise ValueError(f"alliance dataset needs the optional extra '{EXTRA}' (minari[create], which pulls jax; "
                         f"{exc.name} is missing): {INSTALL_HINT}") from None
    return minari


def datasets_root(out: str | os.PathLike | None = None) -> Path:
    """The folder datasets are written to: ``out``, else ``MINARI_DATASETS_PATH``, else Minari's default
    ``~/.minari/datasets``."""
    if out is not None:
        return Path(out)
    env = os.environ.get("MINARI_DATASETS_PATH")
    return Path(env) if env else Path.home() / ".minari" / "datasets"


def default_dataset_id(behaviour: Behaviour) -> str:
    """``alliance/<scenario>/<policy>-v0``, each part reduced to Minari's characters (letters, digits, ``-``, ``_``)."""
    def slug(text: str) -> str:
        out = "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-")
        while "--" in out:
            out = out.replace("--", "-")
        return out or "x"

    policy = behaviour.name if behaviour.source.get("kind") != "run" else Path(behaviour.name).resolve().name
    return f"alliance/{slug(behaviour.params.name)}/{slug(policy.replace('baseline:', ''))}-v0"


def check_dataset_id(dataset_id: str) -> str:
    """:raises ValueError: not Minari's ``(namespace/)name-vN`` (one line)"""
    from minari.dataset.minari_dataset import DATASET_ID_RE

    match = DATASET_ID_RE.fullmatch(dataset_id)
    if match is None or match.group("version") is None or ".." in dataset_id.split("/"):
        raise ValueError(f"--dataset-id={dataset_id!r} is not allowed: (namespace/)name-vN with letters, digits, "
                         "'-' and '_', e.g. alliance/war/optimal-v0")
    return dataset_id


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """One reset seed per episode, from ``SeedSequence(seed)`` (distinct streams, unlike seed + i)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(episodes, dtype=np.uint32)]


@contextlib.contextmanager
def _minari_path(path: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _collect(behaviour: Behaviour, episodes: int, seed: int, dataset_id: str, metadata: dict[str, Any]) -> None:
    """Step the env with the policy through Minari's DataCollector and create the dataset (under the
    current ``MINARI_DATASETS_PATH``)."""
    from minari import DataCollector

    env = gym.make(behaviour.env_id, max_episode_steps=behaviour.params.horizon, **behaviour.env_kwargs)
    collector = DataCollector(env, record_infos=False)
    try:
        for episode_seed in episode_seeds(seed, episodes):
            obs, _ = collector.reset(seed=episode_seed)
            done = False
            while not done:
                action, _ = behaviour.policy.predict(obs, deterministic=True)
                obs, _, terminated, truncated, _ = collector.step(action)
                done = terminated or truncated
        with warnings.catch_warnings():  # Minari asks for an email, a code link, an eval env: none here
            warnings.filterwarnings("ignore", message=r"`(author|author_email|code_permalink|eval_env)` is set to None")
            dataset = collector.create_dataset(
                dataset_id, algorithm_name=behaviour.name, author="alliance-gym (alliance dataset)",
                description=(f"{episodes} episodes of {behaviour.name} on {behaviour.params.name} (seed {seed}); "
                             f"exact V^pi(s0) {metadata['value']:.6f}, V* {metadata['optimum']:.6f}, "
                             f"share {metadata['share_of_optimum']:.4f}; written by alliance dataset"))
        dataset.storage.update_metadata(metadata)
    finally:
        collector.close()


def write_dataset(behaviour: Behaviour, episodes: int, seed: int = 0, *, dataset_id: str | None = None,
                  out: str | os.PathLike | None = None, force: bool = False) -> tuple[Path, dict[str, Any]]:
    """Write ``episodes`` episodes of the behaviour policy as a Minari dataset; returns its folder and
    the metadata added (the exact values, the seed, the env id and kwargs).

    :raises ValueError: episodes out of range, a malformed or existing dataset id (one line)
    """
    require_minari()
    if isinstance(episodes, bool) or not isinstance(episodes, int) or not 1 <= episodes <= MAX_EPISODES:
        raise ValueError(f"--episodes={episodes!r} is not allowed: an integer in [1, {MAX_EPISODES:,}]")
    dataset_id = check_dataset_id(dataset_id or default_dataset_id(behaviour))
    root = datasets_root(out)
    final = root / dataset_id
    if final.exists() and not force:
        raise ValueError(f"--dataset-id={dataset_id!r} is not allowed: {final} exists; another id, or --force "
                         "to replace it")
    metadata = {**exact_metadata(behaviour), "seed": int(seed), "episodes_generated": int(episodes),
                "env_id": behaviour.env_id, "env_kwargs": json.dumps(behaviour.env_kwargs, sort_keys=True),
                "behaviour_source": json.dumps(behaviour.source, sort_keys=True, default=str)}
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    try:
        with _minari_path(staging):
            _collect(behaviour, episodes, seed, dataset_id, metadata)
        final.parent.mkdir(parents=True, exist_ok=True)
        _copy_namespace_metadata(staging, root, dataset_id)
        old = None
        if final.exists():  # --force: the old one leaves only now that the new one is complete
            old = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root)) / "old"
            os.rename(final, old)
        try:
            os.rename(staging / dataset_id, final)
        except OSError:
            if old is not None:  # put the old one back: the id is never left empty by a failed --force
                os.rename(old, final)
            raise
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final, metadata


def _copy_namespace_metadata(staging: Path, root: Path, dataset_id: str) -> None:
    """Minari keeps a namespace's ``namespace_metadata.json`` in each namespace folder: copy the ones the
    staging root has and the datasets root lacks."""
    parts = dataset_id.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        rel = Path(*parts[:i])
        for src in (staging / rel).glob("namespace_metadata.json"):
            dst = root / rel / src.name
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(dst, lambda f, src=src: f.write(src.read_bytes()))


def load_dataset(dataset_id: str, out: str | os.PathLike | None = None) -> Any:
    """A dataset written by :func:`write_dataset` (``out``: its datasets root), as a ``minari.MinariDataset``;
    ``dataset.recover_environment()`` makes its env (the registered id with the scenario's kwargs)."""
    minari = require_minari()
    with _minari_path(datasets_root(out)):
        return minari.load_dataset(dataset_id)
