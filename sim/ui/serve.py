"""How ``tierlab ui`` starts the browser UI: check the inputs, then run solara's server in this process.

Everything a user can get wrong (a config that does not load, a port in use, a host that is not
this machine's) is found before the server starts and raised as one ``SpecError`` line. The server
makes no connection beyond localhost: no version check, no telemetry, production mode (no check
frame), and the page's JavaScript comes from the local asset cache (``sim.ui.assets``).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

from sim.schedules import SpecError

CONFIG_ENV = "TIERLAB_UI_CONFIG"
APP = "sim.ui.app"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8765
OFFLINE_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "REACTON_FAST": "1"}


def check_port(host: str, port: int) -> None:
    """Raise SpecError unless a server could listen on ``host:port`` now (port 0: any free port)."""
    if not 0 <= port <= 65535:
        raise SpecError(f"--port {port}: not a port number (0 to 65535)")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SpecError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    if port == 0:
        return
    refused: list[OSError] = []
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise SpecError(f"port {port} on {host} is in use; choose another with --port") from None
                refused.append(exc)
    if refused and len(refused) == len(addresses):
        if refused[0].errno == errno.EADDRNOTAVAIL:
            raise SpecError(f"--host {host}: not an address of this machine")
        raise SpecError(f"cannot listen on {host}:{port} ({refused[0].strerror})")


def serve(config: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Check ``config``, the port and the UI assets, then serve the app until interrupted."""
    from sim.config import load_config
    from sim.ui.assets import missing_assets

    config = config.resolve()
    load_config(config)
    check_port(host, port)
    missing = missing_assets()
    if missing:
        print(f"tierlab ui: warning: {len(missing)} UI asset files missing (e.g. {missing[0]}); the page stays "
              "blank without internet: run `make ui` or `python scripts/install_ui_assets.py`", file=sys.stderr)
    os.environ[CONFIG_ENV] = str(config)
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    from solara.__main__ import cli

    print(f"tierlab ui: {config} at http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        cli.main(["run", APP, "--host", host, "--port", str(port), "--production", "--no-open",
                  "--no-check-version"], prog_name="solara", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0
