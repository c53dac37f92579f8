"""``alliance study CONFIG --verify N`` on the committed quick study (issue 13): the stored results are
what the committed code computes, and verifying can reach every kind of unit a study stores."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo import REPO

from training.config.study import load_study_config
from training.study.verify import choose, stored_file

QUICK = REPO / "configs" / "quick.yaml"
STUDY = REPO / "configs" / "study.yaml"
SCRIPT = Path(sys.executable).parent / "alliance"


def stored_units(out: Path) -> set[str]:
    """Every unit file a study keeps under ``out`` (its report, figures and tables are made from these)."""
    kinds = ["exact/*.json", "sweeps/*.json", "runs/*/*/evaluation.json", "explain/*.json",
             "discovery/batches/*.json"]
    return {p.relative_to(out).as_posix() for pattern in kinds for p in out.glob(pattern)}


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_verify_can_pick_every_unit_the_quick_study_stores():
    cfg = load_study_config(QUICK)
    everything = stored_units(cfg.out_dir)
    assert any(name.startswith("discovery/") for name in everything)  # the kinds the study has
    assert any(name.startswith("runs/") for name in everything)
    picked = {stored_file(cfg, u).relative_to(cfg.out_dir).as_posix() for u in choose(cfg, 100_000)}
    assert picked == everything


def test_verify_picks_one_run_per_algorithm_first_and_the_same_units_each_time():
    cfg = load_study_config(QUICK)
    picks = choose(cfg, 4)
    assert len(picks) == 4 and picks == choose(cfg, 4)
    names = [stored_file(cfg, u).relative_to(cfg.out_dir).as_posix() for u in picks]
    assert sorted(n.split("/")[2].split("_")[0] for n in names[:3]) == ["a2c", "dqn", "ppo"]


@pytest.mark.committed_results
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time (tests/conftest.py)
def test_the_committed_quick_study_is_what_the_code_computes():
    """Four stored units (one run of each algorithm and one more unit) recomputed and compared at 1e-9, as
    a user runs it; verifying writes nothing."""
    out = load_study_config(QUICK).out_dir
    before = snapshot(out)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([str(SCRIPT), "study", str(QUICK), "--verify", "4", "--num-cpus", "2"], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    agreed = [line for line in proc.stdout.splitlines() if line.endswith("agrees (1e-9)")]
    assert len(agreed) == 4, proc.stdout
    assert snapshot(out) == before


@pytest.mark.committed_results
@pytest.mark.parametrize("config", [QUICK, STUDY], ids=["quick", "study"])
def test_every_committed_unit_is_fresh_on_this_machine(config):
    """Every unit a committed study stores carries the content key its inputs make here, so a clone on
    any CPU reuses all of it (``make run`` recomputes nothing). A key hashes resolved parameters to the
    last bit, so an input computed by CPU-dependent arithmetic (NumPy's AVX-512 power made 288 discovery
    batches another machine's) or another pin of torch's arithmetic shows up here as a stale unit."""
    from training.study.driver import pending, pending_batches, pending_explain

    cfg = load_study_config(config)
    stale: list[str] = []
    points, runs, skipped = pending(cfg, stale.append)
    explain, batches = pending_explain(cfg, skipped, stale.append), pending_batches(cfg, skipped, stale.append)
    assert stale == [], stale[:5]
    assert (len(points), len(runs), len(explain), len(batches)) == (0, 0, 0, 0)  # nothing missing either
    assert len(skipped) == len(set(skipped)) > 0
