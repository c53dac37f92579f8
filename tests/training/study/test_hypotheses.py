"""Verdicts H1..H6 and the learners' summary on small hand-made study data: each criterion's
expected outcome is worked out by hand from the numbers written here, including refuted, mixed and
untested cases and thresholds hit exactly (inclusive, docs/model.md section 9's slack)."""

from __future__ import annotations

import numpy as np
import pytest

from training.study import hypotheses as hy

BASE_STATS = dict(m_bar=1.5, f3=0.0, f2=0.5, k_bar=0.1, g2=0.0, f_med=0.3, f_far=0.3, f_west=0.0, R_bar=3.0,
                  A_bar=3.0)
BASE_SHARES = dict(limited=0.9, limited_mediation=0.88, bandwagon=0.2, balance=0.6, hedge=0.8, neutral=0.7)


def analysis(label="limited_participation+mediation", value=10.0, shares=None, coords=None, phases=None, **stats):
    st = {**BASE_STATS, **stats}
    sh = {**BASE_SHARES, **(shares or {})}
    return {"optimum": {"value": value, "label": label, "stats": st, "phases": phases or {}},
            "baselines": {b: {"share": s, "value": s * value, "label": "x"} for b, s in sh.items()},
            "coords": coords or {}}


def holds(res):
    return [c["holds"] for c in res["criteria"]]


# ---------------------------------------------------------------------------------------------- H1
def test_h1_supported_mixed_and_refuted():
    good = analysis()
    assert hy.h1({"scenarios": {"war": good}})["verdict"] == "supported"
    # one criterion fails: limited_mediation at .84 is more than 15 % short
    res = hy.h1({"scenarios": {"war": analysis(shares={"limited_mediation": 0.84})}})
    assert res["verdict"] == "mixed"
    assert holds(res) == [True, True, True, True, True, False, True, True]
    bad = analysis(label="bandwagon", f3=0.6, k_bar=0.9, g2=0.5,
                   shares={"limited": 0.5, "limited_mediation": 0.5, "bandwagon": 0.95, "balance": 0.9})
    res = hy.h1({"scenarios": {"war": bad}})
    assert res["verdict"] == "refuted" and not any(holds(res))


def test_h1_thresholds_are_inclusive():
    edge = analysis(f3=0.05, k_bar=0.3, g2=0.05, shares={"limited": 0.85, "limited_mediation": 0.85,
                                                          "bandwagon": 0.8, "balance": 0.8})
    assert hy.h1({"scenarios": {"war": edge}})["verdict"] == "supported"
    over = analysis(f3=0.0501)
    assert holds(hy.h1({"scenarios": {"war": over}}))[1] is False


def test_h1_reads_the_grid_when_war_is_absent_and_is_untested_without_either():
    cell = analysis(coords={"threat": "high", "alternatives": "closed"})
    data = {"scenarios": {}, "sweeps": {"threat_alternatives": [cell]}}
    assert hy.h1(data)["verdict"] == "supported"
    assert hy.h1({"scenarios": {}})["verdict"] == "untested"


# ---------------------------------------------------------------------------------------------- H2
def test_h2_by_hand():
    closed = analysis(m_bar=1.5)
    opened = analysis(label="hedging", m_bar=1.2, f_west=0.3)  # falls by exactly .3, f_west exactly .3
    assert hy.h2({"scenarios": {"war": closed, "alt_open": opened}})["verdict"] == "supported"
    opened = analysis(label="balancing", m_bar=1.3, f_west=0.5)  # falls by .2 only, label not hedging
    res = hy.h2({"scenarios": {"war": closed, "alt_open": opened}})
    assert holds(res) == [False, True, False] and res["verdict"] == "mixed"
    assert hy.h2({"scenarios": {"war": closed}})["verdict"] == "untested"


# ---------------------------------------------------------------------------------------------- H3
def grid(hc, lc, ho, lo):
    cells = []
    for (t, a), st in {("high", "closed"): hc, ("low", "closed"): lc, ("high", "open"): ho, ("low", "open"): lo}.items():
        cells.append(analysis(coords={"threat": t, "alternatives": a}, **st))
    return {"scenarios": {}, "sweeps": {"threat_alternatives": cells}}


def test_h3_supported_when_low_threat_moves_open_cell_toward_balancing():
    data = grid(dict(m_bar=1.5), dict(m_bar=1.4), dict(m_bar=0.8, f_west=0.3, R_bar=2.0),
                dict(m_bar=0.5, f_west=0.5, R_bar=1.9))
    res = hy.h3(data)
    # closed |Δm| = .1 < .3; open: f_west +.2, m -.3, R -.1; |-.3| > |-.1|
    assert holds(res) == [True] * 5 and res["verdict"] == "supported"


def test_h3_mixed_and_refuted():
    # closed moves a lot (|Δm| = .5), open: f_west falls, m rises, R rises: every criterion fails
    data = grid(dict(m_bar=1.5), dict(m_bar=1.0), dict(m_bar=0.8, f_west=0.5, R_bar=2.0),
                dict(m_bar=0.9, f_west=0.3, R_bar=2.5))
    assert hy.h3(data)["verdict"] == "refuted"
    # a change of exactly .05 does not count as "moved" (> .05)
    data = grid(dict(m_bar=1.5), dict(m_bar=1.5), dict(m_bar=0.8, f_west=0.3, R_bar=2.0),
                dict(m_bar=0.5, f_west=0.35, R_bar=1.0))
    res = hy.h3(data)
    assert holds(res) == [True, False, True, True, True] and res["verdict"] == "mixed"


def test_h3_untested_without_the_fourth_cell():
    data = {"scenarios": {"war": analysis(), "alt_open": analysis(), "low_threat": analysis()}}
    assert hy.h3(data)["verdict"] == "untested"


# ---------------------------------------------------------------------------------------------- H4
def id_sweep(rows):
    return [analysis(coords={"identification": i}, **st) for i, st in rows]


def test_h4_threshold_reading_orders_recognition_first():
    rows = [(0.0, dict(k_bar=0.0, f2=0.1)), (0.5, dict(k_bar=0.6, f2=0.2)), (1.0, dict(k_bar=0.9, f2=0.6))]
    data = {"scenarios": {"high_id": analysis(k_bar=0.8, f2=0.3, f3=0.0)}, "sweeps": {"identification": id_sweep(rows)}}
    res = hy.h4(data)
    # k̄ >= .5 first at .5; f2 >= .5 first at 1.0 -> first criterion by thresholds (its fallback holds too);
    # k̄ rises .9; f3(.9) = 0
    assert holds(res) == [True, True, True, True] and res["verdict"] == "supported"
    assert [c["fallback"] for c in res["criteria"]] == [False, True, False, False]
    assert [r[0] for r in res["table"]["rows"]] == ["0.00", "0.50", "0.90", "1.00"]


def test_h4_alternative_reading_and_troops_at_point_nine():
    # participation already high at ι = 0 (threshold reading fails), recognition rises .6, no troops anywhere
    rows = [(0.0, dict(k_bar=0.0, f2=0.6)), (1.0, dict(k_bar=0.6, f2=0.6))]
    res = hy.h4({"scenarios": {}, "sweeps": {"identification": id_sweep(rows)}})
    # the criterion as first written fails; its fallback holds but is not counted (issue 31): mixed, not supported
    assert holds(res) == [False, True, True] and res["note"] and res["verdict"] == "mixed"
    assert "fallback" in res["note"] and "first written" in res["note"]
    # troops at ι = .9: the fallback fails too and so does the troops criterion
    data = {"scenarios": {"high_id": analysis(k_bar=0.7, f2=0.6, f3=0.2)}, "sweeps": {"identification": id_sweep(rows)}}
    assert holds(hy.h4(data)) == [False, False, True, False]


# ---------------------------------------------------------------------------------------------- H5
def power_sweep(m, a):
    return {"scenarios": {}, "sweeps": {"power": [analysis(coords={"power": c}, m_bar=mi, A_bar=ai)
                                                  for c, mi, ai in zip((0, 0.5, 1), m, a)]}}


def test_h5_directions():
    assert hy.h5(power_sweep((1.6, 1.5, 1.3), (3.0, 3.5, 4.0)))["verdict"] == "supported"
    assert hy.h5(power_sweep((1.3, 1.5, 1.6), (4.0, 3.5, 3.0)))["verdict"] == "refuted"
    # participation flat (ρ undefined -> 0), autonomy up
    assert holds(hy.h5(power_sweep((1.5, 1.5, 1.5), (3.0, 3.5, 4.0)))) == [False, True]
    # monotone but too small a change (-.03 is not < -.05)
    assert holds(hy.h5(power_sweep((1.53, 1.52, 1.50), (3.0, 3.5, 4.0)))) == [False, True]


def test_spearman_by_hand():
    assert hy.spearman([0, 1, 2], [3, 2, 1]) == pytest.approx(-1.0)
    # ranks x 1,2,3,4; y 1,3,2,4: d² = 0+1+1+0 = 2 -> 1 - 6*2/(4*15) = 0.8
    assert hy.spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)
    assert hy.spearman([1, 2], [5, 5]) == 0.0


# ---------------------------------------------------------------------------------------------- H6
def phases(f_med, f2):
    return {str(p): {"weight": 0.2, "stats": {**BASE_STATS, "f_med": fm, "f2": ff}}
            for p, (fm, ff) in enumerate(zip(f_med, f2))}


def test_h6_peak_complement_and_advantage():
    cal = analysis(phases=phases((0.0, 0.0, 0.3, 0.9, 0.4), (0.0, 0.0, 0.4, 0.5, 0.4)))
    war = analysis(shares={"limited": 0.9, "hedge": 0.8})  # advantage .9 - .8 = .1
    nomed = analysis(shares={"limited": 0.85, "limited_mediation": 0.84, "hedge": 0.8})  # advantage .05
    res = hy.h6({"scenarios": {"calendar": cal, "war": war, "no_mediation": nomed}})
    assert holds(res) == [True, True, True] and res["verdict"] == "supported"


def test_h6_tie_is_no_peak_and_unchanged_advantage_is_no_shrink():
    cal = analysis(phases=phases((0.0, 0.0, 0.9, 0.9, 0.4), (0.0, 0.0, 0.4, 0.0, 0.4)))
    war = analysis(shares={"limited": 0.9, "hedge": 0.8})
    nomed = analysis(shares={"limited": 0.905, "hedge": 0.8})  # advantage grows: no shrink
    res = hy.h6({"scenarios": {"calendar": cal, "war": war, "no_mediation": nomed}})
    assert holds(res) == [False, False, False] and res["verdict"] == "refuted"


def test_limited_advantage_picks_the_best_of_each_side():
    a = analysis(shares={"limited": 0.7, "limited_mediation": 0.75, "hedge": 0.8, "neutral": 0.81})
    assert hy.limited_advantage(a) == (0.75, "limited_mediation", 0.81, "neutral")


def test_all_hypotheses_untested_on_empty_data():
    out = hy.all_hypotheses({"scenarios": {}, "sweeps": {}})
    assert [h["id"] for h in out] == ["H1", "H2", "H3", "H4", "H5", "H6", "H7"]
    assert all(h["verdict"] == "untested" and h["note"].startswith("Not tested") for h in out)


# ---------------------------------------------------------------------------------------------- H7
def sobol_rows(st: dict[str, list[float]], outputs=("limited_family", "m_bar")) -> list[dict]:
    """Rows of sobol.csv for `war`: group -> the ST of each of its factors."""
    return [{"scenario": "war", "output": out, "factor": f"{g}{i}", "group": g, "S1": v, "S1_conf": 0.0, "ST": v,
             "ST_conf": 0.0} for out in outputs for g, vals in st.items() for i, v in enumerate(vals)]


def test_h7_supported_when_threat_and_alternatives_lead_power_and_identification():
    disc = {"scenarios": ["war"], "sobol": sobol_rows({"threat": [0.5], "alternatives": [0.1, 0.4],
                                                      "power": [0.2], "identification": [0.3]})}
    res = hy.h7({"discovery": disc})
    assert holds(res) == [True, True, True, True] and res["verdict"] == "supported"


def test_h7_without_a_grouped_design_a_group_between_its_bounds_is_undecided():
    # alternatives: many small factors whose sum (0.6, an upper bound) beats power (0.3) but whose largest
    # (0.15, a lower bound) does not: the bounds cannot settle it (issue 31), so undecided, not refuted
    disc = {"scenarios": ["war"], "sobol": sobol_rows({"threat": [0.5], "alternatives": [0.15] * 4,
                                                      "power": [0.3], "identification": [0.1]})}
    res = hy.h7({"discovery": disc})
    assert [c["status"] for c in res["criteria"]] == ["holds", "undecided"] * 2 and res["verdict"] == "undecided"
    # its upper bound below power's index: that is decided
    disc["sobol"] = sobol_rows({"threat": [0.5], "alternatives": [0.05] * 4, "power": [0.3], "identification": [0.1]})
    assert [c["status"] for c in hy.h7({"discovery": disc})["criteria"]] == ["holds", "fails"] * 2


def grouped_rows(st: dict[str, tuple[float, float]], outputs=("limited_family", "m_bar")) -> list[dict]:
    """Rows of grouped_sobol.csv for `war`: group -> (ST, half-width of its 95 % interval)."""
    return [{"scenario": "war", "output": out, "group": g, "S1": v, "S1_conf": c, "ST": v, "ST_conf": c}
            for out in outputs for g, (v, c) in st.items()]


def test_h7_reads_the_grouped_indices_and_overlapping_intervals_are_undecided():
    sob = sobol_rows({"threat": [0.5], "alternatives": [0.15] * 4, "power": [0.3], "identification": [0.1]})
    # grouped: threat .5 ± .05 above power .3 ± .05 and identification .1 ± .05 -> holds;
    # alternatives .38 ± .05 overlaps power's [.25, .35] -> undecided
    disc = {"scenarios": ["war"], "sobol": sob, "grouped_sobol": grouped_rows(
        {"threat": (0.5, 0.05), "alternatives": (0.38, 0.05), "power": (0.3, 0.05), "identification": (0.1, 0.05)})}
    res = hy.h7({"discovery": disc})
    assert [c["status"] for c in res["criteria"]] == ["holds", "undecided"] * 2 and res["verdict"] == "undecided"
    # narrower intervals decide it: [.37, .39] lies above [.29, .31]
    disc["grouped_sobol"] = grouped_rows({"threat": (0.5, 0.01), "alternatives": (0.38, 0.01), "power": (0.3, 0.01),
                                          "identification": (0.1, 0.01)})
    assert hy.h7({"discovery": disc})["verdict"] == "supported"
    # alternatives' whole interval below identification's: fails
    disc["grouped_sobol"] = grouped_rows({"threat": (0.5, 0.01), "alternatives": (0.05, 0.01), "power": (0.3, 0.01),
                                          "identification": (0.1, 0.01)})
    assert [c["status"] for c in hy.h7({"discovery": disc})["criteria"]] == ["holds", "fails"] * 2
    assert hy.h7({"discovery": disc})["verdict"] == "mixed"


def test_h7_untested_without_a_discovery():
    assert hy.h7({"scenarios": {}})["verdict"] == "untested"


def test_verdict_of():
    assert hy.verdict_of([True, True]) == "supported"
    assert hy.verdict_of([False, False]) == "refuted"
    assert hy.verdict_of([True, False]) == "mixed"
    assert hy.verdict_of(["holds", "undecided"]) == "undecided"
    assert hy.verdict_of(["fails", "undecided"]) == "undecided"
    assert hy.verdict_of(["holds", "fails", "undecided"]) == "mixed"
    # a fallback is never counted
    crit = [hy.criterion("a", "", False), hy.criterion("a, another reading", "", True, fallback=True)]
    from training.study.hypotheses.common import result

    assert result("H9", "t", crit, [], [])["verdict"] == "refuted"


# ---------------------------------------------------------------------------------------- learners
def run(algo, scenario, seed, share, agrees):
    return {"algo": algo, "scenario": scenario, "seed": seed, "share": share, "regret": 10 * (1 - share), "total_timesteps": 2048,
            "near_optimal_share": 0.5, "label": "a" if agrees else "b", "optimal_label": "a", "label_agrees": agrees}


def test_rl_summary_by_hand():
    runs = [run("PPO", "war", s, v, True) for s, v in enumerate((0.90, 0.95, 0.97, 1.0))]
    runs += [run("DQN", "war", s, v, s == 0) for s, v in enumerate((0.5, 0.6, 0.7, 0.8))]
    out = hy.rl_summary(runs, reps=200)
    ppo, dqn = out["algos"]["PPO"], out["algos"]["DQN"]
    assert ppo["share"][0] == pytest.approx((0.95 + 0.97) / 2)  # IQM of 4 values: the middle two
    assert ppo["regret"][0] == pytest.approx(10 * (1 - 0.96))
    assert ppo["agreement"][0] == 1.0 and dqn["agreement"][0] == 0.25
    assert dqn["share"][1] <= dqn["share"][0] <= dqn["share"][2]
    verdict = {c["text"].split(":")[0]: c["holds"] for c in out["criteria"]}
    assert verdict == {"DQN": False, "PPO": True} and out["verdict"] == "mixed"
    (x, y, poi), = out["poi"]
    assert (x, y) == ("DQN", "PPO") and poi[0] == 0.0  # every DQN run is below every PPO run


def test_rl_summary_of_a_study_whose_runs_on_one_scenario_all_failed():
    """A study writes its report from the units stored; if an algorithm's runs on a scenario all
    failed, that scenario has no row for it (it had an IndexError instead of a report)."""
    runs = [run("PPO", s, k, 0.9, True) for s in ("war", "alt_open") for k in range(2)]
    runs += [run("DQN", "war", k, 0.6, True) for k in range(2)]  # DQN's alt_open runs failed
    out = hy.rl_summary(runs, reps=50)
    assert set(out["algos"]["PPO"]["per_scenario"]) == {"war", "alt_open"}
    assert set(out["algos"]["DQN"]["per_scenario"]) == {"war"}
    assert out["algos"]["DQN"]["per_scenario"]["war"]["n"] == 2


def test_rl_summary_untested_without_runs():
    assert hy.rl_summary([])["verdict"] == "untested"


def test_matrix_is_seeds_by_scenarios_or_one_task_when_ragged():
    runs = [run("PPO", s, k, 0.9 + k / 100, True) for s in ("war", "alt_open") for k in range(3)]
    m = hy._matrix(runs, ["alt_open", "war"], "share")
    assert m.shape == (3, 2) and np.allclose(m[:, 0], [0.90, 0.91, 0.92])
    assert hy._matrix(runs[:-1], ["alt_open", "war"], "share").shape == (5, 1)
