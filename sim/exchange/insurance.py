"""The insurance fund: it takes over at the bankruptcy price what the book cannot fill, covers bad
debt, and works its takeovers off later; past what its margin can carry, ADL acts instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.exchange.orders import OrderResult

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class InsuranceFund:
    """The fund's policy; its money is the account ``exchange.insurance``."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange

    def can_carry(self, lots: int, price: float) -> bool:
        """Whether the fund's equity after taking ``lots`` at ``price`` still covers its initial margin."""
        ex = self.exchange
        fund = ex.insurance
        held = int(ex.lots[fund])
        new_lots = held + lots
        equity = ex.equity(fund) - lots * ex.lot_size * (price - ex.mark)
        if abs(new_lots) <= abs(held) and new_lots * held >= 0:
            return equity >= 0
        notional = abs(new_lots) * ex.lot_size * ex.mark
        return bool(equity >= ex.schedule.initial_margin(notional, ex.open_interest_notional()))

    def backstop(self, account: int, round_: int) -> None:
        """Close what is left at the bankruptcy price: the fund takes it, else ADL."""
        ex = self.exchange
        lots = int(ex.lots[account])
        if lots == 0:
            return
        price = max(ex.bankruptcy_price(account), 0.0)
        bad_debt = max(-ex.equity(account), 0.0)
        mark_before = ex.mark
        if account != ex.insurance and self.can_carry(lots, price):
            ex.trade(ex.insurance, account, lots, price)
            ex.counters.bad_debt += bad_debt
            ex.counters.bad_debt_insurance += bad_debt
            ex.events.record(round_, account, lots, mark_before, price, "insurance", 0.0, bad_debt)
        else:
            ex.adl.close(account, price, round_, bad_debt)
        self.cover(account)

    def cover(self, account: int) -> None:
        """A flat account left with negative cash cannot be liquidated: the fund pays its shortfall
        now, as bad debt."""
        ex = self.exchange
        shortfall = -ex.quote[account] if ex.lots[account] == 0 and ex.quote[account] < 0 else 0.0
        if shortfall > 0:
            ex.transfer(ex.insurance, account, shortfall)
            ex.counters.bad_debt += shortfall
            ex.counters.bad_debt_insurance += shortfall

    def unwind(self, share: float) -> OrderResult | None:
        """The engine works off ``share`` of what the fund took over (at least one lot)."""
        ex = self.exchange
        lots = int(ex.lots[ex.insurance])
        if lots == 0:
            return None
        close = -lots if abs(lots) == 1 else -int(np.sign(lots)) * max(1, int(abs(lots) * share))
        return ex.submit_market_order(ex.insurance, close * ex.lot_size, reduce_only=True)
