"""r(s, a) of many contexts from the few numbers it is made of, for the contextual vector env (issue 30).

A context's r(s, a) over a block is 1,080 x 96 numbers (0.41 MB kept as 48 columns): 256 contexts' tables
(106 MB) missed every cache. Section 6 builds r from terms that each read a few of the state's and
action's variables (:data:`REWARD_READS`); this module keeps those terms per context, about a KB, and the
step puts r together from them with :mod:`envs.utility`'s last steps of r (``security_of``,
``ces_part``, ``ces_of``, ``reward_sum``) compiled by numba from their one source: the very operations
``envs.model.reward_terms`` runs on arrays, so the same numbers bit for bit (tests/envs/
test_context_rewards.py checks every (s, a) of sampled contexts, war and calendar).

The terms are ``envs.model.reward_terms``'s own, read off a grid of states and actions where the
variables a term does not read are 0 (no second copy of a formula): per (context, phase) built,
``factors`` holds (shield, w_e sqrt(economy)) of each (R, W, X) (90 numbers, 0.7 KB); per context,
``ctx_terms`` holds a part of two cache lines per m (the weights, trap over T, troop and basing costs,
the identity bonus over k, the diplomacy cost over d: 0.5 KB); autonomy over (A, m, k, g) (144 numbers)
is stored once for the contexts whose rows are equal bit for bit (all of them: it reads no parameter).
256 contexts of ``war`` take 0.3 MB. The step gathers each env's numbers (:func:`rewards_into`) and puts
them together in a second loop that the compiler runs several envs at a time (``envs.context_tables``'
docstring has the timings).
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
N_M, N_K = int(ACTION_NVEC[0]), int(ACTION_NVEC[1])
# a ctx_terms row: a part per m of two cache lines, all an env reads of its context but its autonomy:
# w_s, w_a, troop cost, basing cost, trap over T, identity bonus over k, diplomacy cost over d, 0, 0
PART, W_S, W_A, TROOP, BASING, TRAP, BONUS, DIPLOMACY = 16, 0, 1, 2, 3, 4, 4 + N_T, 4 + N_T + N_K
WIDTH = N_M * PART  # 64 numbers
_LOCAL = np.arange(N_T * STRIDE_T)
STATE_KEYS = np.stack([_LOCAL % STRIDE_A * 2, _LOCAL // STRIDE_T, TRAP + _LOCAL // STRIDE_T,
                       _LOCAL // STRIDE_A % N_A * N_MKG], axis=1).astype(np.uint64)
"""(1080, 4) for each state of a block: its (shield, economy part)'s offset in a slot of ``factors``, T, its
trap's offset in a part of a ``ctx_terms`` row and its autonomy's in an ``autonomy`` row at (m, k, g) = 0.
Unsigned, as every key: the compiled look-ups skip the checks for negative indices."""
_M, _K, _D = ALL_ACTIONS[:, 0], ALL_ACTIONS[:, 1], ALL_ACTIONS[:, 3]
ACTION_KEYS = np.stack([_M * PART, np.arange(len(ALL_ACTIONS)) // N_D, _M * PART + BONUS + _K, _M * PART + TROOP,
                        _M * PART + BASING, _M * PART + DIPLOMACY + _D], axis=1).astype(np.uint64)
"""(96, 6): each action's offsets: of its part of a row (m's), its autonomy's from its state's, its four costs."""
_1 = np.uint64(1)  # (unsigned stays unsigned: uint64 + int64 is a float)
_BLOCK = np.uint64(N_T * STRIDE_T)
_WIDTH = np.uint64(WIDTH)


def context_terms(p: AllianceParams) -> tuple[np.ndarray, np.ndarray]:
    """A context's ``ctx_terms`` row (:data:`WIDTH`) and its autonomy over (A, m, k, g) (144), from
    ``envs.model.reward_terms`` on every (T, A) and action at phase 0 and R = W = X = 0 (the terms
    kept do not read those; :data:`REWARD_READS`)."""
    grid = np.zeros((N_T, N_A, 6), dtype=np.int64)
    grid[:, :, 1], grid[:, :, 2] = np.arange(N_T)[:, None], np.arange(N_A)
    states = np.repeat(grid.reshape(-1, 6), len(ALL_ACTIONS), axis=0)  # (T, A, action)
    terms = {k: v.reshape(N_T, N_A, *ACTION_NVEC)  # T, A, m, k, g, d
             for k, v in model.reward_terms(states, np.tile(ALL_ACTIONS, (N_T * N_A, 1)), p).items()}
    row = np.zeros((N_M, PART))
    row[:, W_S], row[:, W_A] = p.weights[0], p.weights[1]
    row[:, TROOP], row[:, BASING] = terms["troop_cost"][0, 0, :, 0, 0, 0], terms["basing_cost"][0, 0, :, 0, 0, 0]
    row[:, TRAP:TRAP + N_T] = terms["trap"][:, 0, :, 0, 0, 0].T  # (m, T)
    row[:, BONUS:BONUS + N_K] = terms["identity_bonus"][0, 0, :, :, 0, 0]  # (m, k)
    row[:, DIPLOMACY:DIPLOMACY + N_D] = terms["diplomacy_cost"][0, 0, :, 0, 0, :]  # (m, d)
    return row.ravel(), terms["autonomy"][0, :, :, :, :, 0].ravel()  # (A, m, k, g)


def slot_factors(p: AllianceParams, phase: int) -> np.ndarray:
    """(shield, w_e sqrt(economy)) of each (R, W, X) in ``phase`` (a state's (R, W, X) is its index mod 45), (90,)."""
    states = np.zeros((STRIDE_A, 6), dtype=np.int64)
    states[:, 0] = phase
    states[:, 3:] = np.stack(np.unravel_index(np.arange(STRIDE_A), tuple(STATE_LEVELS[3:])), axis=1)
    terms = model.reward_terms(states, np.zeros((STRIDE_A, 4), dtype=np.int64), p)
    return np.stack([terms["shield"], utility.ces_part(p.weights[2], terms["economy"])], axis=1).ravel()


_security_of = numba.njit(cache=True, inline="always")(utility.security_of)
_ces_part = numba.njit(cache=True, inline="always")(utility.ces_part)
_ces_of = numba.njit(cache=True, inline="always")(utility.ces_of)
_reward_sum = numba.njit(cache=True, inline="always")(utility.reward_sum)


N_INPUTS = 11  # the numbers a state-action's r is put together from, a row of the scratch each
CHUNK = 256  # envs put together at once: their numbers (22 KB) stay in the L1 cache between the loops


@numba.njit(cache=True, inline="always")
def rewards_into(lo, hi, index, action, ctx, n_phases, bases, factors, ctx_terms, autonomy, autonomy_of, scratch,
                 rew):
    """r(s, a) of envs ``lo`` to ``hi`` (at most :data:`CHUNK`) before their step, into ``rew``: (shield,
    economy part) at ``factors[bases[c * n_phases + phase, 1] + STATE_KEYS[local, 0]]``, the other terms in
    the context's ``ctx_terms`` row and ``autonomy`` row ``autonomy_of[c]``, gathered into ``scratch``
    (:data:`N_INPUTS`, CHUNK), then put together by ``envs.utility``'s last steps in a second loop, which
    the compiler runs several envs at a time (their division and square roots one after another in the
    step's loop took 50 us at N = 4,096)."""
    for j in range(hi - lo):
        i = lo + j
        s, c = np.uint64(index[i]), np.uint64(ctx[i])
        state_key, action_key = STATE_KEYS[s % _BLOCK], ACTION_KEYS[action[i]]
        at = np.uint64(bases[c * np.uint64(n_phases) + s // _BLOCK, 1]) + state_key[0]
        row = c * _WIDTH
        part = row + action_key[0]
        scratch[0, j] = np.float64(state_key[1])
        scratch[1, j] = factors[at]
        scratch[2, j] = ctx_terms[part + state_key[2]]
        scratch[3, j] = ctx_terms[part]
        scratch[4, j] = ctx_terms[part + _1]
        scratch[5, j] = autonomy[np.uint64(autonomy_of[c]) + state_key[3] + action_key[1]]
        scratch[6, j] = factors[at + _1]
        for q in range(4):
            scratch[7 + q, j] = ctx_terms[row + action_key[2 + q]]
    for j in range(hi - lo):
        security = _security_of(scratch[0, j], scratch[1, j], scratch[2, j])
        ces = _ces_of(_ces_part(scratch[3, j], security), _ces_part(scratch[4, j], scratch[5, j]), scratch[6, j])
        rew[lo + j] = _reward_sum(ces, scratch[7, j], scratch[8, j], scratch[9, j], scratch[10, j])


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)
