"""``alliance explore``: its help, a bad port in one line, and the server it starts (no browser)."""

from __future__ import annotations

import threading
import time

from explorer_http import request

from training.cli import main


def test_help_lists_the_flags(capsys):
    try:
        main(["explore", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "--no-browser" in out and "--port" in out


def test_bad_port_is_one_line(capsys):
    assert main(["explore", "--port", "70000", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "port=70000 is not allowed" in err[0]


def test_run_serves_on_loopback_without_a_browser(monkeypatch, capsys):
    import webbrowser

    import training.explore.server as server_module

    opened, started = [], []
    monkeypatch.setattr(webbrowser, "open_new_tab", lambda url: opened.append(url))
    make = server_module.make_server

    def spy(port):
        server = make(port)
        started.append(server)
        return server

    monkeypatch.setattr(server_module, "make_server", spy)
    thread = threading.Thread(target=main, args=(["explore", "--port", "0", "--no-browser"],), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started, "the command did not start a server within 30 s"
    host, port = started[0].server_address[:2]
    try:
        assert host == "127.0.0.1"
        status, got = request(f"http://127.0.0.1:{port}/api/scenarios")
        assert status == 200 and "war" in [s["name"] for s in got["scenarios"]]
    finally:
        started[0].shutdown()
        thread.join(timeout=10)
    assert not thread.is_alive() and opened == []
