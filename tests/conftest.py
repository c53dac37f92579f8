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


# ------------------------------------------------------------------ Ray: never inside a suite worker
# A local Ray instance leaves threads behind in the process that started it (its log and error
# subscribers, the core worker's io thread), and starting a second one later in the same long-lived
# pytest-xdist worker, or stopping one, can wait forever: a CI run hung at 97 % that way. So a test that
# uses ``ray_local`` runs in a fresh pytest process of its own, killed with its Ray processes (a new
# session) if it passes its timeout; the suite's worker only waits for it and reports its outcome.
IN_CHILD = "ALLIANCE_TEST_IN_CHILD"
CHILD_TIMEOUT = 600  # seconds; the tests that use Ray take 20-60 s on 2 cores


def pytest_configure(config):
    config.addinivalue_line("markers", "in_child: runs in a fresh pytest process with a timeout "
                                       "(tests/conftest.py; every test that uses ray_local)")


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance (2 CPUs) for the module's tests, started only in the child process (above):
    in the suite's worker the test body never runs, so there is nothing to start."""
    import os

    if not os.environ.get(IN_CHILD):
        yield None
        return
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=True,
             logging_level="error")
    yield ray
    ray.shutdown()


def run_in_child(nodeid: str, rootdir: str, timeout: float = CHILD_TIMEOUT) -> None:
    """Run one test (``nodeid``) in a fresh pytest process; fail with its output if it fails or times out."""
    import os
    import signal
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-m", "",
           "-o", f"faulthandler_timeout={int(timeout) - 30}", "--no-header", "-rN", nodeid]
    proc = subprocess.Popen(cmd, cwd=rootdir, env={**os.environ, IN_CHILD: "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and the Ray processes it started
        out, _ = proc.communicate()
        pytest.fail(f"{nodeid} did not finish in its child process within {timeout:.0f} s:\n{out[-6000:]}",
                    pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{nodeid} failed in its child process (exit {proc.returncode}):\n{out[-6000:]}",
                    pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    import os

    if pyfuncitem.get_closest_marker("in_child") is None or os.environ.get(IN_CHILD):
        return None  # an ordinary test, or the child itself: run the test here
    run_in_child(pyfuncitem.nodeid, str(pyfuncitem.config.rootpath))
    return True


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the markers
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``): the tests of a module that
    share a module-scoped fixture (a tiny trained run, a study folder, a local Ray instance) run on one
    worker, so the fixture is built once; tests on a local Ray instance share a group, so two Ray
    instances never start at once, and each runs in a child process (above). Without xdist the groups
    change nothing; in the child process itself there is nothing to mark."""
    import os

    if os.environ.get(IN_CHILD):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if "ray_local" in info.names_closure:
            item.add_marker(pytest.mark.in_child)
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
