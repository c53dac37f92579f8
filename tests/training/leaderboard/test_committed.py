"""The committed ``results/leaderboard/``: its tables and LEADERBOARD.md are what the committed code renders
from the committed units (the units themselves are checked by ``alliance leaderboard ... --verify``)."""

from __future__ import annotations

import shutil

import pytest
from repo import REPO

from training.leaderboard.config import load_leaderboard_config

CONFIG = REPO / "configs" / "leaderboard.yaml"
RENDERED = ("LEADERBOARD.md", "leaderboard.csv", "per_scenario.csv", "sample_efficiency.csv", "curves.csv",
            "profiles.csv", "poi.csv")


@pytest.mark.slow
@pytest.mark.committed_results
def test_the_committed_report_is_what_the_code_renders_from_the_committed_units(tmp_path, monkeypatch):
    from training.leaderboard.report import write_report

    monkeypatch.chdir(REPO)  # the config's paths (zoo, out) and the command the report names are relative to it
    cfg = load_leaderboard_config(CONFIG.relative_to(REPO))
    committed = REPO / cfg.out
    if not (committed / "LEADERBOARD.md").is_file():
        pytest.skip("no committed leaderboard")
    for part in ("runs", "scenarios"):
        shutil.copytree(committed / part, tmp_path / part)
    write_report(cfg.model_copy(update={"out": str(tmp_path)}))
    for name in RENDERED:
        assert (tmp_path / name).read_text() == (committed / name).read_text(), name
