"""The exogenous index price: GBM with Poisson jumps and scheduled shocks, or replay of a CSV.

The whole path is built up front and vectorised, so the model only indexes into it. Randomness
comes only from the generator passed in, drawn in a fixed order (one normal per step, then the
jump counts, then the jump sizes), so a path depends on nothing but the seed and the config.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.margin import SpecError

if TYPE_CHECKING:
    from sim.config import CsvReplayConfig, OracleConfig, ShockConfig

MINUTES_PER_YEAR = 365 * 24 * 60
MINUTES_PER_DAY = 24 * 60


def index_path(
    oracle: OracleConfig,
    initial_price: float,
    steps: int,
    dt_minutes: float,
    rng: np.random.Generator,
    csv_path: Path | None = None,
) -> np.ndarray:
    """The index before the first step and after each of ``steps`` steps (length ``steps + 1``).

    With ``oracle.csv`` set the path is the CSV's prices (``csv_path``, already resolved by the
    caller, else ``oracle.csv.path``) and ``initial_price`` and ``rng`` are not used; otherwise it
    is GBM plus jumps from ``initial_price``. Scheduled shocks multiply either.
    """
    if steps < 0 or dt_minutes <= 0:
        raise ValueError(
            f"index_path: need steps >= 0 and dt_minutes > 0, got {steps}, {dt_minutes}"
        )
    shock = _cumulative(_shock_returns(oracle.shocks, steps))
    if oracle.csv is not None:
        path = csv_path if csv_path is not None else oracle.csv.path
        return _csv_prices(oracle.csv, Path(path), steps, dt_minutes) * np.exp(shock)
    if not initial_price > 0:
        raise ValueError(f"index_path: initial_price must be positive, got {initial_price}")
    returns = _gbm_returns(oracle.drift, oracle.volatility, steps, dt_minutes, rng)
    returns += _jump_returns(oracle, steps, dt_minutes, rng)
    return initial_price * np.exp(_cumulative(returns) + shock)


def _cumulative(returns: np.ndarray) -> np.ndarray:
    """Per-step log returns -> cumulative log move from the start, with 0 before the first step."""
    return np.concatenate(([0.0], np.cumsum(returns)))


def _gbm_returns(
    drift: float, volatility: float, steps: int, dt_minutes: float, rng: np.random.Generator
) -> np.ndarray:
    """Log returns of GBM with annualised drift and volatility (Ito-corrected).

    The normals are drawn even at zero volatility, so the generator advances the same way
    whatever the volatility and arms that differ only in it share their noise.
    """
    dt = dt_minutes / MINUTES_PER_YEAR
    z = rng.standard_normal(steps)
    return (drift - 0.5 * volatility**2) * dt + volatility * math.sqrt(dt) * z


def _jump_returns(
    oracle: OracleConfig, steps: int, dt_minutes: float, rng: np.random.Generator
) -> np.ndarray:
    """Compound Poisson log returns: jump counts per step, then one normal size per jump."""
    jumps = oracle.jumps
    counts = rng.poisson(jumps.intensity_per_day * dt_minutes / MINUTES_PER_DAY, steps)
    sizes = rng.normal(jumps.mean, jumps.std, int(counts.sum()))
    return np.bincount(np.repeat(np.arange(steps), counts), weights=sizes, minlength=steps)


def _shock_returns(shocks: list[ShockConfig], steps: int) -> np.ndarray:
    """Log returns of the scheduled shocks: log(1 + size) spread evenly over steps step+1 ..
    step+duration, cut at the end of the run; overlapping shocks add."""
    out = np.zeros(steps)
    for shock in shocks:
        out[shock.step : shock.step + shock.duration] += math.log1p(shock.size) / shock.duration
    return out


def _csv_prices(csv: CsvReplayConfig, path: Path, steps: int, dt_minutes: float) -> np.ndarray:
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
