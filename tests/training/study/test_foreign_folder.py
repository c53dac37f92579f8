"""A report is rendered only beside its study's results (issue 28 class 3): `--report-only` with
`out:` at a folder of someone else's (their REPORT.md and study.json) overwrote both; with `out: /`
it wrote at the filesystem root, three CSVs of 0 bytes. Now such a folder is refused in one line
and left as it was, and no CSV is ever written without its header."""

from __future__ import annotations

import os
import subprocess

import yaml
from repo import REPO
from studies import CONFIG, make_study

from training.render.tables import write_csv
from training.results.lock import LOCK_NAME

SCRIPT = REPO / ".venv" / "bin" / "alliance"


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_only_into_a_folder_of_someone_elses_is_refused_and_leaves_it_as_it_was(tmp_path):
    theirs = tmp_path / "theirs"
    (theirs / "tables").mkdir(parents=True)
    (theirs / "REPORT.md").write_text("# My own report\n")
    (theirs / "study.json").write_text('{"mine": true}\n')
    (theirs / "tables" / "scenarios.csv").write_text("a,b\n1,2\n")
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump({**CONFIG, "out": str(theirs)}))
    before = snapshot(tmp_path)
    proc = subprocess.run([str(SCRIPT), "study", "cfg.yaml", "--report-only"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and proc.stdout == "" and len(lines) == 1, proc.stderr
    assert lines[0] == (f"alliance study: error: out={str(theirs)!r} is not allowed for a report: {theirs} holds "
                        "none of study 'tiny''s stored units (such as exact/war.json), and a report is rendered "
                        "only beside its study's results; run the study first (alliance study cfg.yaml)")
    assert snapshot(tmp_path) == before  # not a byte changed, nothing added (not even a lock file)
    assert not (theirs / LOCK_NAME).exists()


def test_a_report_beside_the_study_results_renders_every_table_with_its_header(tmp_path, monkeypatch):
    from training.study.report import write_report

    monkeypatch.chdir(tmp_path)
    cfg = make_study(tmp_path)
    write_report(cfg)
    csvs = list((cfg.out_dir / "tables").glob("*.csv"))
    assert len(csvs) > 3 and all(p.read_text().strip() for p in csvs)  # every table holds at least its header


def test_a_table_without_rows_is_its_header_or_not_written(tmp_path):
    path = write_csv(tmp_path / "t" / "scenarios.csv", [], header=("key", "label"))
    assert path.read_text() == "key,label\n"
    stale = tmp_path / "t" / "boxes.csv"
    stale.write_text("scenario,question\nwar,limited\n")  # an earlier render's
    assert write_csv(stale, []) is None and not stale.exists()
    assert write_csv(tmp_path / "t" / "x.csv", [{"a": 1.0}], header=("ignored",)).read_text() == "a\n1\n"
