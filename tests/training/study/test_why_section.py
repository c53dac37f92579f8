"""The report's "Why the optimum wins": rendered from the stored explain units only (hand-made here),
a missing unit named as missing, the same bytes twice; the units themselves are the exact streams
and frontier of ``agents``; the config's ``explain`` list is checked like ``scenarios``."""

from __future__ import annotations

import json

import pytest
import yaml
from studies import analysis

from agents.frontier import trade_off_frontier
from agents.streams import TERMS, compare_streams
from envs.scenarios import make_params
from training import cli
from training.config.study import load_study_config, plan_points
from training.study.explain_units import ExplainUnit, explain_unit, plan_explain
from training.study.report import write_report


def report(policy: str, value: float, **streams: float) -> dict:
    full = {t: 0.0 for t in TERMS} | streams
    return {"scenario": "war", "policy": policy, "gamma": 0.95, "value": value, "optimum": 10.0,
            "share": value / 10.0, "mean_value": 0.05 * value, "streams": full, "horizon_part": None}


STREAMS = {"kind": "streams", "scenario": "war", "seconds": 1.0, "policies": [
    report("optimal", 10.0, security=0.66, autonomy=0.74, economy=0.44, trap=0.03),
    report("bandwagon", 2.0, security=0.24, autonomy=0.20, economy=0.43, trap=0.46, troop_cost=0.15),
    report("balance", 8.0, security=0.60, autonomy=0.90, economy=0.44, trap=0.0)]}


def point(w_a: float, security: float, autonomy: float) -> dict:
    w = [(1 - w_a) * 0.5 / 0.65, w_a, (1 - w_a) * 0.15 / 0.65]
    return {"label": "optimal", "weights": w, "security": security, "autonomy": autonomy, "economy": 0.4,
            "value": 10.0, "optimum": 10.0}


FRONTIER = {"kind": "frontier", "scenario": "war", "seconds": 1.0, "frontier": {
    "scenario": "war", "baselines": [], "default": point(0.35, 0.66, 0.74),
    "optima": [point(0.0, 0.72, 0.4), point(0.35, 0.66, 0.74), point(0.8, 0.6, 0.84)]}}


@pytest.fixture
def study(tmp_path, monkeypatch):
    """A study of `war` explaining `war` (both units stored) and `alt_open` (its frontier missing)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "why.yaml").write_text(yaml.safe_dump(
        {"name": "why", "out": "study", "scenarios": ["war"], "explain": ["war", "alt_open"], "bootstrap_reps": 50}))
    cfg = load_study_config("why.yaml")
    for p in plan_points(cfg):
        (cfg.out_dir / p.relpath()).parent.mkdir(parents=True, exist_ok=True)
        (cfg.out_dir / p.relpath()).write_text(json.dumps(analysis(p, "limited_participation+mediation")))
    folder = cfg.out_dir / "explain"
    folder.mkdir()
    (folder / "war_streams.json").write_text(json.dumps(STREAMS))
    (folder / "war_frontier.json").write_text(json.dumps(FRONTIER))
    (folder / "alt_open_streams.json").write_text(json.dumps({**STREAMS, "scenario": "alt_open"}))
    return cfg


def test_the_section_is_rendered_from_the_stored_units(study):
    path = write_report(study)
    text = path.read_text()
    why = text.split("## Why the optimum wins")[1].split("\n## ")[0]
    war = why.split("### `war`")[1].split("### ")[0]
    assert "| bandwagon | 2.000 | 20 % | 0.1000 | 0.2400 | 0.2000 | 0.4300 |" in war
    assert ("- bandwagon: far less security (0.24 vs 0.66), far less autonomy (0.20 vs 0.74), less economy "
            "(0.43 vs 0.44), entrapment 0.46 (optimum 0.03), troop and basing costs 0.150 (optimum 0.000); "
            "20 % of V*") in war
    assert "- balance: less security (0.60 vs 0.66), far more autonomy (0.90 vs 0.74), the same economy (0.44)" in war
    assert "![The autonomy–security frontier on `war`](figures/frontier_war.png)" in war
    assert (path.parent / "figures" / "frontier_war.png").read_bytes()[:4] == b"\x89PNG"
    alt = why.split("### `alt_open`")[1]
    assert "frontier of this scenario is not computed yet" in alt and "frontier_alt_open" not in alt
    assert "`explain/alt_open_frontier.json`" in text.split("## The question")[0]  # named as missing
    csv = (study.out_dir / "tables" / "streams_war.csv").read_text().splitlines()
    assert csv[0].startswith("policy,value,share,mean_value,security,autonomy,economy")
    assert csv[2].startswith("bandwagon,2.0,0.2,")
    before = {p: p.read_bytes() for p in [path, *sorted((study.out_dir / "figures").glob("*.png"))]}
    assert cli.main(["study", "why.yaml", "--report-only"]) == 0
    assert {p: p.read_bytes() for p in before} == before


def test_no_explain_list_no_section(study):
    (study.out_dir.parent / "why.yaml").write_text(yaml.safe_dump(
        {"name": "why", "out": "study", "scenarios": ["war"], "bootstrap_reps": 50}))
    assert "Why the optimum wins" not in write_report(load_study_config("why.yaml")).read_text()


def test_explain_list_is_checked_like_scenarios(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "out": str(tmp_path / "o"), "scenarios": ["war"],
                                    "explain": ["war", "atlantis"]}))
    assert cli.main(["study", str(path), "--report-only"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "explain[1]='atlantis' is not allowed" in lines[0], lines


def test_plan_a_frontier_and_streams_per_scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "out": str(tmp_path / "o"), "scenarios": [],
                                    "explain": ["war", "calendar"]}))
    assert [u.relpath() for u in plan_explain(load_study_config(path))] == [
        "explain/war_frontier.json", "explain/war_streams.json",
        "explain/calendar_frontier.json", "explain/calendar_streams.json"]


def test_the_streams_unit_is_compare_streams():
    out = explain_unit(ExplainUnit("streams", "war"))
    assert out["policies"] == [r.to_dict() for r in compare_streams(make_params("war"))]


@pytest.mark.slow
def test_the_frontier_unit_is_trade_off_frontier():
    out = explain_unit(ExplainUnit("frontier", "alt_open"))
    assert out["frontier"] == trade_off_frontier(make_params("alt_open"), baselines=[]).to_dict()


def test_a_section_another_command_wrote_survives_a_re_render(study):
    path = write_report(study)
    section = "<!-- h8: begin (alliance h8 writes this section) -->\n\n## H8: a section\n\n- a line\n\n<!-- h8: end -->"
    path.write_text(path.read_text().rstrip("\n") + "\n\n" + section + "\n")
    written = path.read_bytes()
    assert cli.main(["study", "why.yaml", "--report-only"]) == 0
    assert path.read_bytes() == written  # kept, in its place at the end, byte for byte
    assert path.read_text().count("## H8: a section") == 1
