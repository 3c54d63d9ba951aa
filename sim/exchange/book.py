"""The order book: market makers' resting quotes, walked level by level by market orders; and a
linear-impact stand-in for tests without makers.

Each side is one price-sorted array of levels (price, lots, maker). A market order consumes the
best levels first and pays each level's own price; the mid moves with what was consumed. Makers
replace their own quotes each step. Quantities are integer lots, as on the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.exchange.orders import Fill


class _Side:
    """One side's levels, best first: ascending prices for asks, descending for bids.

    Levels are plain lists: a market order usually consumes one or two levels, and a short Python
    walk from the first live level costs less than whole-array numpy calls.
    """

    def __init__(self, ascending: bool):
        self.ascending = ascending
        self.price: list[float] = []
        self.lots: list[int] = []
        self.maker: list[int] = []
        self.head = 0

    def replace(self, quotes: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace the levels of every maker in ``quotes`` (maker -> (prices, lots)) in one merge."""
        sign = 1.0 if self.ascending else -1.0
        rows = [(sign * p, m, n) for p, n, m in zip(self.price, self.lots, self.maker) if n > 0 and m not in quotes]
        for maker, (prices, lots) in quotes.items():
            rows += [(sign * p, maker, n) for p, n in zip(prices.tolist(), lots.tolist()) if n > 0]
        rows.sort()
        self.price = [sign * row[0] for row in rows]
        self.maker = [row[1] for row in rows]
        self.lots = [int(row[2]) for row in rows]
        self.head = 0

    def best(self) -> float | None:
        lots = self.lots
        while self.head < len(lots) and lots[self.head] == 0:
            self.head += 1
        return self.price[self.head] if self.head < len(lots) else None

    def walk(self, lots: int, limit_price: float | None, exclude: int | None,
             sign: int = 1) -> tuple[list[Fill], float | None]:
        """Consume up to ``lots`` from the best levels no worse than ``limit_price``.

        Returns one fill per maker (at that maker's average price, in order of first fill, its lots
        times ``sign``: -1 when the taker sells) and the last level's price.
        """
        self.best()
        taken: dict[int, list[float]] = {}
        last = None
        direction = 1.0 if self.ascending else -1.0
        i = self.head
        while lots > 0 and i < len(self.lots):
            price = self.price[i]
            if limit_price is not None and direction * (price - limit_price) > 0:
                break
            available = self.lots[i]
            if available and self.maker[i] != exclude:
                take = available if available < lots else lots
                self.lots[i] = available - take
                lots -= take
                entry = taken.setdefault(self.maker[i], [0, 0.0])
                entry[0] += take
                entry[1] += take * price
                last = price
            i += 1
        return [Fill(m, sign * n, value / n) for m, (n, value) in taken.items()], last

    def depth(self, reference: float, within: float) -> int:
        """Lots resting within ``within`` (a fraction) of ``reference``."""
        price = np.asarray(self.price)
        lots = np.asarray(self.lots, dtype=np.int64)
        return int(lots[np.abs(price / reference - 1.0) <= within].sum()) if len(lots) else 0


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
        bid = self.best_bid()
        ask = self.best_ask()
        bid = self.last_price if bid is None else bid
        ask = self.last_price if ask is None else ask
        return 0.5 * (bid + ask)

    def take(self, lots: int, limit_price: float | None = None, taker: int | None = None) -> list[Fill]:
        """A market order for ``lots`` (> 0 buys from the asks, < 0 sells to the bids)."""
        if lots == 0:
            return []
        self._sync()
        side = self.asks if lots > 0 else self.bids
        fills, last = side.walk(abs(lots), limit_price, exclude=taker, sign=1 if lots > 0 else -1)
        if last is not None:
            self.last_price = last
        return fills

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

    def take(self, lots: int, limit_price: float | None = None, taker: int | None = None) -> list[Fill]:
        if lots == 0 or taker == self.maker:       # no self-trade: nothing fills, the price stays
            return []
        side = 1 if lots > 0 else -1
        if limit_price is not None and side * (limit_price - self.price) < 0:
            return []                               # already past the limit
        if limit_price is not None and self.impact > 0:
            room = side * (limit_price / self.price - 1.0) / self.impact
            lots = side * min(abs(lots), max(int(room / self.lot_size), 0))
            if lots == 0:
                return []
        move = self.impact * lots * self.lot_size
        average = self.price * (1.0 + move / 2.0)
        self.price *= 1.0 + move
        fill = Fill(self.maker, lots, average)
        self.fills.append(fill)
        self.last_price = average
        return [fill]
