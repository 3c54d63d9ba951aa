"""The order book: market makers' resting quotes, walked level by level by market orders; and a
linear-impact stand-in for tests without makers.

Each side is one price-sorted array of levels (price, lots, maker). A market order consumes the
best levels first and pays each level's own price; the mid moves with what was consumed. Makers
replace their own quotes each step. Quantities are integer lots, as on the exchange. The walk
itself, for a whole sequence of orders at once, is ``walk.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.exchange.orders import Fill, Fills
from sim.exchange.walk import walk_book


class _Side:
    """One side's levels, best first: ascending prices for asks, descending for bids, as arrays of
    price, lots and maker; ``head`` is the first level with lots left."""

    def __init__(self, ascending: bool):
        self.ascending = ascending
        self.price = np.zeros(0)
        self.lots = np.zeros(0, dtype=np.int64)
        self.maker = np.zeros(0, dtype=np.int64)
        self.head = 0

    def replace(self, quotes: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace the levels of every maker in ``quotes`` (maker -> (prices, lots)) in one merge;
        levels sort by price, then maker, then lots."""
        makers = np.fromiter(quotes, dtype=np.int64, count=len(quotes))
        price = np.concatenate([q[0] for q in quotes.values()])
        lots = np.concatenate([q[1] for q in quotes.values()])
        maker = np.repeat(makers, [len(q[1]) for q in quotes.values()])
        if not set(self.maker.tolist()) <= quotes.keys():       # levels of makers not quoting now stay
            kept = (self.lots > 0) & ~np.isin(self.maker, makers)
            price = np.concatenate([self.price[kept], price])
            lots = np.concatenate([self.lots[kept], lots])
            maker = np.concatenate([self.maker[kept], maker])
        live = lots > 0
        if not live.all():
            price, lots, maker = price[live], lots[live], maker[live]
        order = np.lexsort((lots, maker, price if self.ascending else -price))
        self.price, self.lots, self.maker = price[order], lots[order], maker[order]
        self.head = 0

    def best(self) -> float | None:
        return float(self.price[self.head]) if self.head < len(self.lots) else None

    def depth(self, reference: float, within: float) -> int:
        """Lots resting within ``within`` (a fraction) of ``reference``."""
        return int(self.lots[np.abs(self.price / reference - 1.0) <= within].sum())


class OrderBook:
    """Makers' quotes on both sides; market orders walk them. Implements the exchange's Liquidity.

    New quotes wait until the book is next read, so that all makers refreshing in one step cost
    one merge per side.
    """

    def __init__(self, price: float):
        self.asks = _Side(ascending=True)
        self.bids = _Side(ascending=False)
        self.last_price = float(price)
        self._pending: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._quoting: set[int] = set()         # every maker that has quoted: at most this many on the book

    def set_quotes(self, maker: int, bid_prices: np.ndarray, bid_lots: np.ndarray,
                   ask_prices: np.ndarray, ask_lots: np.ndarray) -> None:
        """Replace ``maker``'s resting quotes with new levels on both sides."""
        self._pending[maker] = (np.asarray(bid_prices, float), np.asarray(bid_lots, np.int64),
                                np.asarray(ask_prices, float), np.asarray(ask_lots, np.int64))

    def _sync(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, {}
            self.bids.replace({m: (q[0], q[1]) for m, q in pending.items()})
            self.asks.replace({m: (q[2], q[3]) for m, q in pending.items()})
            self._quoting.update(pending)

    def cancel(self, maker: int) -> None:
        """Withdraw all of ``maker``'s quotes (a maker being liquidated quotes nothing)."""
        empty = np.zeros(0)
        self.set_quotes(maker, empty, empty, empty, empty)

    def best_bid(self) -> float | None:
        self._sync()
        return self.bids.best()

    def best_ask(self) -> float | None:
        self._sync()
        return self.asks.best()

    def mid(self) -> float:
        """Midpoint of the best quotes; the last trade stands in for an emptied side."""
        if self._pending:
            self._sync()
        bid, ask = self.bids.best(), self.asks.best()
        bid = self.last_price if bid is None else bid
        ask = self.last_price if ask is None else ask
        return 0.5 * (bid + ask)

    def take(self, lots: np.ndarray, limits: np.ndarray, takers: np.ndarray) -> Fills:
        """Market orders in sequence (lots > 0 buys from the asks, < 0 sells to the bids), each at
        worst ``limits`` (NaN: none) and never against its taker's own quotes (``walk.py``)."""
        self._sync()
        heads = np.array([self.asks.head, self.bids.head], dtype=np.int64)
        order, maker, filled, price, last = walk_book(
            self.asks.price, self.asks.lots, self.asks.maker, self.bids.price, self.bids.lots, self.bids.maker,
            heads, np.asarray(lots, dtype=np.int64), np.asarray(limits, dtype=float),
            np.asarray(takers, dtype=np.int64), max(len(self._quoting), 1))
        self.asks.head, self.bids.head = int(heads[0]), int(heads[1])
        if not math.isnan(last):
            self.last_price = last
        return Fills(order, maker, filled, price)

    def depth(self, within: float = 0.01) -> tuple[int, int]:
        """(bid lots, ask lots) resting within ``within`` of the mid."""
        mid = self.mid()
        return self.bids.depth(mid, within), self.asks.depth(mid, within)


@dataclass
class LinearImpact:
    """A stand-in market: one maker account fills any size, the price moving ``impact`` per unit.

    Used where there is no order book (exchange tests); the average price of n units is the mid
    moved by half the impact, and the mid moves by the whole of it.
    """

    maker: int
    price: float
    impact: float
    lot_size: float
    fills: list[Fill] = field(default_factory=list)
    last_price: float = field(init=False)

    def __post_init__(self) -> None:
        self.last_price = self.price

    def mid(self) -> float:
        return self.price

    def take(self, lots: np.ndarray, limits: np.ndarray, takers: np.ndarray) -> Fills:
        """Market orders in sequence, as the book takes them (NaN limit: none)."""
        filled = [(i, fill) for i, (n, limit, taker) in enumerate(zip(lots.tolist(), limits.tolist(), takers.tolist()))
                  if (fill := self._fill(n, limit, taker)) is not None]
        return Fills(np.array([i for i, _ in filled], dtype=np.int64),
                     np.array([f.maker for _, f in filled], dtype=np.int64),
                     np.array([f.lots for _, f in filled], dtype=np.int64),
                     np.array([f.price for _, f in filled], dtype=float))

    def _fill(self, lots: int, limit_price: float, taker: int) -> Fill | None:
        if lots == 0 or taker == self.maker:       # no self-trade: nothing fills, the price stays
            return None
        side = 1 if lots > 0 else -1
        limited = not math.isnan(limit_price)
        if limited and side * (limit_price - self.price) < 0:
            return None                             # already past the limit
        if limited and self.impact > 0:
            room = side * (limit_price / self.price - 1.0) / self.impact
            lots = side * min(abs(lots), max(int(room / self.lot_size), 0))
            if lots == 0:
                return None
        move = self.impact * lots * self.lot_size
        average = self.price * (1.0 + move / 2.0)
        self.price *= 1.0 + move
        fill = Fill(self.maker, lots, average)
        self.fills.append(fill)
        self.last_price = average
        return fill
