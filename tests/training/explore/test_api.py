"""The explorer's JSON API: the numbers are the solver's, bad input is a one-line 422 and the server
keeps serving, the downloaded scenario file is one ``alliance solve`` accepts."""

from __future__ import annotations

import json
import time

import pytest
from explorer_http import request

from agents.solver import solve
from envs.scenarios import make_params


def test_war_and_identification_match_the_solver(explorer):
    status, war = request(f"{explorer}/api/solve", {"scenario": "war"})
    assert status == 200
    assert round(war["value"], 4) == round(solve(make_params("war")).value, 4)
    status, moved = request(f"{explorer}/api/solve", {"scenario": "war", "overrides": {"identification": 0.9}})
    assert status == 200
    assert round(moved["value"], 4) == round(solve(make_params("high_id")).value, 4)
    assert round(moved["value"], 4) != round(war["value"], 4)


def test_per_phase_slider_sets_every_phase(explorer):
    status, got = request(f"{explorer}/api/solve", {"scenario": "war", "overrides": {"tau": 0.8}})
    assert status == 200
    assert round(got["value"], 4) == round(solve(make_params("low_threat")).value, 4)


def test_calendar_archetypes_per_phase(explorer):
    from agents.summary import summarize_optimum

    status, got = request(f"{explorer}/api/solve", {"scenario": "calendar"})
    assert status == 200
    want = summarize_optimum(make_params("calendar"))
    assert {p["phase"]: p["archetype"] for p in got["phases"]} == want.phase_labels
    assert got["archetype"] == want.label
    assert round(got["value"], 4) == round(want.result.optimum, 4)


def test_details_baselines_and_streams(explorer):
    from agents.streams import optimum_streams
    from agents.summary import baseline_results

    status, got = request(f"{explorer}/api/details", {"scenario": "war", "overrides": {"power": 0.5}})
    assert status == 200
    params = make_params("war", {"power": 0.5})
    want = {name: round(r.value, 6) for name, r in baseline_results(params).items()}
    assert {b["name"]: round(b["value"], 6) for b in got["baselines"]} == want
    streams = optimum_streams(params).streams
    assert got["streams"]["security"] == pytest.approx(streams["security"], abs=1e-9)
    assert set(got["streams"]) == {"security", "autonomy", "economy", "costs"}


def test_patron_commitment_is_the_patrons_best(explorer):
    from agents.game.commitment import best_commitment, commitment_table

    status, got = request(f"{explorer}/api/patron", {"scenario": "war", "mode": "commitment"})
    assert status == 200
    best = best_commitment(commitment_table(make_params("war")))
    assert got["patron"][0]["action"] == list(best.action(4))
    assert got["archetype"] == best.archetype


def test_patron_equilibrium_runs_in_the_background_and_is_the_searchs_profile(explorer, monkeypatch):
    from agents.game.equilibrium import search_mpe, summarize_search
    from agents.game.operator import game_operator
    from training.explore import compute

    tiny = {"lambdas": (1.0, 4.0), "rounds": 2, "inner": 2}  # the search's schedule cut short (the page runs alliance game's)
    monkeypatch.setattr(compute, "EQUILIBRIUM_SEARCH", tiny)
    body = {"scenario": "war", "overrides": {"power": 0.3}, "mode": "equilibrium"}
    status, got = request(f"{explorer}/api/patron", body)
    assert status == 200 and got["status"] in ("running", "done")
    deadline = time.monotonic() + 300
    while got["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        status, got = request(f"{explorer}/api/patron", body)
    assert got["status"] == "done", got
    op = game_operator(make_params("war", {"power": 0.3}))
    want = summarize_search(op, search_mpe(op, **tiny))
    assert got["value_small"] == pytest.approx(want["V_S"], abs=1e-12)
    assert got["nashconv_max"] == pytest.approx(want["nashconv_max"], abs=1e-12)
    assert got["archetype"] == want["archetype"]
    assert sum(a["share"] for a in got["patron"]) == pytest.approx(sum(want["patron_action_shares"].values()))


def test_patron_equilibrium_of_a_scenario_whose_phase_moves_is_a_one_line_422(explorer):
    status, got = request(f"{explorer}/api/patron", {"scenario": "calendar", "mode": "equilibrium"})
    assert status == 422
    assert "scenario='calendar' is not allowed" in json.dumps(got) and "\\n" not in json.dumps(got)


@pytest.mark.parametrize("body, field", [
    ({"scenario": "war", "overrides": {"identification": 5}}, "overrides.identification=5"),
    ({"scenario": "war", "overrides": {"tau": -1}}, "overrides.tau=-1"),
    ({"scenario": "war", "overrides": {"identification": "high"}}, "overrides.identification='high'"),
    ({"scenario": "war", "overrides": {"identification": "0.5"}}, "overrides.identification='0.5'"),
    ({"scenario": "war", "overrides": {"power": True}}, "overrides.power=True"),
    ({"scenario": "atlantis"}, "scenario='atlantis'"),
    ({"scenario": "war", "overrides": {"gamma": 0.5}}, "overrides.gamma=0.5"),
    ({"scenario": "war", "mode": "commitment"}, "mode="),
    ([1, 2], "request=list"),
    (b"{not json", "body"),
])
def test_bad_input_is_one_line_422_and_the_server_keeps_serving(explorer, body, field):
    status, got = request(f"{explorer}/api/solve", body)
    assert status == 422
    assert got["error"].startswith(field) and "not allowed" in got["error"] and "\n" not in got["error"]
    status, ok = request(f"{explorer}/api/solve", {"scenario": "war"})
    assert status == 200 and ok["scenario"] == "war"


def test_commitment_on_calendar_is_a_422(explorer):
    status, got = request(f"{explorer}/api/patron", {"scenario": "calendar", "mode": "commitment"})
    assert status == 422 and "stationary" in got["error"]


def test_static_files_only(explorer):
    status, page = request(f"{explorer}/")
    assert status == 200 and b'data-testid="scenario"' in page
    for path in ("/static/../schema.py", "/static/%2e%2e/server.py", "/etc/passwd", "/static/nothing.js"):
        status, _ = request(f"{explorer}{path}")
        assert status == 404, path
    status, _ = request(f"{explorer}/api/nothing", {"scenario": "war"})
    assert status == 404


def test_binds_loopback_only():
    from training.explore.server import make_server

    server = make_server(0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_downloaded_yaml_is_accepted_by_alliance_solve(explorer, tmp_path, capsys):
    from training.cli import main

    overrides = {"identification": 0.7, "mediation": 0.3}
    status, got = request(f"{explorer}/api/solve", {"scenario": "war", "overrides": overrides})
    assert status == 200
    path = tmp_path / "point.yaml"
    path.write_text(got["yaml"], encoding="utf-8")
    capsys.readouterr()
    assert main(["solve", str(path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert round(rep["value"], 4) == round(solve(make_params("war", overrides)).value, 4)
    assert round(rep["value"], 4) == round(got["value"], 4)


def test_an_answer_to_a_page_that_went_away_is_dropped_without_a_traceback():
    """A browser that leaves (a reload, a closed tab) before its answer is written: the server drops
    the answer and the connection; before, the broken pipe was printed as two tracebacks."""
    from training.explore.server import Handler

    class Gone:
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    handler = object.__new__(Handler)  # no socket: only the writing is exercised
    handler.wfile, handler.request_version, handler.requestline, handler.command = Gone(), "HTTP/1.1", "", "POST"
    handler.close_connection = False
    handler._json(200, {"ok": True})
    assert handler.close_connection
