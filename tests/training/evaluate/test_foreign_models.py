"""`alliance evaluate` on models trained elsewhere: a bare SB3 ``model.zip`` and an RL Zoo log folder,
trained here with SB3 the way their users train them; the trust rule, the algorithm read from the
archive, the Discrete id through ``FlattenActions``'s mapping, and one-line errors."""

from __future__ import annotations

import collections
import json
import shutil
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from malformed import record

import envs  # noqa: F401  (registers the ids)
from agents.exact_eval import evaluate_policy
from agents.policy import TablePolicy, observations_for
from envs.scenarios import make_params
from envs.spaces import encode_actions
from envs.wrappers import FlattenActions
from training import cli
from training.evaluate.evaluation import resolve_target
from training.evaluate.targets import env_id_of


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """PPO on the MultiDiscrete id, PPO and DQN on the Discrete id, 256 steps each, saved as bare files."""
    from stable_baselines3 import DQN, PPO

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("elsewhere")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PPO("MlpPolicy", "SmallStateAlliance-v0", n_steps=128, batch_size=64, seed=0).learn(256).save(
            folder / "model.zip")
        PPO("MlpPolicy", "SmallStateAllianceDiscrete-v0", n_steps=128, batch_size=64, seed=0).learn(256).save(
            folder / "ppo_discrete.zip")
        DQN("MlpPolicy", "SmallStateAllianceDiscrete-v0", learning_starts=64, seed=0).learn(256).save(
            folder / "dqn.zip")
    return folder


def evaluate(argv, capsys):
    code = cli.main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bare_model_zip_is_evaluated_with_trust(models, capsys):
    code, out, _ = evaluate([str(models / "model.zip"), "--algo", "PPO", "--scenario", "war", "--trust",
                             "--episodes", "200", "--json"], capsys)
    rep = json.loads(out)
    assert code == 0
    assert 0 <= rep["value"] <= rep["optimum"] + 1e-9  # no policy beats V*
    assert rep["share_of_optimum"] == pytest.approx(rep["value"] / rep["optimum"])
    lo, hi = rep["mc_ci"]
    assert lo - 0.5 <= rep["value"] <= hi + 0.5  # the Monte Carlo check estimates the same number
    assert rep["source"]["kind"] == "file" and rep["source"]["hash_checked"] is False
    assert rep["source"]["num_timesteps"] >= 256
    code, out, _ = evaluate([str(models / "model.zip"), "--algo", "PPO", "--trust", "--episodes", "0"], capsys)
    assert "share of V*" in out and "NOT checked (--trust)" in out


def test_bare_model_zip_without_trust_is_refused_in_one_line(models, capsys):
    code, out, err = evaluate([str(models / "model.zip"), "--algo", "PPO", "--scenario", "war"], capsys)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--trust" in err and "pickled" in err and "Traceback" not in err


@pytest.mark.parametrize("name, algo", [("model.zip", "PPO"), ("dqn.zip", "DQN")])
def test_algorithm_is_read_from_the_archive_and_said(models, capsys, name, algo):
    code, out, _ = evaluate([str(models / name), "--trust", "--episodes", "0", "--json"], capsys)
    src = json.loads(out)["source"]
    assert code == 0 and src["algo"] == algo and "inferred from the archive" in src["algo_from"]


def test_a2c_archive_is_recognised_and_a_wrong_algo_refused(tmp_path, capsys):
    from stable_baselines3 import A2C

    A2C("MlpPolicy", "SmallStateAlliance-v0", seed=0).save(tmp_path / "a2c.zip")
    code, out, _ = evaluate([str(tmp_path / "a2c.zip"), "--trust", "--episodes", "0", "--json"], capsys)
    assert code == 0 and json.loads(out)["source"]["algo"] == "A2C"  # no --algo needed (issue 29)
    code, _, err = evaluate([str(tmp_path / "a2c.zip"), "--trust", "--algo", "PPO"], capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "is a A2C model" in err
    code, out, _ = evaluate([str(tmp_path / "a2c.zip"), "--trust", "--algo", "A2C", "--episodes", "0", "--json"],
                            capsys)
    assert code == 0 and json.loads(out)["source"]["algo_from"] == "--algo"


@pytest.mark.parametrize("name", ["ppo_discrete.zip", "dqn.zip"])
def test_discrete_model_is_evaluated_through_the_flat_action_mapping(models, capsys, name):
    """The value reported equals the value of the joint actions that FlattenActions (the mapping of
    SmallStateAllianceDiscrete-v0) turns the model's indices into, on every state."""
    from stable_baselines3 import DQN, PPO

    code, out, _ = evaluate([str(models / name), "--trust", "--episodes", "0", "--json"], capsys)
    rep = json.loads(out)
    assert code == 0 and rep["source"]["env_id"] == "SmallStateAllianceDiscrete-v0"
    params = make_params("war")
    model = (DQN if name == "dqn.zip" else PPO).load(models / name, device="cpu")
    indices, _ = model.predict(observations_for(params), deterministic=True)
    env = FlattenActions(gym.make("SmallStateAlliance-v0"))  # the id's mapping, as a wrapper
    joint = np.array([env.action(int(i)) for i in indices])  # index -> (m, k, g, d)
    table = TablePolicy(params, encode_actions(joint)[None], "via FlattenActions")
    assert rep["value"] == pytest.approx(evaluate_policy(table, params).value, rel=1e-9)


def write_zoo_yaml(path, mapping):
    """As rl_zoo3's exp_manager writes args.yml and config.yml: yaml.dump of an OrderedDict."""
    path.write_text(yaml.dump(collections.OrderedDict(sorted(mapping.items()))))


def zoo_folder(root, model_file, algo="ppo", env="SmallStateAlliance-v0", env_kwargs=None, hyper=None):
    """``logs/<algo>/<env>_1/`` laid out as rl_zoo3 leaves it."""
    folder = root / "logs" / algo / f"{env}_1"
    (folder / env).mkdir(parents=True)
    shutil.copy(model_file, folder / f"{env}.zip")
    shutil.copy(model_file, folder / "best_model.zip")
    write_zoo_yaml(folder / env / "args.yml", {"algo": algo, "env": env, "env_kwargs": env_kwargs, "seed": 0,
                                               "gym_packages": ["envs"], "n_timesteps": 256})
    write_zoo_yaml(folder / env / "config.yml", {"n_timesteps": 256, "policy": "MlpPolicy", **(hyper or {})})
    return folder


def test_zoo_log_folder_reads_algo_env_and_scenario_from_its_layout(models, tmp_path, capsys):
    folder = zoo_folder(tmp_path, models / "model.zip", env_kwargs={"scenario": "phase2"})
    assert (folder / "SmallStateAlliance-v0" / "args.yml").read_text().startswith(
        "!!python/object/apply:collections.OrderedDict")  # what the Zoo writes, which safe_load refuses
    target = resolve_target(folder, trust=True)  # resolving solves nothing: phase2's optimum is not needed
    assert target.params.name == "phase2"  # the default scenario: the run's env_kwargs
    assert target.source["kind"] == "zoo" and target.source["algo"] == "PPO"
    assert target.source["model"].endswith("SmallStateAlliance-v0.zip")
    assert target.source["algo_from"].endswith("args.yml")
    code, out, _ = evaluate([str(folder), "--trust", "--best", "--scenario", "war", "--episodes", "0", "--json"],
                            capsys)
    rep = json.loads(out)
    assert code == 0 and rep["scenario"] == "war" and rep["source"]["model"].endswith("best_model.zip")


def test_zoo_folder_without_trust_or_with_another_algo_is_one_line(models, tmp_path, capsys):
    folder = zoo_folder(tmp_path, models / "model.zip")
    for argv, words in (([str(folder)], "--trust"), ([str(folder), "--trust", "--algo", "DQN"], "PPO run")):
        code, out, err = evaluate([*argv, "--episodes", "0"], capsys)
        assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and words in err


def test_zoo_folder_of_the_discrete_id_checks_its_action_space(models, tmp_path, capsys):
    good = zoo_folder(tmp_path / "a", models / "dqn.zip", algo="dqn", env="SmallStateAllianceDiscrete-v0")
    code, out, _ = evaluate([str(good), "--trust", "--episodes", "0", "--json"], capsys)
    assert code == 0 and json.loads(out)["source"]["env_id"] == "SmallStateAllianceDiscrete-v0"
    # a MultiDiscrete model filed under the Discrete id
    bad = zoo_folder(tmp_path / "b", models / "model.zip", algo="ppo", env="SmallStateAllianceDiscrete-v0")
    code, _, err = evaluate([str(bad), "--trust", "--episodes", "0"], capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "action space" in err and "Discrete(96)" in err


@pytest.mark.parametrize("change, words", [
    ({"env": "CartPole-v1"}, "env='CartPole-v1' is not allowed"),
    ({"hyper": {"normalize": True}}, "normalize=True is not allowed"),
])
def test_zoo_folder_it_cannot_evaluate_is_one_line(models, tmp_path, capsys, change, words):
    env = change.get("env", "SmallStateAlliance-v0")
    folder = zoo_folder(tmp_path, models / "model.zip", env=env, hyper=change.get("hyper"))
    code, out, err = evaluate([str(folder), "--trust", "--episodes", "0"], capsys)
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and words in err


def test_mismatched_spaces_are_one_line(models, tmp_path, capsys):
    # a 26-input model on the 27-input timeline scenario
    code, out, err = evaluate([str(models / "model.zip"), "--trust", "--scenario", "timeline", "--episodes", "0"],
                              capsys)
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1
    assert "observation space" in err and "(27,)" in err
    # a model of another env altogether
    from stable_baselines3 import PPO

    PPO("MlpPolicy", "CartPole-v1", seed=0).save(tmp_path / "cartpole.zip")
    code, out, err = evaluate([str(tmp_path / "cartpole.zip"), "--trust", "--episodes", "0"], capsys)
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and "observation space" in err


def test_a_file_that_is_no_sb3_archive_is_one_line(tmp_path, capsys):
    (tmp_path / "model.zip").write_bytes(b"not a zip")
    code, _, err = evaluate([str(tmp_path / "model.zip"), "--trust"], capsys)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "not an SB3 model archive" in err


@pytest.mark.parametrize("value", ["os:SmallStateAlliance-v0", "envs.sub:SmallStateAlliance-v0",
                                   ":SmallStateAlliance-v0", "envs:envs:SmallStateAlliance-v0",
                                   "subprocess:SmallStateAllianceDiscrete-v0"])
def test_zoo_env_accepts_no_module_prefix_but_envs(value):
    """Issue 28 class 8: the message says 'envs:' only, and so does the check (the Zoo imports the
    module a prefix names)."""
    with pytest.raises(ValueError) as info:
        env_id_of(value, "args.yml")
    record("zoo_env_prefix", escaped=False)  # an accepted prefix would have failed pytest.raises
    assert str(info.value) == (f"args.yml: env={value!r} is not allowed: SmallStateAlliance-v0 or "
                               "SmallStateAllianceDiscrete-v0 (optionally 'envs:'-prefixed)")
    for good in ("SmallStateAlliance-v0", "envs:SmallStateAlliance-v0", "envs:SmallStateAllianceDiscrete-v0"):
        assert env_id_of(good, "args.yml") == good.removeprefix("envs:")


def bomb(model_file, path, member, inflated):
    """``model_file`` with ``member`` replaced by ``inflated`` zero bytes, deflated (a zip bomb: a few
    hundred kilobytes on disk)."""
    import zipfile

    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info.filename, src.read(info))
        with dst.open(member, "w") as f:
            chunk = b"\0" * (1 << 22)
            for _ in range(inflated // len(chunk)):
                f.write(chunk)
    return path


@pytest.mark.parametrize("member, inflated, limit", [("data", 64 << 20, "50,000,000"),
                                                     ("policy.pth", 300 << 20, "268,435,456")])
def test_a_zip_bomb_is_refused_from_its_directory_on_every_path(models, tmp_path, capsys, member, inflated, limit):
    """Issue 28 class 6: with --algo the 50 MB check on `data` was skipped and SB3 inflated the
    archive. Every way in (--algo, the algorithm read from the archive, a Zoo folder, a run's
    checkpoint reader) checks the sizes the archive's directory states before reading a member."""
    from training.results import run_folder as rf
    from training.run.train import load_archive

    path = bomb(models / "model.zip", tmp_path / "bomb.zip", member, inflated)
    assert path.stat().st_size < 2 << 20
    zoo = zoo_folder(tmp_path / "zoo", path)
    for argv in ([str(path), "--trust", "--algo", "PPO"], [str(path), "--trust"], [str(zoo), "--trust"]):
        code, out, err = evaluate([*argv, "--episodes", "0"], capsys)
        lines = err.strip().splitlines()
        record("zip_bombs", escaped=not (code == 2 and out == "" and len(lines) == 1 and "inflates" in err))
        assert code == 2 and out == "" and len(lines) == 1, (argv, err)
        assert f"member '{member}' inflates to {inflated:,} bytes, more than {limit}" in lines[0], lines
    with pytest.raises(ValueError, match="inflates to"), open(path, "rb") as f:
        load_archive("PPO", f, where=path)
    assert not rf._zip_is_whole(path)  # a checkpoint that is a bomb is never resumed from


def test_an_evaluation_log_that_is_a_zip_bomb_is_refused_before_numpy_inflates_it(tmp_path):
    """An ``.npz`` is a zip too: the learning curves' reader checks its sizes first."""
    import io
    import zipfile

    from training.results import run_folder as rf
    from training.results.manifest import read_evaluations

    buffer = io.BytesIO()
    np.savez(buffer, timesteps=np.array([1, 2]), ep_lengths=np.ones((2, 2), int), results=np.ones((2, 2)))
    path = tmp_path / rf.EVALUATIONS
    bomb(io.BytesIO(buffer.getvalue()), path, "results.npy", 300 << 20)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("results.npy").file_size == 300 << 20
    with pytest.raises(ValueError) as info:
        read_evaluations(tmp_path, trust=True)
    assert str(info.value) == (f"{path}: not allowed: its member 'results.npy' inflates to {300 << 20:,} bytes, "
                               "more than 268,435,456 (a zip bomb, or not a file of this project)")
