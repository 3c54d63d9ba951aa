"""Config sections of the exchange and its market: contract, fees, liquidation, insurance fund,
funding, and the measures taken of it."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from sim.config.section import Section
from sim.schedules import param


class MarketConfig(Section):
    initial_price: PositiveFloat = param(100_000.0, "USD/BTC", "fundamental, index and mark at step 0")
    lot_size: PositiveFloat = param(0.001, "BTC", "quantity step: positions are whole lots")
    mark: Literal["exchange", "book_mid"] = param(
        "exchange", "-", "exchange: Binance's mark, the median of (index x (1 + funding rate x time to funding), "
        "index + moving average of the basis, last price); book_mid: the perpetual's book mid")
    basis_window: PositiveInt = param(5, "steps", "steps in the moving average of the basis (book mid - index) the "
                                      "exchange's mark reads")
    mark_band: NonNegativeFloat = param(0.005, "fraction", "the mark is held within index x (1 +- band)")


class FeeConfig(Section):
    taker: float = param(0.0005, "fraction", "fee on the notional of an order that takes from the book",
                         ge=0.0, lt=0.1)
    maker: float = param(0.0002, "fraction", "fee on the notional of a quote that is filled (negative: a rebate)",
                         gt=-0.01, lt=0.1)

    @model_validator(mode="after")
    def _no_free_money(self) -> FeeConfig:
        if self.maker + self.taker < 0:
            raise ValueError("maker: a rebate larger than the taker fee would create money")
        return self


class LiquidationConfig(Section):
    penalty_rate: NonNegativeFloat = param(0.005, "fraction", "clearance fee on liquidated notional, paid to the "
                                           "insurance fund", lt=0.5)
    partial: bool = param(True, "-", "close only down to a lower tier that restores maintenance, not the whole "
                          "position")
    partial_buffer: NonNegativeFloat = param(0.1, "fraction", "share of equity a partial close keeps above the lower "
                                             "tier's maintenance", lt=1.0)
    max_rounds: PositiveInt = param(50, "-", "liquidation rounds through the book per step before only the "
                                    "insurance fund and ADL act")


class InsuranceConfig(Section):
    initial: NonNegativeFloat = param(2_000_000.0, "USD", "the fund's balance at step 0")
    unwind_rate: float = param(0.1, "fraction/step", "share of the positions the fund took over that it closes "
                               "each step", gt=0.0, le=1.0)


class FundingConfig(Section):
    interval_steps: PositiveInt = param(480, "steps", "steps between funding payments")
    cap: NonNegativeFloat = param(0.0075, "fraction/interval", "largest funding rate, either way")
    interest_rate: float = param(0.0001, "fraction/interval", "interest component added to the mean premium of "
                                 "mark over index")


class MetricsConfig(Section):
    cascade_gap: NonNegativeInt = param(2, "steps", "quiet steps allowed inside one liquidation cascade")
    top_k: PositiveInt = param(10, "-", "accounts in the top-k share of open interest (the column is top10_share "
                               "whatever k is)")
