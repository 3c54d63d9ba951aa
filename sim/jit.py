"""How the project's loops over many orders or accounts are compiled: numba's ``njit`` with ``cache=True``.

numba keeps the machine code beside the source (``__pycache__``) or, where that cannot be written
(an installed, read-only package), in the user's cache folder. Where neither can be written (a
read-only home as well), the cache goes to a folder of the system's temporary directory, so that
importing never fails and each later process still loads rather than compiles. numba writes its
cache files atomically, so processes started together (a sweep's workers) may share a cache.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numba


def compiled(signature: str) -> Callable[[Callable], Callable]:
    """``numba.njit(signature, cache=True)``: compiled (or loaded from the cache) on import."""

    def decorate(function: Callable) -> Callable:
        try:
            return numba.njit(signature, cache=True)(function)
        except RuntimeError:                # "no locator available": nowhere numba may write its cache
            numba.config.CACHE_DIR = str(Path(tempfile.gettempdir()) / "tierlab-numba-cache")
            return numba.njit(signature, cache=True)(function)

    return decorate
