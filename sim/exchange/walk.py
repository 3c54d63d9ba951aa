"""Market orders walking the book, one after another, in a compiled loop.

A minute brings thousands of market orders (a million traders, 2 % of them acting); in Python each
walk cost microseconds, here nanoseconds. The loop is exactly the book's rule, written once:
orders in sequence, each taking the best levels first at each level's own price, never past its
limit, never from its own taker's quotes, until filled or the side is empty. Arithmetic is done in
the order a reader would do it by hand (each maker's cost summed level by level, then divided by
its lots), so results do not depend on how many orders walk in one call.

Compiled by numba when the module is first imported in a fresh environment (a few seconds);
later imports load the machine code from numba's cache (``jit.py``).
"""

from __future__ import annotations

import numpy as np

from sim.jit import compiled


@compiled("(float64[:], int64[:], int64[:], float64[:], int64[:], int64[:], int64[:],"
          " int64[:], float64[:], int64[:], int64)")
def walk_book(ask_price: np.ndarray, ask_lots: np.ndarray, ask_maker: np.ndarray,
              bid_price: np.ndarray, bid_lots: np.ndarray, bid_maker: np.ndarray, heads: np.ndarray,
              orders: np.ndarray, limits: np.ndarray, takers: np.ndarray, width: int):
    """Walk ``orders`` (lots: > 0 buys from the asks, < 0 sells to the bids) through the book in turn.

    Each side's levels are sorted best first; ``heads`` holds each side's first level with lots left
    (asks, then bids) and is kept so. Levels' lots are consumed in place. ``limits`` is each order's
    worst price (NaN: none); ``takers`` its account, whose own levels it skips; ``width`` bounds the
    makers one order can meet (the makers on the book).

    Returns the fills, order by order, one per maker met at that maker's average price in the order
    of first fill: (order index, maker, lots signed as the order, price), and the price of the last
    level consumed (NaN if none).
    """
    n = len(orders)
    fill_order = np.empty(n * width, np.int64)
    fill_maker = np.empty(n * width, np.int64)
    fill_lots = np.empty(n * width, np.int64)
    fill_price = np.empty(n * width, np.float64)
    met_maker = np.empty(width, np.int64)
    met_lots = np.empty(width, np.int64)
    met_value = np.empty(width, np.float64)
    fills = 0
    last = np.nan
    for i in range(n):
        wanted = orders[i]
        if wanted == 0:
            continue
        if wanted > 0:
            price, lots, maker, side, direction, sign = ask_price, ask_lots, ask_maker, 0, 1.0, 1
        else:
            price, lots, maker, side, direction, sign = bid_price, bid_lots, bid_maker, 1, -1.0, -1
        remaining = abs(wanted)
        met = 0
        level = heads[side]
        while remaining > 0 and level < len(lots):
            if direction * (price[level] - limits[i]) > 0:      # past the limit (never when NaN)
                break
            available = lots[level]
            if available > 0 and maker[level] != takers[i]:
                take = available if available < remaining else remaining
                lots[level] = available - take
                remaining -= take
                slot = 0
                while slot < met and met_maker[slot] != maker[level]:
                    slot += 1
                if slot == met:
                    met_maker[slot] = maker[level]
                    met_lots[slot] = 0
                    met_value[slot] = 0.0
                    met += 1
                met_lots[slot] += take
                met_value[slot] += take * price[level]
                last = price[level]
            level += 1
        while heads[side] < len(lots) and lots[heads[side]] == 0:
            heads[side] += 1
        for slot in range(met):
            fill_order[fills] = i
            fill_maker[fills] = met_maker[slot]
            fill_lots[fills] = sign * met_lots[slot]
            fill_price[fills] = met_value[slot] / met_lots[slot]
            fills += 1
    return fill_order[:fills], fill_maker[:fills], fill_lots[:fills], fill_price[:fills], last
