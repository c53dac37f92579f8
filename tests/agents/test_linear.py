"""agents.linear: a policy's exact evaluation by GMRES on the sparse kernel gives the dense solve's
values, and falls back to the dense solve when GMRES does not converge."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from agents import compiled, linear


def _kernel(n: int, seed: int) -> sparse.csr_matrix:
    """A random sparse stochastic matrix (rows sum to 1), about 60 entries per row."""
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, n)) < 60 / n, rng.random((n, n)), 0.0)
    dense[np.arange(n), np.arange(n)] += 1e-3
    return sparse.csr_matrix(dense / dense.sum(axis=1, keepdims=True))


def test_gmres_matches_the_dense_solve():
    kernel = _kernel(400, seed=3)
    rhs = np.random.default_rng(4).random(400)
    for discount in (0.9, 0.95, 0.99):
        exact = np.linalg.solve(np.eye(400) - discount * kernel.toarray(), rhs)
        got = linear.solve_policy(kernel, rhs, discount)
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-12)
        assert np.abs(rhs - (got - discount * (kernel @ got))).max() <= 1e-13


def test_gmres_reports_no_convergence_and_solve_policy_falls_back():
    kernel = _kernel(300, seed=5)
    rhs = np.random.default_rng(6).random(300)
    x, ok = linear.gmres(lambda v: v - 0.95 * (kernel @ v), rhs, np.zeros(300), restart=2, cycles=1)
    assert not ok and np.abs(rhs - (x - 0.95 * (kernel @ x))).max() > 1e-6
    guess = np.full(300, np.nan)  # a bad guess is replaced, not propagated
    got = linear.solve_policy(kernel, rhs, 0.95, guess)
    np.testing.assert_allclose(got, np.linalg.solve(np.eye(300) - 0.95 * kernel.toarray(), rhs), rtol=0, atol=1e-12)


def test_solve_policy_uses_the_dense_solve_when_gmres_fails(monkeypatch):
    kernel = _kernel(200, seed=7)
    rhs = np.random.default_rng(8).random(200)
    monkeypatch.setattr(linear, "gmres", lambda matvec, b, x0: (np.zeros_like(b), False))
    got = linear.solve_policy(kernel, rhs, 0.95)
    np.testing.assert_allclose(got, np.linalg.solve(np.eye(200) - 0.95 * kernel.toarray(), rhs), rtol=0, atol=1e-12)


def test_compiled_gmres_matches_the_dense_solve_and_reports_no_convergence():
    kernel = _kernel(400, seed=9)
    rhs = np.random.default_rng(10).random(400)
    for discount in (0.9, 0.95, 0.99):
        exact = np.linalg.solve(np.eye(400) - discount * kernel.toarray(), rhs)
        got = linear.solve_policy_compiled(kernel, rhs, discount)
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got, linear.solve_policy(kernel, rhs, discount), rtol=0, atol=1e-12)
    x, ok = compiled.gmres(kernel.data, kernel.indices, kernel.indptr, 0.95, rhs, np.zeros(400), 1e-14, 2, 1)
    assert not ok and np.abs(rhs - (x - 0.95 * (kernel @ x))).max() > 1e-6


def test_compiled_gmres_falls_back_to_the_dense_solve(monkeypatch):
    kernel = _kernel(200, seed=11)
    rhs = np.random.default_rng(12).random(200)
    monkeypatch.setattr(compiled, "gmres", lambda *args: (np.zeros(200), False))
    got = linear.solve_policy_compiled(kernel, rhs, 0.95)
    np.testing.assert_allclose(got, np.linalg.solve(np.eye(200) - 0.95 * kernel.toarray(), rhs), rtol=0, atol=1e-12)
