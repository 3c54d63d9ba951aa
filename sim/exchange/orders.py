"""Market orders: checked against initial margin (many at once), then filled one by one against the
liquidity, each fill booked with its taker and maker fees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class Fill(NamedTuple):
    """Part of a market order: ``lots`` bought by the taker (negative: sold) from ``maker`` at ``price``."""

    maker: int
    lots: int
    price: float


class Liquidity(Protocol):
    """Where market orders execute: the order book, or any stand-in with the same calls."""

    last_price: float

    def mid(self) -> float: ...

    def take(self, lots: int, limit_price: float | None = None, taker: int | None = None) -> list[Fill]: ...


@dataclass(frozen=True)
class OrderResult:
    """What became of a market order: the filled size (units, signed), average price, fee, or why not."""

    account: int
    requested: float
    filled: float = 0.0
    average_price: float = float("nan")
    fee: float = 0.0
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None


def to_lots(size: float | np.ndarray, lot_size: float) -> int | np.ndarray:
    """Units to whole lots, toward zero: never more than asked, so less than one lot is none.

    A size within float noise of a whole number of lots (0.003 / 0.001 = 2.9999999999999996)
    counts as that number.
    """
    lots = np.asarray(size, dtype=float) / lot_size
    nearest = np.round(lots)
    snapped = np.where(np.abs(lots - nearest) <= 1e-9 + 1e-12 * np.abs(lots), nearest, np.trunc(lots))
    return int(snapped) if np.ndim(size) == 0 else snapped.astype(np.int64)


def fill_orders(exchange: Exchange, accounts: list[int], lots: list[int], limits: list[float | None],
                fee_rate: float) -> tuple[list[int], list[float], list[float]]:
    """Walk the liquidity for each order in turn and book every fill with its fees.

    Balances are accumulated in Python and applied to the arrays once at the end (nothing reads
    them in between), then the mark follows the book. Returns per order (filled lots, cost,
    taker fee).
    """
    filled = [0] * len(accounts)
    cost = [0.0] * len(accounts)
    fee = [0.0] * len(accounts)
    if exchange.liquidity is None or not accounts:
        return filled, cost, fee
    lot_size = exchange.lot_size
    maker_rate = exchange.rules.maker_fee
    take = exchange.liquidity.take
    touched: list[int] = []
    delta_lots: list[int] = []
    delta_cash: list[float] = []
    fees = 0.0
    for i, (account, size, limit) in enumerate(zip(accounts, lots, limits)):
        for fill in take(size, limit, account):
            if fill.lots == 0 or fill.maker == account:
                continue
            value = fill.lots * lot_size * fill.price
            taker_fee = fee_rate * abs(value)
            maker_fee = maker_rate * abs(value)
            touched += (account, fill.maker)
            delta_lots += (fill.lots, -fill.lots)
            delta_cash += (-value - taker_fee, value - maker_fee)
            fees += taker_fee + maker_fee
            filled[i] += fill.lots
            cost[i] += value
            fee[i] += taker_fee
    if touched:
        touched.append(exchange.treasury)
        delta_lots.append(0)
        delta_cash.append(fees)
        exchange.book_fills(touched, delta_lots, delta_cash)
        exchange.counters.fees += fees
        exchange.update_mark()
    return filled, cost, fee


class OrderBatch:
    """Market orders checked together at the current mark; each passed order executes once, later,
    in the sequence the caller chooses."""

    def __init__(self, exchange: Exchange, accounts: np.ndarray, sizes: np.ndarray,
                 reduce_only: np.ndarray | bool = False, limits: list[float | None] | None = None):
        """Check every order: whole lots, reduce-only honoured, notional within the schedule's limit,
        and, for an order that increases its position, equity after the fee covering initial margin.
        ``limits`` gives each order a worst price (None: market)."""
        self.exchange = exchange
        self.limits = limits
        self.accounts = accounts = np.asarray(accounts, dtype=np.int64)
        self.sizes = sizes = np.asarray(sizes, dtype=float)
        self.lots = lots = to_lots(sizes, exchange.lot_size)
        self._done = np.zeros(len(accounts), dtype=bool)
        current = exchange.lots[accounts]
        new = current + lots
        reducing = (np.abs(new) <= np.abs(current)) & (new * current >= 0)
        lot_value = exchange.lot_size * exchange.mark
        notional = np.abs(new) * lot_value
        required = np.asarray(exchange.schedule.initial_margin(notional, exchange.open_interest_notional()))
        fee = exchange.rules.taker_fee * np.abs(lots) * lot_value
        equity = exchange.quote[accounts] + current * lot_value
        too_small = lots == 0
        not_reducing = ~too_small & np.asarray(reduce_only) & ~reducing
        increasing = ~too_small & ~not_reducing & ~reducing
        over_limit = increasing & ~np.isfinite(required)
        short_margin = increasing & ~over_limit & (equity - fee < required)
        self.reasons: list[str | None] = [None] * len(accounts)
        if not (too_small | not_reducing | over_limit | short_margin).any():
            return
        for i in np.flatnonzero(too_small):
            self.reasons[i] = "smaller than one lot"
        for i in np.flatnonzero(not_reducing):
            self.reasons[i] = "reduce-only order would increase the position"
        for i in np.flatnonzero(over_limit):
            self.reasons[i] = (f"notional {notional[i]:,.0f} exceeds the schedule's limit "
                               f"{exchange.schedule.notional_limit:,.0f}")
        for i in np.flatnonzero(short_margin):
            self.reasons[i] = (f"insufficient margin: needs {required[i]:,.2f} + fee {fee[i]:,.2f}, "
                               f"equity {equity[i]:,.2f}")

    def __len__(self) -> int:
        return len(self.accounts)

    def execute(self, i: int) -> OrderResult:
        """Fill order ``i`` at market (or report why it was refused); an order fills at most once."""
        account, size = int(self.accounts[i]), float(self.sizes[i])
        if self.reasons[i] is not None:
            return OrderResult(account, size, reason=self.reasons[i])
        if self._done[i]:
            return OrderResult(account, size, reason="already executed")
        filled, cost, fee = self.execute_many([i])
        if filled[0] == 0:
            return OrderResult(account, size, reason="no liquidity")
        units = filled[0] * self.exchange.lot_size
        return OrderResult(account, size, filled=units, average_price=cost[0] / units, fee=fee[0])

    def execute_many(self, indices: list[int]) -> tuple[list[int], list[float], list[float]]:
        """Fill the passed, not yet executed orders among ``indices``, in that sequence.

        Returns per index (filled lots, cost, taker fee); refused or repeated ones fill nothing.
        """
        runnable = [i for i in indices if self.reasons[i] is None and not self._done[i]]
        self._done[runnable] = True
        exchange = self.exchange
        limits = [None] * len(runnable) if self.limits is None else [self.limits[i] for i in runnable]
        filled, cost, fee = fill_orders(exchange, self.accounts[runnable].tolist(), self.lots[runnable].tolist(),
                                        limits, exchange.rules.taker_fee)
        result = {i: (f, c, x) for i, f, c, x in zip(runnable, filled, cost, fee)}
        empty = (0, 0.0, 0.0)
        rows = [result.get(i, empty) for i in indices]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
