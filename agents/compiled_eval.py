"""Compiled loops of exact evaluations of given policies (:mod:`agents.exact_eval`, the discovery
samples' baselines): a stochastic policy's moves, a state distribution's step, and GMRES on a
policy's sparse kernel. Split from :mod:`agents.compiled` (the solver's loops); ``cache=True`` as
there. Numbers: the distribution steps are bitwise NumPy's/scipy's sums; the mixture and GMRES
reassociate sums (``fastmath``), as the BLAS products they replace do, and agree to rounding.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.jit_cache import freshen


def unsigned(indices: np.ndarray) -> np.ndarray:
    """A sparse matrix's column indices (>= 0) viewed as unsigned integers of the same width, no copy:
    compiled loops then skip the test for negative indices (GMRES 15% faster, the same numbers)."""
    return indices.view(np.dtype(f"u{indices.dtype.itemsize}"))


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def mixture(up, down, p_med, move_keys, med_keys, dist):  # noqa: PLR0913
    """A stochastic policy's moves (N, 243) on N states (offsets T slowest, X fastest):
    :func:`envs.model.move_mixture` over the branches (a, M) of each state, weight Pr(a) Pr(M | s, a),
    read off the tables as ``envs.tables.Tables`` holds them (``up``/``down`` at ``move_keys[i, j] +
    a * 2 + M``, Pr(M = 1) at ``med_keys[i] + a``; ``dist`` (N, 96) the policy's probabilities);
    branches of weight 0 are dropped. The products are built over the branches at once, T first,
    and each offset's sum over branches is a dot product (reassociated, as that function's matrix
    product is by BLAS): the two agree to rounding, ~1e-16, not bit for bit."""
    n, n_a = dist.shape
    out = np.empty((n, 243))
    pv = np.empty((5, 3, 2 * n_a))
    t1 = np.empty((3, 2 * n_a))
    t2 = np.empty((9, 2 * n_a))
    t3 = np.empty((27, 2 * n_a))
    t4 = np.empty((81, 2 * n_a))
    for i in range(n):
        m = 0
        for a in range(n_a):
            pa = dist[i, a]
            if pa == 0.0:
                continue
            pm = p_med[med_keys[i] + a]
            for med in range(2):
                w = pa * pm if med == 1 else pa * (1.0 - pm)
                if w == 0.0:
                    continue
                for j in range(5):
                    key = move_keys[i, j] + a * 2 + med
                    pv[j, 0, m] = down[key]
                    pv[j, 1, m] = 1.0 - up[key] - down[key]
                    pv[j, 2, m] = up[key]
                t1[0, m] = w
                m += 1
        for b in range(m):
            w = t1[0, b]
            t1[0, b] = w * pv[0, 0, b]
            t1[1, b] = w * pv[0, 1, b]
            t1[2, b] = w * pv[0, 2, b]
        for a in range(3):
            for c in range(3):
                for b in range(m):
                    t2[a * 3 + c, b] = t1[a, b] * pv[1, c, b]
        for a in range(9):
            for c in range(3):
                for b in range(m):
                    t3[a * 3 + c, b] = t2[a, b] * pv[2, c, b]
        for a in range(27):
            for c in range(3):
                for b in range(m):
                    t4[a * 3 + c, b] = t3[a, b] * pv[3, c, b]
        for a in range(81):
            for c in range(3):
                acc = 0.0
                for b in range(m):
                    acc += t4[a, b] * pv[4, c, b]
                out[i, a * 3 + c] = acc
    return out


@numba.njit(cache=True)
def push(dist, moves, neighbours):
    """One step of a distribution over a block's states under its moves (1080, 243): ``np.bincount(
    neighbours.ravel(), weights=(dist[:, None] * moves).ravel())``, the same additions in the same
    order; unoccupied states only add zeros there and are skipped."""
    n_l, n_o = moves.shape
    out = np.zeros(n_l)
    for l in range(n_l):
        d = dist[l]
        if d != 0.0:
            for o in range(n_o):
                out[neighbours[l, o]] += d * moves[l, o]
    return out


@numba.njit(cache=True)
def push_csr(data, indices, indptr, dist):
    """One step of a distribution under a kernel in CSR form, ``kernel.T @ dist``: scipy's product
    of the transpose (CSC) adds ``data[k] * dist[row]`` into ``out[indices[k]]`` row by row in the
    order stored, the same additions here; rows of probability 0 only add zeros there and are
    skipped (``out`` starts at +0 and gains products >= 0: adding +0 changes no bit)."""
    n = indptr.shape[0] - 1
    out = np.zeros(n)
    for r in range(n):
        d = dist[r]
        if d != 0.0:
            for k in range(indptr[r], indptr[r + 1]):
                out[indices[k]] += data[k] * d
    return out


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def expect_moves(moves, c_block, neighbours):
    """E[V(s')] under a policy on one block: ``out[s] = sum_k moves[s, k] c_block[neighbours[s, k]]``
    (the ``einsum("sk,sk->s", moves, c_block[neighbours])`` it replaced, without the (1080, 243) gather;
    each sum reassociated (``fastmath``), as NumPy's einsum groups it in its own SIMD lanes: the two
    agree to rounding, ~1e-16)."""
    n_s, n_o = moves.shape
    out = np.empty(n_s)
    for s in range(n_s):
        acc = 0.0
        for o in range(n_o):
            acc += moves[s, o] * c_block[neighbours[s, o]]
        out[s] = acc
    return out


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def _residual(data, indices, indptr, discount, b, x, r):
    """r = b - (x - discount * P x) for P in CSR form; returns ||r||."""
    n = b.shape[0]
    s2 = 0.0
    for i in range(n):
        s = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            s += data[jj] * x[indices[jj]]
        r[i] = b[i] - (x[i] - discount * s)
        s2 += r[i] * r[i]
    return np.sqrt(s2)


@numba.njit(cache=True, fastmath={"reassoc", "nsz"})
def gmres(data, indices, indptr, discount, b, x0, rtol, restart, cycles):  # noqa: PLR0913, PLR0915
    """Restarted GMRES for ``x - discount P x = b`` (P in CSR form), :func:`agents.linear.gmres`'s
    method compiled: Arnoldi with classical Gram-Schmidt done twice, the least-squares problem kept
    solved by Givens rotations (its residual known at every step: a cycle stops once it is below a
    tenth of the target), each cycle from the true residual. Returns ``(x, converged)``, converged
    meaning ||b - A x|| <= rtol ||b||. Same iterates as the NumPy version up to rounding (sums may be
    reordered, ``fastmath``'s reassociation, as BLAS's dot products are): solutions agree to ~1e-14,
    not bit for bit."""
    n = b.shape[0]
    x = x0.copy()
    nb = 0.0
    for i in range(n):
        nb += b[i] * b[i]
    target = rtol * np.sqrt(nb)
    basis = np.empty((restart + 1, n))
    hess = np.zeros((restart + 1, restart))
    cs = np.empty(restart)
    sn = np.empty(restart)
    g = np.empty(restart + 1)
    r = np.empty(n)
    w = np.empty(n)
    h = np.empty(restart + 1)
    for _ in range(cycles):
        beta = _residual(data, indices, indptr, discount, b, x, r)
        if not np.isfinite(beta):
            return x, False
        if beta <= target:
            return x, True
        hess[:, :] = 0.0
        g[:] = 0.0
        g[0] = beta
        for i in range(n):
            basis[0, i] = r[i] / beta
        k = 0
        for j in range(restart):
            for i in range(n):  # w = A v_j
                s = 0.0
                for jj in range(indptr[i], indptr[i + 1]):
                    s += data[jj] * basis[j, indices[jj]]
                w[i] = basis[j, i] - discount * s
            for _ in range(2):  # classical Gram-Schmidt, twice
                for m in range(j + 1):
                    s = 0.0
                    for i in range(n):
                        s += basis[m, i] * w[i]
                    h[m] = s
                for m in range(j + 1):
                    hm = h[m]
                    for i in range(n):
                        w[i] -= hm * basis[m, i]
                    hess[m, j] += h[m]
            norm = 0.0
            for i in range(n):
                norm += w[i] * w[i]
            norm = np.sqrt(norm)
            hess[j + 1, j] = norm
            k = j + 1
            if norm > 1e-300:
                for i in range(n):
                    basis[j + 1, i] = w[i] / norm
            for m in range(j):  # the previous rotations on the new column
                t = cs[m] * hess[m, j] + sn[m] * hess[m + 1, j]
                hess[m + 1, j] = -sn[m] * hess[m, j] + cs[m] * hess[m + 1, j]
                hess[m, j] = t
            a, c = hess[j, j], hess[j + 1, j]
            d = np.sqrt(a * a + c * c)
            cs[j], sn[j] = (1.0, 0.0) if d == 0.0 else (a / d, c / d)
            hess[j, j] = d
            hess[j + 1, j] = 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            if norm <= 1e-300 or abs(g[j + 1]) <= 0.1 * target:
                break
        y = np.zeros(k)  # back substitution on the rotated (upper triangular) system
        for m in range(k - 1, -1, -1):
            s = g[m]
            for q in range(m + 1, k):
                s -= hess[m, q] * y[q]
            y[m] = s / hess[m, m] if hess[m, m] != 0.0 else 0.0
        for m in range(k):
            for i in range(n):
                x[i] += y[m] * basis[m, i]
    beta = _residual(data, indices, indptr, discount, b, x, r)
    return x, beta <= target


freshen(__name__, ("envs", "agents"))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)
