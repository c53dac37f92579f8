"""`alliance evaluate RUN --contexts SET` (training/evaluate/contexts.py): the named sets, the exact
share per context checked by another route, the hash rules and one-line errors.

The tests on a trained contextual run share one tiny run (module fixture, ~10 s: slow); the
bad-input tests use a run folder holding only a config.yml the manifest records (no model needed:
they fail before it is read).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.stats
import torch
from tiny_runs import tiny_ppo_config

from agents.exact_eval import evaluate_policy
from agents.solver import solve
from envs.contexts import make_contexts, sample_values
from envs.scenarios import make_params
from training import cli
from training.config.errors import ConfigError
from training.config.run import config_fingerprint
from training.evaluate.contexts import HELD_OUT_OFFSET, evaluate_run_contexts
from training.results import run_folder as rf

TRAIN = {"sample": 5, "seed": 2}


def _config(output, **env):
    return tiny_ppo_config(output, env={"scenario": "war", **env})


def _config_only_run(folder, cfg):
    """A run folder with a config.yml whose sha256 the manifest records (as a run writes it)."""
    folder.mkdir(parents=True)
    digest = rf.write_hashed(folder / rf.CONFIG, lambda f: f.write(cfg.to_yaml().encode()))
    rf.write_manifest(folder, written={rf.CONFIG: digest}, status="complete", algo=cfg.algo)
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from training.run.train import train

    torch.set_num_threads(1)
    return train(_config(tmp_path_factory.mktemp("runs"), contexts=TRAIN, context_in_obs=True))


class FeaturePolicy:
    """A model's greedy policy in one context: the plain observation with the context's features appended."""

    name, reads_time, deterministic_table = "feature policy", True, True

    def action_probabilities(self, obs):
        return None

    def __init__(self, model, features):
        self.model, self.features = model, np.asarray(features, dtype=np.float32)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        obs = np.atleast_2d(obs)
        full = np.concatenate([obs, np.tile(self.features, (obs.shape[0], 1))], axis=1)
        return self.model.predict(full, deterministic=True)


# ------------------------------------------------------------------------- config of a contextual run
def test_plain_config_dump_has_no_context_keys_so_existing_content_keys_stay():
    env = config_fingerprint(_config("out"))["env"]
    assert set(env) == {"scenario", "overrides"}
    env = config_fingerprint(_config("out", contexts=TRAIN))["env"]
    assert env["contexts"] == TRAIN and env["context_in_obs"] is False


@pytest.mark.parametrize(("env", "words"), [
    ({"context_in_obs": True}, ["context_in_obs", "env.contexts"]),
    ({"contexts": {"sample": 0, "seed": 1}}, ["contexts.sample=0", "integer >= 1"]),
    ({"contexts": {"samples": 3, "seed": 1}}, ["'samples'", '{"sample": N, "seed": S}']),
])
def test_bad_contexts_in_a_run_config_is_one_line(env, words):
    with pytest.raises(ConfigError) as info:
        _config("out", **env)
    assert len(info.value.problems) == 1
    assert all(w in info.value.problems[0] for w in words), info.value.problems[0]


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("argv", "words"), [
    (["--contexts", "heldout"], ["--contexts='heldout'", "train", "test"]),
    (["--contexts", "test", "--scenario", "calendar"], ["--scenario=calendar", "--contexts"]),
])
def test_bad_context_options_are_one_line(tmp_path, capsys, argv, words):
    folder = _config_only_run(tmp_path / "run", _config(tmp_path, contexts=TRAIN))
    code = cli.main(["evaluate", str(folder), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert all(w in err[0] for w in words), err[0]


def test_run_that_is_not_contextual_is_one_line(tmp_path, capsys):
    folder = _config_only_run(tmp_path / "run", _config(tmp_path))
    code = cli.main(["evaluate", str(folder), "--contexts", "test"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "not contextual" in err[0] and "env.contexts" in err[0], err[0]


def test_target_that_is_not_a_run_folder_is_one_line(capsys):
    code = cli.main(["evaluate", "baseline:limited", "--contexts", "test"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "a run folder" in err[0], err


def test_config_changed_after_the_run_wrote_it_is_refused(tmp_path, capsys):
    """The held-out set is derived from config.yml's seed: a config edited after training (here to
    make `test` the training contexts) is not read."""
    folder = _config_only_run(tmp_path / "run", _config(tmp_path, contexts=TRAIN))
    text = (folder / rf.CONFIG).read_text().replace("seed: 2", f"seed: {2 + HELD_OUT_OFFSET}")
    (folder / rf.CONFIG).write_text(text)
    code = cli.main(["evaluate", str(folder), "--contexts", "test"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "sha256" in err[0], err


# --------------------------------------------------------------------------- on a trained run
@pytest.mark.slow
def test_test_set_is_held_out_and_each_share_is_the_exact_value_over_the_contexts_optimum(run_dir):
    rep = evaluate_run_contexts(run_dir, "test", reps=200)
    test_values = sample_values(TRAIN["sample"], TRAIN["seed"] + HELD_OUT_OFFSET)
    train_values = sample_values(TRAIN["sample"], TRAIN["seed"])
    assert [r["context"] for r in rep["per_context"]] == test_values
    assert not any(v in train_values for v in test_values)
    from training.run.train import load_model

    model = load_model(run_dir)
    contexts = make_contexts(rep["contexts"], make_params("war"))
    for row in rep["per_context"][:2]:  # another route: evaluate_policy on a wrapper, solve() alone
        c = row["context_id"]
        params = contexts.params[c]
        assert row["optimum"] == pytest.approx(solve(params).value, abs=1e-9)
        value = evaluate_policy(FeaturePolicy(model, contexts.feature_values[c]), params).value
        assert row["value"] == pytest.approx(value, abs=1e-9)
        assert row["share"] == pytest.approx(value / row["optimum"], rel=1e-12)
        assert row["value"] <= row["optimum"] + 1e-9
    shares = np.array([r["share"] for r in rep["per_context"]])
    point, lo, hi = rep["share_iqm"]
    assert point == pytest.approx(scipy.stats.trim_mean(shares, 0.25))
    assert lo <= point <= hi and shares.min() <= lo and hi <= shares.max()


@pytest.mark.slow
def test_train_set_is_the_runs_own_contexts_and_the_cli_prints_a_row_per_context(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir), "--contexts", "train", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and rep["contexts"] == TRAIN
    assert [r["context"] for r in rep["per_context"]] == sample_values(TRAIN["sample"], TRAIN["seed"])
    code = cli.main(["evaluate", str(run_dir), "--contexts", "train"])
    out = capsys.readouterr().out
    assert code == 0 and "share of V*_c, IQM" in out
    assert sum(line.strip().split(" ")[0].isdigit() for line in out.splitlines()) == TRAIN["sample"]


@pytest.mark.slow
def test_model_whose_hash_differs_is_refused_with_contexts(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    with open(copy / rf.MODEL, "ab") as f:
        f.write(b"\0")
    code = cli.main(["evaluate", str(copy), "--contexts", "test"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "sha256" in err[0], err


@pytest.mark.slow
def test_run_reading_context_features_without_contexts_is_one_line(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir), "--episodes", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "--contexts train or test" in err[0], err
