"""sb3-contrib in the whole path (issue 29, item 1): ``alliance train`` trains QRDQN, TRPO, ARS,
RecurrentPPO and MaskablePPO (hyperparameters checked against their constructors); ``evaluate`` and
``benchmark`` read the algorithm from the archive; a Markov policy is scored exactly, a recurrent one
by Monte Carlo with its LSTM state carried, and says why; an algorithm that does not fit the action
space is one line naming the allowed ones."""

from __future__ import annotations

import collections
import json
import shutil

import numpy as np
import pytest
import sb3_contrib
import torch
import yaml

from agents.exact_eval import evaluate_policy
from envs.scenarios import make_params
from training import cli
from training.config.errors import ConfigError
from training.config.run import config_from_dict
from training.evaluate.evaluation import evaluate
from training.evaluate.recurrent import is_recurrent
from training.evaluate.targets import infer_algo
from training.results import run_folder as rf
from training.run.train import run_config, train
from training.scoring.benchmark import collect

TINY = {  # a few hundred steps each, a small network: seconds
    "QRDQN": {"learning_starts": 64, "buffer_size": 512, "policy_kwargs": {"net_arch": [16], "n_quantiles": 5}},
    "TRPO": {"n_steps": 64, "batch_size": 64, "policy_kwargs": {"net_arch": [16]}},
    "ARS": {"n_delta": 2, "policy_kwargs": {"net_arch": [16]}},
    "RecurrentPPO": {"n_steps": 32, "batch_size": 64, "n_epochs": 1,
                     "policy_kwargs": {"net_arch": [16], "lstm_hidden_size": 8}},
    "MaskablePPO": {"n_steps": 32, "batch_size": 64, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("contrib")
    folders = {}
    for algo, hyper in TINY.items():
        cfg = config_from_dict({"algo": algo.lower(), "hyperparams": hyper, "n_envs": 2, "total_timesteps": 256,
                                "eval": {"freq": 128, "n_episodes": 1}, "checkpoint": {"freq": 128},
                                "output": str(out)})
        folders[algo] = train(cfg, progress_bar=False)
    return folders


def zoo_folder(root, model_file, algo, env):
    """``logs/<algo>/<env>_1/`` as rl_zoo3 leaves it (args.yml dumped as an OrderedDict)."""
    folder = root / "logs" / algo / f"{env}_1"
    (folder / env).mkdir(parents=True)
    shutil.copy(model_file, folder / f"{env}.zip")
    args = collections.OrderedDict(sorted({"algo": algo, "env": env, "env_kwargs": None, "seed": 0}.items()))
    (folder / env / "args.yml").write_text(yaml.dump(args))
    return folder


def run_cli(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_each_algorithm_trains_and_its_archive_names_it(runs):
    for algo, folder in runs.items():
        assert run_config(folder).algo == algo
        found, why = infer_algo(folder / rf.MODEL)
        assert found == algo, why


def test_hyperparameters_are_checked_against_the_contrib_constructors():
    with pytest.raises(ConfigError, match="hyperparams.gamma=0.9 is not allowed: not an argument of ARS; allowed"):
        config_from_dict({"algo": "ARS", "total_timesteps": 10, "hyperparams": {"gamma": 0.9}})
    with pytest.raises(ConfigError, match=r"n_quantiles='many' is not allowed: a value of type int"):
        config_from_dict({"algo": "QRDQN", "total_timesteps": 10, "hyperparams": {"policy_kwargs": {"n_quantiles": "many"}}})
    with pytest.raises(ConfigError, match=r"lstm_hidden_size=0.5 is not allowed: a value of type int"):
        config_from_dict({"algo": "RecurrentPPO", "total_timesteps": 10,
                          "hyperparams": {"policy_kwargs": {"lstm_hidden_size": 0.5}}})
    with pytest.raises(ConfigError, match="RecurrentPPO's mini-batches are cut from one rollout"):
        config_from_dict({"algo": "RecurrentPPO", "total_timesteps": 10, "n_envs": 1,
                          "hyperparams": {"n_steps": 16, "batch_size": 32}})


def test_a_bare_archive_is_recognised_and_a_markov_one_scored_exactly(runs, tmp_path, capsys):
    for algo in ("QRDQN", "TRPO", "ARS", "MaskablePPO"):
        bare = tmp_path / f"{algo}.zip"
        shutil.copy(runs[algo] / rf.MODEL, bare)  # no manifest: needs --trust, and no --algo
        code, out, err = run_cli(["evaluate", str(bare), "--trust", "--episodes", "0", "--json"], capsys)
        rep = json.loads(out)
        assert code == 0 and rep["source"]["algo"] == algo and "exact" not in rep, err
        model = getattr(sb3_contrib, algo).load(bare, device="cpu")
        assert not is_recurrent(model)
        assert rep["value"] == pytest.approx(evaluate_policy(model, make_params("war")).value, rel=1e-12)


class Spy:
    """A recurrent model whose ``predict`` records the memory it is given and returns."""

    def __init__(self, model):
        self.model, self.policy, self.calls = model, model.policy, []

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        actions, new = self.model.predict(obs, state=state, episode_start=episode_start, deterministic=deterministic)
        self.calls.append((state, episode_start.copy(), new))
        return actions, new


def test_a_recurrent_policy_is_scored_by_monte_carlo_with_its_memory_carried(runs, capsys):
    from sb3_contrib import RecurrentPPO

    model = RecurrentPPO.load(runs["RecurrentPPO"] / rf.MODEL, device="cpu")
    spy = Spy(model)
    params = make_params("war")
    rep = evaluate(spy, params, "rppo", episodes=20, seed=1)
    assert rep["exact"] is False and "not Markov" in rep["not_exact_because"]
    assert rep["value_ci"][0] < rep["value"] < rep["value_ci"][1] and rep["value_episodes"] == 20
    assert rep["truncation_bias_bound"] < 1e-3 and len(spy.calls) == rep["episode_steps"]
    first, second = spy.calls[0], spy.calls[1]
    assert first[0] is None and first[1].all()  # a fresh memory at the episode's start
    assert not second[1].any() and all(np.array_equal(a, b) for a, b in zip(second[0], first[2]))  # carried
    code, out, _ = run_cli(["evaluate", str(runs["RecurrentPPO"]), "--episodes", "20"], capsys)
    assert code == 0 and "NOT EXACT: a recurrent policy" in out and "Monte Carlo value V^pi(s0)" in out


def test_an_algorithm_the_action_space_does_not_fit_is_one_line(runs, tmp_path, capsys):
    folder = zoo_folder(tmp_path, runs["QRDQN"] / rf.MODEL, algo="qrdqn", env="SmallStateAlliance-v0")
    code, out, err = run_cli(["evaluate", str(folder), "--trust", "--episodes", "0"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "algo=QRDQN is not allowed on SmallStateAlliance-v0's MultiDiscrete" in err
    assert "PPO, A2C, TRPO, RecurrentPPO, MaskablePPO" in err and "SmallStateAllianceDiscrete-v0" in err
    code, _, err = run_cli(["evaluate", str(runs["RecurrentPPO"] / rf.MODEL), "--trust", "--algo", "PPO"], capsys)
    assert code == 2 and "--algo=PPO is not allowed" in err and "is a RecurrentPPO model" in err


def test_benchmark_scores_contrib_runs_exactly_and_the_recurrent_one_by_monte_carlo(runs):
    data = collect([runs["QRDQN"], runs["RecurrentPPO"]], ["war"])
    by_algo = {r["algo"]: r["results"]["war"] for r in data["runs"]}
    assert set(by_algo) == {"QRDQN", "RecurrentPPO"}
    assert "exact" not in by_algo["QRDQN"] and by_algo["RecurrentPPO"]["exact"] is False
    assert by_algo["RecurrentPPO"]["value_episodes"] > 0
