"""Training runs: the run folder is whole, runs are reproducible, an interrupted run resumes."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from tiny_runs import ROLLOUT, tiny_ppo_config

from training import cli
from training.config.run import config_from_dict
from training.results import run_folder as rf
from training.results import store
from training.run.train import load_model, train


def ppo_config(tmp_path, **changes):
    return tiny_ppo_config(tmp_path / "runs", **changes)


def dqn_config(tmp_path, **changes):
    data = {"env": {"scenario": "war"}, "algo": "DQN",
            "hyperparams": {"buffer_size": 2000, "learning_starts": 200, "batch_size": 32, "train_freq": 4,
                            "target_update_interval": 200, "policy_kwargs": {"net_arch": [16]}},
            "n_envs": 4, "total_timesteps": 1200, "seed": 0,
            "eval": {"freq": 600, "n_episodes": 2}, "checkpoint": {"freq": 400},
            "output": str(tmp_path / "runs")}
    data.update(changes)
    return config_from_dict(data)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parameters(run_dir) -> dict[str, torch.Tensor]:
    return load_model(run_dir).policy.state_dict()


def war_observations(n: int = 5) -> np.ndarray:
    from envs.sb3_vec_env import AllianceSB3VecEnv

    env = AllianceSB3VecEnv(n, scenario="war", seed=1)
    obs = env.reset()
    env.close()
    return obs


class FailAt(BaseCallback):
    """Raise at the first step on or after ``steps`` env steps (a crash in the middle of a run)."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.steps:
            raise RuntimeError(f"injected failure at {self.num_timesteps} steps")
        return True


# --------------------------------------------------------------------------------- run folder
def check_whole_folder(run_dir, cfg):
    """Everything the run folder promises, with hashes recomputed here."""
    for name in (rf.CONFIG, rf.COMMAND, rf.MANIFEST, rf.MODEL, rf.BEST_MODEL, rf.EVALUATIONS):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / rf.TENSORBOARD).rglob("events.out.tfevents.*"))
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["status"] == "complete"
    assert manifest["seed"] == cfg.seed and manifest["algo"] == cfg.algo
    assert set(manifest["versions"]) == {"python", "numpy", "torch", "gymnasium", "stable_baselines3"}
    assert manifest["versions"]["torch"] == torch.__version__
    on_disk = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()
               and p.name != rf.MANIFEST and not p.relative_to(run_dir).as_posix().startswith(rf.TENSORBOARD)}
    assert set(manifest["files"]) == on_disk  # every file the run wrote (and nothing else)
    for name, digest in manifest["files"].items():
        assert sha(run_dir / name) == digest, name
    for name in manifest["files"]:
        if name.endswith(".zip"):
            with zipfile.ZipFile(run_dir / name) as zf:
                assert zf.testzip() is None
    assert yaml.safe_load((run_dir / rf.CONFIG).read_text()) == cfg.model_dump(mode="json")
    with np.load(run_dir / rf.EVALUATIONS) as log:
        assert log["results"].shape[1] == cfg.eval.n_episodes
        assert np.all(np.diff(log["timesteps"]) > 0)
    return manifest


def test_ppo_run_writes_whole_folder_and_model_predicts(tmp_path):
    cfg = ppo_config(tmp_path)
    run_dir = train(cfg)
    assert run_dir.parent == tmp_path / "runs" / "war"
    assert run_dir.name.startswith("ppo_s0_")
    manifest = check_whole_folder(run_dir, cfg)
    assert manifest["num_timesteps"] == ROLLOUT
    assert manifest["observation_space"]["shape"] == [26]
    assert manifest["action_space"]["nvec"] == [4, 2, 3, 4]
    assert (run_dir / "checkpoints" / f"model_{ROLLOUT}_steps.zip").is_file()
    with np.load(run_dir / rf.EVALUATIONS) as log:  # every 1,024 env steps = 128 vector steps
        assert log["timesteps"].tolist() == [1024, 2048]
        assert np.all(log["ep_lengths"] == 80)  # war: the 80-step truncated episode
    model = load_model(run_dir)
    assert model.num_timesteps == ROLLOUT
    actions, _ = model.predict(war_observations(), deterministic=True)
    assert actions.shape == (5, 4)
    assert all(model.action_space.contains(a.astype(np.int64)) for a in actions)
    assert np.all((actions >= 0) & (actions < np.array([4, 2, 3, 4])))


def test_dqn_run_writes_whole_folder_with_replay_buffer(tmp_path):
    cfg = dqn_config(tmp_path)
    run_dir = train(cfg)
    manifest = check_whole_folder(run_dir, cfg)
    assert manifest["action_space"]["n"] == 96
    assert manifest["num_timesteps"] == 1200
    buffers = sorted(p.name for p in (run_dir / "checkpoints").glob("replay_buffer_*"))
    assert buffers == ["replay_buffer_1200_steps.pkl"]  # only the newest buffer is kept
    model = load_model(run_dir)
    actions, _ = model.predict(war_observations(), deterministic=True)
    assert actions.shape == (5,)
    assert np.all((actions >= 0) & (actions < 96))


# ------------------------------------------------------------------------------- reproducible
def test_same_seed_same_parameters_different_seed_differs(tmp_path):
    a = parameters(train(ppo_config(tmp_path / "a")))
    b = parameters(train(ppo_config(tmp_path / "b")))
    c = parameters(train(ppo_config(tmp_path / "c", seed=1)))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_dummy_vec_env_trains_the_same_model_class(tmp_path):
    run_dir = train(ppo_config(tmp_path, vec_env="dummy", n_envs=2, hyperparams={"n_steps": 256}, total_timesteps=512))
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["num_timesteps"] == 512 and manifest["action_space"]["nvec"] == [4, 2, 3, 4]


# ------------------------------------------------------------------------------------- resume
def test_interrupted_run_resumes_to_a_whole_folder(tmp_path):
    cfg = ppo_config(tmp_path, total_timesteps=3 * ROLLOUT)
    with pytest.raises(RuntimeError, match="injected failure"):
        train(cfg, callbacks=[FailAt(ROLLOUT + 1100)])
    (run_dir,) = (tmp_path / "runs" / "war").iterdir()
    assert not (run_dir / rf.MODEL).exists()
    assert json.loads((run_dir / rf.MANIFEST).read_text())["status"] == "running"
    assert [s for s, _ in rf.list_checkpoints(run_dir)] == [ROLLOUT]
    with np.load(run_dir / rf.EVALUATIONS) as log:
        before = log["timesteps"].tolist()
    assert before == [1024, 2048, 3072]

    assert train(cfg, run_dir, resume=True) == run_dir
    manifest = check_whole_folder(run_dir, cfg)
    assert manifest["num_timesteps"] == 3 * ROLLOUT
    assert manifest["last_session"]["from_steps"] == ROLLOUT
    assert load_model(run_dir).num_timesteps == 3 * ROLLOUT
    assert [s for s, _ in rf.list_checkpoints(run_dir)] == [ROLLOUT, 2 * ROLLOUT, 3 * ROLLOUT]
    with np.load(run_dir / rf.EVALUATIONS) as log:
        # the log carries on from the checkpoint: the evaluation at 3,072 of the lost stretch is replaced
        assert log["timesteps"].tolist() == [1024, 2048, 3072, 4096, 5120, 6144]


def test_resume_dqn_restores_replay_buffer(tmp_path, monkeypatch):
    cfg = dqn_config(tmp_path)
    with pytest.raises(RuntimeError):
        train(cfg, callbacks=[FailAt(1000)])
    (run_dir,) = (tmp_path / "runs" / "war").iterdir()
    steps, _ = rf.newest_checkpoint(run_dir)
    assert steps == 800 and (run_dir / "checkpoints" / "replay_buffer_800_steps.pkl").is_file()

    from stable_baselines3 import DQN

    loaded = {}
    original = DQN.load_replay_buffer

    def spy(self, path, *args, **kwargs):
        original(self, path, *args, **kwargs)
        loaded["size"] = self.replay_buffer.size()
        loaded["bytes"] = path.getvalue()  # the checked bytes, loaded from memory

    monkeypatch.setattr(DQN, "load_replay_buffer", spy)
    buffer = (run_dir / "checkpoints" / "replay_buffer_800_steps.pkl").read_bytes()
    train(cfg, run_dir, resume=True)
    assert loaded["bytes"] == buffer
    assert loaded["size"] == 800 // cfg.n_envs  # one transition per vector step, n_envs wide
    assert check_whole_folder(run_dir, cfg)["num_timesteps"] == 1200


def test_resume_through_the_cli_and_extend_a_finished_run(tmp_path, capsys):
    cfg = ppo_config(tmp_path)
    run_dir = train(cfg)
    code = cli.main(["train", "--resume", str(run_dir), "--set", f"total_timesteps={2 * ROLLOUT}", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and str(run_dir) in out and "steps/s" in out
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["num_timesteps"] == 2 * ROLLOUT and manifest["last_session"]["from_steps"] == ROLLOUT
    lines = (run_dir / rf.COMMAND).read_text().splitlines()
    assert len(lines) == 2 and "--resume" in lines[1]


def test_resume_with_a_different_config_is_refused(tmp_path, capsys):
    run_dir = train(ppo_config(tmp_path))
    other = tmp_path / "other.yaml"
    other.write_text(ppo_config(tmp_path, n_envs=4).to_yaml())
    code = cli.main(["train", str(other), "--resume", str(run_dir), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "n_envs=4" in err[0]


def test_a_run_stopped_before_its_first_checkpoint_resumes_from_step_0(tmp_path, capsys):
    """No checkpoint: the run starts again from step 0 in its folder, as the uninterrupted run did."""
    cfg = ppo_config(tmp_path, checkpoint={"freq": 10 * ROLLOUT})
    with pytest.raises(RuntimeError):
        train(cfg, callbacks=[FailAt(1000)])
    (run_dir,) = (tmp_path / "runs" / "war").iterdir()
    code = cli.main(["train", "--resume", str(run_dir), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    manifest = check_whole_folder(run_dir, cfg)
    assert manifest["num_timesteps"] == cfg.total_timesteps and manifest["last_session"]["from_steps"] == 0
    straight = train(cfg.model_copy(update={"output": str(tmp_path / "straight")}))
    mine, theirs = load_model(run_dir).policy.state_dict(), load_model(straight).policy.state_dict()
    assert mine.keys() == theirs.keys() and all((mine[k] == theirs[k]).all() for k in mine)  # the same weights as the uninterrupted run


# ------------------------------------------------------------------------ atomic, hash checks
def test_newest_checkpoint_skips_broken_and_temporary_files(tmp_path):
    run_dir = train(ppo_config(tmp_path, total_timesteps=2 * ROLLOUT))
    folder = run_dir / "checkpoints"
    (folder / f".model_{9 * ROLLOUT}_steps.zip.123.tmp").write_bytes(b"half a zip")
    (folder / f"model_{8 * ROLLOUT}_steps.zip").write_bytes(b"PK\x03\x04 truncated")
    steps, path = rf.newest_checkpoint(run_dir)
    assert steps == 2 * ROLLOUT and path == folder / f"model_{2 * ROLLOUT}_steps.zip"


def test_atomic_write_keeps_the_old_file_when_the_writer_dies(tmp_path):
    target = tmp_path / "model.zip"
    target.write_bytes(b"old and complete")

    def dies(f):
        f.write(b"new but")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.atomic_write(target, dies)
    assert target.read_bytes() == b"old and complete"
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]


def test_load_model_checks_the_hash(tmp_path):
    run_dir = train(ppo_config(tmp_path))
    shutil.copyfile(run_dir / rf.BEST_MODEL, run_dir / rf.MODEL)  # a valid model, but not the trained one
    if sha(run_dir / rf.BEST_MODEL) == json.loads((run_dir / rf.MANIFEST).read_text())["files"]["model.zip"]:
        pytest.skip("best and final model are byte-identical in this run")
    with pytest.raises(ValueError) as info:
        load_model(run_dir)
    assert "model.zip" in str(info.value) and "\n" not in str(info.value)
    assert load_model(run_dir, trust=True).num_timesteps >= 0
    (run_dir / rf.BEST_MODEL).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_model(run_dir, best=True)
    assert "best_model.zip" in str(info.value) and "\n" not in str(info.value)


def test_explicit_run_dir_must_be_new_or_empty(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    with pytest.raises(ValueError, match="empty or new folder"):
        train(ppo_config(tmp_path), tmp_path / "used")
    run_dir = train(ppo_config(tmp_path), tmp_path / "fresh")
    assert run_dir == tmp_path / "fresh" and (run_dir / rf.MODEL).is_file()


def test_cli_run_with_seed_records_the_command(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text(ppo_config(tmp_path).to_yaml())
    code = cli.main(["train", str(path), "--seed", "3", "--set", "n_envs=4", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    (run_dir,) = (tmp_path / "runs" / "war").iterdir()
    assert run_dir.name.startswith("ppo_s3_") and f"run folder: {run_dir}" in out
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["seed"] == 3 and yaml.safe_load((run_dir / rf.CONFIG).read_text())["n_envs"] == 4
    assert (run_dir / rf.COMMAND).read_text().split("  ", 1)[1].strip() == (
        f"alliance train {path} --set n_envs=4 --seed 3 --no-progress")
