"""``alliance leaderboard`` end to end on Ray, as a user runs it (a subprocess with a timeout): a tiny
leaderboard, run again (every unit reused: resumable by content keys), then ``--verify``: the stored units
are what the code computes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(sys.executable).parent / "alliance"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def alliance(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), "leaderboard", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time (tests/conftest.py)
def test_a_tiny_leaderboard_runs_resumes_and_verifies(tmp_path):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "ppo.yaml").write_text(yaml.safe_dump({"algo": "PPO", "n_envs": 2, "hyperparams": {"n_steps": 64, "batch_size": 64}}))
    (zoo / "ars.yaml").write_text(yaml.safe_dump({"algo": "ARS", "n_envs": 2, "hyperparams": {"n_delta": 2}}))
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"scenarios": ["war"], "algos": ["PPO", "ARS"], "seeds": 1, "total_timesteps": 256,
                                      "checkpoints": 2, "zoo": str(zoo), "out": str(tmp_path / "out"), "resamples": 100}))
    first = alliance(str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "3 units, 0 already done, 3 to run" in first.stdout
    out = tmp_path / "out"
    assert (out / "LEADERBOARD.md").is_file() and (out / "runs" / "war" / "ppo_s0.json").is_file()
    again = alliance(str(config), cwd=tmp_path)
    assert again.returncode == 0 and "3 units, 3 already done, 0 to run" in again.stdout, again.stdout
    check = alliance(str(config), "--verify", "2", cwd=tmp_path)
    assert check.returncode == 0 and "2 of 2 units agree" in check.stdout, check.stdout + check.stderr[-2000:]


@pytest.mark.slow  # a subprocess: the command's start-up alone is seconds
def test_a_bad_config_is_one_line_and_no_folder_is_written(tmp_path):
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"scenarios": ["war"], "algos": ["PPO", "SAC"], "total_timesteps": 256,
                                      "out": str(tmp_path / "out")}))
    proc = alliance(str(config), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "algos" in lines[0] and "'SAC'" in lines[0] and "MaskablePPO" in lines[0]
    assert not (tmp_path / "out").exists()
