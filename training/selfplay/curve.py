"""``nashconv.json``: the self-play run's curve, one exact score per round (a typed schema).

Round 0 is the profile before any training (the small state's untrained policy against the
starting patron); round k the profile after k rounds. Each round's score is the exact NashConv of
the learned profile as the players play it (their stochastic policies read off on every state of
the block, :mod:`training.selfplay.tables`) and of its greedy version (each player's most likely
action), by :func:`agents.game.best_response.nash_conv`; V_S(s0), V_P(s0) the profile's exact
values at the start and each player's gain from its best response at s0.

The file is written atomically and its sha256 recorded in the run's manifest; read back only
after the hash is checked (:func:`read_curve`), then against :class:`NashConvCurve`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from training.results import run_folder as rf
from training.results.manifest import read_checked
from training.results.schemas import SCHEMA_VERSION, StoredFile
from training.results.store import MAX_RESULT_BYTES, check_stored

NASHCONV = "nashconv.json"


class ProfileScore(BaseModel):
    """Exact scores of one profile on the block (docs/model.md section 11)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    nashconv_s0: float = Field(ge=-1e-9, description="NC(s0) = the two players' gains from best responses at s0")
    nashconv_max: float = Field(ge=-1e-9, description="the largest NC(s) over the block's states")
    v_small_s0: float
    v_patron_s0: float
    gain_small_s0: float
    gain_patron_s0: float


class RoundScore(BaseModel):
    """One round: the steps each player has trained in all, the learned profile's scores, the time."""

    model_config = ConfigDict(extra="forbid", strict=True)

    round: int = Field(ge=0)
    steps_small_state: int = Field(ge=0)
    steps_patron: int = Field(ge=0)
    stochastic: ProfileScore
    greedy: ProfileScore
    train_seconds: float = Field(ge=0)
    score_seconds: float = Field(ge=0)


class NashConvCurve(StoredFile):
    """``nashconv.json`` of a self-play run."""

    ADVICE: ClassVar[str] = "the run's curve was changed or damaged: train the run again"
    scenario: str
    seed: int
    s0: list[int] = Field(description="the start state (phase, T, A, R, W, X)")
    rounds: list[RoundScore]


def score(nc: Any, s0: int) -> dict[str, float]:
    """A :class:`ProfileScore` mapping of an ``agents.game.best_response.NashConv``."""
    gains = nc.gains
    return {"nashconv_s0": nc.at_start, "nashconv_max": nc.max, "v_small_s0": float(nc.v_small[s0]),
            "v_patron_s0": float(nc.v_patron[s0]), "gain_small_s0": gains[0], "gain_patron_s0": gains[1]}


def write_curve(run_dir: Path, curve: dict[str, Any]) -> None:
    """Check ``curve`` against :class:`NashConvCurve` and write it, its sha256 recorded in the manifest."""
    path = Path(run_dir) / NASHCONV
    body = {k: v for k, v in curve.items() if k != "schema_version"}
    check_stored(path, NashConvCurve, body)
    text = json.dumps({"schema_version": SCHEMA_VERSION, **body}, indent=2) + "\n"
    rf.save_recorded(run_dir, path, lambda f: f.write(text.encode()))


def read_curve(run_dir: Path, trust: bool = False) -> dict[str, Any]:
    """The run's curve after checking its sha256 against the manifest (unless ``trust``) and its schema.

    :raises ValueError: one line: not listed, another hash, not JSON, not the schema
    """
    path = Path(run_dir) / NASHCONV
    raw = read_checked(run_dir, NASHCONV, MAX_RESULT_BYTES, trust)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{path}: not JSON; {NashConvCurve.ADVICE}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a JSON {type(data).__name__} is not allowed: a JSON object; {NashConvCurve.ADVICE}")
    check_stored(path, NashConvCurve, data)
    return {k: v for k, v in data.items() if k != "schema_version"}
