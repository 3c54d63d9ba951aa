"""Config sections of the traders: market makers, retail traders, whales, liquidators, the social graph."""

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


class MarketMakerConfig(Section):
    count: NonNegativeInt = param(4, "-", "market makers")
    capital: PositiveFloat = param(5_000_000.0, "USD", "each maker's deposit")
    depth: PositiveFloat = param(20.0, "BTC", "quantity each maker quotes per side, before stress pulls it")
    levels: PositiveInt = param(20, "-", "price levels per side")
    spread: PositiveFloat = param(0.0002, "fraction", "half-spread: the first level's distance from the "
                                  "reference, as a fraction of price")
    level_spacing: PositiveFloat = param(0.0005, "fraction", "gap between levels, as a fraction of price")
    resilience: float = param(0.2, "fraction/step", "share of the book's own displacement from the index that "
                              "decays each step", gt=0.0, le=1.0)
    inventory_lean: NonNegativeFloat = param(0.5, "-", "shift of the quotes against inventory: at full inventory, "
                                             "this times a quarter of the book's span a side")
    volatility_pull: NonNegativeFloat = param(0.5, "-", "depth / (1 + pull x (short-term volatility / normal "
                                              "volatility - 1))")
    loss_pull: NonNegativeFloat = param(5.0, "-", "depth / (1 + pull x drawdown of the maker's equity)")


class RetailConfig(Section):
    count: NonNegativeInt = param(1_000, "-", "retail traders at step 0")
    capital_median: PositiveFloat = param(2_000.0, "USD", "median deposit; deposits are lognormal")
    capital_sigma: NonNegativeFloat = param(1.0, "-", "standard deviation of the log deposit")
    leverage_min: float = param(5.0, "x", "lowest preferred leverage; each trader's is log-uniform between min "
                                "and max", ge=1.0)
    leverage_max: float = param(100.0, "x", "highest preferred leverage", ge=1.0)
    activity: float = param(0.02, "probability/step", "chance a trader acts in a step", ge=0.0, le=1.0)
    strategy_mix: dict[Literal["momentum", "mean_reversion", "noise"], NonNegativeFloat] = param(
        {"momentum": 0.4, "mean_reversion": 0.3, "noise": 0.3}, "-",
        "relative weights of the strategies traders are drawn with (normalised to sum to 1)")
    lookback: PositiveInt = param(30, "steps", "price history the strategies read")
    stop_loss: float = param(0.5, "fraction", "close at a loss of this share of the margin posted", gt=0.0, le=1.0)
    stop_loss_share: float = param(0.5, "fraction", "share of traders who use stop-loss and take-profit",
                                   ge=0.0, le=1.0)
    take_profit: float = param(1.0, "fraction", "close at a gain of this share of the margin posted", gt=0.0)
    herding: float = param(0.3, "probability", "chance a decision copies the neighbours' net side", ge=0.0, le=1.0)
    derisk_on_neighbour_liquidation: float = param(0.5, "probability", "chance a trader halves its position when "
                                                   "a neighbour is liquidated", ge=0.0, le=1.0)
    arrival_per_day: NonNegativeFloat = param(0.1, "1/day", "new traders a day, as a share of count")

    @model_validator(mode="after")
    def _leverage_range(self) -> RetailConfig:
        if self.leverage_max < self.leverage_min:
            raise ValueError("leverage_max: below leverage_min")
        return self


class WhaleConfig(Section):
    count: NonNegativeInt = param(2, "-", "whales")
    capital: PositiveFloat = param(10_000_000.0, "USD", "each whale's deposit, shared evenly by its accounts")
    leverage_use: float = param(0.9, "fraction", "share of the largest position its equity can carry under the "
                                "schedule that the whale aims for", gt=0.0, le=1.0)
    build_steps: PositiveInt = param(60, "steps", "steps to build the position, and to unwind it (a quarter "
                                     "with hunt)")
    hunt: bool = param(False, "-", "take the side with more retail liquidations near the mark, and trade four "
                       "times faster")
    split_accounts: PositiveInt = param(1, "-", "accounts each whale spreads over, to stay in lower tiers")
    hold_steps: PositiveInt = param(240, "steps", "steps the position is held before unwinding (a quarter "
                                    "with hunt)")


class LiquidatorConfig(Section):
    count: NonNegativeInt = param(3, "-", "liquidators")
    capital: PositiveFloat = param(2_000_000.0, "USD", "each liquidator's deposit")
    discount: float = param(0.01, "fraction", "takeover price through the mark (never past the bankruptcy "
                            "price)", gt=0.0, lt=0.5)
    unwind_rate: float = param(0.1, "fraction/step", "share of its inventory a liquidator closes each step",
                               gt=0.0, le=1.0)


class NetworkConfig(Section):
    degree: PositiveInt = param(6, "-", "neighbours each retail trader follows (Watts-Strogatz graph)")
    rewire: float = param(0.1, "probability", "chance a tie is rewired to a random trader: a small world",
                          ge=0.0, le=1.0)
