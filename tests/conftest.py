"""Fixtures shared by the test folders (which mirror the packages: tests/envs, tests/agents,
tests/training/<sub-package>). Helper modules live in tests/support (on the path, see pyproject)."""

from __future__ import annotations

import pytest
from malformed import ReachedTheRun


@pytest.fixture
def no_run(monkeypatch):
    """Every command stops where a run, a solve, a study or a report would start: validation that lets
    a bad input through raises :class:`ReachedTheRun`."""
    import ray

    import training.cli.solve
    import training.run.train
    import training.study.driver
    import training.study.report

    def spy(*args, **kwargs):
        raise ReachedTheRun("validation let a bad input through")

    monkeypatch.setattr(training.run.train, "train", spy)
    monkeypatch.setattr(training.cli.solve, "report", spy)
    monkeypatch.setattr(training.study.driver, "run_study", spy)
    monkeypatch.setattr(training.study.report, "write_report", spy)
    monkeypatch.setattr(ray, "init", spy)
