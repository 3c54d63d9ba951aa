"""Put the browser UI's JavaScript into solara's local cache, so `tierlab ui` works with no internet.

Idempotent: it checks the cache first and does nothing when every file is there.
Run it with the project's Python: `.venv/bin/python scripts/install_ui_assets.py` (`make ui` does).
"""

import sys

from sim.ui.assets import main

if __name__ == "__main__":
    sys.exit(main())
