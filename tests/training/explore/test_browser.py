"""The explorer in a real browser: Playwright for Python driving the system Chromium (never a
downloaded browser). Skipped with the reason when no Chromium is installed."""

from __future__ import annotations

import os
import shutil

import pytest

from agents.solver import solve
from envs.scenarios import make_params

CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
WAIT = 60_000  # ms for any one wait: a hang fails the test

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (/usr/bin/chromium or `chromium` on "
                                "PATH); install the system package: apt-get install chromium")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, explorer):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(explorer + "/")
    page.errors = errors
    yield page
    context.close()


def value_is(page, value: float) -> None:
    """Wait until the page shows ``value`` to 4 decimals."""
    page.wait_for_function("v => document.querySelector('[data-testid=value]').textContent === v", arg=f"{value:.4f}",
                           timeout=WAIT)


def test_war_loads_without_console_errors(page):
    value_is(page, solve(make_params("war")).value)
    page.wait_for_selector("[data-testid=baseline-limited]")
    assert page.get_by_test_id("scenario").input_value() == "war"
    assert page.errors == []


def test_identification_slider_gives_high_id(page):
    value_is(page, solve(make_params("war")).value)
    page.get_by_test_id("param-identification").fill("0.9")
    value_is(page, solve(make_params("high_id")).value)
    assert page.errors == []


def test_calendar_shows_its_archetypes_per_phase(page):
    from agents.summary import summarize_optimum

    page.get_by_test_id("scenario").select_option("calendar")
    want = summarize_optimum(make_params("calendar"))
    value_is(page, want.result.optimum)
    for phase, archetype in want.phase_labels.items():
        assert page.get_by_test_id(f"phase-{phase}").text_content() == archetype
    assert page.get_by_test_id("archetype").text_content() == want.label


def test_out_of_range_value_shows_a_message(page):
    value_is(page, solve(make_params("war")).value)
    box = page.get_by_test_id("param-identification-input")
    box.fill("5")
    box.press("Enter")
    box.blur()
    message = page.get_by_test_id("message")
    page.wait_for_function("() => document.querySelector('[data-testid=message]').textContent.length > 0", timeout=WAIT)
    assert "identification=5" in message.text_content() and "[0, 1]" in message.text_content()
    box.fill("0.9")  # the page recovers: the server kept serving
    box.blur()
    value_is(page, solve(make_params("high_id")).value)
    assert message.text_content() == ""


def test_patron_commitment_shows_the_patrons_action(page):
    from agents.game.commitment import best_commitment, commitment_table

    value_is(page, solve(make_params("war")).value)
    page.get_by_test_id("patron-mode").select_option("commitment")
    best = best_commitment(commitment_table(make_params("war")))
    page.wait_for_function("() => document.querySelector('[data-testid=patron-note]')?.textContent.includes('commits')",
                           timeout=WAIT)  # the commitment's answer, not the table patron's
    d, ip, sigma = best.action(4)
    cell = page.get_by_test_id("patron-action-4")
    page.wait_for_function("t => { const c = document.querySelector('[data-testid=patron-action-4]');"
                           " return c !== null && c.textContent === t; }",
                           arg=f"(D {d}, IP {ip}, σ {sigma})", timeout=WAIT)
    assert page.get_by_test_id("patron-answer").text_content() == best.archetype
    assert cell.is_visible()


def test_patron_equilibrium_is_searched_in_the_background_and_shown_when_done(page, monkeypatch):
    from agents.game.equilibrium import search_mpe, summarize_search
    from agents.game.operator import game_operator
    from training.explore import compute

    tiny = {"lambdas": (1.0, 2.0), "rounds": 2, "inner": 2}  # the search cut short (the page runs alliance game's)
    monkeypatch.setattr(compute, "EQUILIBRIUM_SEARCH", tiny)
    compute.EQUILIBRIA.pop(("war", ()), None)
    value_is(page, solve(make_params("war")).value)
    page.get_by_test_id("patron-mode").select_option("equilibrium")
    page.wait_for_function("() => document.querySelector('[data-testid=patron-note]')?.textContent.includes('certified')",
                           timeout=WAIT)  # the page asked again until the search was done
    op = game_operator(make_params("war"))
    want = summarize_search(op, search_mpe(op, **tiny))
    assert page.get_by_test_id("patron-answer").text_content() == want["archetype"]
    assert page.errors == []


def test_download_button_writes_a_scenario_alliance_solve_accepts(page, tmp_path, capsys):
    import json

    from training.cli import main

    value_is(page, solve(make_params("war")).value)
    page.get_by_test_id("param-identification").fill("0.9")
    page.get_by_test_id("param-mediation").fill("0.3")
    want = solve(make_params("war", {"identification": 0.9, "mediation": 0.3})).value
    value_is(page, want)
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_test_id("download-yaml").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".yaml"
    capsys.readouterr()
    assert main(["solve", str(path), "--json"]) == 0
    assert round(json.loads(capsys.readouterr().out)["value"], 4) == round(want, 4)
