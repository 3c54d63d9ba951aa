"""The liquidation engine: rounds until no account is below maintenance margin.

Round by round, accounts are taken most-underwater first: liquidators bid for the whole position
(the best bid takes it over at a discount to the mark, never past the bankruptcy price); what none
takes, the engine closes into the book, partially where a lower tier restores maintenance; what the
book cannot fill above the bankruptcy price goes to the insurance fund, else to auto-deleveraging.
The engine knows no strategy: bids come from a callable the model passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


@dataclass(frozen=True)
class LiquidationOffer:
    """A liquidatable position put to the liquidators: they bid a price for taking it over."""

    account: int
    position: float
    mark: float
    bankruptcy_price: float
    equity: float
    maintenance_margin: float


@dataclass(frozen=True)
class Bid:
    """A liquidator's offer to take a position over at ``price``."""

    account: int
    price: float


BidSource = Callable[[LiquidationOffer], Sequence[Bid]]


class LiquidationEngine:
    """Liquidation rounds on one exchange: takeovers, closes into the book, then the backstop."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange

    def run(self, bids: BidSource | None = None) -> int:
        """Liquidate in rounds until no account is below maintenance; returns the number of rounds.

        After ``max_rounds`` only the backstop (insurance fund, ADL) acts, so the phase always ends clear.
        """
        try:
            return self._rounds(bids)
        finally:
            self.exchange.adl.forget()

    def _rounds(self, bids: BidSource | None) -> int:
        ex = self.exchange
        rules = ex.rules
        round_ = 0
        while True:
            candidates = ex.liquidatable()
            if len(candidates) == 0:
                return round_
            round_ += 1
            if round_ > rules.max_rounds + rules.backstop_rounds:
                raise RuntimeError("liquidation did not clear")
            ratio = ex.margin_ratio(candidates)
            use_market = round_ <= rules.max_rounds
            for account in candidates[np.lexsort((candidates, ratio))]:
                if ex.is_liquidatable(account):
                    ex.counters.liquidation_count += 1
                    self._liquidate_one(int(account), round_, bids, use_market)

    def _liquidate_one(self, account: int, round_: int, bids: BidSource | None, use_market: bool) -> None:
        ex = self.exchange
        if use_market and bids is not None and account != ex.insurance and ex.equity(account) > 0:
            offer = self.offer(account)
            side = 1 if offer.position > 0 else -1
            ranked = sorted(bids(offer), key=lambda b: (-side * b.price, b.account))
            for bid in ranked:
                if self.take_over(account, bid.account, bid.price, round_) is None:
                    return
        if use_market:
            target = self.partial_target(account)
            self.close_in_book(account, 0 if target is None else target, round_)
            if target is not None and not ex.is_liquidatable(account):
                return
            if ex.lots[account] != 0 and target is not None:
                self.close_in_book(account, 0, round_)
        if ex.lots[account] != 0:
            ex.fund.backstop(account, round_)

    def offer(self, account: int) -> LiquidationOffer:
        """What liquidators see of a liquidatable account."""
        ex = self.exchange
        return LiquidationOffer(
            account=account, position=ex.position(account), mark=ex.mark,
            bankruptcy_price=ex.bankruptcy_price(account), equity=ex.equity(account),
            maintenance_margin=float(ex.maintenance_margin(account)),
        )

    def can_take_over(self, liquidator: int, position: float, price: float) -> bool:
        """Whether the liquidator's equity after buying ``position`` at ``price`` covers its initial margin."""
        ex = self.exchange
        lots = ex.to_lots(position)
        new_lots = int(ex.lots[liquidator]) + lots
        quote = ex.quote[liquidator] - lots * ex.lot_size * price
        equity = quote + new_lots * ex.lot_size * ex.mark
        notional = abs(new_lots) * ex.lot_size * ex.mark
        return bool(equity >= ex.schedule.initial_margin(notional, ex.open_interest_notional()))

    def take_over(self, account: int, liquidator: int, price: float, round_: int = 1) -> str | None:
        """A liquidator takes the whole position at ``price``; None on success, else the reason.

        The price must be no better for the liquidator than the bankruptcy price and no worse than
        the mark (a discount to the mark), and the liquidator's margin must carry the position.
        """
        ex = self.exchange
        if liquidator == account:
            return "an account cannot take over its own position"
        if not ex.is_liquidatable(account):
            return "account is not liquidatable"
        lots = int(ex.lots[account])
        side = 1 if lots > 0 else -1
        bankrupt = ex.bankruptcy_price(account)
        if side * (price - ex.mark) > 1e-9 * ex.mark:
            return "price is not a discount to the mark"
        if side * (price - bankrupt) < -1e-9 * ex.mark:
            return "price is beyond the bankruptcy price"
        position = lots * ex.lot_size
        if not self.can_take_over(liquidator, position, price):
            return "liquidator's margin cannot carry the position"
        mark_before = ex.mark
        ex.trade(liquidator, account, lots, price)
        penalty = self.charge_penalty(account, abs(position) * mark_before)
        ex.events.record(round_, account, lots, mark_before, price, "liquidator", penalty, 0.0)
        return None

    def charge_penalty(self, account: int, notional: float) -> float:
        """Liquidation penalty to the insurance fund, limited to what equity is left."""
        ex = self.exchange
        if account == ex.insurance:
            return 0.0
        penalty = min(ex.rules.penalty_rate * notional, max(ex.equity(account), 0.0))
        if penalty > 0:
            ex.transfer(account, ex.insurance, penalty)
            ex.counters.penalties += penalty
        return penalty

    def partial_target(self, account: int) -> int | None:
        """Lots to keep so that maintenance is met in a lower tier, or None when a whole close is due."""
        ex = self.exchange
        if not ex.rules.partial_liquidation:
            return None
        equity = ex.equity(account)
        if equity <= 0:
            return None
        lots = int(ex.lots[account])
        oi = ex.open_interest_notional()
        notional = ex.notional(account)
        penalty = ex.rules.penalty_rate * notional
        room = (equity - penalty) * (1.0 - ex.rules.partial_buffer)
        target_notional = ex.schedule.maintenance_capacity(max(room, 0.0), oi)
        if target_notional <= 0 or ex.schedule.tier(target_notional, oi) >= ex.schedule.tier(notional, oi):
            return None
        keep = int(target_notional / (ex.lot_size * ex.mark))
        return keep if lots > 0 else -keep

    def close_in_book(self, account: int, target_lots: int, round_: int) -> None:
        """Engine order towards ``target_lots``, limited at the bankruptcy price; penalty on what filled."""
        ex = self.exchange
        lots = int(ex.lots[account])
        mark_before = ex.mark
        limit = ex.bankruptcy_price(account)
        if not limit > 0:
            return
        filled, cost, _ = ex.execute(account, target_lots - lots, limit, 0.0)
        if filled == 0:
            return
        closed_notional = abs(filled) * ex.lot_size * mark_before
        penalty = self.charge_penalty(account, closed_notional)
        ex.events.record(round_, account, -filled, mark_before, cost / (filled * ex.lot_size), "engine", penalty, 0.0)
