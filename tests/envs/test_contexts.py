"""The contextual env (issue 30): contexts as override dicts or sampled from the discovery's ranges
(one copy of the rules), a context per reset, its features in the observation, the vector env with
a context per sub-env, and one-line errors for bad contexts."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.context_tables import ContextTables, EntryClasses
from envs.contexts import RANGES_FILE, make_contexts, sample_values
from envs.env import SmallStateAllianceEnv
from envs.scenarios import make_params
from envs.tables import BLOCK, MED_SIZE, MOVE_SIZE, Tables
from envs.vector_env import AllianceVectorEnv
from training.discovery.ranges import load_ranges

WAR = make_params("war")
SAMPLE = {"sample": 6, "seed": 11}


def test_sampled_contexts_follow_the_discovery_ranges_rules():
    """The env's draws are the discovery's Ranges.values of the same unit rows (one copy of the rules)."""
    ranges = load_ranges(RANGES_FILE)
    unit = np.random.default_rng(11).random((6, len(ranges.names)))
    table = ranges.values(unit)
    values = sample_values(6, 11)
    for i, row in enumerate(values):
        for name in ranges.names:
            assert row[name] == pytest.approx(table[name][i], abs=0 if ranges.factors[name].integer else 1e-15)
    cs = make_contexts(SAMPLE, WAR)
    assert cs.features == tuple(ranges.names)
    assert cs.params[2] == ranges.params(values[2], WAR)
    assert np.all((cs.feature_values >= 0) & (cs.feature_values <= 1))
    j = ranges.names.index("alpha_west")
    f = ranges.factors["alpha_west"]
    assert cs.feature_values[3, j] == pytest.approx((values[3]["alpha_west"] - f.low) / (f.high - f.low), abs=1e-6)
    assert make_contexts(SAMPLE, WAR).params == cs.params  # seeded
    assert make_contexts({"sample": 6, "seed": 12}, WAR).params != cs.params


def test_listed_contexts_features_are_the_entries_that_differ():
    cs = make_contexts([{"identification": 0.2}, {"identification": 0.9, "demand": [1, 1, 2, 1, 3]}], WAR)
    assert cs.params[1].identification == 0.9 and cs.params[1].demand == (1, 1, 2, 1, 3)
    assert set(cs.features) == {"identification", "demand[4]"}  # demand[2] is 2 in both
    assert np.all((cs.feature_values >= 0) & (cs.feature_values <= 1))
    assert cs.feature_values[1, cs.features.index("identification")] > cs.feature_values[0, 0]


def test_reset_draws_contexts_uniformly_and_reproducibly():
    env = gym.make("SmallStateAlliance-v0", contexts=[{"power": p} for p in (0.05, 0.1, 0.15, 0.2)])
    ids = [env.reset(seed=None if i else 3)[1]["context_id"] for i in range(800)]
    counts = Counter(ids)
    assert sorted(counts) == [0, 1, 2, 3] and min(counts.values()) > 150
    again = [env.reset(seed=None if i else 3)[1]["context_id"] for i in range(800)]
    assert again == ids
    obs, info = env.reset(options={"context_id": 2})
    assert info["context_id"] == 2 and env.unwrapped.context == {"power": 0.15}
    assert env.unwrapped.params.power == 0.15 and obs.shape == (26,)  # hidden context


@pytest.mark.parametrize("env_id", ["SmallStateAlliance-v0", "SmallStateAllianceDiscrete-v0"])
def test_a_context_steps_as_the_plain_env_of_its_parameters(env_id):
    """With the context picked (no draw), the trajectory is the plain env's on that context's
    parameters, step for step; the observation ends with the context's features."""
    ctx = gym.make(env_id, contexts=SAMPLE, context_in_obs=True)
    cs = ctx.unwrapped.contexts
    assert ctx.observation_space.shape == (26 + len(cs.features),)
    assert ctx.unwrapped.context_features == cs.features
    plain = gym.make(env_id, params=cs.params[4])
    o1, i1 = ctx.reset(seed=5, options={"context_id": 4})
    o2, _ = plain.reset(seed=5)
    np.testing.assert_array_equal(o1[:26], o2)
    np.testing.assert_array_equal(o1[26:], cs.feature_values[4])
    assert i1["context_id"] == 4 and ctx.unwrapped.context == cs.contexts[4]
    for _ in range(200):  # the context's compact rows (envs.state_rows) against the plain tables
        a = ctx.action_space.sample()
        r1 = ctx.step(a)
        r2 = plain.step(a)
        np.testing.assert_array_equal(r1[0][:26], r2[0])
        assert r1[1] == r2[1] and r1[4]["context_id"] == 4
        assert {k: v for k, v in r1[4].items() if k != "context_id"} == r2[4]  # the same numbers, bit for bit


@pytest.mark.parametrize("env_id", ["SmallStateAlliance-v0", "SmallStateAllianceDiscrete-v0"])
def test_check_env_passes(env_id):
    check_env(gym.make(env_id, contexts={"sample": 3, "seed": 0}, context_in_obs=True).unwrapped, skip_render_check=True)
    check_env(gym.make(env_id, contexts=[{"gamma": 0.9}, {"gamma": 0.95}]).unwrapped, skip_render_check=True)


def test_vector_env_kernel_equals_each_contexts_tables():
    """The side-by-side tables step every env exactly as its own context's Tables would."""
    cs = make_contexts({"sample": 5, "seed": 2}, WAR)
    ct = ContextTables(cs.params)
    rng = np.random.default_rng(0)
    n = 400
    ctx = rng.integers(5, size=n)
    index = 4 * BLOCK + rng.integers(BLOCK, size=n)
    ct.ensure_reachable(ctx, index // BLOCK)
    action, u, t = rng.integers(96, size=n), rng.random((n, 8)), np.zeros(n, dtype=np.int64)
    nxt, reward, events = ct.step_indices(index, action, t, ctx, u)
    for c in range(5):
        sel = ctx == c
        tb = Tables(cs.params[c]).ensure_reachable([4])
        n2, e2 = tb.step_indices(index[sel], action[sel], 0, u[sel])
        np.testing.assert_array_equal(nxt[sel], n2)
        np.testing.assert_array_equal(reward[sel], tb.reward_at(index[sel], action[sel]))
        for key in e2:
            np.testing.assert_array_equal(events[key][sel], e2[key])
    # war needs one block per context; stored without repeated columns: at most 1 MB each (issue 30),
    # less than half of every column (up and down, Pr(M = 1), r(s, a))
    every_column = (2 * MOVE_SIZE + MED_SIZE + BLOCK * 96) * 8
    assert ct.nbytes / 5 <= 1e6 and ct.nbytes / 5 < every_column / 2


def test_context_tables_step_every_phase_and_date_as_each_contexts_tables():
    """calendar (dated phase events, every phase reachable): the shared codes and class values give each
    env, in any phase and at any date, the step and r(s, a) of its own context's Tables."""
    cs = make_contexts({"sample": 3, "seed": 4}, make_params("calendar"))
    ct = ContextTables(cs.params)
    rng = np.random.default_rng(1)
    n = 600
    ctx, index = rng.integers(3, size=n), rng.integers(5 * BLOCK, size=n)
    ct.ensure_reachable(ctx, index // BLOCK)
    assert (ct.slot >= 0).all()
    action, u, t = rng.integers(96, size=n), rng.random((n, 8)), rng.integers(44, size=n)
    nxt, reward, events = ct.step_indices(index, action, t, ctx, u)
    for c in range(3):
        sel = ctx == c
        tb = Tables(cs.params[c]).ensure(range(5))
        n2, e2 = tb.step_indices(index[sel], action[sel], t[sel], u[sel])
        np.testing.assert_array_equal(nxt[sel], n2)
        np.testing.assert_array_equal(reward[sel], tb.reward_at(index[sel], action[sel]))
        for key in e2:
            np.testing.assert_array_equal(events[key][sel], e2[key])


def test_entry_classes_split_a_class_a_later_block_tells_apart():
    """Entries grouped because their numbers were equal so far are split when a block differs, and
    every stored block still gives each entry's own numbers through the shared codes."""
    rng = np.random.default_rng(1)
    first = rng.random((3, 4))[rng.integers(3, size=40)]  # 40 entries, 3 distinct rows
    second = first + 1.0
    second[7] = -first[7]  # ... entry 7 alone differs in the second block
    classes = EntryClasses(40)
    classes.add(first)
    assert classes.n == len(np.unique(first, axis=0)) <= 3
    classes.add(second)
    assert classes.n == len(np.unique(first, axis=0)) + 1 and np.sum(classes.code == classes.code[7]) == 1
    third = first * 2.0  # splits nothing: stored without a new class
    classes.add(third)
    assert classes.n == len(np.unique(first, axis=0)) + 1
    for block, stored in zip((first, second, third), classes.values):
        np.testing.assert_array_equal(stored[classes.code], block)


def test_one_contextual_vector_env_equals_the_plain_vector_env_of_its_context():
    cs = make_contexts(SAMPLE, WAR)
    venv = AllianceVectorEnv(1, contexts=SAMPLE, context_in_obs=True)
    plain = AllianceVectorEnv(1, params=cs.params[1])
    o1, i1 = venv.reset(seed=9, options={"context_id": 1})
    o2, _ = plain.reset(seed=9)
    assert i1["context_id"].tolist() == [1]
    for _ in range(40):
        a = venv.action_space.sample()
        r1, r2 = venv.step(a), plain.step(a)
        np.testing.assert_array_equal(r1[0][:, :26], r2[0])
        np.testing.assert_array_equal(r1[0][:, 26:], cs.feature_values[[1]])
        np.testing.assert_array_equal(r1[1], r2[1])


@pytest.mark.parametrize("env_id", ["SmallStateAlliance-v0", "SmallStateAllianceDiscrete-v0"])
def test_vector_env_gives_each_env_its_context_and_redraws_on_autoreset(env_id):
    venv = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point", contexts={"sample": 8, "seed": 0},
                        context_in_obs=True, max_episode_steps=3)
    obs, info = venv.reset(seed=0)
    first = info["context_id"].copy()
    assert len(set(first.tolist())) > 4 and obs.shape == (64, 26 + 25)
    np.testing.assert_array_equal(obs[:, 26:], venv.unwrapped.contexts.feature_values[first])
    for _ in range(4):  # truncated at 3, reset on the 4th step (next-step autoreset)
        obs, _, _, _, info = venv.step(venv.action_space.sample())
    assert (info["context_id"] != first).any()
    np.testing.assert_array_equal(obs[:, 26:], venv.unwrapped.contexts.feature_values[info["context_id"]])
    _, info = venv.reset(options={"context_id": list(range(8)) * 8})
    assert info["context_id"].tolist() == list(range(8)) * 8


def test_calendar_contexts_in_the_vector_env():
    venv = AllianceVectorEnv(6, scenario="calendar", contexts=[{"identification": 0.3}, {"identification": 0.8}])
    venv.reset(seed=1)
    for _ in range(44):
        venv.step(venv.action_space.sample())
    assert venv.context_tables.slot.min() >= 0  # every phase of both contexts built


@pytest.mark.parametrize(("contexts", "words"), [
    ([], ["contexts=[]", "non-empty"]),
    ([{"nonsense": 1}], ["contexts[0]", "'nonsense'", "not a model parameter"]),
    ([{"alpha_west": 0.5}, {"alpha_west": 7}], ["contexts[1]", "alpha_west=7", "[0.0, 1.0]"]),
    ({"sample": 0, "seed": 1}, ["contexts.sample=0", "integer >= 1"]),
    ({"sample": 3}, ["contexts.seed=None", "integer >= 0"]),
    ({"sample": 3, "seed": 1, "n": 2}, ["'n'", "not allowed"]),
    ("war", ["contexts='war'", "override dicts"]),
])
def test_bad_contexts_are_one_line_errors(contexts, words):
    for make in (lambda: SmallStateAllianceEnv(contexts=contexts), lambda: AllianceVectorEnv(2, contexts=contexts)):
        with pytest.raises(ValueError) as exc:
            make()
        msg = str(exc.value)
        assert "\n" not in msg and all(w in msg for w in words), msg


def test_bad_context_id_is_a_one_line_error():
    env = SmallStateAllianceEnv(contexts=[{"power": 0.1}, {"power": 0.2}])
    for bad in (2, -1, "0", True):
        with pytest.raises(ValueError, match=r"^options.context_id=.* is not allowed: an integer in 0..1"):
            env.reset(options={"context_id": bad})
    venv = AllianceVectorEnv(3, contexts=[{"power": 0.1}, {"power": 0.2}])
    with pytest.raises(ValueError, match=r"options.context_id\[2\]=5 is not allowed: an integer in 0..1"):
        venv.reset(options={"context_id": [0, 1, 5]})
    with pytest.raises(ValueError, match="context_in_obs='yes' is not allowed: True or False"):
        SmallStateAllianceEnv(contexts=[{"power": 0.1}], context_in_obs="yes")
    with pytest.raises(ValueError, match="options key 'context_id' is not allowed"):
        SmallStateAllianceEnv().reset(options={"context_id": 0})  # no contexts: no such option


def test_a_contextual_env_stores_no_block_per_context(tmp_path, monkeypatch):
    """Each context is visited little: the disk cache gets no block from it (a plain env of the same
    parameters, past the cache's threshold of states, does store one)."""
    from envs import block_cache

    monkeypatch.setenv("ALLIANCE_GYM_CACHE", str(tmp_path))
    contexts = [{"power": 0.3141}, {"power": 0.2718}]
    env = SmallStateAllianceEnv(scenario="war", contexts=contexts)
    rng = np.random.default_rng(0)
    for episode in range(40):
        env.reset(seed=episode, options={"context_id": episode % 2})
        for _ in range(80):
            env.step(rng.integers(0, [4, 2, 3, 4]))
    assert len(env._rows.rows) > block_cache.BUILD_AFTER  # enough states for a plain env to store
    assert list(tmp_path.iterdir()) == []
    plain = SmallStateAllianceEnv(scenario="war", overrides={"power": 0.1618})
    for episode in range(40):
        plain.reset(seed=episode)
        for _ in range(80):
            plain.step(rng.integers(0, [4, 2, 3, 4]))
    assert len(list(tmp_path.iterdir())) == 1


def test_calendar_vector_observation_has_time_then_the_contexts_features():
    contexts = [{"gamma": 0.9}, {"gamma": 0.95}]  # the discount alone: the plain env's dynamics
    venv = AllianceVectorEnv(4, scenario="calendar", contexts=contexts, context_in_obs=True)
    plain = AllianceVectorEnv(4, scenario="calendar")
    obs, info = venv.reset(seed=3, options={"context_id": [0, 1, 1, 0]})
    plain.reset(seed=3)
    for _ in range(3):
        a = venv.action_space.sample()
        obs = venv.step(a)[0]
        np.testing.assert_array_equal(obs[:, :27], plain.step(a)[0])  # the plain observation, t/horizon included
    np.testing.assert_array_equal(obs[:, 27:], venv.contexts.feature_values[[0, 1, 1, 0]])
    assert obs.shape == (4, 28) and obs[0, 26] == pytest.approx(3 / 44)


def test_the_context_step_drawing_its_uniforms_steps_as_on_numpys_array():
    """N = 512 (envs.pcg64 draws in the loop): ContextTables.step_indices given the generator returns
    what it returns on NumPy's random((N, 8)), and leaves the generator in the same state."""
    venv = AllianceVectorEnv(512, contexts=SAMPLE, max_episode_steps=20)
    venv.reset(seed=4)
    ct, rng = venv.unwrapped.context_tables, np.random.default_rng(5)
    index, t, ctx = venv.unwrapped._index.copy(), np.zeros(512, dtype=np.int64), venv.unwrapped.context_ids
    drawing, numpys = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(15):
        action = rng.integers(0, 96, size=512)
        nxt, reward, events = ct.step_indices(index, action, t, ctx, drawing)
        nxt2, reward2, events2 = ct.step_indices(index, action, t, ctx, numpys.random((512, 8)))
        assert np.array_equal(nxt, nxt2) and np.array_equal(reward, reward2)
        assert all(np.array_equal(events[k], events2[k]) for k in events)
        ct.ensure_reachable(ctx, nxt // BLOCK)
        index, t = nxt, t + 1
    assert len(np.unique(index)) > 30
    assert drawing.bit_generator.state == numpys.bit_generator.state
