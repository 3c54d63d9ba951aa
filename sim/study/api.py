"""Sweeps and reports for notebooks and scripts: what ``tierlab sweep`` and ``tierlab report`` do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.config import ConfigError
from sim.study.report import SweepReport, write_report
from sim.study.sweep import run_sweep, sweep_file
from sim.study.sweep.executors import Backend


def sweep(file: str | Path, out: str | Path | None = None, workers: int | None = None, backend: Backend = "local",
          scheduler: str | None = None, scheduler_file: str | Path | None = None, retry_failed: bool = False,
          progress: bool = False) -> pd.DataFrame:
    """Run a sweep file's arms x seeds into ``out`` (default ``runs/<sweep name>``), resuming what the
    folder already holds, and return its runs.parquet: one row per run.

    Raises ConfigError when the sweep stops before every run is recorded (rerun to resume).
    """
    plan = sweep_file(file)
    out = Path("runs") / plan.sweep.name if out is None else Path(out)
    if scheduler or scheduler_file:
        backend = "dask"
    tally = run_sweep(plan, out, backend, workers, scheduler, None if scheduler_file is None else Path(scheduler_file),
                      retry_failed=retry_failed, progress=progress)
    if tally.outcome != "complete":
        raise ConfigError(f"{out}: the sweep {tally.outcome} with {tally.missing} runs missing; "
                          f"call again to resume ({tally.message})")
    return pd.read_parquet(out / "runs.parquet")


def report(folder: str | Path) -> SweepReport:
    """Write a sweep folder's report (tables, figures, report.md, report.html); returns what it wrote."""
    return write_report(folder)
