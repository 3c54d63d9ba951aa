"""Funding: every interval, the mean premium of mark over index (plus the interest component),
capped, is paid by longs to shorts (or back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class Funding:
    """The premium sampled every step and settled every ``interval_steps``; ``rate`` is the last one paid."""

    def __init__(self, interval_steps: int, cap: float, interest_rate: float):
        self.interval_steps = interval_steps
        self.cap = cap
        self.interest_rate = interest_rate
        self.rate = 0.0
        self._premium_sum = 0.0

    def premium_to_come(self, step: int) -> float:
        """The last rate times the share of the interval until the next funding: the mark's first price."""
        return self.rate * (self.interval_steps - step % self.interval_steps) / self.interval_steps

    def settle(self, exchange: Exchange, step: int) -> None:
        """Sample this step's premium; on a funding step, fix the rate and apply it."""
        self._premium_sum += (exchange.mark - exchange.index) / exchange.index
        if step % self.interval_steps == 0:
            rate = self._premium_sum / self.interval_steps + self.interest_rate
            self.rate = float(np.clip(rate, -self.cap, self.cap))
            exchange.apply_funding(self.rate)
            self._premium_sum = 0.0
