"""The disk cache of the single env's phase blocks (envs/block_cache.py): a block is stored once an
env has filled enough of its states, a new process loads it, and what it loads is bit for bit what
``Tables.ensure`` and ``envs.model.reward_terms`` compute."""

from __future__ import annotations

import numpy as np
import pytest

from envs import block_cache, info, model
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS
from envs.tables import BLOCK, MED_SIZE, MOVE_SIZE, Tables

PHASE = 4  # war


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLIANCE_GYM_CACHE", str(tmp_path))
    return tmp_path


def _visit(tables, n):
    """term_row on the first ``n`` states of the block, as an env's first visits would."""
    return {s: info.term_row(tables, s) for s in range(PHASE * BLOCK, PHASE * BLOCK + n)}


def test_a_block_is_stored_after_enough_visits_and_loaded_exactly(cache):
    params = make_params("war", {"power": 0.4321})
    first = Tables(params)
    _visit(first, block_cache.BUILD_AFTER)
    assert list(cache.iterdir()) == []  # a set used for a few states writes nothing
    _visit(first, block_cache.BUILD_AFTER + 1)
    assert [p.name for p in cache.iterdir()] == [block_cache.block_key(params, PHASE)]

    loaded, built = Tables(params), Tables(params).ensure([PHASE])
    rows = _visit(loaded, 200)  # loads the block on the first visit
    assert loaded.built[PHASE]
    seg = slice(PHASE * MOVE_SIZE, (PHASE + 1) * MOVE_SIZE)
    assert np.array_equal(loaded.up[seg], built.up[seg]) and np.array_equal(loaded.down[seg], built.down[seg])
    med = slice(PHASE * MED_SIZE, (PHASE + 1) * MED_SIZE)
    assert np.array_equal(loaded.p_med[med], built.p_med[med])
    assert np.array_equal(loaded.reward_blocks[PHASE], built.reward_blocks[PHASE])
    for s in (PHASE * BLOCK, PHASE * BLOCK + 123, PHASE * BLOCK + 199):
        terms = model.reward_terms(np.repeat(ALL_STATES[[s]], N_ACTIONS, axis=0), ALL_ACTIONS, params)
        assert rows[s].tolist() == np.stack([terms[k] for k in info.TERM_KEYS], axis=1).ravel().tolist()


def test_the_cache_off_or_broken_means_state_by_state(cache, monkeypatch):
    params = make_params("war", {"power": 0.1234})
    folder = cache / block_cache.block_key(params, PHASE)
    folder.mkdir()
    (folder / "terms.npy").write_bytes(b"not an array")  # a broken block is computed instead
    tables = Tables(params)
    rows = _visit(tables, 3)
    terms = model.reward_terms(np.repeat(ALL_STATES[[PHASE * BLOCK]], N_ACTIONS, axis=0), ALL_ACTIONS, params)
    assert rows[PHASE * BLOCK].tolist() == np.stack([terms[k] for k in info.TERM_KEYS], axis=1).ravel().tolist()
    monkeypatch.setenv("ALLIANCE_GYM_CACHE", "off")
    assert block_cache.cache_dir() is None
    other = Tables(make_params("war", {"power": 0.2468}))
    _visit(other, block_cache.BUILD_AFTER + 5)
    assert not other.built[PHASE] and sorted(p.name for p in cache.iterdir()) == [folder.name]  # no block


def test_the_key_follows_the_parameters():
    a, b = make_params("war", {"power": 0.3}), make_params("war", {"power": 0.31})
    assert block_cache.block_key(a, 4) != block_cache.block_key(b, 4) != block_cache.block_key(b, 3)
    assert block_cache.block_key(a, 4) == block_cache.block_key(make_params("war", {"power": 0.3}), 4)


def test_the_least_recently_used_blocks_beyond_the_limit_are_removed(cache):
    import os

    for i in range(5):
        folder = cache / f"block-{i:032d}-p4"
        folder.mkdir()
        os.utime(folder, (1000 + i, 1000 + i))  # block 4 the most recently used
    (cache / "not-a-block").mkdir()
    block_cache.evict(cache, keep=2)
    assert sorted(p.name for p in cache.iterdir()) == [f"block-{3:032d}-p4", f"block-{4:032d}-p4", "not-a-block"]


@pytest.mark.parametrize("name, junk", [("up", np.zeros(7)), ("terms", np.float64(1.0)), ("terms", np.zeros((3, 4)))],
                         ids=["up-1d", "terms-0d", "terms-2d"])
def test_a_block_of_the_wrong_shape_is_computed_instead(cache, name, junk):
    params = make_params("war", {"power": 0.3579})
    first = Tables(params)
    _visit(first, block_cache.BUILD_AFTER + 1)  # stores the block
    folder = cache / block_cache.block_key(params, PHASE)
    np.save(folder / f"{name}.npy", junk)  # a file this code did not write
    tables = Tables(params)
    rows = _visit(tables, 2)
    assert not tables.built[PHASE]  # not loaded: the state's rows computed one by one
    terms = model.reward_terms(np.repeat(ALL_STATES[[PHASE * BLOCK]], N_ACTIONS, axis=0), ALL_ACTIONS, params)
    assert rows[PHASE * BLOCK].tolist() == np.stack([terms[k] for k in info.TERM_KEYS], axis=1).ravel().tolist()
