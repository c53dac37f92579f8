"""The ``rgb_array`` picture of one quarter (``render_mode="rgb_array"`` of the envs).

A 512 x 320 RGB frame (``uint8``, shape ``(320, 512, 3)``; both sides multiples of 16, as video
encoders want):

- top: the date of the quarter (``2020Q2``, or ``t=07`` in stationary scenarios), the scenario,
  and the phase reached in a band of the phase's colour;
- left: the six state variables as gauges, one cell per level, filled up to the current level
  (the phase gauge marks its one current phase), with a white tick under the level before the
  step;
- right: the joint action in words (participation, recognition, integration, diplomacy), the
  reward r(s, a) and its terms (docs/model.md section 6) as bars on one scale, 0 to 1 (costs in red,
  leftwards from 0), each with its value.

Speed: what does not change between frames (labels, empty gauges) is drawn once per scenario by
Pillow; a frame is a copy of it with cached pieces copied in by NumPy slicing: each gauge at each
level, the phase band, and the words from a
cache of text sprites that Pillow draws once per string (numbers: once per character). A frame
costs about twenty steps of the env (``benchmarks/render_speed.py``). Pure: nothing here changes an env's state
or draws random numbers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from envs.info import TERM_KEYS, action_terms
from envs.params import PHASE_NAMES, AllianceParams
from envs.spaces import ACTION_VARS, ACTION_WORDS, ALL_ACTIONS, STATE_LEVELS
from envs.tables import build_tables

WIDTH, HEIGHT = 512, 320
BACKGROUND = (24, 26, 33)
TEXT = (230, 230, 230)
DIM = (140, 144, 155)
EMPTY = (52, 56, 66)
FILL = (92, 160, 230)
BEFORE = (255, 255, 255)
GOOD = (96, 190, 120)
BAD = (225, 95, 90)
PHASE_COLOURS = ((70, 150, 110), (205, 140, 50), (200, 60, 60), (140, 90, 190), (150, 45, 55))
GAUGE_LABELS = ("phase", "threat T", "autonomy A", "trust R", "West W", "far-arc X")
TERM_SIGNS = (1, 1, 1, 1, -1, -1, -1)  # envs.info.TERM_KEYS: three goods, the identity bonus, three costs
ACTION_LABELS = {"m": "participation", "k": "recognition", "g": "integration", "d": "diplomacy"}
SMALL, BIG = 12, 20  # font sizes

# layout (pixels)
GAUGE_X, GAUGE_Y, GAUGE_ROW, GAUGE_W, GAUGE_H = 96, 58, 30, 126, 16
RIGHT_X, WORDS_X, ACTION_Y, REWARD_Y, TERMS_Y, TERM_ROW = 272, 358, 70, 158, 194, 17
BAR_X, BAR_W = 380, 72  # the reward terms' bars: 0 at BAR_X, 1 at BAR_X + BAR_W


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@lru_cache(maxsize=4096)
def _sprite(text: str, size: int, colour: tuple[int, int, int], background: tuple[int, int, int]) -> np.ndarray:
    """The text drawn in ``colour`` on ``background``, RGB ``(line height, advance, 3)``; all sprites
    of a size share a baseline. Every text of a frame sits on a plain background, so a sprite is
    made once and then copied."""
    font = _font(size)
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (size, 2)
    img = Image.new("RGB", (max(1, int(np.ceil(font.getlength(text)))), ascent + descent), background)
    ImageDraw.Draw(img).text((0, 0), text, font=font, fill=colour)
    out = np.asarray(img).copy()
    out.setflags(write=False)
    return out


def _number_sprite(text: str, size: int, colour: tuple[int, int, int]) -> np.ndarray:
    """Numbers take unbounded values: their sprites are put together from one per character."""
    return np.concatenate([_sprite(c, size, colour, BACKGROUND) for c in text], axis=1)


def _write(frame: np.ndarray, x: int, y: int, sprite: np.ndarray, right: bool = False) -> None:
    """Copies ``sprite`` to ``frame`` at ``(x, y)`` (its right end at ``x`` if ``right``), clipped."""
    h, w = sprite.shape[:2]
    x = x - w if right else x
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = sprite[y0 - y:y1 - y, x0 - x:x1 - x]


def _cell(levels: int, j: int) -> tuple[int, int]:
    w = GAUGE_W // levels
    return GAUGE_X + j * w, GAUGE_X + (j + 1) * w - 3


@lru_cache(maxsize=16)
def _background(scenario: str) -> np.ndarray:
    """Labels, empty gauges and section titles: everything but the quarter's values."""
    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    small = _font(SMALL)
    draw.text((WIDTH - 10, 12), f"scenario {scenario}", font=small, fill=DIM, anchor="ra")
    for i, (label, levels) in enumerate(zip(GAUGE_LABELS, STATE_LEVELS.tolist())):
        y = GAUGE_Y + i * GAUGE_ROW
        draw.text((10, y + 1), label, font=small, fill=DIM)
        for j in range(levels):
            a, b = _cell(levels, j)
            draw.rectangle((a, y, b, y + GAUGE_H), fill=EMPTY)
    draw.text((10, GAUGE_Y + 6 * GAUGE_ROW + 6), "white tick: the level before the quarter", font=small, fill=DIM)
    draw.text((RIGHT_X, ACTION_Y - 18), "action", font=small, fill=DIM)
    for i, var in enumerate(ACTION_VARS):
        draw.text((RIGHT_X, ACTION_Y + i * 18), f"{ACTION_LABELS[var]}", font=small, fill=DIM)
    for i, name in enumerate(TERM_KEYS):
        draw.text((RIGHT_X, TERMS_Y + i * TERM_ROW - 2), name.replace("_", " "), font=small, fill=DIM)
    draw.line((BAR_X, TERMS_Y - 2, BAR_X, TERMS_Y + 7 * TERM_ROW - 6), fill=DIM)
    out = np.asarray(img).copy()
    out.setflags(write=False)
    return out


@lru_cache(maxsize=512)
def _gauge(i: int, level: int, before: int | None) -> np.ndarray:
    """Gauge ``i`` at ``level`` (cells up to it lit; the phase gauge lights its one cell), with
    the tick under the level ``before`` the step: ``(GAUGE_H + 5, GAUGE_W, 3)``."""
    levels = int(STATE_LEVELS[i])
    strip = np.empty((GAUGE_H + 5, GAUGE_W, 3), dtype=np.uint8)
    strip[:] = BACKGROUND
    for j in range(levels):
        a, b = _cell(levels, j)
        lit = j == level if i == 0 else j <= level
        strip[:GAUGE_H + 1, a - GAUGE_X:b + 1 - GAUGE_X] = (PHASE_COLOURS[j] if i == 0 else FILL) if lit else EMPTY
    if before is not None:
        a, b = _cell(levels, before)
        strip[GAUGE_H + 2:GAUGE_H + 5, a - GAUGE_X:b + 1 - GAUGE_X] = BEFORE
    strip.setflags(write=False)
    return strip


@lru_cache(maxsize=8)
def _phase_band(phase: int) -> np.ndarray:
    band = np.empty((27, 152, 3), dtype=np.uint8)
    band[:] = PHASE_COLOURS[phase]
    _write(band, 8, 6, _sprite(f"P{phase} {PHASE_NAMES[phase]}", SMALL, TEXT, PHASE_COLOURS[phase]))
    band.setflags(write=False)
    return band


_GOOD, _BAD = np.array(GOOD, dtype=np.uint8), np.array(BAD, dtype=np.uint8)


def draw_frame(params: AllianceParams, label: str, state: tuple[int, ...],
               last: tuple[tuple[int, ...], int, float] | None) -> np.ndarray:
    """The frame of ``state``, reached after ``last = (state before, flat action index, reward)``
    (``None`` right after ``reset``); ``label`` is the quarter's date."""
    frame = _background(params.name).copy()
    _write(frame, 10, 10, _sprite(label, BIG, TEXT, BACKGROUND))
    frame[10:37, 110:262] = _phase_band(state[0])
    for i, level in enumerate(state):
        y = GAUGE_Y + i * GAUGE_ROW
        frame[y:y + GAUGE_H + 5, GAUGE_X:GAUGE_X + GAUGE_W] = _gauge(i, level, None if last is None else last[0][i])
        _write(frame, GAUGE_X + GAUGE_W + 6, y + 1, _sprite(f"{level}/{STATE_LEVELS[i] - 1}", SMALL, TEXT, BACKGROUND))
    if last is None:
        _write(frame, RIGHT_X, ACTION_Y - 18 + 90, _sprite("start of the episode: no action yet", SMALL, TEXT, BACKGROUND))
        return frame
    prev, action_index, reward = last
    action = ALL_ACTIONS[action_index]
    for i, (var, a) in enumerate(zip(ACTION_VARS, action.tolist())):
        _write(frame, WORDS_X, ACTION_Y + i * 18, _sprite(ACTION_WORDS[var][a].split(" (")[0], SMALL, TEXT, BACKGROUND))
    _write(frame, RIGHT_X, REWARD_Y, _sprite("reward", SMALL, DIM, BACKGROUND))
    _write(frame, RIGHT_X + 60, REWARD_Y - 6, _number_sprite(f"{reward:+.4f}", BIG, GOOD if reward >= 0 else BAD))
    terms = action_terms(build_tables(params), int(np.ravel_multi_index(prev, STATE_LEVELS)), action_index)
    for i, (value, sign) in enumerate(zip(terms, TERM_SIGNS)):
        y = TERMS_Y + i * TERM_ROW
        length = int(round(min(abs(value), 1.0) * BAR_W))
        if length and sign > 0:
            frame[y:y + 10, BAR_X + 1:BAR_X + 1 + length] = _GOOD
        elif length:
            frame[y:y + 10, BAR_X - length:BAR_X] = _BAD
        _write(frame, WIDTH - 8, y - 2, _number_sprite(f"{sign * value + 0.0:+.3f}", SMALL, TEXT), right=True)
    return frame
