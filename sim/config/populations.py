"""Config sections of the traders: market makers, retail traders, whales, liquidators, the social graph."""

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


class MarketMakerConfig(Section):
    count: NonNegativeInt = 4
    capital: PositiveFloat = 5_000_000.0
    depth: PositiveFloat = Field(default=20.0, description="units quoted per side by each maker")
    levels: PositiveInt = 20
    spread: PositiveFloat = Field(default=0.0002, description="half-spread as a fraction of price")
    level_spacing: PositiveFloat = Field(default=0.0005, description="gap between levels, fraction of price")
    resilience: float = Field(default=0.2, gt=0.0, le=1.0)
    inventory_lean: NonNegativeFloat = 0.5
    volatility_pull: NonNegativeFloat = Field(default=0.5, description="depth / (1 + pull x excess volatility ratio)")
    loss_pull: NonNegativeFloat = Field(default=5.0, description="depth / (1 + pull x drawdown of maker equity)")


class RetailConfig(Section):
    count: NonNegativeInt = 1_000
    capital_median: PositiveFloat = 2_000.0
    capital_sigma: NonNegativeFloat = 1.0
    leverage_min: float = Field(default=5.0, ge=1.0)
    leverage_max: float = Field(default=100.0, ge=1.0)
    activity: float = Field(default=0.02, ge=0.0, le=1.0, description="chance a trader acts in a step")
    strategy_mix: dict[Literal["momentum", "mean_reversion", "noise"], NonNegativeFloat] = {
        "momentum": 0.4, "mean_reversion": 0.3, "noise": 0.3}
    lookback: PositiveInt = 30
    stop_loss: float = Field(default=0.5, gt=0.0, le=1.0, description="loss fraction of margin")
    stop_loss_share: float = Field(default=0.5, ge=0.0, le=1.0, description="share of traders using stops")
    take_profit: float = Field(default=1.0, gt=0.0)
    herding: float = Field(default=0.3, ge=0.0, le=1.0)
    derisk_on_neighbour_liquidation: float = Field(default=0.5, ge=0.0, le=1.0)
    arrival_per_day: NonNegativeFloat = Field(default=0.1, description="new traders per day, fraction of count")

    @model_validator(mode="after")
    def _leverage_range(self) -> RetailConfig:
        if self.leverage_max < self.leverage_min:
            raise ValueError("leverage_max: below leverage_min")
        return self


class WhaleConfig(Section):
    """Large traders, each with its own capital (Pareto), target leverage, conviction and horizon;
    they enter at random times of their own, exit on their own profit and loss, and top up margin
    from reserves held off the exchange."""

    count: NonNegativeInt = Field(default=6, description="number of whales")
    capital: PositiveFloat = Field(default=5_000_000.0, description="smallest whale capital (Pareto scale), USD")
    capital_tail: PositiveFloat = Field(default=1.5, description="Pareto tail exponent of whale capital")
    capital_max: PositiveFloat = Field(default=100_000_000.0, description="largest whale capital, USD")
    reserve_share: float = Field(default=0.3, ge=0.0, lt=1.0,
                                 description="share of capital held off the exchange to top up margin")
    leverage_min: float = Field(default=2.0, ge=1.0, description="smallest target leverage (log-uniform)")
    leverage_max: float = Field(default=20.0, ge=1.0, description="largest target leverage (log-uniform)")
    conviction_min: float = Field(default=0.2, gt=0.0, le=1.0,
                                  description="smallest loss, as a share of the margin committed, it rides out")
    conviction_max: float = Field(default=0.6, gt=0.0, le=1.0,
                                  description="largest loss, as a share of the margin committed, it rides out")
    take_profit: PositiveFloat = Field(default=0.5, description="profit, share of the margin committed, it takes")
    horizon: PositiveInt = Field(default=240, description="median holding time, steps (lognormal)")
    horizon_sigma: NonNegativeFloat = Field(default=0.75, description="lognormal sigma of the holding time")
    wait: PositiveFloat = Field(default=360.0, description="mean wait before a position and between two, steps")
    build_steps: PositiveInt = Field(default=30, description="steps to build or unwind a position")
    top_up_at: float = Field(default=1.5, ge=1.0, description="tops up when equity < this x maintenance margin")
    top_up_to: float = Field(default=3.0, ge=1.0, description="... back to this x maintenance margin")
    hunt: bool = Field(default=False, description="lean on the side with more retail liquidation fuel nearby")
    split_accounts: PositiveInt = Field(default=1, description="accounts each whale spreads over")

    @model_validator(mode="after")
    def _ranges(self) -> WhaleConfig:
        for low, high in (("leverage_min", "leverage_max"), ("conviction_min", "conviction_max"),
                          ("capital", "capital_max"), ("top_up_at", "top_up_to")):
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"{high}: below {low}")
        return self


class LiquidatorConfig(Section):
    count: NonNegativeInt = 3
    capital: PositiveFloat = 2_000_000.0
    discount: float = Field(default=0.01, gt=0.0, lt=0.5)
    unwind_rate: float = Field(default=0.1, gt=0.0, le=1.0)


class NetworkConfig(Section):
    """The retail traders' social graph, which herding reads."""

    kind: Literal["small_world", "scale_free"] = Field(
        default="small_world", description="small_world (Watts-Strogatz) or scale_free (Barabasi-Albert)")
    degree: PositiveInt = Field(default=6, description="mean number of traders each follows")
    rewire: float = Field(default=0.1, ge=0.0, le=1.0, description="small world: share of ties rewired at random")


class ArbitrageurConfig(Section):
    """Basis traders: each holds collateral on the exchange and cash and coins on spot, buys the cheaper
    market and sells the dearer one when the basis pays for the fees, and unwinds as they converge."""

    count: NonNegativeInt = Field(default=3, description="arbitrageurs (0: spot moves only with the fundamental)")
    capital: NonNegativeFloat = Field(default=50_000_000.0, description="each arbitrageur's capital, USD")
    perp_share: float = Field(default=0.2, gt=0.0, lt=1.0,
                              description="share of capital posted as collateral on the exchange; the rest is on "
                                          "spot, half in cash and half in coins")
    leverage_use: float = Field(default=0.5, gt=0.0, le=1.0,
                                description="share of the position the perp margin could carry that it will hold")
    entry_basis: PositiveFloat = Field(default=0.002, description="|basis| above which it trades (covers the fees)")
    full_basis: PositiveFloat = Field(default=0.01, description="|basis| at which it uses its whole capacity")
    exit_basis: NonNegativeFloat = Field(default=0.0005, description="|basis| below which it unwinds")
    trade_share: float = Field(default=0.25, gt=0.0, le=1.0, description="most of its capacity it trades in a step")
    unwind_rate: float = Field(default=0.2, gt=0.0, le=1.0, description="share of the position unwound a step")
    margin_buffer: float = Field(default=2.0, ge=1.0,
                                 description="de-risks when perp equity falls below this multiple of maintenance")

    @model_validator(mode="after")
    def _bands(self) -> ArbitrageurConfig:
        if not self.exit_basis < self.entry_basis < self.full_basis:
            raise ValueError("entry_basis: needs exit_basis < entry_basis < full_basis")
        return self
