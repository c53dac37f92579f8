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


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the markers
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``): the tests of a module that
    share a module-scoped fixture (a tiny trained run, a study folder, a local Ray instance) run on one
    worker, so the fixture is built once; tests on a local Ray instance share a group, so two Ray
    instances never start at once. Without xdist the markers change nothing."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if "ray_local" in info.names_closure:
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values()):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
