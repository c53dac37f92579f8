"""H8 (docs/h8.md, training/h8/): the design, the criteria's thresholds, bad configs, and a tiny run
on Ray whose stored units equal a fresh computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from envs.params import PATRON_WEIGHTS
from training.cli import main
from training.config.h8 import load_h8_config
from training.discovery.ranges import load_ranges
from training.h8 import analysis as an
from training.h8.design import build_design, patron_names

RANGES = "configs/discovery/ranges.yaml"


# ------------------------------------------------------------------------------------ the design
def test_design_respects_the_ranges_and_is_seeded():
    ranges = load_ranges(RANGES)
    a, b, other = (build_design(ranges, 16, seed, "war") for seed in (3, 3, 4))
    assert np.array_equal(a.unit, b.unit) and a.params == b.params
    assert not np.array_equal(a.unit, other.unit)
    for name in ranges.names:
        f, col = ranges.factors[name], a.values[name].to_numpy()
        assert col.min() >= f.low and col.max() <= f.high, name
        if f.integer:
            assert np.array_equal(col, np.round(col)), name
    for name, w in zip(patron_names(), PATRON_WEIGHTS):
        col = a.values[name].to_numpy()
        assert col.min() >= w / 2 and col.max() <= 2 * w, name
    # a Latin hypercube: each column hits each of the 16 strata once
    assert all(sorted(np.floor(a.unit[:, j] * 16).astype(int)) == list(range(16)) for j in range(a.unit.shape[1]))
    # the discovery's own mapping for its factors, the weights on top
    d = len(ranges.names)
    for i in (0, 7):
        same = ranges.unit_params(a.unit[i, :d], "war")
        assert a.params[i].with_overrides({"patron_weights": same.patron_weights}) == same
        assert a.params[i].patron_weights == tuple(a.values.loc[i, patron_names()])


# ------------------------------------------------------------------------------- the criteria
def test_thresholds_are_strict_where_docs_h8_says_more_than():
    assert not an.h8b(2, 1.95) and an.h8b(2, 1.9499)  # "by more than 0.05": a tie is not
    assert an.h8b(3, 1.0) and not an.h8b(1, 1.2)
    assert an.h8c(0.999, 1.0, 1.051) and not an.h8c(1.0, 1.0, 2.0) and not an.h8c(0.0, 1.0, 1.05)
    assert an.certified(0.10) and not an.certified(0.1001)
    assert an.h8a("limited_participation") and an.h8a("limited_participation+mediation+fararc")
    assert not an.h8a("limited_bandwagoning") and not an.h8a("mixed")


def test_status_and_verdict_at_the_fifty_percent_line():
    assert an.status(0.5, 0.9) == "undecided"  # the lower bound must be *above* 50 %
    assert an.status(0.5001, 0.9) == "holds"
    assert an.status(0.1, 0.5) == "undecided" and an.status(0.1, 0.4999) == "fails"
    assert an.verdict(["holds"] * 3) == "supported" and an.verdict(["fails"] * 3) == "refuted"
    assert an.verdict(["holds", "fails", "fails"]) == "mixed"
    assert an.verdict(["holds", "fails", "undecided"]) == "undecided"  # docs/h8.md: any undecided


def _commit(row, d, m_bar, label):
    return {"rows": [{"row": row, "coords": [], "pick": 17, "D": d, "IP": 1, "sigma": 2, "V_S": 1.0, "V_P": 1.0,
                      "label": label, "m_bar": m_bar}]}


def _mpe(row, nc, sigma, m_bar):
    return {"row": row, "nashconv_s0": nc, "nashconv_max": nc, "V_S": 0.0, "V_P": 0.0, "label": "mixed",
            "m_bar": m_bar, "sigma_bar": sigma, "D_bar": 1.0, "seconds": 1.0}


def test_h8c_is_read_on_certified_rows_only():
    commits = [_commit(i, 2, 1.5, "limited_participation") for i in range(4)]
    mpes = [_mpe(0, 0.05, 0.2, 0.5), _mpe(1, 0.05, 1.5, 0.5), _mpe(2, 0.5, 0.0, 0.0), _mpe(3, 0.3, 0.0, 0.0)]
    c, m = an.frames(commits, mpes)
    s = an.space_readings(c, m, seed=0, resamples=200)
    assert s["certified"]["share"] == 0.5 and s["H8c"]["n"] == 2 and s["H8c"]["share"] == 0.5
    assert s["H8c_all"]["share"] == 0.25 and s["H8a"]["share"] == 1.0 and s["H8a"]["status"] == "holds"
    none = an.space_readings(c, m[m["nashconv_max"] > 0.2], seed=0, resamples=200)
    assert none["H8c"]["share"] is None and none["H8c"]["status"] == "undecided" and none["verdict"] == "undecided"


# --------------------------------------------------------------------------------- bad configs
@pytest.mark.parametrize(("change", "words"), [
    ({"n_mpe": 9}, "n_mpe=9 is not allowed"),
    ({"mpe": {"lambda": [1.0]}}, "unknown keyword 'lambda'"),
    ({"mpe": "fast"}, "mpe='fast' is not allowed"),
    ({"scenario": "calendar"}, "scenario='calendar' is not allowed"),
    ({"n_commitment": 0}, "n_commitment=0 is not allowed"),
    ({"ranges": "nowhere.yaml"}, "ranges='nowhere.yaml' is not allowed"),
    ({"colour": 1}, "colour=1 is not allowed: unknown key"),
])
def test_a_bad_config_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, change, words):
    import training.h8.driver

    def spy(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(training.h8.driver, "run", spy)
    path = tmp_path / "h8.yaml"
    path.write_text(yaml.safe_dump({"n_commitment": 4, "n_mpe": 1, "out": str(tmp_path / "out"), **change}))
    assert main(["h8", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------- a tiny run on Ray
CHEAP = {"lambdas": [1.0, 3.0], "rounds": 2, "certify_every": 1}  # seconds, not a real search


def test_a_tiny_run_is_resumable_and_its_units_equal_a_fresh_computation(tmp_path, ray_local):
    from training.h8 import driver
    from training.h8.report import write_report
    from training.results.store import atomic_write_json, read_json

    path = tmp_path / "h8.yaml"
    path.write_text(yaml.safe_dump({"n_commitment": 1, "n_mpe": 1, "batch": 1, "mpe": CHEAP, "resamples": 100,
                                    "ranges": str(Path(RANGES).resolve()), "out": str(tmp_path / "out")}))
    cfg = load_h8_config(path)
    lines: list[str] = []
    first = driver.run(cfg, log=lines.append)
    assert not first.failed and len(first.done) == 4  # the point and 1 row, each a commitment unit and an MPE unit
    again = driver.run(cfg, log=lines.append)
    assert not again.done and len(again.skipped) == 4
    # every unit recomputed: each agrees with its stored result but the one whose number was changed
    mpe_file = tmp_path / "out" / "units" / "mpe_00000.json"
    data = read_json(mpe_file)
    atomic_write_json(mpe_file, {**data, "sigma_bar": data["sigma_bar"] + 0.01})
    found = {v.unit: v.difference for v in driver.verify(cfg, 10, log=lines.append)}
    assert len(found) == 4 and found["units/mpe_00000.json"].startswith("sigma_bar: stored"), found
    assert all(d is None for u, d in found.items() if u != "units/mpe_00000.json"), found
    # another MPE method makes the MPE units stale, not the commitment units
    other = load_h8_config(path, ["mpe.rounds=3"])
    commits, mpes = driver.plan(other)
    assert all(driver.fresh(other, u) for u in commits) and not any(driver.fresh(other, u) for u in mpes)
    atomic_write_json(mpe_file, data)
    (tmp_path / "REPORT.md").write_text("# A study\n\nIts text.\n")  # the report beside the run's folder
    report = write_report(cfg)
    text = report.read_text()
    assert "## Criteria (quoted from docs/h8.md)" in text and an.CRITERIA["H8b"] in text
    assert (tmp_path / "out" / "figures" / "commitment_heatmap.png").stat().st_size > 0
    before, section = report.read_bytes(), (tmp_path / "REPORT.md").read_text()
    assert write_report(cfg).read_bytes() == before  # the same stored units, the same report
    assert (tmp_path / "REPORT.md").read_text() == section  # its section replaced, not added twice
    assert section.startswith("# A study\n\nIts text.\n") and section.count("## H8: the strategic patron") == 1
    assert "H8/H8.md" not in section and "out/H8.md" in section


def test_the_committed_run_is_whole_and_fresh():
    """Every unit configs/h8.yaml plans is stored in results/h8 with the key its inputs make now."""
    from training.h8 import driver

    cfg = load_h8_config("configs/h8.yaml")
    commits, mpes = driver.plan(cfg)
    stale = [u.relpath() for u in [*commits, *mpes] if not driver.fresh(cfg, u)]
    assert len(commits) == 1 + cfg.n_commitment // cfg.batch and len(mpes) == 1 + cfg.n_mpe
    assert not stale, stale
