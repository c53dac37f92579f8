"""`alliance benchmark`: statistics by hand on synthetic data, an end-to-end run on two tiny PPO runs
(files, figures, agreement with `alliance evaluate`, determinism) and one-line errors.

The statistics themselves (IQM, stratified bootstrap against an independent NumPy bootstrap and scipy,
probability of improvement against rliable's Mann-Whitney version) are tested in tests/test_stats.py;
here they are checked as the benchmark arranges them.
"""

from __future__ import annotations

import csv
import json

import matplotlib.image
import numpy as np
import pytest
import torch
from tiny_runs import tiny_ppo_config

from training import cli
from training.evaluate.evaluation import evaluate_target
from training.render import benchmark as report
from training.run.train import train
from training.scoring.benchmark import aggregate


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """Two PPO seeds on war, benchmarked on war; returns (runs folder, out folder)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bench")
    for seed in (0, 1):
        train(tiny_ppo_config(root / "runs", seed))
    out = root / "out"
    assert cli.main(["benchmark", "--runs", str(root / "runs" / "war" / "*"), "--scenarios", "war",
                     "--out", str(out), "--reps", "300", "--quiet"]) == 0
    return root / "runs" / "war", out


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------- synthetic statistics
def synthetic(shares, baseline_shares, labels, optimum_labels):
    """Data as ``collect`` returns it, with only what ``aggregate`` reads."""
    scen = list(optimum_labels)
    runs = [{"group": "PPO", "results": {s: {"share_of_optimum": shares[i][j], "label": labels[i][j]}
                                         for j, s in enumerate(scen)}} for i in range(len(shares))]
    return {"scenarios": scen, "runs": runs,
            "optimum": {s: {"share_of_optimum": 1.0, "label": optimum_labels[s]} for s in scen},
            "baselines": {b: {s: {"share_of_optimum": v[j], "label": b} for j, s in enumerate(scen)}
                          for b, v in baseline_shares.items()}}


def test_aggregate_by_hand():
    shares = [[0.90, 0.70], [0.95, 0.80], [0.60, 0.85]]  # 3 seeds x 2 scenarios
    data = synthetic(shares, {"a": [0.80, 0.82], "b": [0.85, 0.60]},
                     [["x", "y"], ["x", "x"], ["z", "y"]], {"s1": "x", "s2": "y"})
    agg = aggregate(data, reps=500, seed=0)
    # IQM over the 6 values: floor(6/4) = 1 cut at each end -> mean of the middle four
    flat = sorted(v for row in shares for v in row)
    assert agg["iqm"]["PPO"]["aggregate"][0] == pytest.approx(np.mean(flat[1:5]), abs=1e-12)
    # per scenario, 3 values: nothing cut (floor(3/4) = 0) -> the mean
    assert agg["iqm"]["PPO"]["per_scenario"]["s1"][0] == pytest.approx((0.90 + 0.95 + 0.60) / 3, abs=1e-12)
    # best baseline: the highest mean share (a: .81, b: .725)
    assert agg["best_baseline"] == "a"
    # P(PPO > a): s1: .90, .95 beat .80 -> 2/3; s2: .85 beats .82 -> 1/3; aggregate the mean, 1/2
    poi = agg["poi"]["PPO"]
    assert poi["per_scenario"]["s1"][0] == pytest.approx(2 / 3) and poi["per_scenario"]["s2"][0] == pytest.approx(1 / 3)
    assert poi["aggregate"][0] == pytest.approx(0.5)
    # labels: s1 x, x, z vs x -> 2/3; s2 y, x, y vs y -> 2/3
    assert agg["labels"]["PPO"]["per_scenario"]["s1"]["agree"] == pytest.approx(2 / 3)
    assert agg["label_agreement"] == pytest.approx(4 / 6)
    # deterministic policies: one run, a zero-width interval at the IQM over the scenarios (2 values: the mean)
    assert agg["iqm"]["a"]["aggregate"] == pytest.approx([0.81, 0.81, 0.81], abs=1e-12)
    assert agg["iqm"]["optimal"]["aggregate"] == pytest.approx([1.0, 1.0, 1.0])
    lo, hi = agg["iqm"]["PPO"]["aggregate"][1:]
    assert min(flat) <= lo <= agg["iqm"]["PPO"]["aggregate"][0] <= hi <= max(flat)
    assert aggregate(data, reps=500, seed=0) == agg  # fixed bootstrap seed: the same output


def test_a_tie_with_the_best_baseline_counts_half():
    data = synthetic([[0.8], [0.9]], {"a": [0.8]}, [["x"], ["x"]], {"s": "x"})
    assert aggregate(data, reps=50)["poi"]["PPO"]["aggregate"][0] == pytest.approx((0.5 + 1.0) / 2)


# --------------------------------------------------------------------------------- end to end
def test_files_and_tables_agree_with_evaluate_and_hand_statistics(bench):
    runs_dir, out = bench
    for name in ("benchmark.json", "benchmark.md", "benchmark.csv", "benchmark_runs.csv"):
        assert (out / name).is_file(), name
    rows = read_csv(out / "benchmark_runs.csv")
    assert len(rows) == 2 and {r["seed"] for r in rows} == {"0", "1"}
    for r in rows:  # the same number `alliance evaluate` reports
        assert float(r["share_of_optimum"]) == pytest.approx(
            evaluate_target(r["run_dir"], "war", episodes=0)["share_of_optimum"], abs=1e-12)
    summary = {(r["policy"], r["scenario"]): r for r in read_csv(out / "benchmark.csv")}
    shares = sorted(float(r["share_of_optimum"]) for r in rows)
    ppo = summary[("PPO", "war")]
    assert float(ppo["iqm_share"]) == pytest.approx(np.mean(shares), abs=1e-12)  # 2 values: nothing trimmed
    assert float(ppo["ci_low"]) >= shares[0] - 1e-12 and float(ppo["ci_high"]) <= shares[1] + 1e-12
    baselines = {p: float(r["iqm_share"]) for (p, s), r in summary.items() if r["kind"] == "baseline" and s == "all"}
    best = max(baselines, key=baselines.get)
    limited = evaluate_target("baseline:limited", "war", episodes=0)["share_of_optimum"]
    assert baselines["limited"] == pytest.approx(limited, abs=1e-12)
    by_hand = np.mean([(s > baselines[best]) + 0.5 * (s == baselines[best]) for s in shares])
    assert float(summary[("PPO", "all")]["poi_vs_best_baseline"]) == pytest.approx(by_hand)
    for (p, s), r in summary.items():  # deterministic policies have zero-width intervals
        if r["kind"] != "algorithm":
            assert float(r["ci_low"]) == float(r["iqm_share"]) == float(r["ci_high"]), (p, s)
    agree = np.mean([r["label"] == r["optimum_label"] for r in rows])
    assert float(summary[("PPO", "all")]["label_agreement_with_optimum"]) == pytest.approx(agree)
    md = (out / "benchmark.md").read_text()
    assert f"best baseline (`{best}`)" in md and "rliable" in md and "| optimal | optimum | 1 |" in md


def test_learning_curves_come_from_evaluations_npz_with_the_optimums_episode_return(bench):
    runs_dir, out = bench
    data = json.loads((out / "benchmark.json").read_text())
    for run in data["runs"]:
        with np.load(f"{run['run_dir']}/evaluations.npz") as log:
            assert run["curve"]["timesteps"] == log["timesteps"].tolist()
            assert run["curve"]["mean_return"] == pytest.approx(log["results"].mean(axis=1).tolist())
    line = data["curve_optimum"]["PPO"]
    assert line["horizon"] == 80
    assert line["episode_return"] == pytest.approx(evaluate_target("optimal", "war", episodes=0)["episode_return"])


def test_figures_are_written_and_readable(bench):
    _, out = bench
    names = sorted(p.name for p in (out / "figures").iterdir())
    assert names == ["action_shares.png", "intervals_all.png", "intervals_war.png", "learning_curves.png"]
    for name in names:
        img = matplotlib.image.imread(out / "figures" / name)
        assert img.shape[0] > 250 and img.shape[1] > 500, name
        assert float(np.std(img[..., :3])) > 0.05, name  # not blank
    md = (out / "benchmark.md").read_text()
    assert all(f"figures/{n}" in md for n in names)


def test_rendering_is_deterministic_and_needs_only_the_json(bench, tmp_path):
    _, out = bench
    data = report.load_data(out)
    again = aggregate(data, reps=data["aggregate"]["settings"]["reps"], seed=data["aggregate"]["settings"]["seed"])
    assert json.loads(json.dumps(again)) == data["aggregate"]
    (tmp_path / "benchmark.json").write_text((out / "benchmark.json").read_text())
    assert cli.main(["benchmark", "--out", str(tmp_path), "--report-only"]) == 0
    for name in ("benchmark.md", "benchmark.csv", "benchmark_runs.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


# ------------------------------------------------------------------------------------ errors
def test_pattern_matching_no_run_is_one_line(tmp_path, capsys):
    code = cli.main(["benchmark", "--runs", str(tmp_path / "nothing*"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "matches no run folder" in err[0]


def test_scenario_whose_spaces_differ_fails_before_evaluating(bench, tmp_path, capsys):
    runs_dir, _ = bench
    code = cli.main(["benchmark", "--runs", str(runs_dir / "*"), "--scenarios", "war,calendar",
                     "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "observation space" in err[0] and "calendar" in err[0]
    assert not (tmp_path / "o").exists()
