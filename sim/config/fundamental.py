"""Config sections of the index path: GBM with drift and volatility, jumps, scheduled shocks, CSV replay."""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)

from sim.config.section import Section


class JumpConfig(Section):
    intensity_per_day: NonNegativeFloat = 0.0
    mean: float = 0.0
    std: NonNegativeFloat = 0.01


class ShockConfig(Section):
    step: NonNegativeInt
    size: float = Field(gt=-1.0, description="total relative move, -0.08 for -8 %")
    duration: PositiveInt = 10


class CsvReplayConfig(Section):
    path: Path
    column: str = "price"
    time_column: str | None = None


class StochasticVolatilityConfig(Section):
    """Log volatility as a sum of mean-reverting components with different memories, scaled so that
    the mean variance is the configured volatility's: clustered volatility with slowly decaying
    autocorrelation of absolute returns."""

    vol_of_vol: NonNegativeFloat = Field(default=0.0, description="std of log volatility (0: constant volatility)")
    timescales: list[PositiveFloat] = Field(
        default=[10.0, 120.0, 1440.0], min_length=1,
        description="memory (minutes) of each log-volatility component, each carrying an equal share")


class FundamentalConfig(Section):
    drift: float = Field(default=0.0, description="annualised drift of log price")
    volatility: NonNegativeFloat = Field(default=0.6, description="annualised volatility")
    stochastic_volatility: StochasticVolatilityConfig = StochasticVolatilityConfig()
    innovations_dof: float | None = Field(
        default=None, gt=2.0, description="Student-t degrees of freedom of the shocks, scaled to unit variance "
                                          "(none: normal)")
    jumps: JumpConfig = JumpConfig()
    shocks: list[ShockConfig] = []
    csv: CsvReplayConfig | None = None

