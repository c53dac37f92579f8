"""Model files from elsewhere (issue 7): an SB3 archive can carry pickled objects, so loading refuses
a model (or a checkpoint, or a replay buffer) whose sha256 the run's manifest does not list unless
``trust`` / ``--trust`` is given, and refuses a model whose observation or action space is not the
scenario's, naming the difference."""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from envs.scenarios import make_params
from training import cli
from training.config.run import config_from_dict
from training.results import run_folder as rf
from training.results import store
from training.run.train import check_spaces, load_model, train

ROLLOUT = 4 * 64


def config(tmp_path: Path, algo: str = "PPO", **changes) -> dict:
    if algo == "PPO":
        hyper = {"n_steps": 64, "batch_size": 128, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}
        data = {"n_envs": 4, "total_timesteps": 2 * ROLLOUT, "checkpoint": {"freq": ROLLOUT}}
    else:
        hyper = {"buffer_size": 500, "learning_starts": 100, "batch_size": 16, "train_freq": 4,
                 "target_update_interval": 100, "policy_kwargs": {"net_arch": [8]}}
        data = {"n_envs": 2, "total_timesteps": 400, "checkpoint": {"freq": 200}}
    return {"env": {"scenario": "war"}, "algo": algo, "hyperparams": hyper, "seed": 0,
            "eval": {"freq": 10_000, "n_episodes": 1}, "output": str(tmp_path / "runs"), **data, **changes}


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory):
    """A finished PPO run and a finished DQN run (with its replay buffer), trained once."""
    import torch

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("runs")
    return {algo: train(config_from_dict(config(base / algo, algo))) for algo in ("PPO", "DQN")}


@pytest.fixture
def run_dir(finished_runs, tmp_path):
    """A private copy of the finished PPO run, free to be tampered with."""
    return Path(shutil.copytree(finished_runs["PPO"], tmp_path / "run"))


def set_manifest_files(run_dir: Path, change) -> None:
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    manifest["files"] = change(manifest["files"])
    (run_dir / rf.MANIFEST).write_text(json.dumps(manifest))


class _Touch:
    """Pickles to "call Path.touch(marker)": what a malicious archive could run instead."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def plant_payload(model_zip: Path, marker: Path) -> None:
    """Rewrite an SB3 archive so that loading it unpickles code touching ``marker``."""
    with zipfile.ZipFile(model_zip) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    data = json.loads(members["data"])
    data["ep_info_buffer"][":serialized:"] = base64.b64encode(pickle.dumps(_Touch(marker))).decode()
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model_zip, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)


# ----------------------------------------------------------------------------------- hashes
def test_a_planted_payload_runs_only_with_trust(run_dir, tmp_path):
    marker = tmp_path / "payload_ran"
    plant_payload(run_dir / rf.MODEL, marker)
    with pytest.raises(ValueError) as info:
        load_model(run_dir)
    message = str(info.value)
    assert "\n" not in message and "model.zip" in message and "sha256" in message and "--trust" in message
    assert not marker.exists()  # refused before anything was unpickled
    try:  # the payload is real: trusting the file runs it
        load_model(run_dir, trust=True)
    except ValueError:
        pass
    assert marker.exists()


def test_a_model_missing_from_the_manifest_is_refused_unless_trusted(run_dir):
    set_manifest_files(run_dir, lambda files: {k: v for k, v in files.items() if k != rf.MODEL})
    with pytest.raises(ValueError, match=r"model\.zip: not listed in .*manifest\.json") as info:
        load_model(run_dir)
    assert "\n" not in str(info.value)
    assert load_model(run_dir, trust=True).num_timesteps == 2 * ROLLOUT


def test_a_swapped_model_is_refused_unless_trusted(run_dir):
    steps, checkpoint = rf.list_checkpoints(run_dir)[0]
    shutil.copyfile(checkpoint, run_dir / rf.MODEL)  # a valid SB3 model, but not the one the run wrote
    with pytest.raises(ValueError, match="differs from the manifest's"):
        load_model(run_dir)
    assert load_model(run_dir, trust=True).num_timesteps == steps


@pytest.mark.parametrize("junk", [b"", b"PK\x03\x04 not really", b"\x00" * 1000])
def test_a_broken_model_file_is_one_line_even_when_trusted(run_dir, junk):
    (run_dir / rf.MODEL).write_bytes(junk)
    with pytest.raises(ValueError) as info:
        load_model(run_dir, trust=True)
    assert "\n" not in str(info.value) and "not a PPO model this SB3 can load" in str(info.value)


@pytest.mark.parametrize("manifest,words", [
    ("[1, 2]", "a JSON list is not allowed"),
    ('{"files": [1]}', "'files' is not allowed"),
    ('{"files": {"model.zip": 5}}', "'files' is not allowed"),
    ("{not json", "not valid JSON"),
    ("\udcff", "not valid JSON"),
])
def test_a_broken_manifest_is_one_line(run_dir, manifest, words):
    (run_dir / rf.MANIFEST).write_bytes(manifest.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError) as info:
        load_model(run_dir)
    assert "\n" not in str(info.value) and words in str(info.value)


def test_no_manifest_is_one_line(run_dir):
    (run_dir / rf.MANIFEST).unlink()
    with pytest.raises(FileNotFoundError, match="no manifest; is .* a run folder"):
        load_model(run_dir)


# ---------------------------------------------------------------------------------- resume
def test_resume_refuses_a_changed_checkpoint_unless_trusted(run_dir, capsys):
    newest = rf.list_checkpoints(run_dir)[-1][1]
    older = rf.list_checkpoints(run_dir)[0][1]
    shutil.copyfile(older, newest)  # whole, listed, but not what the run wrote there
    code = cli.main(["train", "--resume", str(run_dir), "--set", f"total_timesteps={3 * ROLLOUT}", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert newest.name in err[0] and "differs from the manifest's" in err[0] and "--trust" in err[0]
    assert json.loads((run_dir / rf.MANIFEST).read_text())["num_timesteps"] == 2 * ROLLOUT  # nothing ran

    code = cli.main(["train", "--resume", str(run_dir), "--set", f"total_timesteps={3 * ROLLOUT}", "--trust",
                     "--no-progress"])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["num_timesteps"] == 3 * ROLLOUT
    assert manifest["last_session"]["from_steps"] == ROLLOUT  # what the trusted file really holds
    assert (run_dir / rf.COMMAND).read_text().splitlines()[-1].endswith("--trust --no-progress")


def test_resume_of_a_folder_whose_manifest_lists_no_checkpoint(run_dir, capsys):
    set_manifest_files(run_dir, lambda files: {k: v for k, v in files.items() if not k.startswith("checkpoints/")})
    code = cli.main(["train", "--resume", str(run_dir), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not listed in" in err[0] and "--trust" in err[0], err


def test_resume_refuses_a_changed_replay_buffer(finished_runs, tmp_path, capsys):
    run_dir = Path(shutil.copytree(finished_runs["DQN"], tmp_path / "dqn"))
    (buffer,) = (run_dir / "checkpoints").glob("replay_buffer_*_steps.pkl")
    buffer.write_bytes(pickle.dumps({"not": "the buffer the run wrote"}))
    code = cli.main(["train", "--resume", str(run_dir), "--set", "total_timesteps=600", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and buffer.name in err[0] and "sha256" in err[0], err


def test_the_manifest_lists_each_checkpoint_as_it_is_written(finished_runs):
    for run_dir in finished_runs.values():
        files = rf.manifest_files(run_dir)
        for _, path in rf.list_checkpoints(run_dir):
            assert files[path.relative_to(run_dir).as_posix()] == store.sha256(path)


# ----------------------------------------------------------------------------------- spaces
def test_load_model_checks_the_scenarios_spaces(run_dir):
    assert load_model(run_dir, params=make_params("high_id")).num_timesteps == 2 * ROLLOUT  # 26 inputs too
    with pytest.raises(ValueError) as info:
        load_model(run_dir, params=make_params("calendar"))
    message = str(info.value)
    assert "\n" not in message and "model.zip" in message
    assert "observation space" in message and "calendar" in message and "shape (26,) instead of (27,)" in message


class _Spaces:
    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space


BOX26 = spaces.Box(0.0, 1.0, (26,), np.float32)


@pytest.mark.parametrize("model,words", [
    (_Spaces(BOX26, spaces.MultiDiscrete([4, 2, 3])), ["action space", "shape (3,) instead of (4,)"]),
    (_Spaces(BOX26, spaces.MultiDiscrete([4, 2, 3, 5])), ["action space", "nvec [4, 2, 3, 5] instead of [4, 2, 3, 4]"]),
    (_Spaces(BOX26, spaces.Discrete(95)), ["action space", "n 95 instead of 96"]),
    (_Spaces(BOX26, spaces.Box(0, 1, (4,))), ["action space", "a Box where a MultiDiscrete is needed"]),
    (_Spaces(spaces.Box(0.0, 1.0, (26,), np.float64), spaces.Discrete(96)), ["observation space", "dtype float64"]),
    (_Spaces(spaces.Box(-1.0, 1.0, (26,), np.float32), spaces.Discrete(96)), ["observation space", "low [-1.0"]),
    (_Spaces(spaces.Discrete(26), spaces.Discrete(96)), ["observation space", "a Discrete where a Box"]),
    (object(), ["observation space None"]),
])
def test_check_spaces_names_the_difference(model, words):
    with pytest.raises(ValueError) as info:
        check_spaces(model, make_params("war"), "colleague.zip")
    message = str(info.value)
    assert message.startswith("colleague.zip: ") and "\n" not in message
    assert all(w in message for w in words), message


def test_check_spaces_accepts_both_action_encodings():
    for action in (spaces.MultiDiscrete([4, 2, 3, 4]), spaces.Discrete(96)):
        check_spaces(_Spaces(BOX26, action), make_params("war"))
        check_spaces(_Spaces(spaces.Box(0.0, 1.0, (27,), np.float32), action), make_params("timeline"))
