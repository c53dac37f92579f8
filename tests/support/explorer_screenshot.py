"""Take the README's picture of the explorer (docs/explorer.png) with the system Chromium:

    .venv/bin/python tests/support/explorer_screenshot.py docs/explorer.png

The page on `war` with identification moved to 0.9, after the baselines, streams and frontier drew.
"""

from __future__ import annotations

import sys
import threading

from playwright.sync_api import sync_playwright

from training.explore.server import make_server

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def main(out: str) -> None:
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 980})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.wait_for_selector("[data-testid=baseline-limited]")
            page.get_by_test_id("param-identification").fill("0.9")
            page.wait_for_function("() => document.querySelector('[data-testid=status]').textContent === 'ready'"
                                   " && document.querySelector('#frontier polyline') !== null"
                                   " && document.querySelector('[data-testid=baseline-limited]') !== null")
            page.wait_for_timeout(3000)  # the frontier of the moved point
            page.screenshot(path=out, full_page=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/explorer.png")
