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
from scipy.signal import lfilter

from sim.market.replay import csv_prices

if TYPE_CHECKING:
    from sim.config import FundamentalConfig, ShockConfig, StochasticVolatilityConfig

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
    is a diffusion from ``initial_price`` (GBM, or with stochastic volatility and Student-t shocks)
    plus jumps. Scheduled shocks multiply either. Draws come in a fixed order: the normals, the
    jumps, the volatility components, the t scales. Turning stochastic volatility or t shocks on
    leaves the normals and the jumps as they were; a different jump intensity draws a different
    number of jump sizes and so shifts the draws after them.
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
    z = rng.standard_normal(steps)
    jumps = _jump_returns(fundamental, steps, dt_minutes, rng)
    volatility = fundamental.volatility * _volatility_factor(fundamental.stochastic_volatility, steps, dt_minutes, rng)
    shocks = z if fundamental.innovations_dof is None else _student_t(z, fundamental.innovations_dof, rng)
    returns = _diffusion_returns(fundamental.drift, volatility, shocks, dt_minutes) + jumps
    return initial_price * np.exp(_cumulative(returns) + shock)


def _cumulative(returns: np.ndarray) -> np.ndarray:
    """Per-step log returns -> cumulative log move from the start, with 0 before the first step."""
    return np.concatenate(([0.0], np.cumsum(returns)))


def _diffusion_returns(drift: float, volatility: float | np.ndarray, shocks: np.ndarray,
                       dt_minutes: float) -> np.ndarray:
    """Log returns with annualised drift and volatility (Ito-corrected) driven by unit-variance
    ``shocks``: GBM with a constant volatility and normal shocks.

    The shocks are drawn even at zero volatility, so the generator advances the same way whatever
    the volatility and arms that differ only in it share their noise.
    """
    dt = dt_minutes / MINUTES_PER_YEAR
    return (drift - 0.5 * volatility**2) * dt + volatility * math.sqrt(dt) * shocks


def _volatility_factor(config: StochasticVolatilityConfig, steps: int, dt_minutes: float,
                       rng: np.random.Generator) -> float | np.ndarray:
    """Per step, volatility over its mean: exp(X - Var X) with X a sum of stationary AR(1) components,
    one per timescale, so that the mean variance is unchanged. 1 without stochastic volatility (and
    then nothing is drawn)."""
    if config.vol_of_vol == 0.0:
        return 1.0
    part = config.vol_of_vol / math.sqrt(len(config.timescales))
    noise = rng.standard_normal((len(config.timescales), steps + 1))
    log_volatility = np.zeros(steps)
    for timescale, eta in zip(config.timescales, noise):
        phi = math.exp(-dt_minutes / timescale)
        innovations = part * math.sqrt(1.0 - phi**2) * eta[1:]
        component = lfilter([1.0], [1.0, -phi], innovations, zi=[phi * part * eta[0]])[0]
        log_volatility += component
    return np.exp(log_volatility - config.vol_of_vol**2)


def _student_t(z: np.ndarray, dof: float, rng: np.random.Generator) -> np.ndarray:
    """Student-t shocks with ``dof`` degrees of freedom scaled to unit variance, built on the normals
    ``z`` (so a path with t shocks shares its noise with the normal one)."""
    scale = np.sqrt(rng.chisquare(dof, z.size) / dof)
    return z / scale * math.sqrt((dof - 2.0) / dof)


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
