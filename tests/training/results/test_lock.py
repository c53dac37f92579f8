"""One writer per folder (issue 28 class 1): real processes race for a study or run folder's lock;
the second writer is refused at once in one line naming the folder and the holder, and writes
nothing; a lock left by a killed process is taken over with a note naming it; readers need no lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from repo import REPO

from training.results.lock import LOCK_NAME, FolderBusy, clear_folder, folder_lock, read_holder

SCRIPT = REPO / ".venv" / "bin" / "alliance"
# a writer that takes the lock, says so, and holds it until its stdin is closed
HOLD = """
import sys
from training.results.lock import acquire
try:
    acquire(sys.argv[1], "the test's holder")
except Exception as exc:
    print("busy:", exc, flush=True)
    sys.exit(3)
print("held", flush=True)
sys.stdin.read()
"""


def holder(folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(Path(folder).resolve())], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=REPO)


def hold(folder: Path) -> subprocess.Popen:
    """A process holding ``folder``'s lock (it has said so before this returns)."""
    proc = holder(folder)
    assert proc.stdout.readline().strip() == "held"
    return proc


def let_go(proc: subprocess.Popen) -> int:
    proc.stdin.close()
    return proc.wait(timeout=60)


def alliance(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([str(SCRIPT), *argv], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_two_processes_racing_for_one_folder_one_wins_the_other_is_told_who(tmp_path):
    folder = tmp_path / "study"
    first, second = holder(folder), holder(folder)  # started together: the kernel picks the winner
    said = {first: first.stdout.readline().strip(), second: second.stdout.readline().strip()}
    winners = [p for p, line in said.items() if line == "held"]
    assert len(winners) == 1, said
    winner, loser = winners[0], next(p for p in said if p is not winners[0])
    assert loser.wait(timeout=60) == 3
    line = said[loser]
    assert line.startswith(f"busy: {folder} is being written by another process: pid {winner.pid} on host ")
    assert str(folder / LOCK_NAME) in line and "the test's holder" in line
    assert read_holder(folder)["pid"] == winner.pid
    assert let_go(winner) == 0
    assert not (folder / LOCK_NAME).exists()  # a clean exit removes the lock file
    assert let_go(hold(folder)) == 0  # and the folder is free again


def test_a_second_study_on_the_same_folder_is_refused_at_once_and_writes_nothing(tmp_path, monkeypatch):
    from studies import make_study

    from training.study.driver import run_study

    monkeypatch.chdir(tmp_path)
    cfg = make_study(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = hold(cfg.out_dir)
    try:
        result = alliance("study", "tiny.yaml", "--report-only", cwd=tmp_path)
        with pytest.raises(FolderBusy, match=f"pid {proc.pid} on host"):  # before Ray or any unit starts
            run_study(cfg, log=lambda line: None)
    finally:
        assert let_go(proc) == 0
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alliance study: error: study is being written by another "
                                                   f"process: pid {proc.pid} on host "), lines
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no report, no table
    from training.study.report import write_report

    assert write_report(cfg).is_file() and not (cfg.out_dir / LOCK_NAME).exists()  # free again


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_note(tmp_path, monkeypatch):
    from studies import make_study

    monkeypatch.chdir(tmp_path)
    cfg = make_study(tmp_path)
    proc = hold(cfg.out_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert read_holder(cfg.out_dir)["pid"] == proc.pid  # the file is left; the kernel dropped the lock
    notes: list[str] = []
    with folder_lock(cfg.out_dir, "the next writer", note=notes.append):
        assert read_holder(cfg.out_dir)["pid"] == os.getpid()
    assert len(notes) == 1 and notes[0].startswith(f"note: {cfg.out_dir}: took over a stale lock of pid {proc.pid} "
                                                   "on host ") and "the test's holder" in notes[0]
    assert not (cfg.out_dir / LOCK_NAME).exists()


def test_a_study_unit_never_clears_a_run_folder_another_process_writes(tmp_path):
    """Two studies on one folder deleted each other's unfinished run folders (tasks.py's rmtree)."""
    from tiny_runs import tiny_ppo_config

    from training.config.study import RunSpec
    from training.study.tasks import train_run

    run_dir = tmp_path / "runs" / "war" / "ppo_s0"
    proc = hold(run_dir)
    (run_dir / "events.out.tfevents").write_text("the other writer's TensorBoard file")
    try:
        with pytest.raises(FolderBusy, match=f"pid {proc.pid}"):
            train_run(RunSpec("war", "PPO", 0, tiny_ppo_config(tmp_path / "runs")), run_dir)
        assert (run_dir / "events.out.tfevents").read_text() == "the other writer's TensorBoard file"
    finally:
        assert let_go(proc) == 0


def test_locks_nest_in_one_process_and_clearing_keeps_the_lock_file(tmp_path):
    folder = tmp_path / "run"
    with folder_lock(folder, "outer"):
        with folder_lock(folder, "inner"):  # train() under a study unit's lock
            (folder / "sub").mkdir()
            (folder / "sub" / "f").write_text("x")
            (folder / "g").write_text("y")
            clear_folder(folder)
            assert [p.name for p in folder.iterdir()] == [LOCK_NAME]
        assert read_holder(folder)["purpose"] == "outer"  # still held after the inner block
        busy = holder(folder)
        assert busy.stdout.readline().startswith("busy:") and busy.wait(timeout=60) == 3
    assert not (folder / LOCK_NAME).exists()


def test_a_second_resume_of_one_run_is_refused_and_leaves_the_run_as_it_was(tmp_path):
    """Two `alliance train --resume` of one run folder both ran; command.txt kept one session."""
    from tiny_runs import tiny_ppo_config

    from training.results import run_folder as rf
    from training.run.train import train

    run_dir = train(tiny_ppo_config(tmp_path / "runs"))
    assert not (run_dir / LOCK_NAME).exists()  # the run's own lock, given back
    files = {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    proc = hold(run_dir)
    try:
        result = alliance("train", "--resume", str(run_dir), "--set", "total_timesteps=4096", "--no-progress",
                          cwd=tmp_path)
    finally:
        assert let_go(proc) == 0
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"alliance train: error: {run_dir} is being written by another process: "
                               f"pid {proc.pid} on host ")
    assert {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == files
    assert rf.read_manifest(run_dir)["num_timesteps"] == 2048


def test_a_writer_that_fails_before_writing_leaves_no_folder_it_created(tmp_path):
    folder = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError), folder_lock(folder, "a failing command"):
        assert folder.is_dir()
        raise RuntimeError("the config was bad")
    assert not (tmp_path / "new").exists()
    with folder_lock(folder, "a writing command"):
        (folder / "REPORT.md").write_text("x")
    assert sorted(p.name for p in folder.iterdir()) == ["REPORT.md"]
