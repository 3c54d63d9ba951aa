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

from sim.market.replay import csv_prices

if TYPE_CHECKING:
    from sim.config import FundamentalConfig, ShockConfig

MINUTES_PER_YEAR = 365 * 24 * 60
MINUTES_PER_DAY = 24 * 60


def fundamental_path(
    fundamental: FundamentalConfig,
    initial_price: float,
    steps: int,
    dt_minutes: float,
    rng: np.random.Generator,
    csv_path: Path | None = None,
) -> np.ndarray:
    """The index before the first step and after each of ``steps`` steps (length ``steps + 1``).

    With ``fundamental.csv`` set the path is the CSV's prices (``csv_path``, already resolved by the
    caller, else ``fundamental.csv.path``) and ``initial_price`` and ``rng`` are not used; otherwise it
    is GBM plus jumps from ``initial_price``. Scheduled shocks multiply either.
    """
    if steps < 0 or dt_minutes <= 0:
        raise ValueError(
            f"fundamental_path: need steps >= 0 and dt_minutes > 0, got {steps}, {dt_minutes}"
        )
    shock = _cumulative(_shock_returns(fundamental.shocks, steps))
    if fundamental.csv is not None:
        path = csv_path if csv_path is not None else fundamental.csv.path
        return csv_prices(fundamental.csv, Path(path), steps, dt_minutes) * np.exp(shock)
    if not initial_price > 0:
        raise ValueError(f"fundamental_path: initial_price must be positive, got {initial_price}")
    returns = _gbm_returns(fundamental.drift, fundamental.volatility, steps, dt_minutes, rng)
    returns += _jump_returns(fundamental, steps, dt_minutes, rng)
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
    fundamental: FundamentalConfig, steps: int, dt_minutes: float, rng: np.random.Generator
) -> np.ndarray:
    """Compound Poisson log returns: jump counts per step, then one normal size per jump."""
    jumps = fundamental.jumps
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
