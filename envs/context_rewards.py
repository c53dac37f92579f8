"""r(s, a) of many contexts from the few numbers it is made of, for the contextual vector env (issue 30).

A context's r(s, a) over a block is 1,080 x 96 numbers (0.41 MB kept as 48 columns): 256 contexts' rows
(106 MB) missed every cache and took a third of the vector env's step. Section 6 builds r from terms
that each read a few of the state's and action's variables (:data:`REWARD_READS`); this module keeps
those terms per context, a few KB, and the step puts r together from them with
:mod:`envs.utility`'s last steps of r (``security_of``, ``ces_part``, ``ces_of``, ``reward_sum``) compiled by numba from their one
source, the very operations ``envs.model.reward_terms`` runs on arrays: the same numbers, bit for bit
(tests/envs/test_context_rewards.py checks every (s, a) of sampled contexts, war and calendar).

The terms are ``envs.model.reward_terms``'s own, read off a grid of states and actions where the
variables a term does not read are 0 (no second copy of a formula): per (context, phase) built,
``factors`` holds (shield, economy) of each (R, W, X) (90 numbers); per context, ``ctx_terms`` holds
its weights, trap over (m, T), autonomy over (A, m, k, g) and the identity bonus, troop, basing and
diplomacy costs over (m, k, d) (:data:`WIDTH` numbers, 2.4 KB). 256 contexts of ``war`` take 0.65 MB:
they stay in the 2 MB L2 cache where the step reads them.
"""

from __future__ import annotations

import numba
import numpy as np

from envs import model, utility
from envs.jit_cache import freshen
from envs.params import AllianceParams
from envs.spaces import ACTION_NVEC, ALL_ACTIONS, STATE_LEVELS

REWARD_READS = {  # besides the context's parameters (section 6); kappa reads the phase
    "shield": ("phase", "R", "W", "X"), "economy": ("phase", "R", "W", "X"), "trap": ("T", "m"),
    "autonomy": ("A", "m", "k", "g"), "identity_bonus": ("m", "k"), "troop_cost": ("m",), "basing_cost": ("m",),
    "diplomacy_cost": ("d",)}
N_T, N_A = int(STATE_LEVELS[1]), int(STATE_LEVELS[2])
STRIDE_A = int(np.prod(STATE_LEVELS[3:]))  # flat-index step of A in a block (45: the (R, W, X) of a state)
STRIDE_T = N_A * STRIDE_A  # of T (270)
N_MKG = int(np.prod(ACTION_NVEC[:3]))  # (m, k, g): a // 4 of a flat action (d is its fastest digit)
N_D = int(ACTION_NVEC[3])
COST_PARTS = tuple(model.REWARD_PARTS)[1:]  # identity_bonus, troop_cost, basing_cost, diplomacy_cost
N_COST = len(COST_PARTS)
TRAP = 4  # ctx_terms row: weights (3, and a 0), trap (m, T), autonomy (A, m, k, g), costs ((m, k, d), 4)
AUTONOMY = TRAP + int(ACTION_NVEC[0]) * N_T
COSTS = AUTONOMY + N_A * N_MKG
WIDTH = COSTS + int(np.prod(ACTION_NVEC[[0, 1, 3]])) * N_COST + 4  # 296: rows of whole 64-byte lines
_LOCAL = np.arange(N_T * STRIDE_T)
STATE_KEYS = np.stack([_LOCAL % STRIDE_A * 2, _LOCAL // STRIDE_T, TRAP + _LOCAL // STRIDE_T,
                       AUTONOMY + _LOCAL // STRIDE_A % N_A * N_MKG], axis=1).astype(np.uint64)
"""(1080, 4) for each state of a block: its (shield, economy)'s offset in a slot of ``factors``, T, and its
offsets in a ``ctx_terms`` row: trap at (m = 0, T), autonomy at (A, 0). Unsigned, as the other keys: the
compiled look-ups skip the checks for negative indices (a third of the instructions of :func:`reward_at`)."""
ACTION_KEYS = np.stack([ALL_ACTIONS[:, 0] * N_T, np.arange(len(ALL_ACTIONS)) // N_D,
                        COSTS + ((ALL_ACTIONS[:, 0] * ACTION_NVEC[1] + ALL_ACTIONS[:, 1]) * N_D
                                 + ALL_ACTIONS[:, 3]) * N_COST], axis=1).astype(np.uint64)
"""(96, 3): each action's offsets from its state's trap and autonomy, and of its costs in a ``ctx_terms`` row."""
_1, _2, _3 = np.uint64(1), np.uint64(2), np.uint64(3)  # (unsigned stays unsigned: uint64 + int64 is a float)


def context_terms(p: AllianceParams) -> np.ndarray:
    """A context's ``ctx_terms`` row (:data:`WIDTH`), from ``envs.model.reward_terms`` on every (T, A) and
    action at phase 0 and R = W = X = 0 (the terms it keeps do not read those)."""
    grid = np.zeros((N_T, N_A, 6), dtype=np.int64)
    grid[:, :, 1], grid[:, :, 2] = np.arange(N_T)[:, None], np.arange(N_A)
    states = np.repeat(grid.reshape(-1, 6), len(ALL_ACTIONS), axis=0)  # (T, A, action)
    terms = model.reward_terms(states, np.tile(ALL_ACTIONS, (N_T * N_A, 1)), p)
    shape = (N_T, N_A, *ACTION_NVEC)  # T, A, m, k, g, d
    row = np.zeros(WIDTH)
    row[0] = p.weights[0]
    row[TRAP:AUTONOMY] = terms["trap"].reshape(shape)[:, 0, :, 0, 0, 0].T.ravel()  # (m, T)
    part = utility.ces_part(p.weights[1], terms["autonomy"])  # w_a sqrt(autonomy)
    row[AUTONOMY:COSTS] = part.reshape(shape)[0, :, :, :, :, 0].ravel()  # (A, m, k, g)
    costs = np.stack([terms[name].reshape(shape)[0, 0, :, :, 0, :] for name in COST_PARTS], axis=-1)
    row[COSTS:COSTS + costs.size] = costs.ravel()  # ((m, k, d), part)
    return row


def slot_factors(p: AllianceParams, phase: int) -> np.ndarray:
    """(shield, economy) of each (R, W, X) in ``phase`` (a state's (R, W, X) is its index mod 45), (90,)."""
    states = np.zeros((STRIDE_A, 6), dtype=np.int64)
    states[:, 0] = phase
    states[:, 3:] = np.stack(np.unravel_index(np.arange(STRIDE_A), tuple(STATE_LEVELS[3:])), axis=1)
    terms = model.reward_terms(states, np.zeros((STRIDE_A, 4), dtype=np.int64), p)
    return np.stack([terms["shield"], utility.ces_part(p.weights[2], terms["economy"])], axis=1).ravel()


_security_of = numba.njit(cache=True, inline="always")(utility.security_of)
_ces_part = numba.njit(cache=True, inline="always")(utility.ces_part)
_ces_of = numba.njit(cache=True, inline="always")(utility.ces_of)
_reward_sum = numba.njit(cache=True, inline="always")(utility.reward_sum)


@numba.njit(cache=True, inline="always")
def reward_at(state_key, action_key, slot, row, factors, ctx_terms):
    """r(s, a) from ``STATE_KEYS[s's place in its block]``, ``ACTION_KEYS[a]``, the slot's start in
    ``factors`` and the context's row's in ``ctx_terms`` (uint64 all): its (shield, economy) at ``factors[
    slot + state_key[0]]``, the other terms in the row; put together by ``envs.model``'s own last steps."""
    at = slot + state_key[0]
    trap = ctx_terms[row + state_key[2] + action_key[0]]
    security = _security_of(np.float64(state_key[1]), factors[at], trap)
    ces = _ces_of(_ces_part(ctx_terms[row], security), ctx_terms[row + state_key[3] + action_key[1]], factors[at + _1])
    k = row + action_key[2]
    return _reward_sum(ces, ctx_terms[k], ctx_terms[k + _1], ctx_terms[k + _2], ctx_terms[k + _3])


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)
