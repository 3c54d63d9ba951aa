"""Arbitrageurs: trade the basis between the perpetual and spot within finite capital.

When the perpetual's book trades above spot by more than the fees, an arbitrageur sells the
perpetual and buys spot; below, it buys the perpetual and sells spot coins. Its spot flow is what
moves the index. Its capacity is finite on both legs: the margin its collateral carries on the
exchange, and the cash and coins it holds on spot. When the perpetual's margin runs low it de-risks;
in a crash it can run out of room, and the basis then stays open (limits to arbitrage).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np

from sim.config import ArbitrageurConfig


@dataclass
class SpotWallet:
    """Cash and coins held on spot, with every trade in the ledger: cash and coins change only by trades
    (quantity, price, fee), so wealth changes only by trading profit and fees."""

    cash: float
    coins: float
    fees: float = 0.0
    ledger: list[tuple[float, float, float]] = field(default_factory=list)

    def book(self, units: float, price: float, fee_rate: float) -> None:
        """``units`` bought (negative: sold) at ``price``, the fee paid in cash."""
        fee = fee_rate * abs(units) * price
        self.cash -= units * price + fee
        self.coins += units
        self.fees += fee
        self.ledger.append((units, price, fee))


class Arbitrageur(mesa.Agent):
    """Holds a perpetual position against an opposite spot position, sized on the basis it sees."""

    def __init__(self, model: mesa.Model, config: ArbitrageurConfig):
        super().__init__(model)
        self.config = config
        exchange = model.exchange
        collateral = config.capital * config.perp_share
        self.account = exchange.open_account(owner=self.unique_id, kind="arbitrageur", deposit=collateral)
        on_spot = config.capital - collateral
        self.wallet = SpotWallet(cash=on_spot / 2.0, coins=on_spot / 2.0 / model.spot.price)

    def basis(self) -> float:
        """The perpetual's book mid over spot, minus one."""
        return self.model.book.mid() / self.model.spot.price - 1.0

    def capacity(self, side: int) -> float:
        """The largest position (units, >= 0) on ``side`` (+1 long the perpetual) both legs can hold: the
        perpetual's margin at ``leverage_use``, and the coins to sell (long) or the cash to buy (short)."""
        exchange = self.model.exchange
        held = exchange.position(self.account)
        margin = self.config.leverage_use * float(
            exchange.position_capacity(np.array([self.account]), np.array([side]))[0]) / exchange.mark
        price = self.model.spot.price
        spot = held + self.wallet.coins if side > 0 else -held + self.wallet.cash / (price * (1 + self.model.spot.config.fee))
        return max(0.0, min(margin, spot))

    def target(self) -> float:
        """The position it wants now: less when its margin runs low or the basis has closed, more when
        the basis pays, else what it holds."""
        cfg = self.config
        exchange = self.model.exchange
        held = exchange.position(self.account)
        basis = self.basis()
        if held and exchange.equity(self.account) < cfg.margin_buffer * exchange.maintenance_margin(self.account):
            return held * (1.0 - cfg.unwind_rate)
        if abs(basis) < cfg.exit_basis:
            return held * (1.0 - cfg.unwind_rate)
        if abs(basis) <= cfg.entry_basis:
            return held
        side = -1 if basis > 0 else 1
        capacity = self.capacity(side)
        wanted = side * capacity * min(1.0, (abs(basis) - cfg.entry_basis) / (cfg.full_basis - cfg.entry_basis))
        if side * (wanted - held) <= 0:
            return held
        step = cfg.trade_share * capacity
        return held + side * min(abs(wanted - held), step)

    def step(self) -> None:
        """Move towards the target on the perpetual, at prices that still leave the basis worth the
        fees (a limit order: immediate or cancel), then hedge on spot what filled."""
        exchange = self.model.exchange
        held = exchange.position(self.account)
        order = self.target() - held
        if abs(order) < exchange.rules.lot_size:
            return
        reducing = abs(held + order) < abs(held) and (held + order) * held >= 0
        limit = None if reducing else self.model.spot.price * (1.0 - np.sign(order) * self.config.entry_basis)
        result = exchange.submit_market_order(self.account, order, reduce_only=reducing, limit_price=limit)
        if result.filled:
            self.hedge(-result.filled)

    def hedge(self, units: float) -> None:
        """Trade ``units`` on spot (what the wallet allows), moving the spot price and so the index."""
        spot = self.model.spot
        if units > 0:
            units = min(units, max(self.wallet.cash, 0.0) / (spot.quote(units) * (1.0 + spot.config.fee)))
        else:
            units = -min(-units, max(self.wallet.coins, 0.0))
        if units == 0:
            return
        self.wallet.book(units, spot.trade(units), spot.config.fee)
        self.model.exchange.set_index(spot.price)

    def wealth(self) -> float:
        """Equity on the exchange plus cash and coins on spot at the spot price."""
        return self.model.exchange.equity(self.account) + self.wallet.cash + self.wallet.coins * self.model.spot.price
