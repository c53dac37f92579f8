"""The proximal-point Newton polish of the patron game's MPE search (agents/game/proximal.py, docs/model.md
section 11): its system against the MPE conditions, its Newton step against the system's own change
(finite differences), its stage in the search against its definition, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from agents.game.best_response import nash_conv
from agents.game.equilibrium import STANDARD, TARGET, search_mpe
from agents.game.kernels import Kernels
from agents.game.operator import game_operator, pure
from agents.game.proximal import MU, newton_step, norm, point, proximal_polish, regularised
from envs.scenarios import make_params

pytestmark = pytest.mark.xdist_group("game")


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


def test_the_system_vanishes_at_an_exact_mpe_and_not_off_it():
    """patron_weights all 0: the table patron with the small state's optimum is an MPE (every patron
    action is a best response). There F is 0 up to the smoothing (|phi| <= sqrt(2 mu) where p = w = 0);
    one state's action changed to a worse one leaves a residual of that action's loss."""
    from agents.solver import solve

    params = make_params("war", {"patron_weights": [0.0] * 8})
    op = game_operator(params)
    n = op.rows.size
    optimum = solve(params).policy[0, op.rows]
    pi_s, pi_p = pure(optimum, 96), pure(np.full(n, op.table_patron), 24)
    v_s, v_p = op.evaluate(pi_s, pi_p)
    pt = point(op, pi_s, pi_p, v_s, v_p)
    assert np.abs(pt.phi).max() <= np.sqrt(2 * MU) * 1.01 and np.abs(pt.sums).max() < 1e-14
    wrong = optimum.copy()
    wrong[500] = (optimum[500] + 7) % 96
    bad_s = pure(wrong, 96)
    bad = point(op, bad_s, pi_p, *op.evaluate(bad_s, pi_p))
    assert np.abs(bad.phi).max() > 1e-3  # the better action now has w < 0


@pytest.mark.parametrize("nu", [0.0, 0.01, 1.0])
def test_the_newton_step_is_the_regularised_systems_newton_step(op, nu):
    """G(x + eps d) = (1 - eps) G(x) + O(eps^2) along the step d of (J + nu on the policies) d = -G: the error must fall
    a hundredfold when eps falls tenfold (a wrong Jacobian leaves an O(eps) error, a tenfold fall). The
    smoothing is 1e-4 here, so that phi's curvature (about 1 / sqrt(mu) at p = w = 0) leaves room for eps."""
    rng = np.random.default_rng(3)
    n = op.rows.size
    pi_s, pi_p = rng.dirichlet(np.ones(96), n), rng.dirichlet(np.ones(24), n)
    v_s, v_p = op.evaluate(pi_s, pi_p)
    x = (pi_s, pi_p, v_s + rng.normal(scale=0.01, size=n), v_p)
    pt = point(op, *x, mu=1e-4)
    centre = tuple(a + rng.normal(scale=0.01, size=a.shape) for a in x)
    rows, sums = regularised(pt, centre, nu), pt.sums
    d = newton_step(op, Kernels(op), pt, rows, sums, nu)
    errors = []
    for eps in (1e-6, 1e-7):
        moved = point(op, *(a + eps * b for a, b in zip(x, d)), mu=1e-4)
        r1, s1 = regularised(moved, centre, nu), moved.sums
        errors.append(norm(r1 - (1 - eps) * rows, s1 - (1 - eps) * sums))
    assert errors[1] < errors[0] / 50


def test_a_bad_proximal_weight_or_rounds_is_one_line(op):
    n = op.rows.size
    pi_s, pi_p = np.full((n, 96), 1 / 96), np.full((n, 24), 1 / 24)
    with pytest.raises(ValueError, match=r"^nu=0 is not allowed: a proximal weight > 0$"):
        proximal_polish(op, pi_s, pi_p, nu=0)
    with pytest.raises(ValueError, match=r"^proximal_rounds=-1 is not allowed: a number of rounds >= 0$"):
        search_mpe(op, method="homotopy", lam_stop=2.0, proximal_rounds=-1)
    with pytest.raises(ValueError, match=r"^proximal_nu='a' is not allowed: a proximal weight > 0$"):
        search_mpe(op, method="homotopy", lam_stop=2.0, proximal_rounds=2, proximal_nu="a")


@pytest.mark.slow
def test_the_proximal_stage_certifies_exactly_and_never_returns_worse(op):
    """From the path near lambda = 166 (a local polish: from lambda = 13 it finds no step at all)."""
    plain = search_mpe(op, method="homotopy", lam_stop=30.0, certify_from=15.0, certify_factor=1.5)
    res = search_mpe(op, method="homotopy", lam_stop=30.0, certify_from=15.0, certify_factor=1.5, proximal_rounds=3)
    rounds = [c for c in res.curve if c.get("proximal")]
    assert 1 <= len(rounds) <= 3 and len(res.curve) == len(plain.curve) + len(rounds)
    assert res.nashconv_max == pytest.approx(nash_conv(op, res.pi_small, res.pi_patron).max, abs=1e-12)
    assert res.nashconv_max == min(c["nashconv_max"] for c in res.curve) <= plain.nashconv_max
    assert ("its best certified profile" in res.method) == (res.nashconv_max < plain.nashconv_max)
    assert np.all(res.pi_small >= 0) and np.allclose(res.pi_small.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.slow
def test_the_standard_search_certifies_the_target_on_war(op):
    """Issue 24's target: max over states of the exact NashConv <= 1e-3 on `war` (about 8 minutes)."""
    res = search_mpe(op, **STANDARD)
    assert res.nashconv_max <= TARGET
    assert res.nashconv_max == pytest.approx(nash_conv(op, res.pi_small, res.pi_patron).max, abs=1e-12)


def test_the_certified_profile_is_clipped_and_renormalised():
    from agents.game.operator import renormalised

    got = renormalised(np.array([[0.7, 0.5, -0.2], [-0.1, -0.2, 0.0]]))
    assert np.allclose(got, [[0.7 / 1.2, 0.5 / 1.2, 0.0], [1 / 3, 1 / 3, 1 / 3]])
