"""Fixtures shared by the test folders (which mirror the packages: tests/envs, tests/agents,
tests/training/<sub-package>). Helper modules live in tests/support (on the path, see pyproject)."""

from __future__ import annotations

import pytest
from malformed import ReachedTheRun


@pytest.fixture(scope="session", autouse=True)
def block_cache_in_a_temporary_folder(tmp_path_factory):
    """The single env's block cache (envs/block_cache.py) in this run's temporary folder, not the
    user's ~/.cache (subprocesses inherit it); a test that wants it off or elsewhere sets its own."""
    import os

    before = os.environ.get("ALLIANCE_GYM_CACHE")
    os.environ["ALLIANCE_GYM_CACHE"] = str(tmp_path_factory.mktemp("block-cache"))
    yield
    if before is None:
        os.environ.pop("ALLIANCE_GYM_CACHE", None)
    else:
        os.environ["ALLIANCE_GYM_CACHE"] = before


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


# ------------------------------------------------------------------ the bad inputs the suite tried
# The property tests count each malformed input they try and whether it escaped (a traceback, a hang
# cut short, a second line, a run that started: tests/support/malformed.py ``record``). Under
# pytest-xdist every worker counts its own; the workers hand their counts to the controller, which
# prints the sum at the end of the run.
def _add(total: dict, tally: dict) -> None:
    total["tried"] += tally["tried"]
    total["escaped"] += tally["escaped"]


_WORKER_TALLIES: list[dict] = []


def pytest_sessionfinish(session):
    from malformed import TALLY

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the count over
        workeroutput["bad_input_tally"] = {"tried": TALLY["tried"], "escaped": TALLY["escaped"]}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    tally = getattr(node, "workeroutput", {}).get("bad_input_tally")
    if tally:
        _WORKER_TALLIES.append(tally)


def pytest_terminal_summary(terminalreporter):
    from malformed import TALLY

    total = {"tried": 0, "escaped": 0}
    _add(total, TALLY)
    for tally in _WORKER_TALLIES:
        _add(total, tally)
    if total["tried"]:
        terminalreporter.write_line(f"bad inputs tried by the property tests: {total['tried']}, "
                                    f"escaped: {total['escaped']}")
