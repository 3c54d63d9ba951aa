"""The mark price: what margin, liquidation and unrealised profit read.

Binance's rule (``exchange``): the median of three prices, held within a band around the index:
  1. index x (1 + last funding rate x time until the next funding / funding interval),
  2. index + the moving average of the basis (book mid - index) over the last ``window`` steps,
  3. the last traded price.
A sweep through a thin book moves the last price fully but the averaged basis only by 1/window of
its move, so the book alone can move the mark little and liquidate few accounts by itself. ``book_mid`` is
the simpler rule: the perpetual's mid held within the band.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

type MarkRule = Literal["exchange", "book_mid"]


class MarkPrice:
    """One market's mark rule, and the basis samples its moving average reads (one a step)."""

    def __init__(self, rule: MarkRule = "book_mid", band: float = 0.005, window: int = 1):
        if rule not in ("exchange", "book_mid"):
            raise ValueError(f"unknown mark rule {rule!r}")
        self.rule = rule
        self.band = band
        self.window = window
        self._basis: deque[float] = deque(maxlen=max(window - 1, 0))

    def price(self, index: float, mid: float, last: float, funding_premium: float = 0.0) -> float:
        """The mark for this index, book mid and last price; ``funding_premium`` is the last funding
        rate times the share of the funding interval still to run."""
        if self.rule == "book_mid":
            reference = mid
        else:
            funded = index * (1.0 + funding_premium)
            averaged = index + (sum(self._basis) + (mid - index)) / (len(self._basis) + 1)
            reference = sorted((funded, averaged, last))[1]
        return min(max(float(reference), index * (1.0 - self.band)), index * (1.0 + self.band))

    def sample(self, index: float, mid: float) -> None:
        """Record this step's basis for the moving average (call once a step)."""
        if self._basis.maxlen:
            self._basis.append(mid - index)
