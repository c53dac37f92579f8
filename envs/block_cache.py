"""A disk cache of the single env's phase blocks, so that a new process steps at full speed from
its first step (issue 25), as numba's ``cache=True`` spares the vector env its compilation.

The single env fills a state's rows of the tables and its reward terms on the state's first visit
(``envs.info.term_row``, by ``envs.model``): about a millisecond a state, most of a cold process's
first 20,000 steps. Once an env of one parameter set has filled :data:`BUILD_AFTER` states of a
phase, the whole block is built at once (``Tables.ensure``, the same functions of ``envs.model``)
with its reward terms (one ``envs.model.reward_terms`` call over the block), and written here; a
later process that visits that phase loads the block instead of computing it. A parameter set used
for a few steps (a study's sample) writes nothing, and at most :data:`MAX_BLOCKS` blocks are kept
(the least recently used go first).

What is stored is what ``Tables.ensure`` and ``envs.model.reward_terms`` compute, bit for bit, under
a key of everything those numbers depend on: the parameters, the source of ``envs/model.py``,
``envs/utility.py`` (r's last steps), ``envs/tables.py``, ``envs/params.py``, ``envs/spaces.py`` and this module, and numpy's version.
A block is a folder of ``.npy`` files (read with ``allow_pickle=False``: no code runs), written
under a temporary name and renamed (a reader never sees half a block; of two writers one wins).

Where: ``$ALLIANCE_GYM_CACHE``, else ``$XDG_CACHE_HOME/alliance-gym`` or ``~/.cache/alliance-gym``;
``ALLIANCE_GYM_CACHE=off`` turns the cache off (the env then fills state by state and builds no
block). A folder that cannot be written is the same as none.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from envs import model
from envs.params import AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS
from envs.tables import BLOCK, MED_SIZE, MOVE_SIZE, Tables

BUILD_AFTER = 64  # states of one phase filled one by one before the block is built and stored
MAX_BLOCKS = 16  # blocks kept (about 7.6 MB each); the least recently used beyond it are removed
_SOURCES = ("model.py", "utility.py", "tables.py", "params.py", "spaces.py", "info.py", "block_cache.py")


def cache_dir() -> Path | None:
    """The cache folder, or None when ``ALLIANCE_GYM_CACHE=off``."""
    chosen = os.environ.get("ALLIANCE_GYM_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "alliance-gym"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256(np.__version__.encode())
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=64)
def block_key(params: AllianceParams, phase: int) -> str:
    """The file name of one block of one parameter set under this code."""
    h = hashlib.sha256(_code_digest().encode())
    h.update(repr([(f.name, getattr(params, f.name)) for f in fields(params)]).encode())
    return f"block-{h.hexdigest()[:32]}-p{phase}"


def block_terms(tables: Tables, phase: int, keys: tuple[str, ...]) -> np.ndarray:
    """Section 6's terms ``keys`` of every state-action of one block, ``(1080, 96, len(keys))`` (one
    ``envs.model.reward_terms`` call)."""
    block = ALL_STATES[phase * BLOCK:(phase + 1) * BLOCK]
    rt = model.reward_terms(np.repeat(block, N_ACTIONS, axis=0), np.tile(ALL_ACTIONS, (BLOCK, 1)), tables.params)
    return np.stack([rt[k] for k in keys], axis=1).reshape(BLOCK, N_ACTIONS, len(keys))


def _segments(phase: int) -> dict[str, slice]:
    return {"up": slice(phase * MOVE_SIZE, (phase + 1) * MOVE_SIZE),
            "down": slice(phase * MOVE_SIZE, (phase + 1) * MOVE_SIZE),
            "p_med": slice(phase * MED_SIZE, (phase + 1) * MED_SIZE)}


def load_block(tables: Tables, phase: int) -> np.ndarray | None:
    """The block's terms ``(1080, 96, 7)`` if the cache holds it (memory-mapped: only the rows of
    visited states are read), its tables' entries copied in (the block then counts as built); None
    otherwise."""
    folder = cache_dir()
    if folder is None:
        return None
    where = folder / block_key(tables.params, phase)
    try:
        arrays = {k: np.load(where / f"{k}.npy", allow_pickle=False, mmap_mode="r" if k == "terms" else None)
                  for k in ("up", "down", "p_med", "reward", "terms")}
    except (OSError, ValueError):  # absent, unreadable or not ours: computed instead
        return None
    if arrays["terms"].ndim != 3:  # a file of another rank (a 0-d array has no last axis) is not ours
        return None
    expected = {name: getattr(tables, name)[seg].shape for name, seg in _segments(phase).items()}
    expected.update(reward=(BLOCK, N_ACTIONS), terms=(BLOCK, N_ACTIONS, arrays["terms"].shape[-1]))
    if any(arrays[k].shape != shape or arrays[k].dtype != np.float64 for k, shape in expected.items()):
        return None  # a block of another shape or type is not one this code wrote: computed instead
    try:
        os.utime(where)  # recently used: kept by the eviction of build_and_store
    except OSError:
        pass
    if not tables.built[phase]:
        for name, seg in _segments(phase).items():
            getattr(tables, name)[seg] = arrays[name]
        tables.reward_blocks[phase] = arrays["reward"]
        tables.built[phase] = True
    return arrays["terms"]


def build_and_store(tables: Tables, phase: int, keys: tuple[str, ...]) -> np.ndarray:
    """Build the whole block (``Tables.ensure``) and its terms, write them to the cache (if it can
    be written: a folder of ``.npy`` files, written under a temporary name and renamed) and return
    the terms ``(1080, 96, 7)``."""
    tables.ensure([phase])
    terms = block_terms(tables, phase, keys)
    folder = cache_dir()
    if folder is not None:
        arrays = {name: getattr(tables, name)[seg] for name, seg in _segments(phase).items()}
        arrays.update(reward=tables.reward_blocks[phase], terms=terms)
        temporary = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temporary = Path(tempfile.mkdtemp(dir=folder, suffix=".tmp"))
            for name, values in arrays.items():
                np.save(temporary / f"{name}.npy", values, allow_pickle=False)
            os.rename(temporary, folder / block_key(tables.params, phase))
        except OSError:  # a cache that cannot be written is no cache; another writer may have won
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
        evict(folder)
    return terms


def evict(folder: Path, keep: int = MAX_BLOCKS) -> None:
    """Remove the least recently used blocks beyond ``keep`` (a reader that loses one computes it)."""
    try:
        blocks = sorted((p for p in folder.iterdir() if p.name.startswith("block-") and p.is_dir()),
                        key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in blocks[keep:]:
        shutil.rmtree(old, ignore_errors=True)
