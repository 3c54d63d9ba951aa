"""Provenance of results, for run.json and a sweep's manifest: package versions, the git commit, and a
hash of the model code."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

VERSIONED_PACKAGES = ("tierlab", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "salib", "scipy",
                      "dask", "distributed")
PRESENTATION_PACKAGES = ("sim/cli", "sim/ui", "sim/study/report", "sim/study/figures.py", "sim/study/labels.py",
                         "sim/study/schedule_plot.py", "sim/study/api.py")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a result depends on (None for one not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_state() -> dict[str, Any]:
    """The commit of the source tree and whether it differs from it (untracked files count)."""
    where = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], check=False, cwd=where, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {"commit": commit.strip() if commit else None,
            "dirty": None if status is None else bool(status.strip())}


def code_digest() -> str:
    """A hash of the source the results depend on (sim and agents, less the presentation modules),
    so a folder can tell when its runs were made by different code, committed or not."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted([*(root / "sim").rglob("*.py"), *(root / "agents").rglob("*.py")]):
        if not path.relative_to(root).as_posix().startswith(PRESENTATION_PACKAGES):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
