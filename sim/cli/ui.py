"""``tierlab ui``: the browser UI on a config."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import Subparsers


def ui_command(args: argparse.Namespace) -> int:
    """Serve the browser UI on a config; a bad config or a port in use is one line and exit 2."""
    from sim.ui.serve import serve

    return serve(args.config, host=args.host, port=args.port)


def add_ui_command(subparsers: Subparsers) -> None:
    """``tierlab ui [CONFIG] [--port N] [--host H]``."""
    from sim.ui.serve import DEFAULT_HOST, DEFAULT_PORT

    parser = subparsers.add_parser("ui", help="watch a run in the browser (Mesa SolaraViz)")
    parser.add_argument("config", type=Path, nargs="?", default=Path("configs/baseline.yaml"),
                        help="run config YAML the UI opens on (default configs/baseline.yaml)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.set_defaults(handler=ui_command)
