"""The continuation's step control (agents/game/homotopy.py, ``StepControl``): on a tiny synthetic curve
with a hairpin turn, a step whose tangent turns too sharply is rejected until the halved step passes,
and a jump onto the branch coming back is caught by the orientation's determinant sign."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from agents.game.homotopy import StepControl, control_step, lu_sign, tangent_angle

EPS = 0.01  # the ellipse x^2 + (y / EPS)^2 = 1: a hairpin at x = 1 (y plays log lambda, u = (x, w))


def point(theta: float) -> tuple[np.ndarray, float]:
    return np.array([np.cos(theta), 0.0]), EPS * np.sin(theta)


def forward(theta: float) -> tuple[np.ndarray, float]:
    """The curve's tangent with theta decreasing (towards the hairpin at theta = 0 from above)."""
    return np.array([np.sin(theta), 0.0]), -EPS * np.cos(theta)


def border(theta: float, t_old: tuple[np.ndarray, float]) -> np.ndarray:
    """[H_u, H_s; t_old'] for H(x, w, y) = (x^2 + (y / EPS)^2 - 1, w) at the curve's point theta (n = 1)."""
    (x, _), y = point(theta)
    return np.array([[2 * x, 0.0, 2 * y / EPS ** 2], [0.0, 1.0, 0.0], [*t_old[0], t_old[1]]])


def sign_at(theta: float) -> int:
    return lu_sign(linalg.lu_factor(border(theta, forward(theta))))


def test_the_determinant_sign_and_the_scaled_angle():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.normal(size=(6, 6))
        assert lu_sign(linalg.lu_factor(a)) == np.sign(np.linalg.det(a))
    n = 4  # z has 2n = 8 entries weighted 1/n: z = 1/sqrt(2) everywhere has norm 1, as log lambda's 1
    assert tangent_angle((np.zeros(8), 1.0), (np.full(8, 2 ** -0.5), 1.0), n) == pytest.approx(45.0)
    assert tangent_angle((np.ones(8), 0.0), (-np.ones(8), 0.0), n) == pytest.approx(180.0)


def test_a_sharp_turn_is_rejected_and_the_halved_step_passes():
    control, theta0, h = StepControl(max_angle=15.0), 0.02, 0.04
    t_old, sign, rejected = forward(theta0), sign_at(theta0), []
    while True:
        why, new, angle = control_step(border(theta0 - h, t_old), t_old, sign, 0.0, control, 1)
        true = tangent_angle(forward(theta0), forward(theta0 - h), 1)  # the oriented curve's own turn
        if why is None:
            break
        rejected.append((h, why, true))
        h /= 2
    assert rejected and all(true > 15.0 for _, _, true in rejected)
    assert angle == pytest.approx(true) and true <= 15.0 and h < 0.04
    assert new[2] == sign  # the orientation is the curve's
    assert (new[0] @ forward(theta0 - h)[0] + new[1] * forward(theta0 - h)[1]) > 0


def test_a_jump_onto_the_branch_coming_back_is_caught_by_the_orientation():
    theta0 = 0.5
    t_old, sign = forward(theta0), sign_at(theta0)
    back = border(-theta0, t_old)  # the same x on the lower branch: the tangent line is nearly the same
    why, new, angle = control_step(back.copy(), t_old, sign, 0.0, StepControl(), 1)
    assert angle < 15.0 and why == "orientation"
    assert control_step(back, t_old, sign, 0.0, StepControl(orientation=False), 1)[0] is None
    assert control_step(border(theta0 - 0.05, t_old), t_old, sign, 0.0, StepControl(), 1)[0] is None
    assert control_step(border(theta0 - 0.05, t_old), t_old, sign, 0.5, StepControl(), 1)[0] == "drift 0.5"
