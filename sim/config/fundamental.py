"""Config sections of the index path: GBM with drift and volatility, jumps, scheduled shocks, CSV replay."""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    NonNegativeFloat,
    NonNegativeInt,
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
    size: float = param(..., "fraction", "total relative move of the index: -0.08 for -8 %", gt=-1.0)
    duration: PositiveInt = param(10, "steps", "steps the move is spread over, evenly in log terms")


class CsvReplayConfig(Section):
    path: Path = param(..., "-", "CSV file of prices, relative to the config file")
    column: str = param("price", "-", "column of prices")
    time_column: str | None = param(None, "-", "column of times, to resample the prices onto the step grid; "
                                    "without it, one row per step")


class FundamentalConfig(Section):
    drift: float = param(0.0, "1/year", "annualised drift of the log index")
    volatility: NonNegativeFloat = param(0.6, "1/sqrt(year)", "annualised volatility of the log index")
    jumps: JumpConfig = param(JumpConfig(), "-", "jumps of the index, compound Poisson with normal log sizes")
    shocks: list[ShockConfig] = param([], "-", "scheduled moves of the index, added to the path (none by default)")
    csv: CsvReplayConfig | None = param(None, "-", "a CSV of prices replayed as the index instead of GBM and jumps "
                                        "(off by default; shocks still apply)")
