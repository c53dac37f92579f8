"""``alliance game`` through the console script, as a user calls it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ALLIANCE = str(Path(sys.executable).parent / "alliance")
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def _run(*args):
    return subprocess.run([ALLIANCE, "game", *args], capture_output=True, text=True, env=ENV, timeout=300)


def test_game_json_holds_the_table_check_24_commitments_and_the_table_profile():
    out = _run("war", "--json", "--no-mpe")
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["table_check"]["max_abs_diff"] < 1e-9
    assert len(rep["commitments"]) == 24
    assert {(c["D"], c["IP"], c["sigma"]) for c in rep["commitments"]} == {
        (d, ip, s) for d in range(4) for ip in range(2) for s in range(3)}
    best = max(rep["commitments"], key=lambda c: c["V_P"])
    assert rep["best_commitment"] == {k: best[k] for k in ("D", "IP", "sigma")}
    tp = rep["table_profile"]
    assert tp["V_P_br"] >= tp["V_P"] - 1e-9 and tp["nashconv_max"] >= tp["nashconv_s0"] >= 0


@pytest.mark.parametrize("args, words", [
    (("war", "--set", "patron_weights=[1, 2]", "--no-mpe"), "patron_weights=(1, 2) is not allowed"),
    (("war", "--set", "support=5", "--no-mpe"), "support[0]=5 is not allowed"),
    (("phase2", "--set", "hazard=0.2", "--no-mpe"), "scenario='phase2' is not allowed for the game's solvers"),
    (("calendar", "--rounds", "0"), "--rounds=0 is not allowed: an integer in 1..10"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    out = _run(*args)
    assert out.returncode == 2
    assert words in out.stderr and "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0


def test_the_text_curve_labels_the_extrapolations_entries_apart_from_the_paths():
    from training.cli.game import _stage

    path = {"lambda": 1662.0, "nashconv_max": 0.0046}
    extrapolated = {"lambda": 1662.0, "extrapolated_from": [1195.3, 1662.0], "profiles": 5, "nashconv_max": 0.0049}
    assert _stage(path) == "1.66e+03"
    assert _stage(extrapolated) == "extrapolated from 1195..1662"
    assert _stage({"lambda": 1000.0, "averaged": 25}) == "1e+03 avg 25"
    assert _stage({"lambda": 2322.1, "prior": True, "nashconv_max": 0.0029}) == "with prior 2.32e+03"
    # a proximal round carries no precision: labelled by its round, not by the lambda it does not have
    assert _stage({"round": 28, "residual": 0.002, "moved": 0.01, "proximal": True, "nashconv_max": 0.00095}) == "proximal round 28"
