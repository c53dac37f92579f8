"""``alliance explore``: the explorer page (issue 26): move a parameter, see the optimum change."""

from __future__ import annotations

import argparse

HELP = "a local web page: scenario, sliders for the headline parameters, the exact optimum as they move"
EXAMPLES = """examples:
  alliance explore                     serve http://127.0.0.1:8765/ and open it in the default browser
  alliance explore --port 9000 --no-browser
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="the port on 127.0.0.1 (default 8765; 0: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the default browser")


def run(args: argparse.Namespace) -> int:
    import webbrowser

    from training.explore.server import make_server, warm

    if not 0 <= args.port <= 65535:
        raise ValueError(f"port={args.port} is not allowed: an integer in 0..65535")
    server = make_server(args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    warm()
    print(f"alliance explore: serving {url} (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open_new_tab(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
