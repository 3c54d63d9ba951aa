"""The order book: worked examples of market orders walking makers' quotes.

Every expected number is written out by hand from the quotes set in the test: which levels a
market order consumes, at which prices, how the fills are grouped per maker, and where the mid
ends up.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.exchange import Fill, OrderBook

A, B, C = 11, 22, 33  # maker ids (the exchange uses account numbers)


def quote(book: OrderBook, maker: int, bids: list[tuple[float, int]], asks: list[tuple[float, int]]) -> None:
    """Set ``maker``'s levels from (price, lots) pairs."""
    book.set_quotes(
        maker,
        np.array([p for p, _ in bids], dtype=float), np.array([n for _, n in bids], dtype=np.int64),
        np.array([p for p, _ in asks], dtype=float), np.array([n for _, n in asks], dtype=np.int64),
    )


def two_makers() -> OrderBook:
    """Bids 99 (A 5), 98.5 (B 4), 98 (A 10); asks 101 (A 5), 101.5 (B 4), 102 (A 10), 103 (B 20)."""
    book = OrderBook(100.0)
    quote(book, A, bids=[(99.0, 5), (98.0, 10)], asks=[(101.0, 5), (102.0, 10)])
    quote(book, B, bids=[(98.5, 4)], asks=[(101.5, 4), (103.0, 20)])
    return book


def take(book: OrderBook, lots: int, limit_price: float | None = None, taker: int = -1) -> list[Fill]:
    """One market order's fills."""
    fills = book.take(np.array([lots]), np.array([np.nan if limit_price is None else limit_price]), np.array([taker]))
    assert (fills.order == 0).all()
    return [Fill(int(m), int(n), float(p)) for m, n, p in zip(fills.maker, fills.lots, fills.price)]


def by_maker(fills: list[Fill]) -> dict[int, tuple[int, float]]:
    return {f.maker: (f.lots, f.price) for f in fills}


def test_best_quotes_and_mid():
    book = two_makers()
    assert book.best_bid() == 99.0
    assert book.best_ask() == 101.0
    assert book.mid() == pytest.approx(100.0)


def test_buy_walks_levels_and_each_maker_is_paid_its_levels_prices():
    book = two_makers()
    # 12 lots: A's 5 @ 101, B's 4 @ 101.5, then 3 of A's 10 @ 102.
    fills = take(book, 12)
    got = by_maker(fills)
    assert set(got) == {A, B}
    assert got[A][0] == 5 + 3
    assert got[A][1] == pytest.approx((5 * 101.0 + 3 * 102.0) / 8)   # 101.375
    assert got[B] == (4, pytest.approx(101.5))
    assert sum(f.lots for f in fills) == 12
    cost = sum(f.lots * f.price for f in fills)
    assert cost == pytest.approx(5 * 101.0 + 4 * 101.5 + 3 * 102.0)   # 1217.0
    assert cost / 12 == pytest.approx(1217.0 / 12)                    # average price 101.4166...
    assert [f.maker for f in fills] == [A, B]                         # order of first fill


def test_sell_walks_the_bids_and_fills_are_signed_negative():
    book = two_makers()
    # 7 lots sold: A's 5 @ 99, then 2 of B's 4 @ 98.5.
    fills = take(book, -7)
    got = by_maker(fills)
    assert got[A] == (-5, pytest.approx(99.0))
    assert got[B] == (-2, pytest.approx(98.5))
    assert book.best_bid() == 98.5                       # B's level keeps its 2 remaining lots
    assert take(book, -3) == [Fill(B, -2, 98.5), Fill(A, -1, 98.0)]


def test_mid_moves_with_what_was_consumed():
    book = two_makers()
    take(book, 5)                                         # exactly A's level at 101
    assert book.best_ask() == 101.5
    assert book.mid() == pytest.approx((99.0 + 101.5) / 2)
    take(book, 4 + 10)                                    # B's 101.5 and A's 102 levels
    assert book.best_ask() == 103.0
    assert book.mid() == pytest.approx((99.0 + 103.0) / 2)
    take(book, -5)                                        # A's best bid
    assert book.mid() == pytest.approx((98.5 + 103.0) / 2)


def test_a_side_emptied_leaves_the_last_trade_as_its_price():
    book = two_makers()
    fills = take(book, 1_000)                             # more than the 39 lots offered
    assert sum(f.lots for f in fills) == 39
    assert book.best_ask() is None
    assert book.last_price == 103.0
    assert book.mid() == pytest.approx((99.0 + 103.0) / 2)
    assert take(book, 1) == []                            # nothing left to buy


def test_limit_price_stops_the_walk():
    book = two_makers()
    fills = take(book, 12, limit_price=101.5)             # 102 is past the limit
    assert sum(f.lots for f in fills) == 9
    assert by_maker(fills) == {A: (5, pytest.approx(101.0)), B: (4, pytest.approx(101.5))}
    assert book.best_ask() == 102.0
    sells = take(book, -100, limit_price=98.6)            # only 99 is at or above 98.6
    assert by_maker(sells) == {A: (-5, pytest.approx(99.0))}
    assert book.best_bid() == 98.5
    assert take(book, 3, limit_price=101.9) == []         # best ask 102 is already past the limit
    assert book.best_ask() == 102.0


def test_cancel_withdraws_one_makers_quotes_on_both_sides():
    book = two_makers()
    book.cancel(A)
    assert book.best_bid() == 98.5
    assert book.best_ask() == 101.5
    fills = take(book, 30)
    assert {f.maker for f in fills} == {B}
    assert sum(f.lots for f in fills) == 24
    book.cancel(B)
    assert book.best_bid() is None and book.best_ask() is None


def test_new_quotes_replace_a_makers_old_ones_and_keep_the_others():
    book = two_makers()
    take(book, 2)                                         # A's 101 level down to 3 lots
    quote(book, B, bids=[(99.5, 1)], asks=[(100.5, 1)])
    assert book.best_bid() == 99.5
    assert book.best_ask() == 100.5
    fills = take(book, 1 + 3 + 10 + 1)
    # B 1 @ 100.5, A's remaining 3 @ 101, A's 10 @ 102; B's old 101.5 and 103 levels are gone.
    assert by_maker(fills) == {B: (1, pytest.approx(100.5)), A: (13, pytest.approx((3 * 101.0 + 10 * 102.0) / 13))}
    assert book.best_ask() is None


def test_a_taker_never_fills_against_its_own_quotes():
    book = two_makers()
    fills = take(book, 6, taker=A)                        # skips A's 101, takes B's 101.5 then 103
    assert by_maker(fills) == {B: (6, pytest.approx((4 * 101.5 + 2 * 103.0) / 6))}
    assert book.best_ask() == 101.0                      # A's own level is untouched
    assert take(book, -5, taker=B) == [Fill(A, -5, 99.0)]
    alone = OrderBook(100.0)
    quote(alone, C, bids=[(99.0, 5)], asks=[(101.0, 5)])
    assert take(alone, 3, taker=C) == []
    assert alone.best_ask() == 101.0
    assert take(alone, 3, taker=A) == [Fill(C, 3, 101.0)]


def test_ties_at_one_price_fill_in_maker_order():
    book = OrderBook(100.0)
    quote(book, C, bids=[(99.0, 2)], asks=[(101.0, 2)])  # C quotes first ...
    book.best_ask()                                      # ... and its quotes are in the book
    quote(book, A, bids=[(99.0, 2)], asks=[(101.0, 2)])
    quote(book, B, bids=[(99.0, 2)], asks=[(101.0, 2)])
    assert take(book, 5) == [Fill(A, 2, 101.0), Fill(B, 2, 101.0), Fill(C, 1, 101.0)]
    assert take(book, -3) == [Fill(A, -2, 99.0), Fill(B, -1, 99.0)]
    # what is left keeps the same order: B 1 then C 2 at 99
    assert take(book, -3) == [Fill(B, -1, 99.0), Fill(C, -2, 99.0)]


def test_depth_counts_lots_within_a_band_of_the_mid():
    book = two_makers()
    # mid 100: within 1.2 % are 99 (5) on the bid side and 101 (5) on the ask side.
    assert book.depth(0.012) == (5, 5)
    # within 2.5 %: bids 99, 98.5, 98 (19); asks 101, 101.5, 102 (19); 103 is 3 % away.
    assert book.depth(0.025) == (19, 19)
    assert book.depth(0.05) == (19, 39)


def test_zero_lots_is_no_order():
    book = two_makers()
    assert take(book, 0) == []
    assert book.mid() == pytest.approx(100.0)


def random_book(rng: np.random.Generator) -> OrderBook:
    """A few makers quoting a few levels each on both sides, prices on a coarse grid so that ties occur."""
    book = OrderBook(100.0)
    for maker in range(int(rng.integers(1, 5))):
        levels = int(rng.integers(0, 6))
        book.set_quotes(maker, 100.0 - rng.integers(1, 8, levels) * 0.5, rng.integers(0, 6, levels),
                        100.0 + rng.integers(1, 8, levels) * 0.5, rng.integers(0, 6, levels))
    return book


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_orders_walked_together_fill_as_walked_one_by_one(seed):
    """A sequence of orders (random sizes, limits, some takers that are makers) walked in one call
    gives the same fills, book and last price, to the bit, as each order walked alone in turn."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 30))
    lots = rng.integers(-12, 13, count)
    limits = np.where(rng.random(count) < 0.3, 100.0 + rng.integers(-8, 9, count) * 0.5, np.nan)
    takers = np.where(rng.random(count) < 0.2, rng.integers(0, 4, count), -1)
    together, alone = random_book(np.random.default_rng(seed)), random_book(np.random.default_rng(seed))
    batch = together.take(lots, limits, takers)
    one_by_one = []
    for i in range(count):
        fills = alone.take(lots[i: i + 1], limits[i: i + 1], takers[i: i + 1])
        one_by_one += [(i, int(m), int(n), float(p)) for m, n, p in zip(fills.maker, fills.lots, fills.price)]
    assert list(zip(batch.order.tolist(), batch.maker.tolist(), batch.lots.tolist(), batch.price.tolist())) == one_by_one
    for side in ("bids", "asks"):
        a, b = getattr(together, side), getattr(alone, side)
        assert a.lots.tolist() == b.lots.tolist() and a.head == b.head
    assert together.last_price == alone.last_price
    assert (batch.lots != 0).all() and (batch.maker != takers[batch.order]).all()
