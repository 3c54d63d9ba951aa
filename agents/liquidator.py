"""Liquidators: take over liquidatable positions at a discount they can carry, then unwind them."""

from __future__ import annotations

import mesa

from sim.config import LiquidatorConfig
from sim.exchange import Bid, LiquidationOffer


class Liquidator(mesa.Agent):
    """Bids ``discount`` below the mark for longs (above for shorts), never past the bankruptcy price."""

    def __init__(self, model: mesa.Model, config: LiquidatorConfig):
        super().__init__(model)
        self.config = config
        self.account = model.exchange.open_account(owner=self.unique_id, kind="liquidator", deposit=config.capital)

    def bid(self, offer: LiquidationOffer) -> Bid | None:
        """A takeover price for the offer, or None when the discount is gone or margin cannot carry it."""
        side = 1 if offer.position > 0 else -1
        price = offer.mark * (1.0 - side * self.config.discount)
        if side * (price - offer.bankruptcy_price) < 0:
            price = offer.bankruptcy_price
        if side * (offer.mark - price) <= 0:
            return None
        if not self.model.exchange.liquidation.can_take_over(self.account, offer.position, price):
            return None
        return Bid(self.account, price)

    def unwind(self) -> None:
        """Work off a share of the inventory taken over (step 6)."""
        exchange = self.model.exchange
        position = exchange.position(self.account)
        if position == 0:
            return
        size = position * self.config.unwind_rate
        if abs(size) < exchange.rules.lot_size:
            size = position
        exchange.submit_market_order(self.account, -size, reduce_only=True)
