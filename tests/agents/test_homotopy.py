"""The logit-path homotopy of the patron game (agents/game/homotopy.py, docs/model.md section 11):
its kernels against the profile kernel, its stage equilibria against the logit equations, its
implicit-function derivatives against finite differences, and its result against its definition."""

from __future__ import annotations

import numpy as np
import pytest

from agents.game.best_response import nash_conv
from agents.game.equilibrium import search_mpe
from agents.game.homotopy import LogitPath, StepControl, follow_path
from agents.game.kernels import Kernels
from agents.game.operator import game_operator
from agents.game.stage import coefficients, softmax, stage_equilibria
from envs.scenarios import make_params

pytestmark = pytest.mark.xdist_group("game")


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


@pytest.fixture(scope="module")
def path(op):
    return LogitPath(op)


@pytest.fixture(scope="module")
def uniform_values(op):
    n = op.rows.size
    return np.stack(op.evaluate(np.full((n, 96), 1 / 96), np.full((n, 24), 1 / 24)))


def test_the_kernels_are_the_profile_kernel_and_linear_in_signed_weights(op, path):
    rng = np.random.default_rng(0)
    n = op.rows.size
    pi_s, pi_p = rng.random((n, 96)), rng.random((n, 24))
    pi_s, pi_p = pi_s / pi_s.sum(1, keepdims=True), pi_p / pi_p.sum(1, keepdims=True)
    assert np.abs(path.kernels.moves(pi_s, pi_p) - op.profile_moves(pi_s, pi_p)).max() < 1e-14
    c, d = rng.normal(size=(n, 96)), rng.normal(size=(n, 24))
    by_action = sum(d[:, [k]] * op.profile_moves(pi_s, np.eye(24)[[k] * n]) for k in range(24))
    assert np.abs(path.kernels.moves(pi_s, d) - by_action).max() < 1e-13
    by_action = sum(c[:, [k]] * op.profile_moves(np.eye(96)[[k] * n], pi_p) for k in range(96))
    assert np.abs(path.kernels.moves(c, pi_p) - by_action).max() < 1e-13
    assert isinstance(path.kernels, Kernels)


def test_stage_equilibria_solve_the_logit_equations_in_every_state(op, uniform_values):
    q_s, q_p = op.q_values(*uniform_values)
    lam = 20.0
    st = stage_equilibria(q_s, q_p, lam, np.zeros((op.rows.size, 24)))
    assert st.residual < 1e-11
    assert np.abs(st.pi_s - softmax(lam * np.einsum("sap,sp->sa", q_s, st.pi_p))).max() < 1e-9
    assert np.abs(st.pi_p - softmax(lam * np.einsum("sap,sa->sp", q_p, st.pi_s))).max() < 1e-9


def test_the_implicit_function_derivatives_agree_with_finite_differences(path, uniform_values):
    lam = 3.0
    st = path.stage(uniform_values, lam, np.zeros((path.n, 24)))
    coef = coefficients(st)
    rng = np.random.default_rng(1)
    dz, ds, eps = rng.normal(size=uniform_values.shape), 0.3, 1e-5
    dphi, dx = path.dphi(st, coef, dz, ds)
    plus = path.stage(uniform_values + eps * dz, lam * np.exp(eps * ds), st.x)
    minus = path.stage(uniform_values - eps * dz, lam * np.exp(-eps * ds), st.x)
    assert np.abs((plus.values - minus.values) / (2 * eps) - dphi).max() < 1e-7 * max(1.0, np.abs(dphi).max())
    assert np.abs((plus.x - minus.x) / (2 * eps) - dx).max() < 1e-7 * max(1.0, np.abs(dx).max())
    h_z, h_s = path.jacobian(st, coef)  # dense H = z - Phi: -(H_z - I) dz - H_s ds is dPhi
    dense = -(h_z - np.eye(h_z.shape[0])) @ dz.ravel() - h_s * ds
    assert np.abs(dense - dphi.ravel()).max() < 1e-12 * max(1.0, np.abs(dphi).max())


def test_the_jacobian_with_states_kept_as_unknowns_agrees_with_finite_differences(op, uniform_values):
    path = LogitPath(op)
    lam = 3.0
    first = path.stage(uniform_values, lam, np.zeros((path.n, 24)))
    path.fixed = np.array([5, 838, 1000])
    st = path.stage(uniform_values, lam, first.x)
    h_u, h_s = path.jacobian(st)
    rng = np.random.default_rng(2)
    du, ds, eps = rng.normal(size=path.size), 0.2, 1e-6
    u = path.pack(uniform_values, st.x)
    sides = []
    for sign in (1, -1):
        z, x = path.unpack(u + sign * eps * du, st.x)
        sides.append(path.residual(z, path.stage(z, lam * np.exp(sign * eps * ds), x)))
    linear = h_u @ du + h_s * ds
    assert np.abs((sides[0] - sides[1]) / (2 * eps) - linear).max() < 1e-6 * np.abs(linear).max()


def test_the_homotopy_returns_a_logit_equilibrium_and_its_exact_certificate(op):
    res = search_mpe(op, method="homotopy", lam_stop=3.0, certify_from=1.5, certify_factor=1.5)
    assert len(res.curve) >= 2 and all(c["lambda"] >= 1.5 for c in res.curve)
    again = nash_conv(op, res.pi_small, res.pi_patron)
    assert res.nashconv_max == pytest.approx(again.max, abs=1e-12) == min(c["nashconv_max"] for c in res.curve)
    lam = min(res.curve, key=lambda c: c["nashconv_max"])["lambda"]
    v_s, v_p = op.evaluate(res.pi_small, res.pi_patron)  # the profile's exact values
    q_s, q_p = op.q_values(v_s, v_p)
    assert np.abs(res.pi_small - softmax(lam * np.einsum("sap,sp->sa", q_s, res.pi_patron))).max() < 1e-6
    assert np.abs(res.pi_patron - softmax(lam * np.einsum("sap,sa->sp", q_p, res.pi_small))).max() < 1e-6


@pytest.mark.slow
def test_an_indifferent_patron_leaves_the_small_states_logit_optimum():
    """patron_weights all 0: the patron's reward is 0, so any policy of it is a best response and its
    logit policy is uniform; the small state's logit policy loses at most log(96) / (lambda (1 - gamma))
    to its best response (entropy bound and the performance-difference lemma)."""
    op = game_operator(make_params("war", {"patron_weights": [0.0] * 8}))
    found = follow_path(op, lam_stop=300.0, certify_from=300.0, target=0.0)
    assert np.abs(found.pi_patron - 1 / 24).max() < 1e-12
    nc = found.certificate
    assert np.abs(nc.patron_br.values - nc.v_patron).max() < 1e-12
    assert 0.0 <= nc.max <= np.log(96) / (found.lam * (1 - op.gamma))


def test_a_bad_method_or_keyword_is_one_line(op):
    for kwargs, words in (({"method": "newton"}, "method='newton' is not allowed"),
                          ({"lam_stop": 5.0}, "lam_stop=5.0 is not allowed"),
                          ({"method": "homotopy", "prior_mix": 1.0}, "prior_mix=1.0 is not allowed")):
        with pytest.raises(ValueError) as err:
            search_mpe(op, **kwargs)
        assert words in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def prior(op):
    rng = np.random.default_rng(3)
    n = op.rows.size
    return np.log(rng.dirichlet(np.ones(96), n)), np.log(rng.dirichlet(np.ones(24), n))


def test_with_a_prior_the_stage_equilibria_solve_the_prior_logit_equations(op, uniform_values, prior):
    q_s, q_p = op.q_values(*uniform_values)
    for lam in (1e-9, 20.0):
        st = stage_equilibria(q_s, q_p, lam, np.zeros((op.rows.size, 24)), prior=prior)
        assert st.residual < 1e-11
        assert np.abs(st.pi_s - softmax(lam * np.einsum("sap,sp->sa", q_s, st.pi_p) + prior[0])).max() < 1e-9
        assert np.abs(st.pi_p - softmax(lam * np.einsum("sap,sa->sp", q_p, st.pi_s) + prior[1])).max() < 1e-9
    tiny = stage_equilibria(q_s, q_p, 1e-9, np.zeros((op.rows.size, 24)), prior=prior)  # the path starts at the prior
    assert np.abs(tiny.pi_s - np.exp(prior[0])).max() < 1e-6 and np.abs(tiny.pi_p - np.exp(prior[1])).max() < 1e-6


def test_with_a_prior_the_jacobian_agrees_with_finite_differences(op, uniform_values, prior):
    path = LogitPath(op, prior)
    lam = 3.0
    st = path.stage(uniform_values, lam, np.zeros((path.n, 24)))
    h_z, h_s = path.jacobian(st)
    rng = np.random.default_rng(4)
    dz, ds, eps = rng.normal(size=uniform_values.shape), 0.3, 1e-6
    sides = [path.residual(uniform_values + sign * eps * dz, path.stage(uniform_values + sign * eps * dz,
                                                                       lam * np.exp(sign * eps * ds), st.x))
             for sign in (1, -1)]
    linear = h_z @ dz.ravel() + h_s * ds
    assert np.abs((sides[0] - sides[1]) / (2 * eps) - linear).max() < 1e-6 * np.abs(linear).max()
    plain = LogitPath(op).stage(uniform_values, lam, st.x)  # and the prior matters: another solution
    assert np.abs(plain.pi_p - st.pi_p).max() > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("mix", [0.0, 0.01])
def test_the_prior_stage_certifies_exactly_and_never_returns_worse(op, mix):
    plain = search_mpe(op, method="homotopy", lam_stop=3.0, certify_from=1.5, certify_factor=1.5)
    res = search_mpe(op, method="homotopy", lam_stop=3.0, certify_from=1.5, certify_factor=1.5, prior_stop=3.0,
                     prior_mix=mix)
    on_prior = [c for c in res.curve if c.get("prior")]
    assert on_prior and len(res.curve) == len(plain.curve) + len(on_prior)
    assert res.nashconv_max == pytest.approx(nash_conv(op, res.pi_small, res.pi_patron).max, abs=1e-12)
    assert res.nashconv_max == min(c["nashconv_max"] for c in res.curve) <= plain.nashconv_max
    assert ("its profile at lambda" in res.method) == (res.nashconv_max < plain.nashconv_max)


@pytest.mark.slow
def test_with_the_step_control_the_path_still_returns_a_logit_equilibrium(op):
    """A strict control (2 degrees) rejects steps, and the points it accepts are still on the path."""
    found = follow_path(op, lam_stop=5.0, certify_from=5.0, target=0.0, control=StepControl(max_angle=2.0))
    assert found.curve[-1]["rejected"] > 0 and found.lam >= 5.0
    v_s, v_p = op.evaluate(found.pi_small, found.pi_patron)
    q_s, q_p = op.q_values(v_s, v_p)
    lam = found.lam
    assert np.abs(found.pi_small - softmax(lam * np.einsum("sap,sp->sa", q_s, found.pi_patron))).max() < 1e-6
    assert np.abs(found.pi_patron - softmax(lam * np.einsum("sap,sa->sp", q_p, found.pi_small))).max() < 1e-6
