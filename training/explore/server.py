"""The explorer's HTTP server: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1 only.

``GET /`` and ``GET /static/<file>`` serve the page (files of ``static/`` only); ``GET
/api/scenarios`` the scenarios and sliders; ``POST /api/solve``, ``/api/details``, ``/api/frontier``
and ``/api/patron`` take a JSON point (``schema.Point``) and answer JSON. Bad input is HTTP 422
with ``{"error": ONE_LINE}``; an unexpected failure is 500 with its one line; the server keeps
serving either way (each request on its own thread).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from pydantic import ValidationError

from training.explore import compute
from training.explore.schema import PatronRequest, Point, error_line

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class BadRequest(ValueError):
    """Input the endpoint cannot use: HTTP 422 with this one line."""


def _key(point: Point) -> compute.Key:
    return (point.scenario, point.overrides.items())


def _point(body: Any, model: type[Point] = Point) -> Point:
    if not isinstance(body, dict):
        raise BadRequest(f"request={type(body).__name__} is not allowed: a JSON object with scenario and overrides")
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise BadRequest(error_line(err)) from None


ROUTES: dict[str, Callable[[Any], dict]] = {
    "/api/solve": lambda body: compute.point_summary(_key(_point(body))),
    "/api/details": lambda body: compute.point_details(_key(_point(body))),
    "/api/frontier": lambda body: compute.point_frontier(_key(_point(body))),
    "/api/patron": lambda body: _patron(_point(body, PatronRequest)),
}


def _patron(req: Point) -> dict:
    assert isinstance(req, PatronRequest)
    return compute.point_patron(_key(req), req.mode)


class Handler(BaseHTTPRequestHandler):
    server_version = "alliance-explore"
    quiet = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if not self.quiet:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page went away before its answer: no one
            self.close_connection = True                  # to tell, and no traceback on the console

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path == "/api/scenarios":
            self._json(200, {"scenarios": compute.scenarios(), "sliders": compute.sliders()})
            return
        name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or suffix not in TYPES:
            self._json(404, {"error": f"path={path!r} is not served: / and /static/<file>"})
            return
        try:
            body = resources.files("training.explore").joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            self._json(404, {"error": f"path={path!r} is not served: no such file"})
            return
        self._send(200, body, TYPES[suffix])

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        route = ROUTES.get(path)
        if route is None:
            self._json(404, {"error": f"path={path!r} is not an endpoint: one of {', '.join(ROUTES)}"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                raise BadRequest(f"body of {length} bytes is not allowed: a JSON object of 1..{MAX_BODY} bytes")
            try:
                body = json.loads(self.rfile.read(length))
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest(f"body is not allowed: not JSON ({exc})") from None
            self._json(200, route(body))
        except ValueError as exc:  # BadRequest, or the model's own one-line ValueError
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": " ".join(str(exc).split())})
        except Exception as exc:  # noqa: BLE001 (the server keeps serving; the page shows the line)
            self._json(500, {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"})


def make_server(port: int = 8765) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:``port`` (0: a free port); ``serve_forever`` it, ``shutdown`` it."""
    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    return server


def warm(key: compute.Key = ("war", ())) -> threading.Thread:
    """Solve the first point the page shows in the background (the page's first answer is then cached)."""
    thread = threading.Thread(target=compute.point_summary, args=(key,), daemon=True)
    thread.start()
    return thread
