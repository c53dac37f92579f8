"""Every ``alliance`` command on a user's mistakes (issue 7): a missing file, a folder given for a
file, an unreadable file, an unknown subcommand or option, numbers out of range and junk in
``benchmark.json`` each end in one line on stderr and exit code 2, never a traceback; ``--help``
shows examples; every file a report writes goes through the atomic writer.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from malformed import (
    assert_permission_refused,
    hardening_settings,
    malformed_files,
    record,
    study_base,
    to_yaml,
    unprivileged_prefix,
)
from repo import REPO

from training import cli
from training.results import run_folder as rf

SCRIPT = REPO / ".venv" / "bin" / "alliance"
COMMANDS = ("solve", "train", "evaluate", "benchmark", "study")
EXAMPLES = {"benchmark_json": 150}


def run(capsys, *argv: str) -> tuple[object, list[str]]:
    """``alliance ARGV`` in-process: exit code (argparse's SystemExit included, any other exception
    returned as it is), stderr lines."""
    try:
        code: object = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    except BaseException as exc:  # noqa: BLE001 - anything else leaving main() is an escape
        code = exc
    return code, capsys.readouterr().err.strip().splitlines()


def one_line(command: str | None, code: object, lines: list[str], *words: str) -> str:
    """The single error line of a refusal with exit code 2 (argparse's own usage errors may name the
    top-level program), holding ``words``."""
    assert code == 2, (code, lines)
    assert len(lines) == 1, lines
    line = lines[0]
    prefixes = ("alliance: error: ",) if command is None else (f"alliance {command}: error: ", "alliance: error: ")
    assert line.startswith(prefixes), line
    assert "Traceback" not in line
    for word in words:
        assert word in line, (word, line)
    return line


# ---------------------------------------------------------------------- train and solve: files
def test_missing_file_for_train_and_solve(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    one_line("train", *run(capsys, "train", str(missing)), f"{missing}: No such file or directory")
    one_line("solve", *run(capsys, "solve", str(missing)), str(missing), "No such file")


def test_a_folder_given_for_a_file_to_train_and_solve(capsys, tmp_path):
    folder = tmp_path / "configs.yaml"
    folder.mkdir()
    one_line("train", *run(capsys, "train", str(folder)), str(folder), "Is a directory")
    one_line("solve", *run(capsys, "solve", str(folder)), str(folder), "directory")
    plain = tmp_path / "plain"
    plain.mkdir()  # a folder that is no scenario name either
    one_line("solve", *run(capsys, "solve", str(plain)), str(plain), "a folder, not a YAML file")


def test_a_file_given_for_the_run_folder(capsys, tmp_path):
    file = tmp_path / "not_a_run"
    file.write_text("x")
    one_line("train", *run(capsys, "train", "--resume", str(file)), "config.yml", "run folder")


def refuse_to_open(monkeypatch, secret: set[Path]) -> None:
    """Files the process may not read, refused where every reader opens them (``read_bounded``'s
    ``os.open``, ``Path.read_bytes``) as the kernel would."""
    real_open, real_read = os.open, Path.read_bytes

    def opened(path, *args, **kwargs):
        if Path(path) in secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def read(self):
        if self in secret:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(os, "open", opened)
    monkeypatch.setattr(Path, "read_bytes", read)


def test_unreadable_file_for_train_and_solve_in_process(capsys, tmp_path, monkeypatch):
    """The error path of a file the process may not read (tests run as root, who reads anything:
    the refusal is raised where the config is read, as the kernel would raise it)."""
    path = tmp_path / "secret.yaml"
    path.write_text("algo: PPO\ntotal_timesteps: 10\n")
    refuse_to_open(monkeypatch, {path})
    for command in ("train", "solve"):
        one_line(command, *run(capsys, command, str(path)), f"{path}: Permission denied")


def test_unreadable_file_for_train_and_solve_for_real(tmp_path):
    """chmod 000 in a process that cannot override file permissions (root without CAP_DAC_OVERRIDE)."""
    if not SCRIPT.exists():
        pytest.skip("console script not installed")
    path = tmp_path / "secret.yaml"
    path.write_text("algo: PPO\ntotal_timesteps: 10\n")
    path.chmod(0)
    prefix = unprivileged_prefix()
    try:
        for command in ("train", "solve"):
            assert_permission_refused(prefix, SCRIPT, command, [str(path)], path, tmp_path)
    finally:
        path.chmod(0o600)


# ----------------------------------------------------------------- evaluate, benchmark, study: files
def fake_run(folder: Path) -> Path:
    """A run folder as far as ``--runs`` patterns see one (config.yml of a valid training config)."""
    from tiny_runs import tiny_ppo_config

    run_dir = folder / "runs" / "war" / "ppo_s0"
    run_dir.mkdir(parents=True)
    (run_dir / rf.CONFIG).write_text(tiny_ppo_config(folder / "runs").to_yaml())
    return run_dir


def test_missing_files(capsys, tmp_path):
    nope = tmp_path / "nope.yaml"
    one_line("evaluate", *run(capsys, "evaluate", str(tmp_path / "no_run")), "no such folder", "baseline:NAME")
    one_line("evaluate", *run(capsys, "evaluate", "optimal", "--scenario", str(nope)), f"{nope}: No such file")
    one_line("benchmark", *run(capsys, "benchmark", "--runs", str(tmp_path / "runs" / "*")), "matches no run folder")
    one_line("benchmark", *run(capsys, "benchmark", "--out", str(tmp_path / "bench"), "--report-only"),
             "benchmark.json: no such file")
    fake_run(tmp_path)
    one_line("benchmark", *run(capsys, "benchmark", "--runs", str(tmp_path / "runs" / "war" / "*"), "--scenarios",
                               str(nope)), f"{nope}: No such file")
    one_line("study", *run(capsys, "study", str(nope)), f"{nope}: No such file")
    one_line("study", *run(capsys, "study", str(nope), "--report-only"), f"{nope}: No such file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no output folder was made


def test_a_folder_given_for_a_file_and_a_file_for_a_folder(capsys, tmp_path):
    folder = tmp_path / "scenario.yaml"
    folder.mkdir()
    file = tmp_path / "run.txt"
    file.write_text("not a run folder")
    one_line("evaluate", *run(capsys, "evaluate", "optimal", "--scenario", str(folder)), str(folder), "directory")
    one_line("evaluate", *run(capsys, "evaluate", str(file)), "not a folder", "a run folder")
    one_line("evaluate", *run(capsys, "evaluate", str(folder)), "config.yml", "run folder")
    one_line("study", *run(capsys, "study", str(folder)), str(folder), "Is a directory")
    one_line("benchmark", *run(capsys, "benchmark", "--runs", str(file)), "matches no run folder")
    one_line("benchmark", *run(capsys, "benchmark", "--runs", str(folder), "--out", str(file)),
             f"--out={file} is not allowed", "is a file, not a folder")
    one_line("benchmark", *run(capsys, "benchmark", "--out", str(file / "sub"), "--report-only"), "is a file")
    bench = tmp_path / "bench"
    (bench / "benchmark.json").mkdir(parents=True)
    one_line("benchmark", *run(capsys, "benchmark", "--out", str(bench), "--report-only"), "benchmark.json",
             "directory")


def test_unreadable_files_in_process(capsys, tmp_path, monkeypatch):
    """The error path of a file the process may not read, raised where the file is read (tests may run
    as root, who reads anything; the real thing is below)."""
    scenario, study, bench = tmp_path / "s.yaml", tmp_path / "study.yaml", tmp_path / "bench"
    scenario.write_text("scenario: war\n")
    study.write_bytes(to_yaml(study_base(out=str(tmp_path / "out"))))
    bench.mkdir()
    (bench / "benchmark.json").write_text("{}")
    secret = {scenario, study, bench / "benchmark.json"}
    refuse_to_open(monkeypatch, secret)
    one_line("evaluate", *run(capsys, "evaluate", "optimal", "--scenario", str(scenario), "--episodes", "0"),
             f"{scenario}: Permission denied")
    one_line("study", *run(capsys, "study", str(study)), f"{study}: Permission denied")
    one_line("benchmark", *run(capsys, "benchmark", "--out", str(bench), "--report-only"),
             f"{bench / 'benchmark.json'}: Permission denied")
    assert not (tmp_path / "out").exists()


def test_unreadable_files_for_real(tmp_path):
    """chmod 000 in a process that cannot override file permissions (root without CAP_DAC_OVERRIDE)."""
    if not SCRIPT.exists():
        pytest.skip("console script not installed")
    prefix = unprivileged_prefix()
    scenario, study, bench = tmp_path / "s.yaml", tmp_path / "study.yaml", tmp_path / "bench"
    scenario.write_text("scenario: war\n")
    study.write_bytes(to_yaml(study_base(out=str(tmp_path / "out"))))
    bench.mkdir()
    (bench / "benchmark.json").write_text("{}")
    cases = {"evaluate": (["optimal", "--scenario", str(scenario), "--episodes", "0"], scenario),
             "study": ([str(study)], study), "benchmark": (["--out", str(bench), "--report-only"],
                                                           bench / "benchmark.json")}
    try:
        for _, path in cases.values():
            path.chmod(0)
        for command, (argv, path) in cases.items():
            assert_permission_refused(prefix, SCRIPT, command, argv, path, tmp_path)
    finally:
        for _, path in cases.values():
            path.chmod(0o600)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------- options
@pytest.mark.parametrize("argv,words", [
    (["fly"], ["invalid choice: 'fly'", "train", "see --help"]),
    (["--colour"], ["unrecognized arguments: --colour"]),
    (["train", "configs/ppo_war.yaml", "--epochs", "3"], ["unrecognized arguments: --epochs 3"]),
    (["train", "configs/ppo_war.yaml", "--seed", "three"], ["--seed", "invalid int value: 'three'"]),
    (["train", "configs/ppo_war.yaml", "--seed"], ["--seed", "expected one argument"]),
    (["train"], ["CONFIG is missing", "--resume RUN_DIR"]),
    (["solve"], ["required", "scenario"]),
    (["solve", "war", "--jsn"], ["unrecognized arguments: --jsn"]),
    (["solve", "mars"], ["scenario='mars'", "war", "calendar", "high_id"]),
    (["evaluate", "optimal", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["evaluate", "optimal", "--episodes", "many"], ["--episodes", "invalid int value: 'many'"]),
    (["evaluate"], ["required", "TARGET"]),
    (["evaluate", "optimal", "--episodes", "-3"], ["--episodes=-3 is not allowed", ">= 2, at most 1,000,000"]),
    (["evaluate", "optimal", "--episodes", "1"], ["--episodes=1 is not allowed", "0 (no Monte Carlo)"]),
    (["evaluate", "optimal", "--episodes", "99999999999"], ["--episodes=99999999999 is not allowed"]),
    (["evaluate", "optimal", "--seed", "-1"], ["--seed=-1 is not allowed", "[0, 4294967295]"]),
    (["evaluate", "optimal", "--seed", str(2**32)], ["--seed=4294967296 is not allowed"]),
    (["evaluate", "baseline:nope"], ["policy='baseline:nope' is not allowed", "baseline:limited"]),
    (["evaluate", "optimal", "--scenario", "mars"], ["scenario='mars' is not allowed", "war"]),
    (["benchmark", "--runs", "x", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["benchmark", "--runs", "x", "--reps", "0"], ["--reps=0 is not allowed", "[1, 1,000,000]"]),
    (["benchmark", "--runs", "x", "--reps", "10000000"], ["--reps=10000000 is not allowed"]),
    (["benchmark", "--runs", "x", "--seed", "-2"], ["--seed=-2 is not allowed"]),
    (["benchmark", "--runs", "x", "--out", ""], ["--out='' is not allowed", "a folder path"]),
    (["benchmark"], ["--runs is missing"]),
    (["study", "configs/quick.yaml", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["study"], ["required", "CONFIG"]),
    (["study", "configs/quick.yaml", "--num-cpus", "0"], ["--num-cpus=0 is not allowed", "positive integer"]),
    (["study", "configs/quick.yaml", "--num-cpus", "two"], ["--num-cpus", "invalid int value"]),
])
def test_usage_mistakes_are_one_line(capsys, argv, words):
    command = argv[0] if argv[0] in COMMANDS else None
    line = one_line(command, *run(capsys, *argv), *words)
    if command is None:
        assert line.endswith("(see --help)")


@pytest.mark.parametrize("address,words", [
    ("127.0.0.1:1", ["--address=127.0.0.1:1 is not allowed", "no Ray cluster answers there"]),
    ("no-port", ["--address='no-port' is not allowed", "HOST:PORT"]),
    ("host:99999", ["--address='host:99999' is not allowed", "HOST:PORT"]),
])
def test_a_ray_address_that_cannot_be_one_is_refused_before_the_study_runs(capsys, tmp_path, monkeypatch, address,
                                                                          words):
    """Ray would retry a dead address for ever: the address is tried first, before anything is written."""
    import ray

    import training.study.driver

    def spy(*args, **kwargs):
        raise AssertionError("the study started")

    monkeypatch.setattr(training.study.driver, "run_study", spy)
    monkeypatch.setattr(ray, "init", spy)
    config = tmp_path / "study.yaml"
    config.write_bytes(to_yaml(study_base(out=str(tmp_path / "out"))))
    one_line("study", *run(capsys, "study", str(config), "--address", address), *words)
    assert not (tmp_path / "out").exists()


def test_benchmark_scenario_that_is_no_scenario_is_refused_before_loading_any_model(capsys, tmp_path):
    fake_run(tmp_path)  # a config.yml and no model: reaching the models would fail differently
    line = one_line("benchmark", *run(capsys, "benchmark", "--runs", str(tmp_path / "runs" / "war" / "*"),
                                      "--scenarios", "war,mars", "--out", str(tmp_path / "out")),
                    "scenario='mars' is not allowed")
    assert "model" not in line and not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- benchmark.json
@hardening_settings(EXAMPLES["benchmark_json"])
@given(case=st.one_of(
    malformed_files(("aggregate", "scenarios")).map(lambda c: c.text),
    st.sampled_from([b"[]", b"{}", b'{"aggregate": 5}', b'{"scenarios": "war", "aggregate": {}}', b"null",
                     b'{"aggregate": {"kinds": {"PPO": "algorithm"}}}', b"[" * 50000 + b"]" * 50000,
                     b'{"a": ' + b"9" * 5000 + b"}", b"\xef\xbb\xbf{}", b"NaN", b'{"scenarios": [1, 2]}']),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                     st.sampled_from(["aggregate", "scenarios", "runs", "kinds", "iqm", "optimum", "x"]), inner,
                     max_size=4), max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_junk_benchmark_json_is_one_line(capsys, case):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "benchmark.json").write_bytes(case)
        code, lines = run(capsys, "benchmark", "--out", folder, "--report-only")
        left = sorted(p.name for p in Path(folder).iterdir())
    problems = []
    if code != 2:
        problems.append(f"exit {code!r}, not 2")
    if len(lines) != 1 or not lines[0].startswith("alliance benchmark: error: ") or "benchmark.json" not in lines[0]:
        problems.append("not one error line naming benchmark.json")
    if left != ["benchmark.json"]:
        problems.append(f"the folder holds {left}")
    record("benchmark_json", bool(problems))
    assert not problems, (problems, case[:300], lines)


# ------------------------------------------------------------------------------------- help
def test_top_level_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    out = capsys.readouterr()
    assert exit_.value.code == 0 and not out.err
    examples = out.out.split("examples:", 1)[1]
    for command in ("solve", "train", "study"):
        assert f"alliance {command} " in examples, command


@pytest.mark.parametrize("command", COMMANDS)
def test_subcommand_help_shows_examples(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    out = capsys.readouterr()
    assert exit_.value.code == 0 and not out.err and "examples:" in out.out
    examples = [ln.strip() for ln in out.out.split("examples:", 1)[1].splitlines() if ln.strip().startswith("alliance")]
    assert len(examples) >= 3 and all(ln.startswith(f"alliance {command} ") for ln in examples), examples


def test_train_help_mentions_trust(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--trust" in out and "pickled" in out


def test_console_script_unknown_subcommand_no_traceback():
    if not SCRIPT.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run([str(SCRIPT), "trian", "x.yaml"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alliance: error: argument COMMAND: invalid choice: 'trian'")




def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly():
    """Issue 28 class 8: `alliance scenarios | head -1` printed "Broken pipe" and exited 2. The
    reader closes its end before the command writes (importing takes longer than closing), so
    every write meets a closed pipe: no line on stderr, and SIGPIPE's status, as a Unix tool's."""
    proc = subprocess.Popen([str(SCRIPT), "scenarios"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE == 141
    assert err == ""
