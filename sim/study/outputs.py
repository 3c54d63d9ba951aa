"""How tierlab writes its output files: atomically (a reader sees the old file or the new, never
half of one), and JSON strictly (NaN and infinities as null, so that every JSON reader accepts it)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(temporary path)``, then move it over ``path``: readers see old or new, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


def plain(value: Any) -> Any:
    """``value`` as strict JSON data: NaN and infinities as None, numpy scalars as Python numbers, and
    what JSON has no type for (a path, a date) as its text."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if hasattr(value, "item"):
        return plain(value.item())
    return str(value)


def json_text(data: Any) -> str:
    """``data`` as indented strict JSON, ending with a newline."""
    return json.dumps(plain(data), indent=2, allow_nan=False) + "\n"


def write_json(path: Path, data: Any) -> None:
    """``data`` as strict JSON at ``path``, atomically."""
    write_atomic(path, lambda p: p.write_text(json_text(data)))
