"""Config sections of the index path: GBM with drift and volatility, jumps, scheduled shocks, CSV replay."""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
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


class FundamentalConfig(Section):
    drift: float = Field(default=0.0, description="annualised drift of log price")
    volatility: NonNegativeFloat = Field(default=0.6, description="annualised volatility")
    jumps: JumpConfig = JumpConfig()
    shocks: list[ShockConfig] = []
    csv: CsvReplayConfig | None = None

