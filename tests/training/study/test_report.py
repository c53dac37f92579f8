"""The report is rendered from stored results only: every section is there, the verdicts are the
hypotheses' own, figures exist where the report points, and rendering twice changes no byte."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from studies import CONFIG, make_study

from training import cli
from training.study import hypotheses as hy
from training.study.report import load_study_data, write_report

SECTIONS = ["## The question", "## The model in a paragraph", "## Results at a glance", "## The hypotheses",
            "### H1 ", "### H2 ", "### H3 ", "### H4 ", "### H5 ", "### H6 ", "## Do the learners find the optimum?",
            "## Sensitivity", "## Threats to validity", "## Reproduce"]
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


def test_report_verdicts_are_those_worked_out_by_hand(rendered):
    cfg, _, text = rendered
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(rendered[1].parent.parent)
        data = load_study_data(cfg)
    # by hand: H2 holds (hedging, f_west .4, m̄ 1.5 -> .7); the learners reach .95 but never the optimum's label
    assert hy.h2(data)["verdict"] == "supported"
    assert "**Verdict: supported" in text.split("### H2 ")[1].split("### ")[0]
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
