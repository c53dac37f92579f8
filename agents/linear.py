"""Policy evaluation's linear algebra (docs/model.md section 10): the move kernel of a policy on a
phase block as a sparse matrix, and the solve of ``(I - discount P) v = rhs``.

Why not a dense LU: a block's kernel has about 66k nonzeros of 1080 x 1080 (each state reaches at
most 3^5 neighbours), so a dense factorisation (0.8 GFlop, ~0.14 s on one core) was most of a
stationary solve and of each baseline's evaluation. GMRES on the sparse kernel reaches the same
accuracy (max residual ~2e-14, the dense solve's ~1.6e-14; values within ~1e-13 of it) in about 50
sparse products, several times faster (:func:`gmres`, a few lines of NumPy: scipy's spends
milliseconds per step in Python). The matrix is ``I - discount P`` with ``P`` stochastic and discount < 1:
its eigenvalues lie in the disc of radius ``discount`` around 1, where GMRES converges quickly. If
it ever does not converge, the dense solve is used instead (never a silent approximation).
Each set is solved on its own (no mixing across a batch), so a batch gives what single solves give.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from agents import compiled, compiled_eval
from agents.bellman import BLOCK, NEIGHBOURS

RTOL = 1e-14  # GMRES: ||rhs - A v|| <= RTOL ||rhs|| (the dense solve's residual is ~1e-14 too)
RESTART = 50
CHECK = 8  # GMRES: steps between checks of the least-squares residual
MAX_RESTARTS = 20


def policy_kernel(moves: np.ndarray) -> sparse.csr_matrix:
    """The within-block move kernels of K policies from their moves (K, 1080, 243) (or one policy's
    (1080, 243)), block-diagonal and sparse: the nonzero entries of each state's 243 offsets."""
    moves = np.ascontiguousarray(moves[None] if moves.ndim == 2 else moves, dtype=np.float64)
    k_all = moves.shape[0]
    data, indices, indptr = compiled.csr_parts(moves, NEIGHBOURS, BLOCK)
    return sparse.csr_matrix((data, indices, indptr), shape=(k_all * BLOCK, k_all * BLOCK))


def solve_policy(kernel: sparse.csr_matrix, rhs: np.ndarray, discount: float,
                 guess: np.ndarray | None = None) -> np.ndarray:
    """``v`` with ``v - discount * kernel @ v = rhs`` (one block of one policy). ``rhs`` (n,): GMRES
    from ``guess`` (default ``rhs / (1 - discount)``), the dense solve if GMRES does not converge;
    ``rhs`` (n, m), m right-hand sides: one dense factorisation for all."""
    rhs = np.asarray(rhs, dtype=np.float64)
    if rhs.ndim == 2:  # one factorisation serves many right-hand sides (agents.streams: ten terms)
        return _dense(kernel, rhs, discount)
    x0 = rhs / (1.0 - discount) if guess is None else np.asarray(guess, dtype=np.float64)
    if not np.all(np.isfinite(x0)):
        x0 = rhs / (1.0 - discount)
    v, ok = gmres(lambda x: x - discount * (kernel @ x), rhs, x0)
    if not ok:
        v = _dense(kernel, rhs, discount)
    return v


def solve_policy_compiled(kernel: sparse.csr_matrix, rhs: np.ndarray, discount: float) -> np.ndarray:
    """:func:`solve_policy` for one right-hand side (from ``rhs / (1 - discount)``) by the compiled
    GMRES (:func:`agents.compiled_eval.gmres`, the same method without Python between the steps), the
    dense solve if it does not converge. Its values agree with :func:`solve_policy`'s to ~1e-14, not
    bit for bit: evaluations of given policies use it (``agents.exact_eval``); the solver keeps
    :func:`solve_policy`, so that the optimum is bitwise what it was."""
    rhs = np.ascontiguousarray(rhs, dtype=np.float64)
    if rhs.ndim != 1:
        return solve_policy(kernel, rhs, discount)
    kernel = sparse.csr_matrix(kernel)
    v, ok = compiled_eval.gmres(kernel.data, compiled_eval.unsigned(kernel.indices), kernel.indptr, float(discount), rhs,
                                rhs / (1.0 - discount), RTOL, RESTART, MAX_RESTARTS)
    return v if ok else _dense(kernel, rhs, discount)


def gmres(matvec, b: np.ndarray, x0: np.ndarray, rtol: float = RTOL, restart: int = RESTART,
          cycles: int = MAX_RESTARTS) -> tuple[np.ndarray, bool]:
    """Restarted GMRES (Saad and Schultz 1986) for ``matvec(x) = b``: Arnoldi with classical
    Gram-Schmidt done twice (as stable as the modified one, in two matrix products), the small
    least-squares problem solved every ``CHECK`` steps to stop a cycle early; each cycle starts from
    the true residual. Returns ``(x, converged)``, converged meaning ||b - A x|| <= rtol ||b||.
    (scipy's ``gmres`` gives the same iterates but spends milliseconds per step in Python.)"""
    x = np.array(x0, dtype=np.float64)
    n = b.shape[0]
    target = rtol * np.linalg.norm(b)
    basis = np.empty((restart + 1, n))
    for _ in range(cycles):
        r = b - matvec(x)
        beta = np.linalg.norm(r)
        if not np.isfinite(beta):
            return x, False
        if beta <= target:
            return x, True
        hess = np.zeros((restart + 1, restart))
        basis[0] = r / beta
        k = 0
        for j in range(restart):
            w = matvec(basis[j])
            h = basis[:j + 1] @ w
            w -= h @ basis[:j + 1]
            h2 = basis[:j + 1] @ w
            w -= h2 @ basis[:j + 1]
            hess[:j + 1, j] = h + h2
            hess[j + 1, j] = norm = np.linalg.norm(w)
            k = j + 1
            if norm <= 1e-300:
                break
            basis[j + 1] = w / norm
            if k % CHECK == 0 and _least_squares(hess, beta, k)[1] <= 0.1 * target:
                break
        y, _ = _least_squares(hess, beta, k)
        x += y @ basis[:k]
    r = b - matvec(x)
    return x, bool(np.linalg.norm(r) <= target)


def _least_squares(hess: np.ndarray, beta: float, k: int) -> tuple[np.ndarray, float]:
    """min_y ||beta e1 - H y|| over the first k Arnoldi steps: y and the residual's norm."""
    e1 = np.zeros(k + 1)
    e1[0] = beta
    y = np.linalg.lstsq(hess[:k + 1, :k], e1, rcond=None)[0]
    return y, float(np.linalg.norm(e1 - hess[:k + 1, :k] @ y))


def _dense(kernel: sparse.csr_matrix, rhs: np.ndarray, discount: float) -> np.ndarray:
    dense = kernel.toarray() if sparse.issparse(kernel) else np.asarray(kernel)
    return np.linalg.solve(np.eye(dense.shape[0]) - discount * dense, rhs)
