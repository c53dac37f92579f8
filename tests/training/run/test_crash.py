"""Crash safety (issue 7): a training process killed with SIGKILL in the middle of writing a
checkpoint resumes, with `alliance train --resume`, from the last complete checkpoint and finishes
whole; results files are written atomically (temporary file, then rename).

The kill test runs a small PPO run in a subprocess whose checkpoint writer stops half-way through
one checkpoint (after writing half its bytes to the temporary file, or after the rename but before
the manifest records it) and reports that it is there; the test then kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from repo import REPO

from training import cli
from training.results import run_folder as rf
from training.results import store

ROLLOUT = 4 * 64  # n_envs x n_steps: one update, and one checkpoint, every 256 steps
TOTAL = 4 * ROLLOUT

# The training process: the checkpoint of `steps` is cut off at `where`, then the process waits to be killed.
DRIVER = r"""
import sys, time
import torch
torch.set_num_threads(1)
import yaml
from training.results import run_folder as rf
from training.config.run import config_from_dict
from training.run.train import train

config, steps, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
target = f"model_{steps}_steps.zip"
atomic_write, write_manifest = rf.atomic_write, rf.write_manifest
state = {"renamed": False}

def stop(what):
    print("STOPPED", what, flush=True)
    time.sleep(600)

def cut_write(path, write):
    if path.name != target or where != "mid_write":
        out = atomic_write(path, write)
        state["renamed"] = state["renamed"] or path.name == target
        return out
    def half(f):
        write(f)
        size = f.seek(0, 2)
        f.truncate(size // 2)
        f.flush()
        stop(f"{path} half of {size} bytes")
    return atomic_write(path, half)

def cut_manifest(run_dir, **fields):
    if where == "before_manifest" and state["renamed"]:
        stop(f"{target} renamed, manifest not refreshed")
    return write_manifest(run_dir, **fields)

rf.atomic_write, rf.write_manifest = cut_write, cut_manifest
print("DONE", train(config_from_dict(yaml.safe_load(open(config)))), flush=True)
"""


def small_config(tmp_path: Path) -> dict:
    return {"env": {"scenario": "war"}, "algo": "PPO",
            "hyperparams": {"n_steps": 64, "batch_size": 128, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
            "n_envs": 4, "total_timesteps": TOTAL, "seed": 0, "eval": {"freq": 512, "n_episodes": 2},
            "checkpoint": {"freq": ROLLOUT, "keep": 10}, "output": str(tmp_path / "runs")}


def run_until_stopped(tmp_path: Path, steps: int, where: str) -> tuple[Path, str]:
    """Start the driver, wait until it stops inside the checkpoint of ``steps``, SIGKILL it."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(small_config(tmp_path)))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    errors = tmp_path / "driver.err"  # a file, not a pipe: a full pipe would block the child
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, str(driver), str(config), str(steps), where], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
    watchdog = threading.Timer(240, proc.kill)
    watchdog.start()
    try:
        for line in proc.stdout:
            if line.startswith("STOPPED"):
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, (line, errors.read_text()[-3000:])
    (run_dir,) = (tmp_path / "runs" / "war").iterdir()
    return run_dir, line


def whole_zip(path: Path) -> bool:
    """A whole SB3 archive (half of one may still open as a zip: the torch zips inside it)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {"data", "policy.pth"} <= set(zf.namelist()) and zf.testzip() is None
    except zipfile.BadZipFile:
        return False


def check_whole_run(run_dir: Path, total: int) -> dict:
    """The folder a finished run promises, checked from the files themselves."""
    manifest = json.loads((run_dir / rf.MANIFEST).read_text())
    assert manifest["status"] == "complete" and manifest["num_timesteps"] == total
    on_disk = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()
               and p.name != rf.MANIFEST and not p.relative_to(run_dir).as_posix().startswith(rf.TENSORBOARD)}
    assert set(manifest["files"]) == on_disk  # every file the run wrote, each listed
    for name, digest in manifest["files"].items():
        assert store.sha256(run_dir / name) == digest, name
        assert not name.endswith(".zip") or whole_zip(run_dir / name), name
    leftovers = [p.name for p in run_dir.rglob(".*")]
    assert leftovers == [], leftovers  # no temporary file is left behind
    with np.load(run_dir / rf.EVALUATIONS) as log:
        assert np.all(np.diff(log["timesteps"]) > 0)
    return manifest


@pytest.mark.parametrize("where", ["mid_write", "before_manifest"])
def test_sigkill_inside_a_checkpoint_resumes_from_the_last_complete_one(tmp_path, capsys, where):
    run_dir, line = run_until_stopped(tmp_path, 2 * ROLLOUT, where)
    assert rf.list_checkpoints(run_dir)[0][0] == ROLLOUT
    if where == "mid_write":
        # the half-written checkpoint is a temporary file; the target name never existed
        (tmp,) = (run_dir / "checkpoints").glob(f".model_{2 * ROLLOUT}_steps.zip.*.tmp")
        assert 0 < tmp.stat().st_size and not whole_zip(tmp)
        assert [s for s, _ in rf.list_checkpoints(run_dir)] == [ROLLOUT]
    else:
        # the checkpoint is whole but the manifest never recorded it: it does not count as complete
        assert [s for s, _ in rf.list_checkpoints(run_dir)] == [ROLLOUT, 2 * ROLLOUT]
        assert f"checkpoints/model_{2 * ROLLOUT}_steps.zip" not in rf.manifest_files(run_dir)
    assert json.loads((run_dir / rf.MANIFEST).read_text())["status"] == "running"
    assert rf.newest_checkpoint(run_dir)[0] == ROLLOUT

    code = cli.main(["train", "--resume", str(run_dir), "--no-progress"])
    out = capsys.readouterr()
    assert code == 0, out.err
    manifest = check_whole_run(run_dir, TOTAL)
    assert manifest["last_session"]["from_steps"] == ROLLOUT
    assert [s for s, _ in rf.list_checkpoints(run_dir)] == [ROLLOUT, 2 * ROLLOUT, 3 * ROLLOUT, 4 * ROLLOUT]
    from training.run.train import load_model

    assert load_model(run_dir).num_timesteps == TOTAL


@pytest.mark.slow
def test_killed_at_random_times_until_done(tmp_path):
    """SIGKILL at random moments, resume, again, until the run completes (no injected slowness)."""
    config = tmp_path / "config.yaml"
    total = 160 * ROLLOUT  # ~40k steps: several kills before it completes
    config.write_text(yaml.safe_dump({**small_config(tmp_path), "total_timesteps": total,
                                      "checkpoint": {"freq": 4 * ROLLOUT, "keep": 3}}))
    rng = np.random.default_rng(0)
    cmd = [str(REPO / ".venv" / "bin" / "alliance"), "train", str(config), "--no-progress"]
    run_dir, kills = None, 0
    for attempt in range(60):  # a loaded machine needs more lives: a kill before the first checkpoint
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(3.0, 8.0)) * (1 + attempt // 10))  # restarts from step 0 (finding 11)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if run_dir is None and (tmp_path / "runs" / "war").is_dir():  # a folder appears whole (staged, renamed)
            found = [p for p in (tmp_path / "runs" / "war").iterdir() if not p.name.startswith(".")]
            assert len(found) <= 1, found
            run_dir = found[0] if found else None
        if run_dir is not None:
            cmd = [str(REPO / ".venv" / "bin" / "alliance"), "train", "--resume", str(run_dir), "--no-progress"]
        if proc.returncode == 0:
            break
    assert proc.returncode == 0 and kills >= 2
    check_whole_run(run_dir, total)


# ------------------------------------------------------------------------------ atomic writes
@pytest.mark.parametrize("writer,payload", [
    (store.atomic_write_json, {"value": 1.5, "rows": [1, 2, 3]}),
    (store.atomic_write_text, "| a | b |\n|---|---|\n| 1 | 2 |\n"),
    (store.atomic_write_text, "a,b\n1,2\n"),
])
def test_results_writers_replace_whole_files_or_nothing(tmp_path, monkeypatch, writer, payload):
    target = tmp_path / "results.out"
    target.write_text("the old, complete file\n")

    def power_cut(fd):
        raise OSError(5, "Input/output error")  # the write dies after the data, before the rename

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError):
        writer(target, payload)
    assert target.read_text() == "the old, complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.out"]  # the temporary file is removed

    monkeypatch.undo()
    writer(target, payload)
    text = target.read_text()
    assert (json.loads(text) == payload) if isinstance(payload, dict) else (text == payload)
    assert [p.name for p in tmp_path.iterdir()] == ["results.out"]


def test_an_unserialisable_result_leaves_the_old_file(tmp_path):
    target = tmp_path / "result.json"
    store.atomic_write_json(target, {"ok": True})
    with pytest.raises(TypeError):
        store.atomic_write_json(target, {"ok": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_clean_temporary_files_removes_only_debris(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    debris = [tmp_path / ".manifest.json.123.tmp", tmp_path / ".evaluations.77.tmp.npz",
              tmp_path / "checkpoints" / ".model_512_steps.zip.9.tmp"]
    keep = [tmp_path / "manifest.json", tmp_path / "checkpoints" / "model_256_steps.zip", tmp_path / "notes.tmp"]
    for p in debris + keep:
        p.write_text("x")
    assert sorted(rf.clean_temporary_files(tmp_path)) == sorted(debris)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in debris)


def test_a_truncated_checkpoint_is_never_taken_for_whole(tmp_path):
    """Half of an SB3 archive still opens as a zip (torch's own zips sit inside it, uncompressed):
    the newest complete checkpoint must skip it even when nothing is checked against the manifest."""
    from stable_baselines3 import PPO

    from envs.sb3_vec_env import AllianceSB3VecEnv

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    model = PPO("MlpPolicy", AllianceSB3VecEnv(2, seed=0), n_steps=8, batch_size=16, policy_kwargs={"net_arch": [8]},
                device="cpu")
    model.save(folder / "model_100_steps.zip")
    data = (folder / "model_100_steps.zip").read_bytes()
    for cut, steps in ((len(data) // 2, 200), (len(data) - 10, 300), (100, 400)):
        (folder / f"model_{steps}_steps.zip").write_bytes(data[:cut])
    assert rf.newest_checkpoint(tmp_path, trust=True) == (100, folder / "model_100_steps.zip")
