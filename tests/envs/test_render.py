"""Render modes: ``ansi`` (one line), ``human`` (prints it), ``rgb_array`` (a picture of the quarter)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from malformed import record

import envs
from envs.env import SmallStateAllianceEnv
from envs.render import GAUGE_X, GAUGE_Y, PHASE_COLOURS
from envs.vector_env import AllianceVectorEnv


def test_metadata_lists_the_modes_and_fps():
    for cls in (SmallStateAllianceEnv, AllianceVectorEnv):
        assert cls.metadata["render_modes"] == ["ansi", "human", "rgb_array"]
        assert cls.metadata["render_fps"] > 0


def test_rgb_array_frame_shape_dtype_and_content():
    env = gym.make(envs.ENV_ID, scenario="calendar", render_mode="rgb_array")
    env.reset(seed=0, options={"t": 25})
    start = env.render()
    assert start.shape == (320, 512, 3) and start.dtype == np.uint8
    env.step(np.array([1, 0, 0, 2]))  # 2020Q2 -> 2020Q3: the calendar enters phase 1
    frame = env.render()
    assert frame.shape == (320, 512, 3) and frame.dtype == np.uint8
    # the phase band is drawn in the colour of the phase reached
    assert tuple(start[12, 250]) == PHASE_COLOURS[0] and tuple(frame[12, 250]) == PHASE_COLOURS[1]
    # the phase gauge's cell of phase 1 is lit, that of phase 0 is not
    assert tuple(frame[GAUGE_Y + 5, GAUGE_X + 30]) == PHASE_COLOURS[1]
    assert tuple(frame[GAUGE_Y + 5, GAUGE_X + 5]) != PHASE_COLOURS[0]
    assert not np.array_equal(start, frame)
    # a picture depends only on what it shows: the same quarter twice gives the same frame
    again = gym.make(envs.ENV_ID, scenario="calendar", render_mode="rgb_array")
    again.reset(seed=0, options={"t": 25})
    again.step(np.array([1, 0, 0, 2]))
    assert np.array_equal(again.render(), frame)


def test_rgb_array_list_and_vector_frames():
    env = gym.make(envs.DISCRETE_ENV_ID, render_mode="rgb_array_list")  # Gymnasium's RenderCollection
    env.reset(seed=0)
    for a in range(3):
        env.step(a)
    frames = env.render()
    assert len(frames) == 4 and all(f.shape == (320, 512, 3) for f in frames)
    venv = AllianceVectorEnv(3, render_mode="rgb_array")
    venv.reset(seed=0)
    venv.step(np.zeros((3, 4), dtype=np.int64))
    frames = venv.render()
    assert len(frames) == 3 and all(f.shape == (320, 512, 3) and f.dtype == np.uint8 for f in frames)


def test_human_prints_the_ansi_line(capsys):
    ansi = SmallStateAllianceEnv("war", render_mode="ansi")
    human = SmallStateAllianceEnv("war", render_mode="human")
    ansi.reset(seed=4)
    human.reset(seed=4)
    assert capsys.readouterr().out == ansi.render() + "\n"
    ansi.step(np.array([3, 1, 2, 0]))
    human.step(np.array([3, 1, 2, 0]))
    assert capsys.readouterr().out == ansi.render() + "\n"
    assert human.render() is None and capsys.readouterr().out == ""  # printed once, by step
    venv = AllianceVectorEnv(2, render_mode="human")
    venv.reset(seed=0)
    assert venv.render() is None and len(capsys.readouterr().out.splitlines()) == 2


@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")  # gym.make's own, before the env refuses
@pytest.mark.parametrize("mode", ["bogus", "rgb", "", "ANSI", "rgb_array_list "])
def test_an_unknown_render_mode_is_refused_by_the_constructor(mode):
    """Issue 28 class 7: the mode is refused where it is given, in one line naming the allowed ones
    (it was accepted with a warning, and gym.make's checker then raised an AssertionError in render())."""
    for make in (lambda: SmallStateAllianceEnv(render_mode=mode), lambda: AllianceVectorEnv(2, render_mode=mode),
                 lambda: gym.make("SmallStateAlliance-v0", render_mode=mode)):
        try:
            make()
        except ValueError as exc:
            message = str(exc)
        else:
            message = ""
        record("render_mode", escaped=not message.startswith(("SmallStateAllianceEnv:", "AllianceVectorEnv:")))
        assert "\n" not in message and f"render_mode={mode!r} is not allowed" in message
        assert all(repr(m) in message for m in ("ansi", "human", "rgb_array"))


def test_without_a_render_mode_render_warns_and_returns_none():
    env = SmallStateAllianceEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without a render_mode"):
        assert env.render() is None
    venv = AllianceVectorEnv(2)
    venv.reset(seed=0)
    assert venv.render() is None
