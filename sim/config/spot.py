"""Config section of the spot market whose price is the index: the price impact of the flow that reaches it."""

from __future__ import annotations

from pydantic import NonNegativeFloat, PositiveFloat

from sim.config.section import Section
from sim.schedules import param


class SpotConfig(Section):
    """Spot = fundamental x exp(impact), impact = Y sigma_day sign(q) (|q| / V_day)^exponent, where q is
    the net flow (USD) that reached spot, decaying by ``resilience`` each step."""

    impact: NonNegativeFloat = param(1.0, "-", "Y of the square-root law: impact of a day's volume, in daily "
                                     "volatilities (0: no impact)")
    impact_exponent: float = param(0.5, "-", "exponent of the impact law: 0.5 the square-root law, 1 linear",
                                   gt=0.0, le=1.0)
    daily_volume: PositiveFloat = param(400_000_000.0, "USD/day", "V_day: the spot volume the impact is measured "
                                        "against")
    resilience: float = param(0.05, "fraction/step", "share of the net flow, and so of its impact, that decays "
                              "each step", gt=0.0, le=1.0)
    fee: float = param(0.0004, "fraction", "spot taker fee the arbitrageurs pay, on the value traded",
                       ge=0.0, lt=0.1)
