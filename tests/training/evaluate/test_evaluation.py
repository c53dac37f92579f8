"""`alliance evaluate`: exact values against a brute-force solve, the Monte Carlo check, cross-scenario
spaces, the hash check and one-line errors.

Brute force here: enumerate every branch of a step with ``envs.model.outcomes`` on the 1,080 states of
the war block (phase 4 is absorbing), build the policy's transition matrix and solve
(I - gamma P) V = r — a different route from the exact evaluator's factorised operator.
The statistics behind ``mc_ci`` (Student-t) and the benchmark (IQM, bootstrap) are tested against
hand computations and scipy in tests/test_stats.py.
"""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_runs import tiny_ppo_config

from agents.baselines import make_policy
from agents.solver import solve
from envs import model
from envs.params import N_PHASES
from envs.scenarios import make_params
from envs.spaces import ALL_STATES, N_STATES, PHASE, decode_actions, encode_states, observe
from training import cli
from training.evaluate.evaluation import evaluate_target
from training.results import run_folder as rf
from training.run.train import train

BLOCK = N_STATES // N_PHASES


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return train(tiny_ppo_config(tmp_path_factory.mktemp("runs")))


def brute_value(params, actions_of_block):
    """V^pi(s0) of a stationary deterministic policy on the phase-4 block, by a dense linear solve
    over every outcome branch of ``envs.model.outcomes``."""
    block = np.flatnonzero(ALL_STATES[:, PHASE] == 4)
    states, actions = ALL_STATES[block], actions_of_block
    p_mat = np.zeros((BLOCK, BLOCK))
    for i in range(0, BLOCK, 216):
        nxt, probs = model.outcomes(states[i:i + 216], actions[i:i + 216], params, 0)
        cols = encode_states(nxt.reshape(-1, 6)).reshape(nxt.shape[:2]) - block[0]
        assert cols.min() >= 0 and cols.max() < BLOCK  # phase 4 is absorbing in war
        rows = np.repeat(np.arange(i, i + len(nxt)), nxt.shape[1])
        np.add.at(p_mat, (rows, cols.ravel()), probs.ravel())
    v = np.linalg.solve(np.eye(BLOCK) - params.gamma * p_mat, model.reward(states, actions, params))
    return float(v[encode_states(np.array([params.start]))[0] - block[0]])


# ------------------------------------------------------------------------------ exact values
@pytest.mark.parametrize("name", ["limited", "neutral", "hedge"])
def test_baseline_value_equals_brute_force(name):
    p = make_params("war")
    rep = evaluate_target(f"baseline:{name}", "war", episodes=0)
    block_states = ALL_STATES[ALL_STATES[:, PHASE] == 4]
    actions, _ = make_policy(name, p).predict(observe(block_states, None, p.horizon))
    assert rep["value"] == pytest.approx(brute_value(p, actions), abs=1e-9)
    assert rep["optimum"] == pytest.approx(solve(p).value, abs=1e-12)
    assert rep["regret"] == pytest.approx(rep["optimum"] - rep["value"], abs=1e-12)
    assert rep["share_of_optimum"] == pytest.approx(rep["value"] / rep["optimum"], rel=1e-12)


def test_optimal_gives_v_star_which_satisfies_bellman_by_brute_force():
    p = make_params("war")
    rep = evaluate_target("optimal", episodes=0)  # war by default
    assert rep["scenario"] == "war"
    assert rep["regret"] == pytest.approx(0.0, abs=1e-9) and rep["share_of_optimum"] == pytest.approx(1.0, abs=1e-12)
    assert rep["near_optimal_share"] == pytest.approx(1.0, abs=1e-12)
    # V*(s0) = max_a r(s0, a) + gamma E[V*(s')], every branch enumerated
    sol = solve(p)
    s0 = np.array([p.start])
    acts = decode_actions(np.arange(96))
    nxt, probs = model.outcomes(np.repeat(s0, 96, axis=0), acts, p, 0)
    q = model.reward(np.repeat(s0, 96, axis=0), acts, p) + p.gamma * (
        probs * sol.values[0][encode_states(nxt.reshape(-1, 6)).reshape(nxt.shape[:2])]).sum(axis=1)
    assert rep["value"] == pytest.approx(q.max(), abs=1e-9)


def test_optimal_on_calendar_reads_time_and_has_zero_regret():
    rep = evaluate_target("optimal", "calendar", episodes=0)
    assert rep["value"] == pytest.approx(solve(make_params("calendar")).value, abs=1e-9)
    assert set(rep["phase_labels"]) == {"0", "1", "2", "3", "4"}  # per phase for calendar
    assert sum(rep["phase_weights"].values()) == pytest.approx(1.0, abs=1e-12)


def test_trained_run_is_read_off_on_every_state_and_has_nonnegative_regret(run_dir):
    rep = evaluate_target(run_dir, episodes=0)
    assert rep["scenario"] == "war" and rep["source"]["trained_on"] == "war" and rep["source"]["hash_checked"]
    assert rep["regret"] >= 0.0 and 0.0 < rep["share_of_optimum"] <= 1.0
    from training.run.train import load_model

    net = load_model(run_dir)
    block_states = ALL_STATES[ALL_STATES[:, PHASE] == 4]
    actions = np.stack([net.predict(observe(s[None], None, 80)[0], deterministic=True)[0] for s in block_states])
    assert rep["value"] == pytest.approx(brute_value(make_params("war"), actions.astype(np.int64)), abs=1e-9)


def test_monte_carlo_interval_agrees_with_the_exact_value(run_dir):
    rep = evaluate_target(run_dir, episodes=2000, seed=5)
    lo, hi = rep["mc_ci"]
    assert lo < rep["mc_mean"] < hi
    assert abs(rep["mc_mean"] - rep["value"]) <= 4 * rep["mc_std_error"]
    assert (hi - lo) / 2 == pytest.approx(1.96 * rep["mc_std_error"], rel=0.01)  # t_1999 ~ 1.96


def test_optimum_episode_return_is_what_sb3_evaluation_measures():
    """The learning curves' optimum line: the exact expected undiscounted 80-step return, against
    SB3's own evaluate_policy on the env (the EvalCallback's code path)."""
    from stable_baselines3.common.evaluation import evaluate_policy as sb3_evaluate
    from stable_baselines3.common.vec_env import VecMonitor

    from envs.sb3_vec_env import AllianceSB3VecEnv

    p = make_params("war")
    rep = evaluate_target("optimal", "war", episodes=0)
    env = VecMonitor(AllianceSB3VecEnv(200, scenario="war", seed=3))
    returns, lengths = sb3_evaluate(make_policy("optimal", p), env, n_eval_episodes=2000, return_episode_rewards=True)
    returns = np.asarray(returns)
    assert set(lengths) == {80}
    assert abs(returns.mean() - rep["episode_return"]) <= 4 * returns.std(ddof=1) / np.sqrt(returns.size)


def test_action_shares_by_phase_are_the_occupancys_marginals():
    rep = evaluate_target("baseline:limited", "war", episodes=0)
    (shares,) = rep["phase_actions"].values()
    # `limited` in war: (min(D, 2), 0, IP, 2) = (2, 0, 1, 2) in every state
    assert [shares[f] for f in ("m=2", "k=1", "g=1", "d=2")] == pytest.approx([1, 0, 1, 1], abs=1e-12)
    assert sum(shares[f"m={i}"] for i in range(4)) == pytest.approx(1.0, abs=1e-12)
    assert rep["label"] == "limited_participation+fararc" and rep["nearest_baseline"] == "limited"


# --------------------------------------------------------------------------------- robustness
def test_run_on_another_scenario_whose_spaces_agree(run_dir):
    rep = evaluate_target(run_dir, "alt_open", episodes=0)
    assert rep["scenario"] == "alt_open" and rep["source"]["trained_on"] == "war"
    assert rep["optimum"] == pytest.approx(solve(make_params("alt_open")).value, abs=1e-12)
    assert rep["regret"] >= 0.0


def test_run_on_a_scenario_whose_observation_space_differs_is_one_line(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir), "--scenario", "timeline"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "observation space" in err[0] and "(26,)" in err[0] and "(27,)" in err[0] and "timeline" in err[0]



def test_space_check_accepts_the_dqn_flattening_and_names_a_wrong_action_space():
    from gymnasium import spaces

    from training.run.train import check_spaces

    p = make_params("war")
    box = spaces.Box(0.0, 1.0, (26,), dtype=np.float32)
    check_spaces(SimpleNamespace(observation_space=box, action_space=spaces.Discrete(96)), p, "m")
    check_spaces(SimpleNamespace(observation_space=box, action_space=spaces.MultiDiscrete([4, 2, 3, 4])), p, "m")
    with pytest.raises(ValueError) as info:
        check_spaces(SimpleNamespace(observation_space=box, action_space=spaces.Discrete(10)), p, "m")
    msg = str(info.value)
    assert "\n" not in msg and "action space Discrete(10)" in msg and "MultiDiscrete([4 2 3 4])" in msg

# ----------------------------------------------------------------------------------------- CLI
def test_json_output_has_the_promised_keys(capsys):
    code = cli.main(["evaluate", "baseline:limited", "--scenario", "war", "--episodes", "50", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("target", "scenario", "value", "regret", "share_of_optimum", "mc_mean", "mc_ci", "label", "stats"):
        assert key in rep, key
    assert rep["target"] == "baseline:limited" and len(rep["mc_ci"]) == 2 and rep["mc_ci"][0] < rep["mc_ci"][1]
    assert rep["value"] == pytest.approx(evaluate_target("baseline:limited", "war", episodes=0)["value"], abs=1e-12)


def test_text_output_is_a_table(run_dir, capsys):
    code = cli.main(["evaluate", str(run_dir), "--episodes", "20"])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("regret V* - V^pi", "share of V*", "Monte Carlo mean (20 episodes)", "archetype:",
                 "nearest baseline", "whole episode", "sha256 checked"):
        assert text in out, text


def _copy(run_dir, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(run_dir, dest)
    return dest


def test_model_whose_hash_differs_is_refused_in_one_line_unless_trusted(run_dir, tmp_path, capsys):
    from stable_baselines3 import PPO

    copy = _copy(run_dir, tmp_path)
    tampered = PPO.load(copy / rf.MODEL)
    with torch.no_grad():
        next(tampered.policy.parameters()).add_(0.5)
    tampered.save(copy / rf.MODEL)
    code = cli.main(["evaluate", str(copy), "--episodes", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "sha256" in err[0] and "model.zip" in err[0]
    code = cli.main(["evaluate", str(copy), "--episodes", "0", "--trust", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and rep["source"]["hash_checked"] is False and rep["regret"] >= 0.0


@pytest.mark.parametrize("flags,missing", [([], "model.zip"), (["--best"], "best_model.zip")])
def test_run_folder_missing_its_model_names_the_file(run_dir, tmp_path, capsys, flags, missing):
    copy = _copy(run_dir, tmp_path)
    (copy / missing).unlink()
    code = cli.main(["evaluate", str(copy), *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(copy / missing) in err[0]


@pytest.mark.parametrize("argv,words", [
    (["evaluate", "limited"], ["target='limited'", "baseline:limited"]),
    (["evaluate", "baseline:nope"], ["baseline:nope", "baseline:limited"]),
    (["evaluate", "optimal", "--scenario", "nowhere"], ["scenario='nowhere'", "war"]),
    (["evaluate", "optimal", "--episodes", "1"], ["episodes=1", ">= 2"]),
])
def test_bad_input_is_one_line(capsys, argv, words):
    code = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    for w in words:
        assert w in err[0], w


def test_folder_without_config_is_not_a_run_folder(tmp_path, capsys):
    code = cli.main(["evaluate", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "config.yml" in err[0]

