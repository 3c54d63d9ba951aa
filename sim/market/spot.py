"""The spot market whose price is the index: the exogenous fundamental moved by the price impact of
the net flow that reaches spot.

Impact follows the square-root law of metaorders (Donier & Bonart 2015): a net flow q (USD, signed)
moves the log price by Y sigma_day sign(q) (|q| / V_day)^exponent. The flow is a decaying sum of what
traded, so a metaorder spread over a few steps moves the price as one order of its total size, and
its impact fades by ``resilience`` each step after it stops (uninformed flow's impact decays). With no
flow or Y = 0, spot is the fundamental exactly.
"""

from __future__ import annotations

import math

import numpy as np

from sim.config import SpotConfig

DAYS_PER_YEAR = 365


class SpotMarket:
    """Spot = fundamental x exp(impact of the net flow); the flow decays once a step."""

    def __init__(self, fundamental: np.ndarray, config: SpotConfig, annual_volatility: float):
        self.fundamental = fundamental
        self.config = config
        self.scale = config.impact * annual_volatility / math.sqrt(DAYS_PER_YEAR)
        self.flow = 0.0
        self.step = 0

    def impact(self, flow: float | None = None) -> float:
        """The log-price impact of a net flow (USD, signed; the present one by default)."""
        flow = self.flow if flow is None else flow
        if flow == 0.0 or self.scale == 0.0:
            return 0.0
        size = abs(flow) / self.config.daily_volume
        return math.copysign(self.scale * size**self.config.impact_exponent, flow)

    @property
    def price(self) -> float:
        return float(self.fundamental[self.step] * math.exp(self.impact()))

    def quote(self, units: float) -> float:
        """The average price ``units`` would trade at now, halfway between the prices before and after
        its impact; nothing trades."""
        before = self.price
        after = float(self.fundamental[self.step] * math.exp(self.impact(self.flow + units * before)))
        return 0.5 * (before + after)

    def advance(self, step: int) -> None:
        """Move to ``step``: the fundamental's price there, and the flow's decay over one step."""
        self.step = step
        self.flow *= 1.0 - self.config.resilience

    def trade(self, units: float) -> float:
        """Buy (units > 0) or sell ``units`` at market; returns the average price (``quote``), and the
        flow's impact moves the price."""
        average = self.quote(units)
        self.flow += units * self.price
        return average
