"""Replay of a user's CSV price file as the fundamental path: one price a step, or prices at times
resampled onto the step grid; every problem with the file is one line naming the file, column and row."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.schedules import SpecError

if TYPE_CHECKING:
    from sim.config import CsvReplayConfig


def csv_prices(csv: CsvReplayConfig, path: Path, steps: int, dt_minutes: float) -> np.ndarray:
    """The first ``steps + 1`` prices of a CSV, one row per step or resampled on a time column.

    Every problem is one SpecError line naming the file.
    """
    if not path.exists():
        raise SpecError(f"{path}: file not found")
    if path.is_dir():
        raise SpecError(f"{path}: is a directory, not a file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{path}: cannot be read as CSV ({reason})") from None
    filled = frame.ne("").any(axis=1).to_numpy()
    frame = frame.iloc[: filled.nonzero()[0][-1] + 1 if filled.any() else 0]
    prices = _price_column(frame, csv.column, path)
    if csv.time_column is not None:
        times = _time_column(frame, csv.time_column, path)
        series = pd.Series(prices, index=times).sort_index(kind="stable")
        series = series[~series.index.duplicated(keep="last")]
        step = pd.Timedelta(minutes=dt_minutes)
        available = int((series.index[-1] - series.index[0]) // step) + 1 if len(series) else 0
        _require_rows(path, available, steps, f" at {dt_minutes:g}-minute spacing")
        grid = series.index[0] + step * np.arange(steps + 1)
        return series.reindex(grid, method="ffill").to_numpy(dtype=float)
    _require_rows(path, len(prices), steps, "")
    return prices[: steps + 1].copy()


def _columns_error(frame: pd.DataFrame, column: str, path: Path) -> SpecError:
    names = ", ".join(repr(str(name)) for name in frame.columns) or "none"
    return SpecError(f"{path}: no column {column!r} (columns: {names})")


def _price_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """The column as positive finite floats; the first bad cell is reported by its file line."""
    if column not in frame.columns:
        raise _columns_error(frame, column, path)
    raw = frame[column]
    values = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise SpecError(
            f"{path}: column {column!r}, line {row + 2}: {raw.iloc[row]!r} is not a price"
        )
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        row = int(bad[0])
        raise SpecError(
            f"{path}: column {column!r}, line {row + 2}: "
            f"price {raw.iloc[row].strip()} is not positive"
        )
    return values


def _time_column(frame: pd.DataFrame, column: str, path: Path) -> pd.DatetimeIndex:
    """The column parsed as datetimes (ISO 8601 first, then any form pandas recognises), in UTC."""
    if column not in frame.columns:
        raise _columns_error(frame, column, path)
    raw = frame[column].str.strip()
    times = pd.to_datetime(raw, format="ISO8601", utc=True, errors="coerce")
    if times.isna().any():
        try:
            times = pd.to_datetime(raw, format="mixed", utc=True, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            pass
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise SpecError(
            f"{path}: column {column!r}, line {row + 2}: "
            f"{frame[column].iloc[row]!r} is not a date/time"
        )
    return pd.DatetimeIndex(times)


def _require_rows(path: Path, available: int, steps: int, spacing: str) -> None:
    if available < steps + 1:
        raise SpecError(f"{path}: has {available} prices{spacing}, the run needs {steps + 1}")
