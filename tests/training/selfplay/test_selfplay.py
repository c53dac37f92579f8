"""``alliance selfplay``: alternating PPO self-play in the patron game, scored by exact NashConv,
run through the console script as a user runs it; the read-off tables against SB3's own numbers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from agents.game.best_response import nash_conv
from agents.game.operator import game_operator
from envs.scenarios import make_params
from training.results import run_folder as rf

ALLIANCE = str(Path(sys.executable).parent / "alliance")
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
TINY = {"env": {"scenario": "war", "overrides": {}}, "rounds": 2, "steps_per_round": 256, "n_envs": 2, "seed": 3,
        "hyperparams": {"n_steps": 128, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}}


def alliance(*args, timeout=900):
    return subprocess.run([ALLIANCE, "selfplay", *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def in_process(capsys, *args) -> tuple[int, str]:
    """``alliance selfplay ARGS`` through the command's own ``main`` (what the console script calls): exit code, stderr."""
    from training import cli

    code = cli.main(["selfplay", *args])
    return code, capsys.readouterr().err


def write_config(folder: Path, **changes) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({**TINY, "output": str(folder / "out"), **changes}))
    return path


def run_folder(folder: Path) -> Path:
    (found,) = (folder / "out" / "war").iterdir()
    return found


def curve(run_dir: Path) -> list[dict]:
    """The curve's rounds without their wall times."""
    rounds = json.loads((run_dir / "nashconv.json").read_text())["rounds"]
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rounds]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same tiny config trained twice: two rounds in one go, and one round (resumed later)."""
    out = {}
    for name, rounds in (("two", 2), ("one", 1)):
        folder = tmp_path_factory.mktemp(name)
        done = alliance(str(write_config(folder, rounds=rounds)))
        assert done.returncode == 0, done.stderr
        out[name] = run_folder(folder)
        out[name + "_stdout"] = done.stdout
    return out


def test_a_run_folder_holds_every_round_and_its_manifest_hashes_every_file(runs):
    run_dir = runs["two"]
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["status"] == "complete" and manifest["rounds_done"] == 2
    on_disk = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()} - {rf.MANIFEST}
    assert on_disk == set(manifest["files"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest, name
    for k in range(3):
        assert {f"rounds/round_{k:03d}/{f}" for f in ("small_state.zip", "patron.zip", "pi_small.npy", "pi_patron.npy")} <= on_disk
    rows = curve(run_dir)
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["steps_small_state"] for r in rows] == [0, 256, 512] == [r["steps_patron"] for r in rows]
    assert len([line for line in runs["two_stdout"].splitlines() if line.split()[:1] in (["0"], ["1"], ["2"])]) == 3


def test_the_reported_nashconv_is_nash_conv_of_the_stored_tables(runs):
    run_dir = runs["two"]
    op = game_operator(make_params("war"))
    stored = json.loads((run_dir / "nashconv.json").read_text())
    assert stored["s0"] == list(make_params("war").start)
    for row in stored["rounds"]:
        folder = run_dir / f"rounds/round_{row['round']:03d}"
        pi_s, pi_p = np.load(folder / "pi_small.npy"), np.load(folder / "pi_patron.npy")
        np.testing.assert_allclose(pi_s.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(pi_p.sum(axis=1), 1.0, atol=1e-12)
        nc = nash_conv(op, pi_s, pi_p)
        got = row["stochastic"]
        assert got["nashconv_s0"] == pytest.approx(nc.at_start, abs=1e-9)
        assert got["nashconv_max"] == pytest.approx(nc.max, abs=1e-9)
        assert got["v_small_s0"] == pytest.approx(nc.v_small[op.s0], abs=1e-9)
        assert got["v_patron_s0"] == pytest.approx(nc.v_patron[op.s0], abs=1e-9)
        assert got["gain_small_s0"] + got["gain_patron_s0"] == pytest.approx(nc.at_start, abs=1e-9)


def test_the_same_seed_gives_the_same_curve(runs):
    assert curve(runs["one"]) == curve(runs["two"])[:2]
    assert curve(runs["two"])[1] != curve(runs["two"])[2]  # training moved the profile


def test_a_resumed_run_continues_from_its_last_round_as_the_uninterrupted_run(runs, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(runs["one"], run_dir)
    done = alliance("--resume", str(run_dir), "--set", "rounds=2")
    assert done.returncode == 0, done.stderr
    assert curve(run_dir) == curve(runs["two"])
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["status"] == "complete" and manifest["rounds_done"] == 2
    assert (run_dir / rf.COMMAND).read_text().count("alliance selfplay") == 2


@pytest.mark.parametrize("target", ["rounds/round_001/patron.zip", "rounds/round_001/small_state.zip",
                                    "rounds/round_001/pi_small.npy", "rounds/round_001/pi_patron.npy",
                                    "nashconv.json"])
def test_a_tampered_file_is_refused_and_nothing_is_written(runs, tmp_path, target, capsys):
    run_dir = tmp_path / "copy"
    shutil.copytree(runs["one"], run_dir)
    with open(run_dir / target, "ab") as f:
        f.write(b"\0")
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    code, err = in_process(capsys, "--resume", str(run_dir), "--set", "rounds=2")
    assert code == 2
    assert "differs from the manifest's" in err and target in err and err.strip().count("\n") == 0
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_bad_config_value_is_one_line_and_exit_2_through_the_console_script(tmp_path):
    done = alliance(str(write_config(tmp_path, rounds=0)), timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "alliance selfplay: error: rounds=0 is not allowed: an integer in 1..10000: rounds " \
        "of alternating training"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("changes, words", [
    ({"rounds": 10_001}, "rounds=10001 is not allowed: an integer in 1..10000"),
    ({"steps_per_round": "many"}, "steps_per_round='many' is not allowed"),
    ({"start_patron": "west"}, "start_patron='west' is not allowed: 'table'"),
    ({"env": {"scenario": "calendar"}}, "env: scenario='calendar' is not allowed for the game's solvers"),
    ({"env": {"scenario": "war", "overrides": {"identification": 7}}}, "identification"),
    ({"hyperparams": {"n_step": 64}}, "hyperparams.n_step=64 is not allowed: not an argument of PPO"),
    ({"hyperparams": {"n_steps": 8, "batch_size": 64}}, "hyperparams.batch_size=64 is not allowed: at most the rollout"),
    ({"seeds": 3}, "seeds=3 is not allowed: unknown key"),
])
def test_a_bad_config_value_is_one_line_and_exit_2(tmp_path, changes, words, capsys):
    code, err = in_process(capsys, str(write_config(tmp_path, **changes)))
    assert code == 2
    assert words in err, err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_a_resume_may_only_raise_rounds(runs, capsys):
    for args, words in ((("--set", "seed=4"), "seed=4 is not allowed with --resume"),
                        (("--set", "rounds=1", "--set", "steps_per_round=512"), "steps_per_round=512 is not allowed"),
                        (("--set", "rounds=1"), "rounds=1 is not allowed with --resume")):
        code, err = in_process(capsys, "--resume", str(runs["two"]), *args)
        assert code == 2 and words in err, err
        assert err.strip().count("\n") == 0


# ------------------------------------------------------------------------- the read-off tables
@pytest.fixture(scope="module")
def trained():
    """A PPO model of each player trained a few hundred steps against a random frozen opponent."""
    import torch
    from stable_baselines3 import PPO

    from envs.game_views import FrozenOpponentEnv

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    out = {}
    for player, n_other in (("small_state", 24), ("patron", 96)):
        table = rng.random((1080, n_other))
        env = FrozenOpponentEnv(player, table / table.sum(axis=1, keepdims=True), scenario="war")
        model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=4, learning_rate=3e-3, seed=1, verbose=0)
        out[player] = model.learn(384)
    return out


@pytest.mark.parametrize("player, nvec", [("small_state", (4, 2, 3, 4)), ("patron", (4, 2, 3))])
def test_the_read_off_table_is_the_models_distribution(trained, player, nvec):
    """Each entry of the table is exp of SB3's own log-probability of that joint action (its
    ``evaluate_actions``), the flat index row-major over the components; rows sum to 1."""
    import torch

    from training.selfplay.tables import block_observations, policy_table

    model = trained[player]
    op = game_operator(make_params("war"))
    obs = block_observations(op.rows, op.params)
    table = policy_table(model, obs)
    assert table.shape == (1080, int(np.prod(nvec)))
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-12)
    states = np.random.default_rng(2).choice(1080, 12, replace=False)
    actions = np.stack(np.unravel_index(np.arange(table.shape[1]), nvec), axis=1)
    for s in states:
        with torch.no_grad():
            obs_t = torch.as_tensor(np.repeat(obs[[s]], len(actions), axis=0))
            _, log_prob, _ = model.policy.evaluate_actions(obs_t, torch.as_tensor(actions))
        np.testing.assert_allclose(table[s], np.exp(log_prob.numpy().astype(np.float64)), rtol=1e-5, atol=1e-7)
    assert np.abs(table - 1.0 / table.shape[1]).max() > 1e-3  # trained: not the uniform start


@pytest.mark.parametrize("player", ["small_state", "patron"])
def test_the_greedy_table_is_the_models_deterministic_action(trained, player):
    from training.selfplay.tables import block_observations, greedy_table

    model = trained[player]
    op = game_operator(make_params("war"))
    obs = block_observations(op.rows, op.params)
    greedy = greedy_table(model, obs)
    actions, _ = model.predict(obs, deterministic=True)
    nvec = model.action_space.nvec
    flat = np.ravel_multi_index(tuple(actions.T), tuple(nvec))
    np.testing.assert_array_equal(greedy.argmax(axis=1), flat)
    assert set(np.unique(greedy)) == {0.0, 1.0}


# ------------------------------------------------------------------------- a longer run (slow)
@pytest.mark.slow
def test_training_lowers_the_small_states_gain_from_deviating(tmp_path):
    """After a round of 8k steps against the table patron, the small state's exact gain from its best
    response at s0 is below the untrained policy's (PPO learns in the game)."""
    path = write_config(tmp_path, rounds=1, steps_per_round=8192, n_envs=8,
                        hyperparams={"n_steps": 256, "batch_size": 256, "n_epochs": 10, "gae_lambda": 0.9,
                                     "learning_rate": 1e-3, "policy_kwargs": {"net_arch": [64, 64]}})
    done = alliance(str(path), timeout=1800)
    assert done.returncode == 0, done.stderr
    rows = curve(run_folder(tmp_path))
    assert rows[1]["stochastic"]["gain_small_s0"] < rows[0]["stochastic"]["gain_small_s0"]


def test_help_shows_examples_and_what_a_round_prints(capsys):
    from training import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["selfplay", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "--resume" in out and "--trust" in out and "NashConv" in out
    examples = [ln.strip() for ln in out.split("examples:", 1)[1].splitlines() if ln.strip().startswith("alliance")]
    assert len(examples) >= 3 and all(ln.startswith("alliance selfplay ") for ln in examples)


def test_config_or_resume_is_needed(capsys):
    code, err = in_process(capsys)
    assert code == 2 and err.strip() == ("alliance selfplay: error: CONFIG is missing: a YAML file, or --resume "
                                         "RUN_DIR (see --help)")


def test_a_second_writer_of_a_run_folder_is_refused_while_another_process_holds_it(runs, tmp_path):
    """One writer per folder (issue 28): --resume of a run folder another process is writing exits at
    once in one line naming the folder and the holder, and changes nothing."""
    run_dir = tmp_path / "copy"
    shutil.copytree(runs["one"], run_dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    hold = subprocess.Popen([sys.executable, "-c", "import sys\nfrom training.results.lock import acquire\n"
                             "acquire(sys.argv[1], 'the test holder'); print('held', flush=True); sys.stdin.read()",
                             str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "held"
        done = alliance("--resume", str(run_dir), "--set", "rounds=2", timeout=120)
    finally:
        hold.stdin.close()
        hold.wait(timeout=60)
    assert done.returncode == 2
    assert "is being written by another process" in done.stderr and "the test holder" in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
