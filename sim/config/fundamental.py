"""Config sections of the fundamental price path: a diffusion (GBM, or with stochastic volatility and
Student-t shocks), jumps, scheduled shocks, or a CSV replay."""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)

from sim.config.section import Section
from sim.schedules import param


class JumpConfig(Section):
    intensity_per_day: NonNegativeFloat = param(0.0, "1/day", "expected number of jumps a day (Poisson)")
    mean: float = param(0.0, "-", "mean jump, as a log return")
    std: NonNegativeFloat = param(0.01, "-", "standard deviation of a jump, as a log return")


class ShockConfig(Section):
    step: NonNegativeInt = param(..., "step", "the step after which the move starts")
    size: float = param(..., "fraction", "total relative move of the fundamental: -0.08 for -8 %", gt=-1.0)
    duration: PositiveInt = param(10, "steps", "steps the move is spread over, evenly in log terms")


class CsvReplayConfig(Section):
    path: Path = param(..., "-", "CSV file of prices, relative to the config file")
    column: str = param("price", "-", "column of prices")
    time_column: str | None = param(None, "-", "column of times, to resample the prices onto the step grid; "
                                    "without it, one row per step")


class StochasticVolatilityConfig(Section):
    """Log volatility as a sum of mean-reverting components with different memories, scaled so that
    the mean variance is the configured volatility's: clustered volatility with slowly decaying
    autocorrelation of absolute returns."""

    vol_of_vol: NonNegativeFloat = param(0.0, "-", "standard deviation of log volatility (0: constant volatility)")
    timescales: list[PositiveFloat] = param([10.0, 120.0, 1440.0], "minutes",
                                            "memory of each log-volatility component, each carrying an equal "
                                            "share of the variance", min_length=1)


class FundamentalConfig(Section):
    drift: float = param(0.0, "1/year", "annualised drift of the log fundamental")
    volatility: NonNegativeFloat = param(0.6, "1/sqrt(year)", "annualised volatility of the log fundamental (its "
                                         "mean, with stochastic volatility)")
    stochastic_volatility: StochasticVolatilityConfig = param(
        StochasticVolatilityConfig(), "-", "clustered volatility of the fundamental (off by default)")
    innovations_dof: float | None = param(None, "-", "Student-t degrees of freedom of the fundamental's shocks, "
                                          "scaled to unit variance (none: normal)", gt=2.0)
    jumps: JumpConfig = param(JumpConfig(), "-", "jumps of the fundamental, compound Poisson with normal log sizes")
    shocks: list[ShockConfig] = param([], "-", "scheduled moves of the fundamental, added to the path (none by "
                                      "default)")
    csv: CsvReplayConfig | None = param(None, "-", "a CSV of prices replayed as the fundamental instead of the "
                                        "diffusion and jumps (off by default; shocks still apply)")
