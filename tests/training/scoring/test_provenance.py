"""`alliance benchmark` keeps a run's provenance (issue 28): a run is scored on its own scenario with
its overrides and named so (class 2: a run trained on `war` with identification=0.9 was scored on
plain `war` under the column `war`), and run folders of one content key are copies, counted once
and said so (class 4: three folders of one config and seed were "PPO (3 seeds)" with a zero-width
interval)."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest
import torch
from repo import REPO
from tiny_runs import tiny_ppo_config

from training import cli
from training.evaluate.evaluation import evaluate_target
from training.run.train import train

SCRIPT = REPO / ".venv" / "bin" / "alliance"
LABEL = "war[identification=0.9]"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run of seed 0 trained three times over (three folders, one content key), one of seed 1,
    and one of seed 0 trained on war with identification=0.9."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("provenance")
    copies = [train(tiny_ppo_config(root / "plain")) for _ in range(3)]
    other = train(tiny_ppo_config(root / "plain", seed=1))
    tuned = train(tiny_ppo_config(root / "tuned", env={"scenario": "war", "overrides": {"identification": 0.9}}))
    return root, copies, other, tuned


def alliance(*argv, cwd):
    proc = subprocess.run([str(SCRIPT), *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_run_with_overrides_is_scored_on_its_own_scenario_and_named_with_them(runs, tmp_path):
    root, _, _, tuned = runs
    alliance("benchmark", "--runs", tuned, "--out", tmp_path / "b", "--reps", 100, "--quiet", cwd=tmp_path)
    data = json.loads((tmp_path / "b" / "benchmark.json").read_text())
    assert data["scenarios"] == [LABEL]
    own = evaluate_target(tuned, episodes=0)  # what `alliance evaluate RUN` reports
    plain = evaluate_target(tuned, "war", episodes=0)
    assert own["scenario"] == LABEL and plain["scenario"] == "war"
    assert own["optimum"] != pytest.approx(plain["optimum"])  # identification changes V*: two scenarios
    result = data["runs"][0]["results"][LABEL]
    assert result["share_of_optimum"] == pytest.approx(own["share_of_optimum"], rel=1e-12)
    assert result["optimum"] == pytest.approx(own["optimum"], rel=1e-12)
    assert {r["scenario"] for r in read_csv(tmp_path / "b" / "benchmark.csv")} == {LABEL, "all"}
    assert [r["trained_on"] for r in read_csv(tmp_path / "b" / "benchmark_runs.csv")] == [LABEL]
    assert f"`{LABEL}`" in (tmp_path / "b" / "benchmark.md").read_text()
    # the name in the table is a scenario --scenarios takes back, and it gives the same numbers
    assert cli.main(["benchmark", "--runs", str(tuned), "--scenarios", LABEL, "--out", str(tmp_path / "c"),
                     "--reps", "100", "--quiet"]) == 0
    again = json.loads((tmp_path / "c" / "benchmark.json").read_text())
    assert again["scenarios"] == [LABEL]
    assert again["runs"][0]["results"][LABEL]["share_of_optimum"] == result["share_of_optimum"]


def test_runs_of_one_config_and_seed_count_once_and_the_table_says_so(runs, tmp_path, capsys):
    root, copies, other, tuned = runs
    assert len({(c / "model.zip").read_bytes() for c in copies}) == 3  # not byte copies: their zips differ
    assert cli.main(["benchmark", "--runs", *map(str, [*copies, other, tuned]), "--scenarios", "war", "--out",
                     str(tmp_path / "b"), "--reps", "100", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    data = json.loads((tmp_path / "b" / "benchmark.json").read_text())
    plain_group = "PPO@war"
    assert data["aggregate"]["n_runs"][plain_group] == 2  # seeds 0 and 1; the two copies of seed 0 left out
    assert data["aggregate"]["n_runs"][f"PPO@{LABEL}"] == 1
    assert sorted(d["run_dir"] for d in data["duplicates"]) == sorted(map(str, copies[1:]))
    assert all(d["same_as"] == str(copies[0]) and d["why"] == "the same config and seed" for d in data["duplicates"])
    md = (tmp_path / "b" / "benchmark.md").read_text()
    assert f"| {plain_group} (2 seeds; 2 duplicates counted once) | algorithm | 2 |" in md
    assert all(f"- `{c}`: the same config and seed as `{copies[0]}`" in md for c in copies[1:])
    assert stdout.count("a duplicate, counted once") == 2
