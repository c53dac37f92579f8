"""The training config: a bad config exits with code 2, one line per problem naming the key,
before anything runs or any run folder exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from repo import REPO

from training import cli
from training.config.errors import ConfigError
from training.config.run import TrainConfig, apply_overrides, config_from_dict, load_config

GOOD = {"env": {"scenario": "war"}, "algo": "PPO", "hyperparams": {"n_steps": 64, "batch_size": 64},
        "n_envs": 2, "total_timesteps": 256}


def write(tmp_path: Path, data, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def run_cli(tmp_path: Path, capsys, data, *extra: str) -> tuple[int, list[str]]:
    """``alliance train`` on ``data`` with output under tmp_path; returns the code and stderr lines."""
    if isinstance(data, dict):
        data = {**data, "output": str(tmp_path / "runs")}
    code = cli.main(["train", str(write(tmp_path, data)), "--no-progress", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


# --------------------------------------------------------------------------------- good configs
def test_good_config_defaults_and_round_trip(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert isinstance(cfg, TrainConfig)
    assert (cfg.algo, cfg.vec_env, cfg.torch_threads, cfg.device, cfg.output) == ("PPO", "alliance", 1, "cpu",
                                                                                  "results/runs")
    # The resolved YAML reads back to the same config.
    again = load_config(write(tmp_path, cfg.to_yaml(), "resolved.yml"))
    assert again == cfg


def test_set_overrides_and_seed(tmp_path):
    cfg = load_config(write(tmp_path, GOOD), ["n_envs=16", "hyperparams.policy_kwargs.net_arch=[32, 32]",
                                              "env.overrides.identification=0.9", "algo=ppo"], seed=7)
    assert cfg.n_envs == 16 and cfg.seed == 7 and cfg.algo == "PPO"
    assert cfg.hyperparams["policy_kwargs"] == {"net_arch": [32, 32]}
    assert cfg.env.overrides == {"identification": 0.9}
    # the file itself is untouched by the overrides
    assert yaml.safe_load((tmp_path / "cfg.yaml").read_text()) == GOOD


def test_apply_overrides_does_not_mutate_input():
    data = {"a": {"b": 1}}
    out = apply_overrides(data, ["a.b=2", "a.c=x"])
    assert data == {"a": {"b": 1}} and out == {"a": {"b": 2, "c": "x"}}


def test_schedules_lists_and_activations_reach_sb3_as_sb3_wants():
    from stable_baselines3.common.utils import LinearSchedule
    from torch import nn

    from training.config.run import sb3_kwargs

    cfg = config_from_dict({**GOOD, "algo": "DQN", "hyperparams": {
        "learning_rate": "lin_0.001", "train_freq": [4, "step"],
        "policy_kwargs": {"net_arch": [32], "activation_fn": "tanh"}}})
    kwargs = sb3_kwargs(cfg)
    assert isinstance(kwargs["learning_rate"], LinearSchedule)
    assert kwargs["learning_rate"](1.0) == pytest.approx(0.001) and kwargs["learning_rate"](0.0) == 0.0
    assert kwargs["learning_rate"](0.25) == pytest.approx(0.00025)
    assert kwargs["train_freq"] == (4, "step")
    assert kwargs["policy_kwargs"]["activation_fn"] is nn.Tanh


# ---------------------------------------------------------------------------------- bad configs
BAD_CASES = [
    # (what, config, key named in the line, a word of what is allowed)
    ("unknown top-level key", {**GOOD, "learning_rate": 0.1}, "learning_rate", "total_timesteps"),
    ("wrong type", {**GOOD, "n_envs": "eight"}, "n_envs", "integer"),
    ("float for an int", {**GOOD, "total_timesteps": 1000.5}, "total_timesteps", "integer"),
    ("unknown algorithm", {**GOOD, "algo": "SAC"}, "algo", "DQN"),
    ("unknown scenario", {**GOOD, "env": {"scenario": "mars"}}, "env.scenario", "calendar"),
    ("non-positive steps", {**GOOD, "total_timesteps": 0}, "total_timesteps", "greater than 0"),
    ("negative eval freq", {**GOOD, "eval": {"freq": -5}}, "eval.freq", "greater than 0"),
    ("unknown nested key", {**GOOD, "checkpoint": {"every": 5}}, "checkpoint.every", "freq"),
    ("bad vec_env", {**GOOD, "vec_env": "subproc"}, "vec_env", "dummy"),
    ("override out of range", {**GOOD, "env": {"scenario": "war", "overrides": {"identification": 1.5}}},
     "env.overrides.identification", "[0.0, 1.0]"),
    ("unknown override", {**GOOD, "env": {"overrides": {"mood": 1}}}, "env.overrides.mood", "identification"),
    ("unknown hyperparameter", {**GOOD, "hyperparams": {"n_stepz": 5}}, "hyperparams.n_stepz", "n_steps"),
    ("hyperparameter of another algorithm", {**GOOD, "algo": "A2C", "hyperparams": {"clip_range": 0.2}},
     "hyperparams.clip_range", "rms_prop_eps"),
    ("hyperparameter type", {**GOOD, "hyperparams": {"n_epochs": "ten"}}, "hyperparams.n_epochs", "int"),
    ("non-positive hyperparameter", {**GOOD, "hyperparams": {"n_epochs": 0}}, "hyperparams.n_epochs", "positive"),
    ("bad schedule", {**GOOD, "hyperparams": {"learning_rate": "cos_1e-3"}}, "hyperparams.learning_rate", "lin_"),
    ("unknown policy kwarg", {**GOOD, "hyperparams": {"policy_kwargs": {"layers": [64]}}},
     "hyperparams.policy_kwargs.layers", "net_arch"),
    ("bad net_arch", {**GOOD, "hyperparams": {"policy_kwargs": {"net_arch": "big"}}},
     "hyperparams.policy_kwargs.net_arch", "list[int]"),
    ("bad activation", {**GOOD, "hyperparams": {"policy_kwargs": {"activation_fn": "sigmoid"}}},
     "hyperparams.policy_kwargs.activation_fn", "relu"),
    ("missing required key", {k: v for k, v in GOOD.items() if k != "total_timesteps"}, "total_timesteps",
     "required"),
]


@pytest.mark.parametrize("what,data,key,allowed", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_config_one_line_exit_2_no_folder(tmp_path, capsys, what, data, key, allowed):
    code, err = run_cli(tmp_path, capsys, data)
    assert code == 2
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"alliance train: error: {key}")
    assert allowed in line
    assert "Traceback" not in line
    assert not (tmp_path / "runs").exists()


def test_every_problem_gets_its_own_line(tmp_path, capsys):
    data = {**GOOD, "algo": "ppo", "n_envs": 0, "colour": "red", "hyperparams": {"n_stepz": 5},
            "env": {"scenario": "war", "overrides": {"power": 2.0, "identification": -1}}}
    code, err = run_cli(tmp_path, capsys, data)
    assert code == 2
    keys = sorted(line.split(": error: ")[1].split("=")[0] for line in err)
    assert keys == sorted(["n_envs", "colour", "hyperparams.n_stepz", "env.overrides.power",
                           "env.overrides.identification"])


@pytest.mark.parametrize("text,expected", [
    ("algo: [PPO\n", "not valid YAML"),
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("- algo: PPO\n", "list is not allowed"),
    ("just a string\n", "str is not allowed"),
])
def test_unreadable_file_one_line(tmp_path, capsys, text, expected):
    code, err = run_cli(tmp_path, capsys, text)
    assert code == 2 and len(err) == 1 and expected in err[0]


@pytest.mark.parametrize("item,expected", [("n_envs", "KEY=VALUE"), ("algo.x=1", "algo is 'PPO'"),
                                           ("n_envs=[1", "YAML")])
def test_bad_set_one_line(tmp_path, capsys, item, expected):
    code, err = run_cli(tmp_path, capsys, GOOD, "--set", item)
    assert code == 2 and len(err) == 1 and expected in err[0]


def test_set_can_make_a_config_bad(tmp_path, capsys):
    code, err = run_cli(tmp_path, capsys, GOOD, "--set", "n_envs=-3")
    assert code == 2 and err == ["alliance train: error: n_envs=-3 is not allowed: input should be greater than 0"]


def test_negative_seed_is_rejected(tmp_path, capsys):
    code, err = run_cli(tmp_path, capsys, GOOD, "--seed", "-1")
    assert code == 2 and len(err) == 1 and err[0].startswith("alliance train: error: seed=-1")


def test_rollout_rule_is_one_line_before_any_folder(tmp_path, capsys):
    # PPO refuses a minibatch of one (advantages are normalised over it): the config says so first.
    code, err = run_cli(tmp_path, capsys, {**GOOD, "hyperparams": {"batch_size": 1}})
    assert code == 2 and len(err) == 1 and "hyperparams.batch_size=1 is not allowed: at least 2" in err[0]
    assert not (tmp_path / "runs").exists()


def test_sb3_rejection_is_one_line_before_any_folder(tmp_path, capsys, monkeypatch):
    # A constraint only the SB3 constructor knows: the config is built into a model before the folder exists.
    import training.run.train as tr

    def refuse(*args, **kwargs):
        raise AssertionError("`n_steps * n_envs` must be greater than 1\nsecond line")

    monkeypatch.setattr(tr, "algo_class", lambda algo: refuse)
    code, err = run_cli(tmp_path, capsys, GOOD)
    assert code == 2 and len(err) == 1 and "PPO rejects them: `n_steps * n_envs` must be greater than 1" in err[0]
    assert not (tmp_path / "runs").exists()


def test_missing_file_one_line(tmp_path, capsys):
    code = cli.main(["train", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nope.yaml" in err[0]


def test_config_error_lists_problems():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"algo": "PPO"})
    assert info.value.problems == [str(info.value)]
    assert info.value.problems[0].startswith("total_timesteps is missing")


def test_console_script_prints_no_traceback(tmp_path):
    script = REPO / ".venv" / "bin" / "alliance"
    if not script.exists():
        pytest.skip("console script not installed")
    path = write(tmp_path, {**GOOD, "n_envs": -1, "output": str(tmp_path / "runs")})
    proc = subprocess.run([str(script), "train", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "alliance train: error: n_envs=-1 is not allowed: input should be greater than 0"]
    assert not (tmp_path / "runs").exists()


def test_module_imports_no_torch_for_help():
    # `alliance --help` must stay fast: importing the command module does not import torch.
    code = ("import sys, training.cli.train, training.config.run; "
            "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout.split() == ["False", "False"]
