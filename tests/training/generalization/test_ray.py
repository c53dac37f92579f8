"""``alliance generalization`` end to end on Ray (the ``ray_local`` fixture): a tiny study runs, runs again
with every unit reused (resumable by content keys), ``--verify`` finds a stored number changed by hand, and
the report renders byte for byte again from the stored units, its section of ``REPORT.md`` between markers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from training.generalization.config import load_generalization_config


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".md", ".csv", ".json")
                   and "contexts" not in p.parts and "runs" not in p.parts)
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time (tests/conftest.py)
def test_a_tiny_study_runs_resumes_verifies_and_renders_byte_for_byte(tmp_path, ray_local):
    from training.generalization import driver
    from training.generalization.report import BEGIN, END, write_report
    from training.results.store import atomic_write_json, read_json

    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "ppo.yaml").write_text(yaml.safe_dump({"algo": "PPO", "n_envs": 2,
                                                  "hyperparams": {"n_steps": 64, "batch_size": 64}}))
    (tmp_path / "REPORT.md").write_text("# Report\n\nbefore\n")
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump({"scenarios": {"war": {"train": 3, "test": 2}}, "algos": ["PPO"],
                                    "visibility": ["visible", "hidden"], "seeds": 1, "total_timesteps": 256,
                                    "zoo": str(zoo), "resamples": 100, "out": str(tmp_path / "gen")}))
    cfg = load_generalization_config(path)
    lines: list[str] = []
    first = driver.run(cfg, log=lines.append)
    assert not first.failed and len(first.done) == 4, (first.failed, lines)
    run = read_json(tmp_path / "gen" / "runs" / "war" / "ppo_visible_s0.json")
    assert len(run["train"]) == 3 and len(run["test"]) == 2
    assert all(0 < r["value"] <= r["optimum"] + 1e-9 for r in run["train"] + run["test"])
    again = driver.run(cfg, log=lines.append)
    assert not again.done and len(again.skipped) == 4
    write_report(cfg)
    once = digest(tmp_path / "gen")
    write_report(cfg)
    assert digest(tmp_path / "gen") == once
    report = (tmp_path / "REPORT.md").read_text()
    assert report.startswith("# Report\n\nbefore\n") and report.count(BEGIN) == 1 and report.count(END) == 1
    # a stored number changed by hand: --verify names it, the others agree
    unit = tmp_path / "gen" / "contexts" / "war_test.json"
    data = read_json(unit)
    data["rows"][0]["optimum"] += 0.01
    atomic_write_json(unit, data)
    found = {v.unit: v.difference for v in driver.verify(cfg, 4, log=lines.append)}
    assert len(found) == 4 and found["contexts/war_test.json"].startswith("rows"), found
    assert all(d is None for u, d in found.items() if u != "contexts/war_test.json"), found
