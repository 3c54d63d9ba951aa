"""The liquidation log: one row per liquidation action (takeover, close into the book, insurance
fund, ADL), and the running totals the measures read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from sim.exchange.accounts import KINDS

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange

LIQUIDATION_COLUMNS = [
    "step", "round", "account", "owner", "entity", "kind", "side", "size", "notional", "tier",
    "mark_before", "mark_after", "price", "taker", "penalty", "bad_debt",
]


@dataclass
class Counters:
    """Running totals the measures read."""

    bad_debt: float = 0.0
    bad_debt_insurance: float = 0.0
    adl_count: int = 0
    adl_notional: float = 0.0
    liquidation_count: int = 0
    liquidation_notional: float = 0.0
    fees: float = 0.0
    penalties: float = 0.0
    funding_paid_by_longs: float = 0.0


class LiquidationLog:
    """Every liquidation action, as tuples in ``LIQUIDATION_COLUMNS`` order."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange
        self.rows: list[tuple] = []

    def record(self, round_: int, account: int, lots: int, mark_before: float, price: float,
               taker: str, penalty: float, bad_debt: float) -> None:
        """``lots`` (signed: the side liquidated) left ``account`` at ``price`` to ``taker``."""
        ex = self.exchange
        size = abs(lots) * ex.lot_size
        notional = size * mark_before
        # the tier of the position being liquidated (``lots`` has just left it), not of the part closed
        held = abs(int(ex.lots[account]) + lots) * ex.lot_size * mark_before
        self.rows.append((
            ex.step, round_, account, int(ex.owner[account]), int(ex.entity[account]),
            KINDS[ex.kind[account]], "long" if lots > 0 else "short", size, notional,
            int(ex.schedule.tier(held, ex.open_interest_notional())), mark_before, ex.mark,
            price, taker, penalty, bad_debt,
        ))
        ex.counters.liquidation_notional += notional

    def __len__(self) -> int:
        return len(self.rows)

    def since(self, start: int) -> list[tuple]:
        """The rows recorded since there were ``start``."""
        return self.rows[start:]

    def frame(self) -> pd.DataFrame:
        """Every liquidation action so far, one row each (a liquidation may take several)."""
        return pd.DataFrame.from_records(self.rows, columns=LIQUIDATION_COLUMNS)
