"""Margin piecewise linear in notional, evaluated in compiled loops.

Tiered and incremental schedules compute maintenance as N x rate_k - amount_k on piece k of notional
(``Schedule.maintenance_pieces``), and their initial rate is constant on pieces. Four loops evaluate
them many times: the liquidation scan over every account, every round; the search for where a partial
liquidation can stop; the capacity of every order's account; and brackets' initial margin of every
order checked. Compiled (numba), with the schedule's own arithmetic in the schedule's own order, they
agree with its numpy to the bit.
"""

from __future__ import annotations

import numpy as np

from sim.jit import compiled


@compiled("int64(float64, float64[:])")
def piece_holding(notional: float, inner_caps: np.ndarray) -> int:
    """The piece holding a notional: the first inner cap at or above it, as ``searchsorted`` (left)
    finds it, NaN past every cap; searched from the smallest piece, where most positions are."""
    piece = 0
    while piece < len(inner_caps) and not inner_caps[piece] >= notional:
        piece += 1
    return piece


@compiled("int64[:](float64[:], float64[:])")
def pieces_holding(notional: np.ndarray, inner_caps: np.ndarray) -> np.ndarray:
    """``piece_holding`` of each notional: a bracket search for a whole population."""
    pieces = np.empty(len(notional), np.int64)
    for i in range(len(notional)):
        pieces[i] = piece_holding(notional[i], inner_caps)
    return pieces


@compiled("float64(float64, float64[:], float64[:], float64[:])")
def maintenance_in_pieces(notional: float, inner_caps: np.ndarray, rates: np.ndarray, amounts: np.ndarray) -> float:
    """The maintenance margin of one notional on its piece; never below zero."""
    piece = piece_holding(notional, inner_caps)
    return max(notional * rates[piece] - amounts[piece], 0.0)


@compiled("float64[:](float64[:], float64[:], float64[:], float64[:], float64[:])")
def largest_within_pieces(equity: np.ndarray, upper: np.ndarray, inner_caps: np.ndarray, rates: np.ndarray,
                          amounts: np.ndarray) -> np.ndarray:
    """Per equity, the largest notional in [0, upper] whose maintenance it covers: the bisection of
    ``Schedule._largest_notional``, step for step, for each equity on its own (an equity whose search
    has converged stays where it is there too)."""
    found = np.empty(len(equity))
    for i in range(len(equity)):
        e, lo, hi = equity[i], 0.0, upper[i]
        if maintenance_in_pieces(hi, inner_caps, rates, amounts) <= e:
            lo = hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if maintenance_in_pieces(mid, inner_caps, rates, amounts) <= e:
                lo = mid
            else:
                hi = mid
        found[i] = lo
    return found


@compiled("float64[:](float64[:], float64[:], float64[:], float64)")
def initial_in_pieces(notional: np.ndarray, inner_caps: np.ndarray, initial_rates: np.ndarray,
                      limit: float) -> np.ndarray:
    """The initial margin of each notional: N x the initial rate of its piece, infinite past
    ``limit``, 0 for N <= 0 (as ``Schedule.initial_margin`` computes it, per notional)."""
    margin = np.empty(len(notional))
    for i in range(len(notional)):
        n = notional[i]
        rate = np.inf if n > limit else initial_rates[piece_holding(n, inner_caps)]
        margin[i] = n * rate if n > 0 else 0.0
    return margin


@compiled("float64[:](float64[:], float64[:], float64[:], float64[:])")
def farthest_reach(equity: np.ndarray, floors: np.ndarray, caps: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Per equity (>= 0), the largest notional it reaches on any piece (floor, cap] at that piece's
    initial rate: min(cap, equity / rate) where that passes the floor (the first piece from zero)."""
    most = np.empty(len(equity))
    for i in range(len(equity)):
        best = -np.inf
        for k in range(len(rates)):
            reach = equity[i] / rates[k]
            candidate = min(reach, caps[k]) if reach > floors[k] or floors[k] == 0 else 0.0
            best = max(best, candidate)
        most[i] = best
    return most
