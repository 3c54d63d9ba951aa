"""Config section of the spot market whose price is the index: the price impact of the flow that reaches it."""

from __future__ import annotations

from pydantic import Field, NonNegativeFloat, PositiveFloat

from sim.config.section import Section


class SpotConfig(Section):
    """Spot = fundamental x exp(impact), impact = Y sigma_day sign(q) (|q| / V_day)^exponent, where q is
    the net flow (USD) that reached spot, decaying by ``resilience`` each step."""

    impact: NonNegativeFloat = Field(
        default=1.0, description="Y of the square-root law, the impact of a day's volume in daily volatilities (0: no impact)")
    impact_exponent: float = Field(
        default=0.5, gt=0.0, le=1.0, description="exponent of the impact law: 0.5 is the square-root law, 1 linear")
    daily_volume: PositiveFloat = Field(
        default=400_000_000.0, description="V_day: the spot volume (USD a day) the impact is measured against")
    resilience: float = Field(
        default=0.05, gt=0.0, le=1.0, description="share of the net flow, and so of its impact, that decays each step")
    fee: float = Field(default=0.0004, ge=0.0, lt=0.1, description="spot taker fee paid by arbitrageurs, fraction of value")
