"""Config sections of the exchange and its market: contract, fees, liquidation, insurance fund,
funding, and the measures taken of it."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from sim.config.section import Section


class MarketConfig(Section):
    initial_price: PositiveFloat = 100_000.0
    lot_size: PositiveFloat = 0.001
    mark_band: NonNegativeFloat = Field(default=0.005, description="mark held within index x (1 +- band)")
    mark: Literal["exchange", "book_mid"] = Field(
        default="exchange", description="exchange: Binance's median of three prices; book_mid: the perpetual's mid")
    basis_window: PositiveInt = Field(
        default=5, description="steps in the moving average of the basis (book mid - index) the exchange rule reads")


class FeeConfig(Section):
    taker: float = Field(default=0.0005, ge=0.0, lt=0.1)
    maker: float = Field(default=0.0002, gt=-0.01, lt=0.1)

    @model_validator(mode="after")
    def _no_free_money(self) -> FeeConfig:
        if self.maker + self.taker < 0:
            raise ValueError("maker: a rebate larger than the taker fee would create money")
        return self


class LiquidationConfig(Section):
    penalty_rate: NonNegativeFloat = Field(default=0.005, lt=0.5)
    partial: bool = True
    partial_buffer: NonNegativeFloat = Field(default=0.1, lt=1.0)
    max_rounds: PositiveInt = 50


class InsuranceConfig(Section):
    initial: NonNegativeFloat = 2_000_000.0
    unwind_rate: float = Field(default=0.1, gt=0.0, le=1.0, description="share of taken-over positions closed each step")


class FundingConfig(Section):
    interval_steps: PositiveInt = 480
    cap: NonNegativeFloat = 0.0075
    interest_rate: float = 0.0001



class MetricsConfig(Section):
    cascade_gap: NonNegativeInt = Field(default=2, description="quiet steps allowed inside a cascade")
    top_k: PositiveInt = 10

