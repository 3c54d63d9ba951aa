"""Market orders: checked against initial margin (many at once), then filled in sequence against the
liquidity (a run of orders in one walk of the book), each fill booked with its taker and maker fees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from sim.jit import compiled

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class Fill(NamedTuple):
    """Part of a market order: ``lots`` bought by the taker (negative: sold) from ``maker`` at ``price``."""

    maker: int
    lots: int
    price: float


class Fills(NamedTuple):
    """The fills of a sequence of market orders, as they happened: order by order, one per maker met
    at that maker's average price, in the order of first fill. ``lots`` are bought by the taker
    (negative: sold)."""

    order: np.ndarray
    maker: np.ndarray
    lots: np.ndarray
    price: np.ndarray


class Liquidity(Protocol):
    """Where market orders execute: the order book, or any stand-in with the same calls."""

    last_price: float

    def mid(self) -> float: ...

    def take(self, lots: np.ndarray, limits: np.ndarray, takers: np.ndarray) -> Fills:
        """Market orders for ``lots`` in sequence, each no worse than its limit (NaN: none); never a
        fill of no lots, never against the taker's own quotes."""
        ...


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
    if isinstance(size, float | int) or np.ndim(size) == 0:
        return int(lot_count(float(size), lot_size))
    sizes = np.asarray(size, dtype=float)
    return lots_of(np.ravel(sizes), lot_size).reshape(sizes.shape)


@compiled("int64(float64, float64)")
def lot_count(size: float, lot_size: float) -> int:
    """``to_lots`` of one size, compiled, so that one order and a batch share one arithmetic."""
    exact = size / lot_size
    nearest = np.rint(exact)
    return int(nearest) if abs(exact - nearest) <= 1e-9 + 1e-12 * abs(exact) else int(np.trunc(exact))


@compiled("int64[:](float64[:], float64)")
def lots_of(sizes: np.ndarray, lot_size: float) -> np.ndarray:
    """``lot_count`` of many sizes in one compiled pass: every order batch converts its sizes, where
    numpy's five passes over a few orders cost more than the work."""
    lots = np.empty(len(sizes), np.int64)
    for i in range(len(sizes)):
        lots[i] = lot_count(sizes[i], lot_size)
    return lots


def fill_orders(exchange: Exchange, accounts: np.ndarray, lots: np.ndarray, limits: np.ndarray,
                fee_rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders walk the liquidity in turn; every fill is booked with its fees.

    The taker pays the fill's value and ``fee_rate`` of it, the maker receives the value less the
    maker fee, and both fees go to the treasury (``AccountBook.settle``). Then the mark follows the
    book. ``limits`` gives each order's worst price (NaN: none). Returns per order (filled lots,
    cost, taker fee).
    """
    if exchange.liquidity is None or len(accounts) == 0:
        return np.zeros(len(accounts), dtype=np.int64), np.zeros(len(accounts)), np.zeros(len(accounts))
    fills = exchange.liquidity.take(lots, limits, accounts)
    filled, cost, fee, fees = exchange.settle(fills.order, accounts[fills.order], fills.maker, fills.lots,
                                              fills.price, len(accounts), fee_rate, exchange.rules.maker_fee,
                                              exchange.treasury)
    if len(fills.order):
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
        self.accounts = accounts = np.asarray(accounts, dtype=np.int64)
        self.sizes = sizes = np.asarray(sizes, dtype=float)
        self.limits = np.full(len(accounts), np.nan) if limits is None else np.array(
            [np.nan if limit is None else limit for limit in limits], dtype=float)
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
        refused = too_small | not_reducing | over_limit | short_margin
        self.passed = ~refused
        self.reasons: list[str | None] = [None] * len(accounts)
        if not refused.any():
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
        filled, cost, fee = self.execute_many(np.array([i]))
        if filled[0] == 0:
            return OrderResult(account, size, reason="no liquidity")
        units = int(filled[0]) * self.exchange.lot_size
        return OrderResult(account, size, filled=units, average_price=float(cost[0]) / units, fee=float(fee[0]))

    def execute_many(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fill the passed, not yet executed orders among ``indices``, in that sequence.

        Returns per index (filled lots, cost, taker fee); refused or repeated ones fill nothing.
        """
        runnable = self.passed[indices] & ~self._done[indices]
        chosen = indices[runnable]
        self._done[chosen] = True
        filled = np.zeros(len(indices), dtype=np.int64)
        cost = np.zeros(len(indices))
        fee = np.zeros(len(indices))
        filled[runnable], cost[runnable], fee[runnable] = fill_orders(
            self.exchange, self.accounts[chosen], self.lots[chosen], self.limits[chosen], self.exchange.rules.taker_fee)
        return filled, cost, fee
