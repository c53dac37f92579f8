"""The explorer's server on a free port of 127.0.0.1, in a thread, stopped after the module."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture(scope="module")
def explorer():
    from training.explore.server import make_server

    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
