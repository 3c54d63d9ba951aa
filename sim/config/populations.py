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
    """Large traders, each with its own capital (Pareto), target leverage, conviction and horizon;
    they enter at random times of their own, exit on their own profit and loss, and top up margin
    from reserves held off the exchange."""

    count: NonNegativeInt = param(6, "-", "whales")
    capital: PositiveFloat = param(5_000_000.0, "USD", "smallest whale capital: the Pareto scale")
    capital_tail: PositiveFloat = param(1.5, "-", "Pareto tail exponent of whale capital")
    capital_max: PositiveFloat = param(100_000_000.0, "USD", "largest whale capital")
    reserve_share: float = param(0.3, "fraction", "share of capital held off the exchange to top up margin",
                                 ge=0.0, lt=1.0)
    leverage_min: float = param(2.0, "x", "lowest target leverage; each whale's is log-uniform between min and max",
                                ge=1.0)
    leverage_max: float = param(20.0, "x", "highest target leverage (the schedule caps it where it allows less)",
                                ge=1.0)
    conviction_min: float = param(0.2, "fraction", "smallest loss, as a share of the margin committed, a whale "
                                  "rides out before cutting it", gt=0.0, le=1.0)
    conviction_max: float = param(0.6, "fraction", "largest such loss", gt=0.0, le=1.0)
    take_profit: PositiveFloat = param(0.5, "fraction", "profit, as a share of the margin committed, a whale takes")
    horizon: PositiveInt = param(240, "steps", "median holding time (lognormal across whales)")
    horizon_sigma: NonNegativeFloat = param(0.75, "-", "standard deviation of the log holding time")
    wait: PositiveFloat = param(360.0, "steps", "mean wait (exponential) before a position and between two")
    build_steps: PositiveInt = param(30, "steps", "steps to build a position, and to unwind it (a quarter with "
                                     "hunt)")
    top_up_at: float = param(1.5, "x", "tops up an account whose equity falls below this multiple of "
                             "maintenance margin", ge=1.0)
    top_up_to: float = param(3.0, "x", "... back to this multiple, from its reserve", ge=1.0)
    hunt: bool = param(False, "-", "take the side with more retail liquidations near the mark, and trade four "
                       "times faster")
    split_accounts: PositiveInt = param(1, "-", "accounts each whale spreads over, to stay in lower tiers")

    @model_validator(mode="after")
    def _ranges(self) -> WhaleConfig:
        for low, high in (("leverage_min", "leverage_max"), ("conviction_min", "conviction_max"),
                          ("capital", "capital_max"), ("top_up_at", "top_up_to")):
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"{high}: below {low}")
        return self


class LiquidatorConfig(Section):
    count: NonNegativeInt = param(3, "-", "liquidators")
    capital: PositiveFloat = param(2_000_000.0, "USD", "each liquidator's deposit")
    discount: float = param(0.01, "fraction", "takeover price through the mark (never past the bankruptcy "
                            "price)", gt=0.0, lt=0.5)
    unwind_rate: float = param(0.1, "fraction/step", "share of its inventory a liquidator closes each step",
                               gt=0.0, le=1.0)


class NetworkConfig(Section):
    """The retail traders' social graph, which herding reads."""

    kind: Literal["small_world", "scale_free"] = param(
        "small_world", "-", "small_world (Watts-Strogatz: mostly local ties) or scale_free (Barabasi-Albert: a few "
        "influencers followed by many)")
    degree: PositiveInt = param(6, "-", "mean number of neighbours each retail trader follows")
    rewire: float = param(0.1, "probability", "small world: chance a tie is rewired to a random trader",
                          ge=0.0, le=1.0)


class ArbitrageurConfig(Section):
    """Basis traders: each holds collateral on the exchange and cash and coins on spot, buys the cheaper
    market and sells the dearer one when the basis pays for the fees, and unwinds as they converge."""

    count: NonNegativeInt = param(3, "-", "arbitrageurs (0: spot moves only with the fundamental)")
    capital: NonNegativeFloat = param(50_000_000.0, "USD", "each arbitrageur's capital")
    perp_share: float = param(0.2, "fraction", "share of capital posted as collateral on the exchange; the rest "
                              "is on spot, half in cash and half in coins", gt=0.0, lt=1.0)
    leverage_use: float = param(0.5, "fraction", "share of the position the perpetual's margin could carry that "
                                "it will hold", gt=0.0, le=1.0)
    entry_basis: PositiveFloat = param(0.002, "fraction", "|perp - spot| / spot above which it trades (covers the "
                                       "fees)")
    full_basis: PositiveFloat = param(0.01, "fraction", "|basis| at which it uses its whole capacity")
    exit_basis: NonNegativeFloat = param(0.0005, "fraction", "|basis| below which it unwinds")
    trade_share: float = param(0.25, "fraction/step", "most of its capacity it trades in a step", gt=0.0, le=1.0)
    unwind_rate: float = param(0.2, "fraction/step", "share of the position unwound a step", gt=0.0, le=1.0)
    margin_buffer: float = param(2.0, "x", "de-risks when perp equity falls below this multiple of maintenance "
                                 "margin", ge=1.0)

    @model_validator(mode="after")
    def _bands(self) -> ArbitrageurConfig:
        if not self.exit_basis < self.entry_basis < self.full_basis:
            raise ValueError("entry_basis: needs exit_basis < entry_basis < full_basis")
        return self
