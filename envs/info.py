"""The flat ``info`` of the single env: every value a scalar, so that every client can batch it
(TorchRL's ``GymEnv`` turns each key into a tensor; a nested dict breaks it).

Keys after ``step`` (all Python scalars):

- the state reached, one key per variable: ``state_phase``, ``state_threat``, ``state_autonomy``,
  ``state_trust``, ``state_west``, ``state_fararc`` (``int``; prefixed so that ``autonomy`` stays
  the reward term);
- ``t`` (``int``), the steps done in the episode;
- the step's events (docs/model.md section 5): ``mediated``, ``phase_changed``, ``west_reset``
  (``bool``), ``threat_floor`` (``int``, 2 on entering phase 1 or 2, else 0);
- the reward terms of r(s, a) (section 6): ``security``, ``autonomy``, ``economy``,
  ``identity_bonus``, ``troop_cost``, ``basing_cost``, ``diplomacy_cost`` (``float``).

After ``reset``: the same keys, so that a client batching infos sees one structure (Minari's
``DataCollector(record_infos=True)`` refuses a step whose info differs from reset's): the start
state and ``t``, the events as "nothing happened" (``False``, ``threat_floor`` 0) and the reward
terms ``NaN`` (no action has been taken, so no term exists yet).

The reward terms of a state's 96 actions are computed by :func:`envs.model.reward_terms` on the
state's first visit and kept on the shared tables (:func:`term_row`, which also fills the state's
rows of the tables: ``Tables.fill_state``), so a step only zips keys with values it already has.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from envs import block_cache
from envs.spaces import ALL_STATES, N_ACTIONS, STATE_VARS
from envs.tables import BLOCK, Tables

STATE_KEYS = tuple(f"state_{v}" for v in STATE_VARS)
EVENT_KEYS = ("mediated", "phase_changed", "threat_floor", "west_reset")
TERM_KEYS = ("security", "autonomy", "economy", "identity_bonus", "troop_cost", "basing_cost", "diplomacy_cost")
# the order in which SmallStateAllianceEnv.step lists the values
STEP_KEYS = (*STATE_KEYS, "t", "mediated", "phase_changed", "threat_floor", "west_reset", *TERM_KEYS)


N_TERMS = len(TERM_KEYS)
_MISSING = object()
# per tables: each phase's terms, flat (1080 * 96 * 7), once its block is built or loaded (None: not
# in the disk cache), and how many of its states were filled one by one
_BLOCKS: weakref.WeakKeyDictionary[Tables, dict[int, Any]] = weakref.WeakKeyDictionary()
_FILLED: weakref.WeakKeyDictionary[Tables, dict[int, int]] = weakref.WeakKeyDictionary()
_ROW = N_ACTIONS * N_TERMS  # numbers of one state's terms


def _flat(terms: np.ndarray | None) -> memoryview | None:
    return None if terms is None else memoryview(np.ascontiguousarray(terms).reshape(-1))


def term_row(tables: Tables, s: int) -> memoryview:
    """Section 6's terms of flat state ``s`` under each of the 96 actions, ``(96, 7)`` float64 in the
    order of :data:`TERM_KEYS`, flat (action ``a``'s at ``[a * 7:(a + 1) * 7]``; a step iterates that
    slice as Python floats, no list of the 672 numbers is made), computed by
    :func:`envs.model.reward_terms` on first use and kept on the (shared) tables: an env computes
    them only for the states it visits. On that first use the state's rows of the tables are filled
    too (``Tables.fill_state``), so a state with terms in ``tables.info_terms`` has its moves,
    Pr(M = 1) and rewards in the tables.

    A phase whose block is in the disk cache (``envs.block_cache``) is loaded whole on its first
    visit (its terms memory-mapped: the row is a view of them); a phase of which
    :data:`envs.block_cache.BUILD_AFTER` states were filled one by one is built whole and stored
    there (with the cache off, states stay filled one by one). The numbers are the same either way."""
    cache = tables.info_terms
    row = cache.get(s)
    if row is None:
        phase = s // BLOCK
        blocks = _BLOCKS.setdefault(tables, {})
        terms = blocks.get(phase, _MISSING)
        if terms is _MISSING:
            terms = blocks[phase] = _flat(block_cache.load_block(tables, phase))
        if terms is None:
            filled = _FILLED.setdefault(tables, {})
            filled[phase] = filled.get(phase, 0) + 1
            if filled[phase] > block_cache.BUILD_AFTER and block_cache.cache_dir() is not None:
                terms = blocks[phase] = _flat(block_cache.build_and_store(tables, phase, TERM_KEYS))
        if terms is not None:
            local = (s - phase * BLOCK) * _ROW
            row = cache[s] = terms[local:local + _ROW]
        else:
            rt = tables.fill_state(s)
            row = cache[s] = _flat(np.stack([rt[k] for k in TERM_KEYS], axis=1))
    return row


def action_terms(tables: Tables, s: int, a: int) -> list[float]:
    """The seven reward terms of action ``a`` in flat state ``s`` (:func:`term_row`)."""
    return term_row(tables, s)[a * N_TERMS:(a + 1) * N_TERMS].tolist()


NO_EVENTS = (False, False, 0, False)  # mediated, phase_changed, threat_floor, west_reset: nothing happened
NO_TERMS = (float("nan"),) * len(TERM_KEYS)  # no action taken yet: no reward term


def reset_info(state: tuple[int, ...], t: int) -> dict:
    """The info of ``reset``: :data:`STEP_KEYS`, the state and ``t`` with no event and NaN terms."""
    return dict(zip(STEP_KEYS, (*state, t, *NO_EVENTS, *NO_TERMS)))


STATE_TUPLES = [tuple(s) for s in ALL_STATES.tolist()]  # flat index -> state tuple
# info of a step: the next state's entries (one dict per state, made on its first visit) merged
# with the step's own, in the order of STEP_KEYS
_STATE_INFO: dict[int, dict[str, int]] = {}
_K_T, _K_MEDIATED, _K_CHANGED, _K_FLOOR, _K_WEST = STEP_KEYS[len(STATE_KEYS):len(STATE_KEYS) + 5]


def _state_info(s: int) -> dict[str, int]:
    info = _STATE_INFO[s] = dict(zip(STATE_KEYS, STATE_TUPLES[s]))
    return info


def step_info(nxt: int, t: int, mediated: bool, changed: bool, floor: int, west_reset: bool, terms: list) -> dict:
    """The info of a step (:data:`STEP_KEYS`): the state reached (flat ``nxt``), ``t``, the events and
    the reward terms ``terms`` of the action taken (a row of :func:`term_row`)."""
    return {**(_STATE_INFO.get(nxt) or _state_info(nxt)), _K_T: t, _K_MEDIATED: mediated, _K_CHANGED: changed,
            _K_FLOOR: floor, _K_WEST: west_reset, **dict(zip(TERM_KEYS, terms))}


def state_dict(info: dict) -> dict[str, int]:
    """The state of a flat ``info`` as a dict of the six variables (the keys of ``reset(options=...)``)."""
    return {v: info[k] for v, k in zip(STATE_VARS, STATE_KEYS)}
