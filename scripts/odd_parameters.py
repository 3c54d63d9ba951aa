"""Rewrite the parameter tables of docs/ODD.md (between its ``<!-- parameters: ... -->`` markers) from
the config models, as ``tierlab config docs`` writes them; ``make docs`` runs it.

Run from the repository root: ``.venv/bin/python scripts/odd_parameters.py [FILE]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.config.reference import with_odd_parameter_block

DEFAULT = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT
    text = path.read_text()
    updated = with_odd_parameter_block(text)
    if updated != text:
        path.write_text(updated)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
