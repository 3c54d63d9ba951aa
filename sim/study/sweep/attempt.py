"""One run of a sweep as a worker runs it: timed, its failure recorded rather than raised, and
turned into its row of runs.parquet."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.config import RunConfig
from sim.study.run import simulate
from sim.study.sweep.plan import PlannedRun

KEPT_TABLES: dict[str, tuple[str, ...]] = {"timeseries": ("timeseries",), "events": ("liquidations", "cascades")}


@dataclass(frozen=True)
class RunOutput:
    """A run's summary row and the tables the sweep keeps."""

    summary: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    """What a worker sends back: the output, or the error that stopped the run, and the wall time."""

    run_id: str
    output: RunOutput | None
    error: str | None
    wall_seconds: float


def run_one(config: RunConfig, seed: int, keep: Sequence[str] = ()) -> RunOutput:
    """Simulate ``config`` with ``seed``: its summary row, and the tables ``keep`` names
    (``timeseries``; ``events`` = liquidations and cascades). Pure: the seed is its only randomness."""
    tables = simulate(config, seed).tables()
    return RunOutput(tables.summary, {name: getattr(tables, name) for part in keep for name in KEPT_TABLES[part]})


def one_line(err: BaseException) -> str:
    """An exception as one line: its type and message."""
    message = " ".join(str(err).split())
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def attempt(run_id: str, config: RunConfig, seed: int, keep: Sequence[str]) -> Attempt:
    """``run_one`` as a worker runs it: timed, and an exception recorded rather than raised, so one
    bad run never stops a sweep."""
    started = time.perf_counter()
    try:
        output = run_one(config, seed, keep)
    except Exception as err:  # noqa: BLE001 - any failure of a run is data for the sweep
        return Attempt(run_id, None, one_line(err), time.perf_counter() - started)
    return Attempt(run_id, output, None, time.perf_counter() - started)


def param_value(value: Any) -> Any:
    """A parameter as a Parquet cell: scalars as they are, mappings and lists as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def result_row(run: PlannedRun, result: Attempt) -> dict[str, Any]:
    """The run's row of runs.parquet: identity, parameters, status, wall time and summary."""
    arm = run.arm
    row: dict[str, Any] = {"run_id": run.run_id, "arm": arm.arm, "arm_label": arm.label,
                           "replicate": run.replicate, "seed": run.seed}
    if arm.sample_index is not None:
        row["sample_index"] = arm.sample_index
    row.update({key: param_value(value) for key, value in arm.params.items()})
    row.update({"status": "ok" if result.output is not None else "failed", "error": result.error,
                "wall_seconds": result.wall_seconds})
    if result.output is not None:
        row.update(result.output.summary)
    return row
