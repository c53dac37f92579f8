"""`alliance explain` and `alliance scenarios` through the command line, and a scenario file accepted
wherever a scenario name is (solve, evaluate, a training config, a study config)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from repo import REPO

from agents.baselines import make_policy
from agents.decompose import explain_state
from agents.solver import solve
from agents.streams import optimum_streams, policy_streams
from envs.model import REWARD_PARTS
from envs.scenarios import SCENARIOS, make_params
from training.cli import main
from training.config.run import config_from_dict
from training.config.study import load_study_config, plan_points

WEST_OPEN_FILE = REPO / "configs" / "scenarios" / "calendar_west_open.yaml"
STATE = "phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1"


def one_error(capsys, argv: list[str]) -> str:
    """Run ``alliance ARGV``: exit 2 and exactly one line on stderr, which is returned."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert captured.out == ""
    return lines[0]


# ------------------------------------------------------------------------------------- streams
def test_explain_json_is_the_exact_streams(capsys):
    assert main(["explain", "war", "--policy", "bandwagon", "--policy", "baseline:hedge", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    p = make_params("war")
    assert [r["policy"] for r in out["policies"]] == ["optimal", "bandwagon", "hedge"]
    assert out["policies"][0] == optimum_streams(p).to_dict()
    assert out["policies"][1] == policy_streams(p, make_policy("bandwagon", p), "bandwagon").to_dict()
    for rep in out["policies"]:
        total = sum(sign * rep["streams"][k] for k, sign in REWARD_PARTS.items())
        assert total == pytest.approx(rep["mean_value"], abs=1e-9)
        assert rep["optimum"] == solve(p).value


def test_explain_text_says_what_each_baseline_gives_up(capsys):
    assert main(["explain", "war", "--policy", "bandwagon", "--policy", "balance"]) == 0
    text = capsys.readouterr().out
    assert main(["explain", "war", "--policy", "bandwagon", "--policy", "balance", "--json"]) == 0
    reps = {r["policy"]: r for r in json.loads(capsys.readouterr().out)["policies"]}
    opt = reps["optimal"]["streams"]
    for name in ("bandwagon", "balance"):
        line = next(x for x in text.splitlines() if x.startswith(f"- {name}:"))
        mine = reps[name]["streams"]
        for good in ("security", "autonomy", "economy"):
            diff = mine[good] - opt[good]
            if abs(diff) >= 0.005:
                word = ("far " if abs(diff) >= 0.15 else "") + ("more" if diff > 0 else "less")
                assert f" {word} {good} ({mine[good]:.2f} vs {opt[good]:.2f})" in line, (good, line)
        assert f"entrapment {mine['trap']:.2f}" in line
        assert f"{100 * reps[name]['share']:.0f} % of V*" in line


def war_file(tmp_path: Path, extra: str = "") -> Path:
    """A scenario file that is `war` under another name (stationary: quick to solve)."""
    path = tmp_path / "war_again.yaml"
    path.write_text("name: war_again\ndescription: the protracted war, written as a file\nbase: war\n" + extra)
    return path


def test_explain_a_scenario_file_equals_the_named_scenario(capsys, tmp_path):
    assert main(["explain", str(war_file(tmp_path)), "--policy", "hedge", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)["policies"]
    assert main(["explain", "war", "--policy", "hedge", "--json"]) == 0
    named = json.loads(capsys.readouterr().out)["policies"]
    for a, b in zip(from_file, named, strict=True):
        assert a["value"] == pytest.approx(b["value"], abs=1e-12)
        for k in a["streams"]:
            assert a["streams"][k] == pytest.approx(b["streams"][k], abs=1e-12)


# --------------------------------------------------------------------------------------- state
def test_explain_state_json_and_text(capsys):
    assert main(["explain", "war", "--state", STATE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == explain_state(make_params("war"), STATE).to_dict()
    for gap in out["gaps"].values():
        assert gap["gap"] >= -1e-12
        assert sum(gap["reward_parts"].values()) + gap["continuation"] == pytest.approx(gap["gap"], abs=1e-9)
    assert main(["explain", "calendar", "--state", "phase=0,threat=1,autonomy=4,trust=3,west=1,fararc=0",
                 "--t", "10"]) == 0
    text = capsys.readouterr().out
    assert "quarter t = 10" in text
    for family in ("combat troops", "recognition", "deep integration", "West signal", "mediation", "abstain"):
        assert f"| {family} |" in text


@pytest.mark.parametrize(("state", "words"), [
    ("phase=4,threat=9,autonomy=3,trust=3,west=0,fararc=1", ["threat=9", "0..3"]),
    ("phase=5,threat=2,autonomy=3,trust=3,west=0,fararc=1", ["phase=5"]),
    ("phase=4,threat=2,autonomy=3,trust=3,west=0", ["missing fararc"]),
    ("phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1,moon=2", ["unknown variable", "moon"]),
    ("phase=4,threat=two,autonomy=3,trust=3,west=0,fararc=1", ["threat"]),
    ("4,2,3,3,0,1", ["var=level"]),
])
def test_a_bad_state_is_one_line(capsys, state, words):
    line = one_error(capsys, ["explain", "war", "--state", state])
    assert line.startswith("alliance explain: error: ")
    for w in words:
        assert w in line, line


@pytest.mark.parametrize(("argv", "words"), [
    (["explain", "narnia"], ["narnia", "war", "scenario file"]),
    (["explain", "calendar", "--state", "phase=0,threat=1,autonomy=4,trust=3,west=1,fararc=0", "--t", "44"],
     ["t=44", "0..43"]),
    (["explain", "war", "--t", "3"], ["--t=3", "--state"]),
    (["explain", "war", "--out", "x.png"], ["--out", "--frontier"]),
    (["explain", "war", "--frontier", "--out", "x.pdf"], ["--out", ".png"]),
    (["explain", "war", "--policy", "nobody"], ["--policy='nobody'", "bandwagon"]),
    (["explain", "war", "--state", STATE, "--policy", "hedge"], ["--policy"]),
    (["explain", "missing.yaml"], ["missing.yaml"]),
])
def test_bad_arguments_are_one_line(capsys, argv, words):
    line = one_error(capsys, argv)
    for w in words:
        assert w in line, line


@pytest.mark.slow
def test_explain_frontier_writes_the_figure(capsys, tmp_path):
    out = tmp_path / "fig" / "frontier.png"
    assert main(["explain", "alt_open", "--frontier", "--out", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [round(p["weights"][1], 10) for p in rep["optima"]] == [round(0.05 * i, 10) for i in range(17)]
    assert rep["default"]["value"] == pytest.approx(solve(make_params("alt_open")).value, abs=1e-9)


# ----------------------------------------------------------------------------------- scenarios
def test_scenarios_lists_each_named_scenario_once(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    first = [line.split()[0] for line in lines[: len(SCENARIOS)]]
    assert first == list(SCENARIOS)
    assert all(len(line.split(None, 1)) == 2 for line in lines[: len(SCENARIOS)])  # a description on each


# ---------------------------------------------------- a scenario file wherever a name is accepted
def test_solve_and_evaluate_take_a_scenario_file(capsys, tmp_path):
    path = war_file(tmp_path, "parameters: {identification: 0.9}\n")
    assert main(["solve", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scenario"] == "war_again"
    assert out["value"] == pytest.approx(solve(make_params("high_id")).value, abs=1e-12)
    assert main(["evaluate", "baseline:hedge", "--scenario", str(path), "--episodes", "0", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    p = make_params("high_id")
    assert rep["value"] == pytest.approx(policy_streams(p, make_policy("hedge", p)).value, abs=1e-12)


def test_a_training_config_takes_a_scenario_file(tmp_path):
    good = {"env": {"scenario": str(WEST_OPEN_FILE)}, "algo": "PPO", "total_timesteps": 256}
    assert config_from_dict(good).env.scenario == str(WEST_OPEN_FILE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: a typo\nparameters: {powr: 0.5}\n")
    with pytest.raises(ValueError, match=r"env\.scenario=.*bad\.yaml.*powr"):
        config_from_dict({**good, "env": {"scenario": str(bad)}})


def test_a_study_config_takes_scenario_files(tmp_path, capsys):
    own = tmp_path / "mine.yaml"
    shutil.copy(WEST_OPEN_FILE, own)
    cfg_path = tmp_path / "study.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "name": "files", "out": str(tmp_path / "out"), "scenarios": ["war", str(own)],
        "sweeps": {"ident": {"scenario": str(own), "axes": {"identification": [0.2, 0.6]}}}}))
    cfg = load_study_config(cfg_path)
    points = plan_points(cfg)
    assert [p.relpath() for p in points][:2] == ["exact/war.json", "exact/calendar_west_open.json"]
    assert points[1].scenario == str(own)
    # two files of the same name would write one result file: refused
    twin = tmp_path / "twin.yaml"
    shutil.copy(WEST_OPEN_FILE, twin)
    cfg_path.write_text(yaml.safe_dump({"name": "files", "out": str(tmp_path / "out"),
                                        "scenarios": [str(own), str(twin)]}))
    line = one_error(capsys, ["study", str(cfg_path), "--report-only"])
    assert "scenarios=" in line and "each scenario once" in line
    cfg_path.write_text(yaml.safe_dump({"name": "files", "out": str(tmp_path / "out"),
                                        "scenarios": [str(Path(tmp_path) / "nowhere.yaml")]}))
    line = one_error(capsys, ["study", str(cfg_path), "--report-only"])
    assert "scenarios[0]=" in line and "nowhere.yaml" in line


@pytest.mark.slow
def test_a_run_trained_on_a_scenario_file_is_explained(tmp_path, capsys):
    """Train on a scenario file (its run folder goes by the file's name), then explain the model."""
    from tiny_runs import tiny_ppo_config

    from training.run.train import load_model, train

    path = war_file(tmp_path)
    cfg = tiny_ppo_config(tmp_path / "runs", env={"scenario": str(path)})
    run_dir = train(cfg)
    assert run_dir.parent.name == "war_again"
    assert main(["explain", str(path), "--policy", str(run_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["policies"]
    p = make_params(path)
    assert out[1] == policy_streams(p, load_model(run_dir), str(run_dir)).to_dict()
