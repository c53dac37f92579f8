"""HTTP helpers for the explorer's tests (tests/training/explore): one request with a timeout."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT = 120  # seconds for any one request: a hang fails the test, never blocks the suite


def request(url: str, body: bytes | dict | None = None, method: str | None = None) -> tuple[int, dict | bytes]:
    """(status, JSON or bytes) of a GET (no body) or POST."""
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
            status, raw, ctype = res.status, res.read(), res.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, raw, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
    return status, json.loads(raw) if ctype.startswith("application/json") else raw
