"""The report is rendered from stored results only: every section is there, the verdicts are the
hypotheses' own, figures exist where the report points, and rendering twice changes no byte."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from training import cli
from training.config.study import plan_points
from training.config.study_load import load_study_config
from training.study import hypotheses as hy
from training.study.report import load_study_data, write_report
from training.study.tasks import FEATURES, quarter_labels

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ["## The question", "## The model in a paragraph", "## Results at a glance", "## The hypotheses",
            "### H1 ", "### H2 ", "### H3 ", "### H4 ", "### H5 ", "### H6 ", "## Do the learners find the optimum?",
            "## Sensitivity", "## Threats to validity", "## Reproduce"]
STATS = dict(m_bar=1.5, f3=0.0, f2=0.5, k_bar=0.1, g2=0.0, f_med=0.3, f_far=0.3, f_west=0.0, R_bar=3.0, A_bar=3.0)
SHARES = dict(limited=0.9, limited_mediation=0.88, bandwagon=0.2, balance=0.6, hedge=0.8)

CONFIG = {
    "name": "tiny", "out": "study", "scenarios": ["war", "alt_open", "no_mediation", "calendar"],
    "sweeps": {
        "threat_alternatives": {"scenario": "war", "axes": {
            "threat": {"high": {}, "low": {"tau": 0.8}},
            "alternatives": {"closed": {}, "open": {"lockout": 1.0, "west_shock": 0.0}}}},
        "identification_power": {"scenario": "war", "axes": {"identification": [0, 1], "power": [0, 1]}},
        "entrapment_scale": {"scenario": "war", "axes": {"entrapment_scale": [0.5, 2]}},
    },
    "rl": {"scenarios": ["war"], "algos": {"PPO": str(REPO / "configs" / "ppo_war.yaml")}, "seeds": [0, 1],
           "total_timesteps": 2048},
    "bootstrap_reps": 200,
}


def analysis(point, label, **stats):
    st = {**STATS, **stats}
    phases = {"4": {"weight": 1.0, "label": label, "stats": st,
                    "actions": {f: float(f.endswith("=1")) for f in FEATURES}}}
    out = {"kind": point.kind, "key": point.key, "scenario": point.scenario, "overrides": dict(point.overrides),
           "sweep": point.sweep, "coords": dict(point.coords), "seconds": 1.5,
           "optimum": {"value": 12.0, "label": label, "stats": st, "phases": phases, "nearest_baseline": "limited",
                       "episode_return": 50.0},
           "baselines": {b: {"share": s, "value": 12.0 * s, "label": "mixed", "stats": st} for b, s in SHARES.items()}}
    if point.key == "calendar":
        out["optimum"]["phases"] = {str(p): {"weight": 0.2, "label": label, "stats": {**st, "f_med": 0.9 * (p == 3)},
                                             "actions": {f: 0.5 for f in FEATURES}} for p in range(5)}
        out["quarters"] = {"t_labels": quarter_labels(), "actions": {f: [0.5] * 44 for f in FEATURES}}
    return out


def make_study(tmp_path: Path):
    """A study folder of hand-made results under ``tmp_path`` (the working directory)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    cfg = load_study_config("tiny.yaml")
    for p in plan_points(cfg):
        opened = p.key == "alt_open" or p.coords.get("alternatives") == "open"
        label = "hedging" if opened else "limited_participation+mediation"
        extra = {"f_west": 0.4, "m_bar": 0.7} if label == "hedging" else {}
        target = cfg.out_dir / p.relpath()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(analysis(p, label, **extra)))
    for seed, share in ((0, 0.93), (1, 0.97)):
        run_dir = cfg.out_dir / "runs" / "war" / f"ppo_s{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "evaluation.json").write_text(json.dumps(
            {"scenario": "war", "algo": "PPO", "seed": seed, "total_timesteps": 2048, "value": 12 * share,
             "optimum": 12.0, "regret": 12 * (1 - share), "share": share, "near_optimal_share": 0.6,
             "label": "mixed", "optimal_label": "limited_participation+mediation", "label_agrees": False,
             "seconds": 3.0}))
        np.savez(run_dir / "evaluations.npz", timesteps=np.array([1024, 2048]),
                 results=np.array([[40.0, 42.0], [44.0, 46.0 + seed]]), ep_lengths=np.full((2, 2), 80))
    return cfg


@pytest.fixture
def study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return make_study(tmp_path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The hand-made study, rendered once: (config, report path, report text)."""
    folder = tmp_path_factory.mktemp("rendered")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        cfg = make_study(folder)
        report = write_report(cfg)
        yield cfg, report.resolve(), report.read_text()


def outputs(cfg) -> dict[str, bytes]:
    files = [cfg.report_path, cfg.out_dir / "study.json", *sorted((cfg.out_dir / "tables").glob("*.csv")),
             *sorted((cfg.out_dir / "figures").glob("*.png"))]
    return {str(p): p.read_bytes() for p in files}


def test_report_has_every_section_and_its_figures(rendered):
    _, report, text = rendered
    for heading in SECTIONS:
        assert heading in text, heading
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) >= 8
    for link in links:
        assert (report.parent / link).is_file(), link
    assert {"grid_threat_alternatives.png", "grid_identification_power.png", "calendar_strategy.png",
            "rl_share.png", "learning_war.png", "sensitivity.png"} <= {Path(link).name for link in links}
    # the report names its own files relatively (templates appear as the config gives them; this
    # test gives them absolutely, and a clone may itself live under /tmp)
    assert not any(Path(link).is_absolute() for link in links)
    assert str(report.parent) not in text and str(report.parent.resolve()) not in text


def test_report_verdicts_are_the_hypotheses_own(rendered):
    cfg, _, text = rendered
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(rendered[1].parent.parent)
        data = load_study_data(cfg)
    for h in hy.all_hypotheses(data):
        section = text.split(f"### {h['id']} ")[1].split("### ")[0]
        assert f"**Verdict: {h['verdict']}" in section
    # by hand: H2 holds (hedging, f_west .4, m̄ 1.5 -> .7); the learners reach .95 but never the optimum's label
    assert hy.h2(data)["verdict"] == "supported"
    rl = text.split("## Do the learners find the optimum?")[1]
    assert "**Verdict: refuted**" in rl and "0.950" in rl


def test_report_is_deterministic(rendered):
    cfg, report, _ = rendered
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(report.parent.parent)
        first = outputs(cfg)
        write_report(cfg)
        assert outputs(cfg) == first
    assert len(first) > 10


def test_missing_results_make_an_incomplete_report_with_untested_hypotheses(study):
    (study.out_dir / "exact" / "alt_open.json").unlink()
    for p in (study.out_dir / "sweeps").glob("threat_alternatives_*open*"):
        p.unlink()
    text = write_report(study).read_text()
    assert "**Incomplete:** 3 units" in text
    h2 = text.split("### H2 ")[1].split("### ")[0]
    assert "**Verdict: untested.**" in h2


def test_report_only_through_the_cli(study, capsys):
    assert cli.main(["study", "tiny.yaml", "--report-only"]) == 0
    assert Path("study/REPORT.md").is_file()
    assert "report:" in capsys.readouterr().out


def test_bad_study_config_is_one_line_per_problem(tmp_path, capsys):
    bad = {**CONFIG, "scenarios": ["war", "atlantis"], "sweeps": {"s": {"scenario": "war", "axes": {"bogus": [1]}}},
           "rl": {**CONFIG["rl"], "algos": {"PPO": "no/such.yaml"}}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    assert cli.main(["study", str(path), "--report-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("scenarios[1]='atlantis' is not allowed" in line for line in err)
    assert any("sweeps.s.axes.bogus is not allowed" in line for line in err)
    assert all(line.startswith("alliance study: error: ") for line in err)
