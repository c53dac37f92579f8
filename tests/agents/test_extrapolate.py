"""Richardson extrapolation of the logit path (agents/game/extrapolate.py, docs/model.md section 11):
its arithmetic on a known expansion, its bad input, and its stage's contract (the certificate is
exact, never worse than the path's own, and better where the expansion holds)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.game.best_response import nash_conv
from agents.game.equilibrium import search_mpe
from agents.game.extrapolate import extrapolate, richardson
from agents.game.operator import game_operator
from agents.game.stage import stage_equilibria
from envs.scenarios import make_params

pytestmark = pytest.mark.xdist_group("game")


def _path(lam: float) -> np.ndarray:
    """A row of 3 actions: two that stay in play (pi* = .6, .4 plus c / lambda) and one that decays."""
    out = np.array([0.6 + 1.0 / lam, 0.4 - 1.0 / lam, 0.0]) + np.exp(-0.5 * lam) * np.array([-0.5, -0.5, 1.0])
    return out[None, :]


def test_richardson_cancels_the_first_order_term_and_drops_decaying_actions():
    target = np.array([[0.6, 0.4, 0.0]])
    for lams in ((80.0, 160.0), (90.0, 100.0, 130.0, 160.0)):
        ext = richardson(lams, [_path(lam) for lam in lams])
        assert np.abs(ext - target).max() < 1e-12 < np.abs(_path(160.0) - target).max() / 1e6
        assert np.all(ext >= 0) and ext.sum() == pytest.approx(1.0, abs=1e-15)


def test_richardson_least_squares_averages_what_the_line_misses():
    """Noise on top of pi* + c / lambda: the line through more points misses pi* by less than through two."""
    rng = np.random.default_rng(0)
    lams = np.linspace(700.0, 1150.0, 12)
    noise = 1e-3 * rng.normal(size=(lams.size, 200, 1)) * np.array([1.0, -1.0])  # 200 rows: 200 draws
    pols = [np.array([0.6 + 1 / lam, 0.4 - 1 / lam]) + e for lam, e in zip(lams, noise)]
    two = np.abs(richardson(lams[[0, -1]], [pols[0], pols[-1]]) - [0.6, 0.4]).mean()
    many = np.abs(richardson(lams, pols) - [0.6, 0.4]).mean()
    assert many < 0.8 * two


def test_richardson_bad_precisions_are_one_line():
    for lams in ((80.0,), (80.0, 80.0), (-1.0, 80.0)):
        with pytest.raises(ValueError) as err:
            richardson(lams, [_path(80.0)] * len(lams))
        assert f"lams={list(lams)!r} is not allowed" in str(err.value) and "\n" not in str(err.value)


def test_a_bad_extrapolation_ratio_is_one_line():
    with pytest.raises(ValueError) as err:
        search_mpe(None, method="homotopy", extrapolate=0.5)
    assert "extrapolate=0.5 is not allowed" in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def op():
    return game_operator(make_params("war"))


@pytest.mark.slow
def test_the_stage_certifies_exactly_and_never_returns_worse_than_the_path(op):
    n = op.rows.size
    values = op.evaluate(np.full((n, 96), 1 / 96), np.full((n, 24), 1 / 24))
    q_s, q_p = op.q_values(*values)
    prof = [stage_equilibria(q_s, q_p, lam, np.zeros((n, 24))) for lam in (20.0, 40.0)]
    plain = nash_conv(op, prof[1].pi_s, prof[1].pi_p)
    ext = extrapolate(op, [(20.0, prof[0].pi_s, prof[0].pi_p)], (40.0, prof[1].pi_s, prof[1].pi_p), plain, max_rounds=2)
    again = nash_conv(op, ext.pi_small, ext.pi_patron)
    assert ext.certificate.max == pytest.approx(again.max, abs=1e-12) and ext.certificate.max <= plain.max
    assert ext.certifications == len(ext.curve) <= 2
    assert ext.improved == (ext.states > 0) == (ext.certificate is not plain)


@pytest.mark.slow
def test_on_the_path_the_extrapolation_beats_the_paths_own_profile(op):
    """At low precision the path is smooth in 1 / lambda, so the stage must improve the certificate."""
    res = search_mpe(op, method="homotopy", lam_stop=3.0, certify_from=1.5, certify_factor=1.5, extrapolate=1.5)
    path = [c for c in res.curve if "extrapolated_from" not in c]
    ext = [c for c in res.curve if "extrapolated_from" in c]
    assert ext and ext[0]["extrapolated_from"][0] < ext[0]["extrapolated_from"][1] == path[-1]["lambda"]
    assert res.nashconv_max < min(c["nashconv_max"] for c in path)
    assert "Richardson extrapolation" in res.method
    assert res.nashconv_max == pytest.approx(nash_conv(op, res.pi_small, res.pi_patron).max, abs=1e-12)
