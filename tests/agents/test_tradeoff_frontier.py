"""The autonomy-security frontier (agents/frontier.py): each point is the exact optimum for its
weights, the weights keep the scenario's w_S : w_E, and the figure is drawn from the data."""

import numpy as np
import pytest

from agents.exact_eval import evaluate_table
from agents.frontier import at_weights, frontier_weights, trade_off_frontier
from agents.solver import solve
from envs.scenarios import make_params


def test_weights_sum_to_one_in_the_default_ratio():
    p = make_params("war")
    ws = frontier_weights(p)
    assert len(ws) >= 17
    assert [w[1] for w in ws] == pytest.approx(np.linspace(0, 0.8, 17))
    for w_s, w_a, w_e in ws:
        assert w_s + w_a + w_e == pytest.approx(1.0, abs=1e-12)
        assert w_s / w_e == pytest.approx(0.5 / 0.15)
    assert ws[7] == pytest.approx((0.5, 0.35, 0.15))  # the default weights lie on the grid
    with pytest.raises(ValueError, match="n_steps=1 is not allowed"):
        frontier_weights(p, n_steps=1)


def check_points_are_optima(p, frontier, n_steps):
    assert len(frontier.optima) == n_steps
    for point in frontier.optima:
        q = at_weights(p, point.weights)
        v_star = solve(q).value
        assert point.optimum == pytest.approx(v_star, abs=1e-12)
        assert abs(point.value - v_star) <= 1e-9  # the policy scored is the optimum there
        assert abs(evaluate_table(q, solve(q).start_table()).value - point.value) <= 1e-9
    assert frontier.default.weights == p.weights
    assert abs(frontier.default.value - solve(p).value) <= 1e-9
    for b in frontier.baselines:
        assert b.value <= frontier.default.optimum + 1e-9


def test_points_are_the_optima_for_their_weights(tmp_path):
    p = make_params("war")
    frontier = trade_off_frontier(p, n_steps=3, baselines=["bandwagon", "balance"])
    check_points_are_optima(p, frontier, 3)
    assert [b.label for b in frontier.baselines] == ["bandwagon", "balance"]
    from training.render.frontier import plot_frontier

    out = plot_frontier(frontier, tmp_path / "f" / "frontier.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not list(out.parent.glob(".*tmp"))


@pytest.mark.slow
def test_full_frontier_on_war():
    p = make_params("war")
    check_points_are_optima(p, trade_off_frontier(p), 17)
