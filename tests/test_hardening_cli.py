"""The `alliance` dispatcher and the train/solve subcommands on a user's mistakes (issue 7): a missing
file, a folder given for a file, an unreadable file, an unknown subcommand or option each end in
one line on stderr and exit code 2; `--help` shows examples."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from malformed import assert_permission_refused, unprivileged_prefix

from training import cli

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / ".venv" / "bin" / "alliance"


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    """``alliance ARGV`` in-process: exit code (argparse's SystemExit included), stderr lines, stdout."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.err.strip().splitlines(), out.out


def one_line(lines: list[str], command: str | None, *words: str) -> str:
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"alliance {command}: error: " if command else "alliance: error: "), line
    assert "Traceback" not in line
    for word in words:
        assert word in line, (word, line)
    return line


# ------------------------------------------------------------------------------- files
def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, err, _ = run(capsys, "train", str(missing))
    assert code == 2
    one_line(err, "train", f"{missing}: No such file or directory")
    code, err, _ = run(capsys, "solve", str(missing))
    assert code == 2
    one_line(err, "solve", str(missing), "No such file")


def test_a_folder_given_for_a_file(capsys, tmp_path):
    folder = tmp_path / "configs.yaml"
    folder.mkdir()
    code, err, _ = run(capsys, "train", str(folder))
    assert code == 2
    one_line(err, "train", str(folder), "Is a directory")
    code, err, _ = run(capsys, "solve", str(folder))
    assert code == 2
    one_line(err, "solve", str(folder), "directory")
    plain = tmp_path / "plain"
    plain.mkdir()
    code, err, _ = run(capsys, "solve", str(plain))  # a folder that is no scenario name either
    assert code == 2
    one_line(err, "solve", str(plain), "a folder, not a YAML file")


def test_a_file_given_for_the_run_folder(capsys, tmp_path):
    file = tmp_path / "not_a_run"
    file.write_text("x")
    code, err, _ = run(capsys, "train", "--resume", str(file))
    assert code == 2
    one_line(err, "train", "config.yml", "run folder")


def test_unreadable_file_in_process(capsys, tmp_path, monkeypatch):
    """The error path of a file the process may not read (tests run as root, who reads anything:
    the refusal is raised where the config is read, as the kernel would raise it)."""
    path = tmp_path / "secret.yaml"
    path.write_text("algo: PPO\ntotal_timesteps: 10\n")
    real = Path.read_bytes

    def refuse(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    for command in ("train", "solve"):
        code, err, _ = run(capsys, command, str(path))
        assert code == 2
        one_line(err, command, f"{path}: Permission denied")


def test_unreadable_file_for_real(tmp_path):
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


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("argv,command,words", [
    (["fly"], None, ["invalid choice: 'fly'", "train", "see --help"]),
    (["--colour"], None, ["unrecognized arguments: --colour"]),
    (["train", "configs/ppo_war.yaml", "--epochs", "3"], "train", ["unrecognized arguments: --epochs 3"]),
    (["train", "configs/ppo_war.yaml", "--seed", "three"], "train", ["--seed", "invalid int value: 'three'"]),
    (["train", "configs/ppo_war.yaml", "--seed"], "train", ["--seed", "expected one argument"]),
    (["solve"], "solve", ["required", "scenario"]),
    (["solve", "war", "--jsn"], "solve", ["unrecognized arguments: --jsn"]),
])
def test_usage_mistakes_are_one_line(capsys, argv, command, words):
    code, err, _ = run(capsys, *argv)
    assert code == 2
    line = one_line(err, None, *words) if command is None else None
    if command is not None:
        assert len(err) == 1 and "Traceback" not in err[0], err
        # argparse names the subcommand's prog ("alliance train") in its usage errors
        assert err[0].startswith((f"alliance {command}: error: ", "alliance: error: ")), err[0]
        assert all(w in err[0] for w in words), err[0]
    else:
        assert line.endswith("(see --help)")


def test_train_without_config_or_resume_is_one_line(capsys):
    code, err, _ = run(capsys, "train")
    assert code == 2
    one_line(err, "train", "CONFIG is missing", "--resume RUN_DIR")


def test_unknown_scenario_lists_them(capsys):
    code, err, _ = run(capsys, "solve", "mars")
    assert code == 2
    one_line(err, "solve", "scenario='mars'", "war", "calendar", "high_id")


# ---------------------------------------------------------------------------------- help
def test_top_level_help_shows_examples(capsys):
    code, err, out = run(capsys, "--help")
    assert code == 0 and not err
    assert "examples:" in out
    examples = out.split("examples:", 1)[1]
    for command in ("solve", "train", "study"):
        assert f"alliance {command} " in examples, command


@pytest.mark.parametrize("command", ["train", "solve"])
def test_subcommand_help_shows_examples(capsys, command):
    code, err, out = run(capsys, command, "--help")
    assert code == 0 and not err
    assert "examples:" in out
    examples = out.split("examples:", 1)[1].strip().splitlines()
    assert examples and all(line.strip().startswith(f"alliance {command}") for line in examples[:2]), examples


def test_train_help_mentions_trust(capsys):
    _, _, out = run(capsys, "train", "--help")
    assert "--trust" in out and "pickled" in out


def test_console_script_unknown_subcommand_no_traceback():
    if not SCRIPT.exists():
        pytest.skip("console script not installed")
    proc = subprocess.run([str(SCRIPT), "trian", "x.yaml"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alliance: error: argument COMMAND: invalid choice: 'trian'")
