"""Auto-deleveraging: when the insurance fund cannot take a bankrupt position, the most profitable,
most leveraged opposite positions are closed against it at the bankruptcy price."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class AutoDeleveraging:
    """Ranks opposite positions by profit x leverage and closes them against a bankrupt account."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange

    def ranking(self, side: int, exclude: int) -> np.ndarray:
        """Accounts holding positions on ``side``, most profitable x most leveraged first."""
        ex = self.exchange
        n = ex.n_accounts
        lots = ex.lots[:n]
        equity = ex.equity()
        candidates = np.flatnonzero((np.sign(lots) == side) & (np.arange(n) != exclude))
        eq = equity[candidates]
        deposits = np.maximum(ex.deposits[candidates], 1e-12)
        leverage = np.where(eq > 0, np.abs(lots[candidates]) * ex.lot_size * ex.mark / np.maximum(eq, 1e-12), 0.0)
        profit = (eq - ex.deposits[candidates]) / deposits
        score = np.where(eq > 0, profit * leverage, -np.inf)
        order = np.lexsort((candidates, -score))
        return candidates[order]

    def close(self, account: int, price: float, round_: int, bad_debt: float) -> None:
        """Close the account against the top-ranked opposite positions at ``price``."""
        ex = self.exchange
        lots = int(ex.lots[account])
        side = 1 if lots > 0 else -1
        mark_before = ex.mark
        remaining = abs(lots)
        for opponent in self.ranking(-side, exclude=account):
            if remaining == 0:
                break
            take = min(remaining, abs(int(ex.lots[opponent])))
            ex.trade(opponent, account, side * take, price)
            remaining -= take
            if opponent != ex.insurance:
                # closed beyond its own bankruptcy price, a flat opponent's shortfall is bad debt now
                ex.fund.cover(opponent)
            ex.counters.adl_count += 1
            ex.counters.adl_notional += take * ex.lot_size * mark_before
        ex.counters.bad_debt += bad_debt
        ex.events.record(round_, account, lots, mark_before, price, "adl", 0.0, bad_debt)
