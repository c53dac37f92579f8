"""``alliance dataset`` (issue 29, item 4): a Minari dataset of one behaviour policy whose metadata carries its
exact V^pi(s0), V* and share. Checked here: the metadata against an independent exact evaluation, the
episodes' mean against V^pi within a Monte Carlo interval, the recovered env's scenario and dynamics (an
episode replayed from its recorded seed and actions), reproducibility, a run folder's hash, and the bad
inputs (one line, exit 2, nothing written). Skipped without ``minari[create]`` (it pulls jax), except the
test of the one-line error that names the extra. Every test writes under a temporary
``MINARI_DATASETS_PATH``, never ~/.minari."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import sys

import numpy as np
import pytest
import torch
from tiny_runs import tiny_ppo_config

from agents.baselines import make_policy
from agents.exact_eval import evaluate_policy
from agents.solver import solve
from envs.scenarios import make_params
from envs.spaces import decode_observations, encode_states
from training import cli
from training.evaluate.evaluation import evaluate_target
from training.results import run_folder as rf

HAVE_MINARI = importlib.util.find_spec("minari") is not None and importlib.util.find_spec("jax") is not None
needs_minari = pytest.mark.skipif(not HAVE_MINARI, reason="minari[create] is not installed (it pulls jax, "
                                  "~600 MB): pip install -e '.[datasets]'")
Z99 = 3.29  # two-sided 99.9 % normal quantile: the Monte Carlo checks fail by chance once in 1,000 runs


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    """Minari's default root in this test's temporary folder (never the user's ~/.minari)."""
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def _make(capsys, *argv):
    code = cli.main(["dataset", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _load(dataset_id):
    import minari

    return minari.load_dataset(dataset_id)


def _leftovers(root):
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


@needs_minari
def test_metadata_carries_the_exact_value_share_and_optimum_of_an_independent_evaluation(capsys):
    meta = _make(capsys, "--policy", "baseline:limited", "--episodes", "3", "--scenario", "war[identification=0.9]")
    params = make_params("war", {"identification": 0.9})
    rep = evaluate_target("baseline:limited", params, episodes=0)  # what `alliance evaluate` reports
    optimum = solve(params).value  # V*(s0) straight from the solver
    assert meta["value"] == pytest.approx(rep["value"], abs=1e-9)
    assert meta["optimum"] == pytest.approx(optimum, abs=1e-9) and meta["optimum"] > meta["value"]
    assert meta["share_of_optimum"] == pytest.approx(rep["value"] / optimum, abs=1e-12)
    stored = _load("alliance/war-identification-0-9/limited-v0").storage.metadata
    assert stored["value"] == meta["value"] and stored["total_episodes"] == 3 and stored["seed"] == 0
    plain = evaluate_target("baseline:limited", "war", episodes=0)["value"]
    assert abs(plain - meta["value"]) > 1e-3  # the overrides reached the evaluation


def _returns(dataset, gamma):
    out = []
    for ep in dataset.iterate_episodes():
        disc = float(np.sum(gamma ** np.arange(len(ep.rewards)) * ep.rewards))
        states, _ = decode_observations(ep.observations[-1])
        out.append((disc, len(ep.rewards), int(encode_states(states)[0])))
    return out


@needs_minari
@pytest.mark.parametrize("policy", ["baseline:limited", "baseline:random"])
def test_the_episodes_mean_agrees_with_the_exact_value_within_a_monte_carlo_interval(capsys, policy):
    """300 episodes on war; each scored as docs/model.md section 7 scores a policy: its 80 discounted rewards
    plus gamma^80 V^pi(state reached), V^pi from an independent exact evaluation. The mean must lie within
    3.29 standard errors of the metadata's V^pi (and the plain discounted mean within 3.29 of the metadata's
    expected discounted episode return)."""
    meta = _make(capsys, "--policy", policy, "--episodes", "300", "--seed", "5")
    params = make_params("war")
    values = evaluate_policy(make_policy(policy, params, seed=5), params).values[0]
    rows = _returns(_load(f"alliance/war/{policy.split(':')[1]}-v0"), params.gamma)
    assert {n for _, n, _ in rows} == {80}
    disc = np.array([d for d, _, _ in rows])
    scored = disc + params.gamma ** 80 * values[[s for _, _, s in rows]]
    for sample, exact in ((scored, meta["value"]), (disc, meta["expected_discounted_episode_return"])):
        se = sample.std(ddof=1) / np.sqrt(len(sample))
        assert se > 0 and abs(sample.mean() - exact) <= Z99 * se, (sample.mean(), exact, se)


@needs_minari
def test_the_recovered_env_is_the_scenario_and_replays_an_episode_from_its_seed_and_actions(capsys):
    _make(capsys, "--policy", "optimal", "--episodes", "4", "--scenario", "calendar[identification=0.7]",
          "--dataset-id", "alliance/cal-v3")
    dataset = _load("alliance/cal-v3")
    env = dataset.recover_environment()
    want = make_params("calendar", {"identification": 0.7})
    got = env.unwrapped.params
    assert dataclasses.replace(got, name="x") == dataclasses.replace(want, name="x")
    assert env.spec.max_episode_steps == want.horizon == 44
    episodes = list(dataset.iterate_episodes())
    assert len({e.observations.tobytes() for e in episodes}) > 1  # the seeds differ, and so do the episodes
    seeds = [m["seed"] for m in dataset.storage.get_episode_metadata(range(4))]
    assert seeds == np.random.SeedSequence(0).generate_state(4, dtype=np.uint32).tolist()  # the documented rule
    for ep, seed in zip(episodes[:2], seeds):
        obs, _ = env.reset(seed=seed)
        assert np.array_equal(obs, ep.observations[0])
        for t, action in enumerate(ep.actions):
            obs, reward, _, truncated, _ = env.step(action)
            assert np.array_equal(obs, ep.observations[t + 1]) and reward == ep.rewards[t]
        assert truncated and len(ep.actions) == 44


@needs_minari
def test_same_seed_same_dataset_another_seed_another(capsys):
    def arrays(dataset_id):
        return [np.concatenate([e.observations.ravel(), e.actions.ravel(), e.rewards]) for e in
                _load(dataset_id).iterate_episodes()]

    for dataset_id, seed in (("a-v0", "1"), ("b-v0", "1"), ("c-v0", "2")):
        _make(capsys, "--policy", "baseline:random", "--episodes", "3", "--seed", seed, "--dataset-id", dataset_id)
    a, b, c = arrays("a-v0"), arrays("b-v0"), arrays("c-v0")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, c))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from training.run.train import train

    torch.set_num_threads(1)
    cfg = tiny_ppo_config(tmp_path_factory.mktemp("runs"), env={"scenario": "war", "overrides": {"power": 0.3}})
    return train(cfg)


@needs_minari
def test_a_run_folder_on_its_own_scenario_and_its_hash_checked(run_dir, tmp_path, capsys, minari_root):
    meta = _make(capsys, "--policy", str(run_dir), "--episodes", "2", "--dataset-id", "run-v0")
    rep = evaluate_target(run_dir, episodes=0)
    assert meta["value"] == pytest.approx(rep["value"], abs=1e-9) and meta["scenario"] == rep["scenario"]
    assert json.loads(meta["env_kwargs"]) == {"scenario": "war", "overrides": {"power": 0.3}}
    assert _load("run-v0").recover_environment().unwrapped.params.power == 0.3

    from stable_baselines3 import PPO

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    tampered = PPO.load(copy / rf.MODEL)
    with torch.no_grad():
        next(tampered.policy.parameters()).add_(0.5)
    tampered.save(copy / rf.MODEL)
    code = cli.main(["dataset", "--policy", str(copy), "--episodes", "2", "--dataset-id", "tampered-v0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "sha256" in err[0]
    assert not (minari_root / "tampered-v0").exists()
    code = cli.main(["dataset", "--policy", str(copy), "--episodes", "2", "--dataset-id", "tampered-v0", "--trust"])
    assert code == 0 and (minari_root / "tampered-v0").is_dir()


@needs_minari
@pytest.mark.parametrize("argv,names", [
    (["--policy", "bogus", "--episodes", "2"], ["--policy='bogus'", "optimal", "baseline:NAME", "limited", "run folder"]),
    (["--policy", "baseline:nope", "--episodes", "2"], ["--policy='baseline:nope'", "random"]),
    (["--policy", "optimal", "--episodes", "0"], ["--episodes=0", "[1,"]),
    (["--policy", "optimal", "--episodes", "-3"], ["--episodes=-3"]),
    (["--policy", "optimal", "--episodes", "2", "--scenario", "nowhere"], ["--scenario='nowhere'", "war", "calendar"]),
    (["--policy", "optimal", "--episodes", "2", "--scenario", "war[nonsense=1]"], ["nonsense"]),
    (["--policy", "optimal", "--episodes", "2", "--dataset-id", "no version"], ["--dataset-id='no version'", "-vN"]),
    (["--policy", "optimal", "--episodes", "2", "--seed", "-1"], ["--seed=-1"]),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, minari_root, argv, names):
    code = cli.main(["dataset", *argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert all(n in lines[0] for n in names), lines[0]
    assert not minari_root.exists() or not any(minari_root.iterdir())


@needs_minari
def test_an_existing_id_is_refused_unless_force_and_a_failed_write_leaves_nothing(capsys, minari_root, monkeypatch):
    first = _make(capsys, "--policy", "baseline:limited", "--episodes", "2", "--dataset-id", "ns/y-v0")
    code = cli.main(["dataset", "--policy", "optimal", "--episodes", "2", "--dataset-id", "ns/y-v0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "exists" in err[0] and "--force" in err[0]
    assert _load("ns/y-v0").storage.metadata["value"] == first["value"]  # untouched

    import training.dataset.writer as writer

    real = writer._collect

    def breaks_halfway(*args, **kwargs):
        real(*args, **kwargs)  # the staging copy is complete ...
        raise OSError(28, "No space left on device")  # ... and the move never happens

    monkeypatch.setattr(writer, "_collect", breaks_halfway)
    code = cli.main(["dataset", "--policy", "optimal", "--episodes", "2", "--dataset-id", "ns/y-v0", "--force"])
    assert code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    assert _load("ns/y-v0").storage.metadata["value"] == first["value"] and _leftovers(minari_root) == []
    code = cli.main(["dataset", "--policy", "optimal", "--episodes", "2", "--dataset-id", "z-v0"])
    capsys.readouterr()
    assert code == 2 and not (minari_root / "z-v0").exists() and _leftovers(minari_root) == []

    monkeypatch.setattr(writer, "_collect", real)
    second = _make(capsys, "--policy", "optimal", "--episodes", "2", "--dataset-id", "ns/y-v0", "--force")
    assert second["share_of_optimum"] == pytest.approx(1.0) and first["share_of_optimum"] < 1.0
    assert _load("ns/y-v0").storage.metadata["value"] == second["value"] and _leftovers(minari_root) == []


def test_without_minari_the_command_names_the_extra_in_one_line(capsys, monkeypatch, minari_root):
    monkeypatch.setitem(sys.modules, "minari", None)  # `import minari` raises ImportError
    code = cli.main(["dataset", "--policy", "optimal", "--episodes", "2"])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and "'datasets'" in lines[0] and ".[datasets]" in lines[0]
    assert not minari_root.exists()


@needs_minari
def test_a_discrete_model_records_on_the_discrete_id(tmp_path, capsys):
    from training.config.run import config_from_dict
    from training.run.train import train

    torch.set_num_threads(1)
    run = train(config_from_dict({"env": {"scenario": "war"}, "algo": "DQN", "hyperparams": {"learning_starts": 100},
                                  "n_envs": 1, "total_timesteps": 500, "seed": 0, "eval": {"freq": 10_000, "n_episodes": 1},
                                  "checkpoint": {"freq": 10_000}, "output": str(tmp_path / "runs")}))
    meta = _make(capsys, "--policy", str(run), "--episodes", "2", "--dataset-id", "dqn-v0")
    assert meta["env_id"] == "SmallStateAllianceDiscrete-v0"
    assert meta["value"] == pytest.approx(evaluate_target(run, episodes=0)["value"], abs=1e-9)
    dataset = _load("dqn-v0")
    assert dataset.recover_environment().unwrapped.action_space.n == 96
    assert all(e.actions.shape == (80,) for e in dataset.iterate_episodes())
