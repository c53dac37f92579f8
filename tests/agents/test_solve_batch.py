"""agents.solve_batch: K parameter sets in one call give what K single solves give, and bad input
is a one-line ValueError naming the index of the bad set."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import numpy as np
import pytest

from agents import solve_batch
from agents.solver import solve
from envs.scenarios import make_params


def _random_sets(n: int, seed: int) -> list:
    """Draws around `war`; every fifth set gets hazards so that its start phase reaches other
    blocks (the sets' reachable phase blocks then differ within the batch)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        over = {"power": float(rng.uniform(0, 1)), "identification": float(rng.uniform(0, 1)),
                "alpha_west": float(rng.uniform(0, 1)), "alpha_far": float(rng.uniform(0, 1)),
                "tau": float(rng.uniform(0.5, 3.0)), "mediation": float(rng.uniform(0, 0.6)),
                "gamma": float(rng.uniform(0.9, 0.97))}
        if i % 5 == 0:
            start_phase = int(rng.integers(1, 4))
            over["hazard"] = [0.0] * start_phase + [float(rng.uniform(0.05, 0.5))] * (4 - start_phase) + [0.0]
            over["start"] = (start_phase, 2, 4, 3, 1, 0)
        out.append(make_params("war", over))
    return out


@pytest.mark.parametrize("n", [pytest.param(50, marks=pytest.mark.slow), 6])
def test_batched_equals_single_on_random_sets(n):
    sets = _random_sets(n, seed=11)
    batch = solve_batch(sets)
    blocks = {tuple(sorted(b.iterations)) for b in batch}
    assert len(blocks) > 1  # the batch mixes sets with different reachable blocks
    for p, b in zip(sets, batch):
        single = solve_batch([p])[0]
        assert sorted(single.iterations) == sorted(b.iterations)
        solved = ~np.isnan(single.values[0])
        np.testing.assert_array_equal(np.isnan(b.values[0]), ~solved)
        np.testing.assert_allclose(b.values[0][solved], single.values[0][solved], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(b.policy, single.policy)
        assert b.bellman_residual <= 1e-9 and single.bellman_residual <= 1e-9


def test_batch_of_finite_horizon_sets_and_q_values():
    sets = [make_params("calendar"), make_params("calendar", {"identification": 0.8})]
    batch = solve_batch(sets, q_values=True)
    for p, b in zip(sets, batch):
        single = solve(p)
        np.testing.assert_allclose(b.values, single.values, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(b.policy, single.policy)
        assert b.q.shape == (5400, 96)
        np.testing.assert_allclose(b.q.max(axis=1), b.values[0], rtol=0, atol=1e-9)


def test_solve_is_the_batch_of_one():
    p = make_params("war", {"power": 0.5})
    np.testing.assert_array_equal(solve(p).values, solve_batch([p])[0].values)


@pytest.mark.parametrize("bad, match", [
    ([], r"params_list=\[\] is not allowed"),
    ([make_params("war"), make_params("calendar")], r"params_list\[1\]\.horizon=44"),
    ([make_params("war"), make_params("war"), {"scenario": "war", "power": 3.0}], r"params_list\[2\]: power=3.0"),
    ([make_params("war"), "war"], r"params_list\[1\]: params='war'"),
    (make_params("war"), r"params_list=AllianceParams"),
])
def test_bad_input_is_a_one_line_error_naming_the_index(bad, match):
    with pytest.raises(ValueError, match=match) as err:
        solve_batch(bad)
    assert "\n" not in str(err.value)


def test_a_set_changed_behind_the_dataclass_is_checked_again():
    p = make_params("war")
    object.__setattr__(p, "gamma", 1.5)  # what __post_init__ would refuse
    with pytest.raises(ValueError, match=r"params_list\[0\]: gamma=1.5"):
        solve_batch([dataclasses.replace(make_params("war")), p][1:])


def test_the_warm_start_does_not_change_the_optimum(monkeypatch):
    """The modified policy iteration only picks the start of the exact policy iteration: without it
    (plain policy iteration from the greedy policy) the values and the policy are the same."""
    from agents import warm_start
    sets = _random_sets(6, seed=5)[:2] + [make_params("war")]
    warm = solve_batch(sets)
    monkeypatch.setattr(warm_start, "WARM_ROUNDS", 0)
    plain = solve_batch(sets)
    for w, p in zip(warm, plain):
        np.testing.assert_array_equal(np.isnan(w.values), np.isnan(p.values))
        np.testing.assert_allclose(w.values, p.values, rtol=0, atol=1e-12, equal_nan=True)
        np.testing.assert_array_equal(w.policy, p.policy)
        assert sum(w.iterations.values()) < sum(p.iterations.values())  # the warm start saved dense solves


def test_finite_horizon_batch_solves_the_blocks_reachable_from_s0_and_agrees_with_solve():
    """`calendar` visits one phase a quarter: the batch solves that block at each t (and the
    continuation's Φ4 block), agrees with the full solve there, and ``complete()`` fills the rest."""
    sets = [make_params("calendar", {"identification": 0.3}), make_params("timeline", {"power": 0.6})]
    cal, tl = sets
    sols = solve_batch(sets[:1]) + solve_batch(sets[1:])
    sol = sols[0]
    for t in range(cal.horizon):
        solved = ~np.isnan(sol.values[t].reshape(5, -1)).any(axis=1)
        assert solved.tolist() == [ph == cal.calendar[t] for ph in range(5)], t
        assert (sol.policy[t].reshape(5, -1)[~solved] == -1).all()
    assert (~np.isnan(sol.values[cal.horizon].reshape(5, -1)).any(axis=1)).tolist() == [False] * 4 + [True]
    assert sorted(sol.continuation.iterations) == [4]
    for p, s in zip(sets, sols):
        full = solve(p)
        done = ~np.isnan(s.values)
        np.testing.assert_allclose(s.values[done], full.values[done], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(s.policy[done[:-1]], full.policy[done[:-1]])
        assert s.value == pytest.approx(full.value, abs=1e-12)
    tl_solved = ~np.isnan(sols[1].values).reshape(tl.horizon + 1, 5, -1).any(axis=2)
    assert tl_solved[0].tolist() == [True] + [False] * 4  # timeline: Φ0 at t = 0, a phase more each quarter
    assert tl_solved[4:].all()
    sol.complete()
    np.testing.assert_allclose(sol.values, solve(cal).values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sol.policy, solve(cal).policy)


def test_a_batch_holds_one_chunk_of_tables_at_a_time(monkeypatch):
    """solve_batch drops each chunk's operators (and their tables, ~9 MB a calendar set) once its
    solutions are taken: when a chunk starts, at most the last set of the one before is still held."""
    from agents import solver

    refs: list = []
    alive: list[int] = []
    solve_chunk = solver._solve_chunk

    def spy(params, q_values):
        gc.collect()
        alive.append(sum(r() is not None for r in refs))
        out = solve_chunk(params, q_values)
        refs.extend(weakref.ref(op.tables) for _, op in out)
        return out

    monkeypatch.setattr(solver, "_solve_chunk", spy)
    monkeypatch.setattr(solver, "CHUNK", 1)
    sols = solve_batch([make_params("phase0", {"power": p}) for p in (0.2, 0.4, 0.6, 0.8)])
    assert len(sols) == 4 and len(refs) == 4
    assert alive[0] == 0 and max(alive) <= 1  # the batch's would be 0, 1, 2, 3
