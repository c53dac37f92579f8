"""The exact solver's inner loops compiled by numba (``cache=True``: a new process loads them from the
cache beside this file instead of compiling): the stencil's stages, Q from the stencil's action
classes, the greedy step, a policy's moves and its sparse kernel.

Each loop does the arithmetic of the NumPy expression it replaces, term for term and in the same
order (no ``fastmath``: nothing is reassociated or fused), so its numbers are bitwise those of the
NumPy code (``tests/agents/test_compiled.py`` checks each against it). Why compiled: the stencil
is about 2 M multiply-adds a block, but in NumPy each stage was several passes over broadcast
temporaries (``np.diff``, a copy, two products), and a policy's moves and kernel were a dozen passes
over (1080, 243) arrays; a loop does each in one pass over data that stays in the cache. The loops
of evaluations of given policies are in :mod:`agents.compiled_eval`.
"""

from __future__ import annotations

import numba
import numpy as np

from agents.compiled_eval import gmres, mixture, push, push_csr  # noqa: F401  (their former home)
from envs.jit_cache import freshen


@numba.njit(cache=True)
def stage(g, parent, up, down, key, above, below, out):  # noqa: PLR0913
    """One variable's 3-tap stencil (``agents.bellman._stage``) on the action classes of a stage:
    ``out[k, c, l] = (g[k, p, l] + up (g[k, p, above[l]] - g[k, p, l])) - down (g[k, p, l] -
    g[k, p, below[l]])`` with ``p = parent[c]``; ``above[l]``/``below[l]`` the local state one level
    up/down along the variable, or ``l`` itself at the top/bottom, where the term is then
    ``up * 0``: ``_stage`` leaves it out, and adding 0 changes no bit. ``up``/``down`` (K or 1,
    C, P) compact, read at ``key[l]``. The index arrays are unsigned (``BlockColumns`` makes them
    so): no test for negative indices in the loop (a third of its time)."""
    n_k, n_c, n_l = out.shape
    one = up.shape[0] == 1  # one set of probabilities for every row of g (the game's columns)
    for k in range(n_k):
        ku = 0 if one else k
        for c in range(n_c):
            gp = g[k, parent[c]]
            uc = up[ku, c]
            dc = down[ku, c]
            oc = out[k, c]
            for l in range(n_l):
                v = gp[l]
                j = key[l]
                oc[l] = (v + uc[j] * (gp[above[l]] - v)) - dc[j] * (v - gp[below[l]])


@numba.njit(cache=True)
def expect(out, final, med_of, p_med, med_key):
    """E[V(s')] (K, 1080, 96) from the stencil's last stage ``out`` (K, classes, 1080): column ``a``
    is class ``final[a]``; an action that can mediate (``med_of[a] >= 0``) mixes in its M = 1
    column ``final[96 + med_of[a]]``: ``e + Pr(M = 1) (e1 - e)`` (``BlockColumns.expect``), Pr(M = 1)
    compact (K, P, 96), state ``l``'s row ``med_key[l]`` (the tables' layout: it reads R alone)."""
    n_k, _, n_l = out.shape
    n_a = med_of.shape[0]
    e = np.empty((n_k, n_l, n_a))
    for k in range(n_k):
        for l in range(n_l):
            for a in range(n_a):
                x = out[k, final[a], l]
                j = med_of[a]
                if j >= 0:
                    x = x + p_med[k, med_key[l], a] * (out[k, final[n_a + j], l] - x)
                e[k, l, a] = x
    return e


@numba.njit(cache=True)
def q_values(out, final, med_of, p_med, med_key, reward, gamma):
    """Q = r + gamma E[V(s')] (K, 1080, 96): :func:`expect`'s E, ``reward`` (K, 1080, 96), ``gamma`` (K,)."""
    q = np.empty(reward.shape)
    best = np.empty(reward.shape[:2])
    arg = np.empty(reward.shape[:2], np.int64)
    q_greedy(out, final, med_of, p_med, med_key, reward, gamma, 0.0, q, best, arg)
    return q


@numba.njit(cache=True)
def _q_row(ok, final, med_of, pm, rw, g, l, q):  # noqa: PLR0913
    """Q of one state ``l`` on every action into ``q`` (96,): ``r + g E``, E the action's class in
    the stencil's last stage ``ok`` (classes, 1080), mixed with its M = 1 class as :func:`expect`
    does (``pm``: the state's Pr(M = 1) row, ``rw``: its rewards)."""
    n_a = med_of.shape[0]
    for a in range(n_a):
        x = ok[final[a], l]
        j = med_of[a]
        if j >= 0:
            x = x + pm[a] * (ok[final[n_a + j], l] - x)
        q[a] = rw[a] + g * x


@numba.njit(cache=True)
def _greedy_row(q, tie):
    """The maximum of ``q`` (96,) and the lowest index within ``tie`` of it."""
    m = q[0]
    for a in range(1, q.shape[0]):
        if q[a] > m:
            m = q[a]
    lim = m - tie
    for a in range(q.shape[0]):
        if q[a] >= lim:
            return m, a
    return m, 0


@numba.njit(cache=True)
def q_greedy(out, final, med_of, p_med, med_key, reward, gamma, tie, q, best, arg):  # noqa: PLR0913
    """:func:`q_values` into ``q`` and, per state, :func:`greedy`'s maximum and lowest action within
    ``tie`` of it into ``best``/``arg``, a state at a time (its row of Q reduced while in the cache;
    its rewards and Q contiguous)."""
    n_k, _, n_l = out.shape
    for k in range(n_k):
        for l in range(n_l):
            _q_row(out[k], final, med_of, p_med[k, med_key[l]], reward[k, l], gamma[k], l, q[k, l])
            best[k, l], arg[k, l] = _greedy_row(q[k, l], tie)


@numba.njit(cache=True)
def q_near(out, final, med_of, p_med, med_key, reward, gamma, tie, near_tol, best, arg, near):  # noqa: PLR0913
    """:func:`q_greedy` without keeping Q: per state its maximum and lowest action within ``tie``
    into ``best``/``arg``, and ``near[k, l, a] = Q >= max - near_tol`` (``near`` may be a strided
    view); Q is made a state at a time in a small buffer, by the same operations."""
    n_k, _, n_l = out.shape
    q = np.empty(med_of.shape[0])
    for k in range(n_k):
        for l in range(n_l):
            _q_row(out[k], final, med_of, p_med[k, med_key[l]], reward[k, l], gamma[k], l, q)
            m, best_a = _greedy_row(q, tie)
            best[k, l] = m
            arg[k, l] = best_a
            lim = m - near_tol
            nk = near[k, l]
            for a in range(q.shape[0]):
                nk[a] = q[a] >= lim


@numba.njit(cache=True)
def q_policy(out, final, med_of, p_med, med_key, reward, sets, gamma, tie, pol, best, arg, keep, v, near_tol, near):  # noqa: PLR0913
    """One step of policy iteration without keeping Q: for row ``kk`` of ``out`` (set ``k =
    sets[kk]`` of ``p_med``, ``reward`` and ``pol``), per state the maximum of Q (:func:`q_greedy`'s
    Q, the same operations) into ``best``, the lowest action within ``tie`` of it into ``arg``, and
    ``keep = Q[pol] >= max - tie`` (the policy is greedy there); if ``near`` has rows, also ``near[kk,
    l, a] = Q >= v[kk, l] - near_tol``. Q is made a state at a time in a small buffer."""
    n_k, _, n_l = out.shape
    q = np.empty(med_of.shape[0])
    want = near.shape[0] > 0
    for kk in range(n_k):
        k = sets[kk]
        for l in range(n_l):
            _q_row(out[kk], final, med_of, p_med[k, med_key[l]], reward[k, l], gamma[kk], l, q)
            m, best_a = _greedy_row(q, tie)
            best[kk, l] = m
            arg[kk, l] = best_a
            keep[kk, l] = q[pol[k, l]] >= m - tie
            if want:
                lim = v[kk, l] - near_tol
                nk = near[kk, l]
                for a in range(q.shape[0]):
                    nk[a] = q[a] >= lim


@numba.njit(cache=True)
def greedy(q, tie):
    """Per row of ``q`` (K, 1080, 96): the maximum and the lowest column within ``tie`` of it
    (``agents.solver.lowest_argmax``)."""
    n_k, n_l, n_a = q.shape
    best = np.empty((n_k, n_l))
    arg = np.empty((n_k, n_l), np.int64)
    for k in range(n_k):
        for l in range(n_l):
            m = q[k, l, 0]
            for a in range(1, n_a):
                if q[k, l, a] > m:
                    m = q[k, l, a]
            best[k, l] = m
            lim = m - tie
            for a in range(n_a):
                if q[k, l, a] >= lim:
                    arg[k, l] = a
                    break
    return best, arg


@numba.njit(cache=True)
def move_rows(up, down):
    """:func:`envs.model.move_distribution` of rows ``up``/``down`` (N, 5): the probability of each
    of the 243 offsets (T slowest, X fastest), ``((p_T p_A) p_R) p_W) p_X`` with p = (down, 1 - up -
    down, up) for offsets (-1, 0, +1), the product in that function's order."""
    return move_rows_into(up, down, np.empty((up.shape[0], 243)))


@numba.njit(cache=True)
def move_rows_into(up, down, out):
    """:func:`move_rows` written into ``out`` (N, 243); returns it."""
    n = up.shape[0]
    pv = np.empty((5, 3))
    for i in range(n):
        for j in range(5):
            pv[j, 0] = down[i, j]
            pv[j, 1] = 1.0 - up[i, j] - down[i, j]
            pv[j, 2] = up[i, j]
        o = 0
        for a in range(3):
            for b in range(3):
                ab = pv[0, a] * pv[1, b]
                for c in range(3):
                    abc = ab * pv[2, c]
                    for d in range(3):
                        abcd = abc * pv[3, d]
                        for e in range(3):
                            out[i, o] = abcd * pv[4, e]
                            o += 1
    return out


@numba.njit(cache=True)
def mix_rows(d0, rows, d1, pm):
    """``d0 + pm * (d1 - d0)`` (the moves under Pr(M = 1), ``Operator._moves``) in place in ``d0`` on
    ``rows`` (``d1`` and ``pm`` one per row of ``rows``); elsewhere Pr(M = 1) = 0 leaves ``d0`` as it is."""
    for i in range(rows.shape[0]):
        r = rows[i]
        w = pm[i]
        for o in range(d0.shape[1]):
            d0[r, o] = d0[r, o] + w * (d1[i, o] - d0[r, o])
    return d0


@numba.njit(cache=True)
def csr_parts(moves, neighbours, block):
    """The CSR arrays (data, indices, indptr) of K policies' block-diagonal kernels from their moves
    (K, 1080, 243): each row's nonzero offsets in offset order (``agents.linear.policy_kernel``)."""
    n_k, n_l, n_o = moves.shape
    nnz = 0
    for k in range(n_k):
        for l in range(n_l):
            for o in range(n_o):
                if moves[k, l, o] != 0.0:
                    nnz += 1
    data = np.empty(nnz)
    indices = np.empty(nnz, np.int32)
    indptr = np.empty(n_k * n_l + 1, np.int32)
    indptr[0] = 0
    pos = 0
    for k in range(n_k):
        base = k * block
        for l in range(n_l):
            for o in range(n_o):
                x = moves[k, l, o]
                if x != 0.0:
                    data[pos] = x
                    indices[pos] = base + neighbours[l, o]
                    pos += 1
            indptr[k * n_l + l + 1] = pos
    return data, indices, indptr


LANES = 4  # rows of a kernel summed side by side in the sweeps (independent chains of additions)


@numba.njit(cache=True)
def _lanes(moves, neighbours, data, cols, width):  # noqa: PLR0913
    """One set's kernel from its moves (1080, 243), rows in groups of :data:`LANES`: group ``g``'s
    entries at ``data[g, j, r]``/``cols[g, j, r]`` (row ``g * LANES + r``'s j-th nonzero offset, in
    offset order), ``j < width[g]``; shorter rows padded with 0 times a column the row reads."""
    n_o = moves.shape[1]
    count = np.empty(LANES, np.int64)
    for g in range(width.shape[0]):
        w = 0
        for r in range(LANES):
            idx = 0
            for o in range(n_o):
                m = moves[g * LANES + r, o]
                if m != 0.0:
                    data[g, idx, r] = m
                    cols[g, idx, r] = neighbours[g * LANES + r, o]
                    idx += 1
            count[r] = idx
            w = max(w, idx)
        for r in range(LANES):
            last = cols[g, count[r] - 1, r] if count[r] > 0 else 0
            for j in range(count[r], w):
                data[g, j, r] = 0.0
                cols[g, j, r] = last
        width[g] = w


@numba.njit(cache=True)
def _product(data, cols, width, x, y):
    """``y = P x`` on the lanes of :func:`_lanes`: each row's sum is its nonzero entries' products
    added to 0 in offset order (scipy's CSR product, bit for bit: a padded entry adds 0 times a
    value the row already reads, which changes no bit of a sum that starts at +0), four rows side
    by side (independent chains of additions)."""
    for g in range(width.shape[0]):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        dg = data[g]
        cg = cols[g]
        for j in range(width[g]):
            s0 += dg[j, 0] * x[cg[j, 0]]
            s1 += dg[j, 1] * x[cg[j, 1]]
            s2 += dg[j, 2] * x[cg[j, 2]]
            s3 += dg[j, 3] * x[cg[j, 3]]
        l0 = g * LANES
        y[l0] = s0
        y[l0 + 1] = s1
        y[l0 + 2] = s2
        y[l0 + 3] = s3


@numba.njit(cache=True)
def sweeps(moves, neighbours, base, tilde, ge, coef, x, n_sweeps):  # noqa: PLR0913
    """Approximate policy evaluation of ``agents.warm_start.warm_policy``, set by set (each set's kernel stays in the
    cache): ``x <- (base + ge P tilde) + coef P x``, ``n_sweeps`` times, ``P`` the set's kernel from
    its moves (N, 1080, 243); ``P y`` adds each row's nonzero entries in offset order to 0, as
    ``scipy.sparse``'s CSR product does (the same sums bit for bit; :func:`_product`). ``x`` (N,
    1080) is updated in place; returns the bases ``base + ge P tilde``."""
    n_k, n_l, n_o = moves.shape
    if n_l % LANES:
        raise ValueError("sweeps: the block's rows must be a multiple of LANES")
    n_g = n_l // LANES  # 1080 rows: 270 groups
    data = np.empty((n_g, n_o, LANES))
    cols = np.empty((n_g, n_o, LANES), np.uint16)  # 1080 states: 16 bits
    width = np.empty(n_g, np.int64)
    y = np.empty(n_l)
    out = np.empty((n_k, n_l))
    for k in range(n_k):
        _lanes(moves[k], neighbours, data, cols, width)
        xk = x[k]
        _product(data, cols, width, tilde[k], y)
        for l in range(n_l):
            out[k, l] = base[k, l] + ge[k] * y[l]
        c = coef[k]
        for _ in range(n_sweeps):
            _product(data, cols, width, xk, y)
            for l in range(n_l):
                xk[l] = out[k, l] + c * y[l]
    return out


freshen(__name__, ("envs", "agents"))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)
