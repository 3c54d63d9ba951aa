"""The margin schedule: initial and maintenance margin as functions of a position's notional.

Every function takes scalars or numpy arrays of notional (USD, >= 0) and returns the same shape.
``Schedule`` holds the maths every family shares (capacity, liquidation price, the bracket table);
each family (``tiered``, ``incremental``, ``size_premium``, ``open_interest``) is a module of its own.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from sim.schedules.fields import param
from sim.schedules.pieces import farthest_reach, largest_within_pieces

ArrayLike = float | np.ndarray
Search = Callable[[np.ndarray, np.ndarray], np.ndarray]


class SpecBase(BaseModel):
    """What every schedule file says besides its numbers: a name, a description and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = param("", "-", "what tables and figures call the schedule (default: its kind)")
    description: str = param("", "-", "one line on what the schedule is")
    source: str = param("", "-", "where its numbers come from, with the date they were read")


def as_array(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def like(result: np.ndarray, template: ArrayLike) -> ArrayLike:
    """``result`` as a float when ``template`` is a scalar, else as the array it is."""
    return float(result) if is_scalar(template) else result


def is_scalar(x: ArrayLike) -> bool:
    """Whether ``x`` has no dimensions (a number or a 0-d array); cheaper than ``np.ndim(x) == 0``."""
    if isinstance(x, np.ndarray):
        return x.ndim == 0
    return isinstance(x, float | int | np.generic) or np.ndim(x) == 0


class Schedule(ABC):
    """Margin requirement as a function of notional (and, for some kinds, market open interest)."""

    uses_open_interest = False

    def __init__(self, spec: Any):
        self.spec = spec
        self._floor_rate: float | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def name(self) -> str:
        return self.spec.name or self.spec.kind

    @property
    def notional_limit(self) -> float:
        """Largest notional the schedule lets any account open (orders beyond it are refused)."""
        return self.spec.max_notional

    @abstractmethod
    def _initial_rate(self, notional: np.ndarray, open_interest: float) -> np.ndarray: ...

    @abstractmethod
    def _maintenance(self, notional: np.ndarray, open_interest: float) -> np.ndarray: ...

    @abstractmethod
    def _tier(self, notional: np.ndarray, open_interest: float) -> np.ndarray: ...

    @property
    @abstractmethod
    def n_tiers(self) -> int:
        """Number of tiers ``tier`` can return (tiers are numbered from 1)."""

    def initial_rate(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Initial margin per unit of notional; infinite past the schedule's notional limit."""
        if isinstance(notional, float):     # one notional: the same arithmetic on floats, no arrays
            return math.inf if notional > self.notional_limit else float(self._initial_rate(notional, open_interest))
        n = as_array(notional)
        rate = self._initial_rate(n, open_interest)
        return like(np.where(n > self.notional_limit, np.inf, rate), notional)

    def initial_margin(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Collateral needed to open a position of this notional (infinite past the limit)."""
        if isinstance(notional, float):
            return notional * self.initial_rate(notional, open_interest) if notional > 0 else 0.0
        n = as_array(notional)
        rate = as_array(self.initial_rate(n, open_interest))
        return like(np.where(n > 0, n * rate, 0.0), notional)

    def maintenance_margin(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Equity below which a position of this notional is liquidated."""
        if isinstance(notional, float):
            return max(float(self._maintenance(notional, open_interest)), 0.0)
        n = as_array(notional)
        return like(np.maximum(self._maintenance(n, open_interest), 0.0), notional)

    def maintenance_pieces(self, open_interest: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(inner caps, rates, amounts) where the family computes maintenance margin as
        N x rates[k] - amounts[k] (at least 0) on piece k of notional, the pieces split at the inner
        caps (a piece holds its cap): a form the compiled liquidation scan evaluates itself, to the
        bit. None where the family's maintenance is not of that form."""
        return None

    def maintenance_rate(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Maintenance margin per unit of notional (the limit as notional goes to zero at zero)."""
        n = as_array(notional)
        safe = np.where(n > 0, n, 1e-12)
        return like(self._maintenance(safe, open_interest) / safe, notional)

    def max_leverage(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest leverage allowed at this notional: 1 / initial rate (zero past the limit)."""
        rate = as_array(self.initial_rate(notional, open_interest))
        return like(1.0 / rate, notional)

    def tier(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Tier number, from 1 for the smallest positions."""
        if isinstance(notional, float):
            return int(self._tier(notional, open_interest))
        n = as_array(notional)
        t = self._tier(n, open_interest).astype(np.int64)
        return int(t) if is_scalar(notional) else t

    def max_notional(self, equity: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest notional whose initial margin the equity covers (0 for equity <= 0).

        Where the initial rate is constant on pieces of notional, the answer is exact: on each
        piece (floor, cap] at rate r the equity reaches min(cap, E / r) if that passes the floor.
        Where rounding puts (E / r) x r one ulp above E, the notional steps down one ulp.
        """
        pieces = self._initial_pieces(open_interest)
        if pieces is None:
            return self._largest_notional(self.initial_margin, equity, open_interest,
                                          self._initial_search(open_interest))
        e = np.maximum(as_array(equity), 0.0)
        most = farthest_reach(np.ravel(e), *pieces).reshape(np.shape(e))
        over = as_array(self.initial_margin(most, open_interest)) > e
        return like(np.where(over, np.nextafter(most, 0.0), most), equity)

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(floors, caps, initial rates) where the initial rate is constant on each piece, else None."""
        return None

    def _initial_search(self, open_interest: float) -> Search | None:
        """``_largest_notional``'s bisection over initial margin, compiled, where the family has it."""
        return None

    def maintenance_capacity(self, equity: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest notional whose maintenance margin the equity covers: where a partial
        liquidation can stop."""
        return self._largest_notional(self.maintenance_margin, equity, open_interest,
                                      self._maintenance_search(open_interest))

    def _maintenance_search(self, open_interest: float) -> Search | None:
        """``_largest_notional``'s bisection over maintenance margin, compiled, where the family has it
        (every family that gives its maintenance as pieces)."""
        pieces = self.maintenance_pieces(open_interest)
        return None if pieces is None else lambda equity, upper: largest_within_pieces(equity, upper, *pieces)

    def _largest_notional(self, requirement, equity: ArrayLike, open_interest: float,
                          search: Search | None = None) -> ArrayLike:
        """Largest N with requirement(N) <= equity, by vectorised bisection.

        Requirements rise with notional in every kind, so bisection finds the boundary to float
        precision, even where the requirement jumps between brackets. Where the requirement rises
        monotonically in floating point as well, that boundary is the one float where it is met and
        the next float exceeds the equity. ``search`` (equities, upper bounds -> notionals) is the
        same bisection compiled for the family's requirement, each equity on its own.
        """
        floor_rate = self._floor_maintenance_rate(open_interest)
        if search is not None and isinstance(equity, float):     # one equity: no arrays but the call's
            e = max(equity, 0.0)
            hi = min(e / floor_rate, self.notional_limit)
            return float(search(np.array([e]), np.array([hi]))[0])
        e = np.maximum(as_array(equity), 0.0)
        hi = np.minimum(e / floor_rate, self.notional_limit)
        if search is not None:
            return like(search(np.ravel(e), np.ravel(hi).astype(float)).reshape(np.shape(e)), equity)
        lo = np.zeros_like(hi)
        fits = as_array(requirement(hi, open_interest)) <= e
        lo = np.where(fits, hi, lo)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if np.all((mid <= lo) | (mid >= hi)):
                break
            ok = as_array(requirement(mid, open_interest)) <= e
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        return like(lo, equity)

    def _floor_maintenance_rate(self, open_interest: float) -> float:
        """The maintenance rate of the smallest positions: the bisection's upper bound is equity over it
        (kept once computed, unless it moves with open interest)."""
        if self._floor_rate is None or self.uses_open_interest:
            self._floor_rate = float(self.maintenance_rate(np.zeros(1) + 1e-9, open_interest)[0])
        return self._floor_rate

    def liquidation_price(self, position: ArrayLike, quote: ArrayLike, open_interest: float = 0.0,
                          mark: float | None = None) -> ArrayLike:
        """Mark at which quote + position x mark equals the maintenance margin of |position| x mark.

        NaN where there is none: a flat position, or a long whose quote already covers it.
        For a long this is the first such mark met as the price falls, for a short as it rises.
        Given the current ``mark`` (at which ``open_interest`` is measured), open interest moves with
        the price, and where maintenance is not monotone in the price (``whole`` tiers, open-interest
        scaling) the first threshold met from that mark is chosen; for a position already below
        maintenance, the price it must recover to.
        """
        q = as_array(position)
        c = as_array(quote)
        q, c = np.broadcast_arrays(q, c)
        result = self._liquidation_price(q.astype(float), c.astype(float), open_interest, mark)
        return like(result, position if np.ndim(position) else quote)

    def _first_threshold(self, candidates: np.ndarray, q: np.ndarray, c: np.ndarray, open_interest: float,
                         mark: float | None) -> np.ndarray:
        """Of each position's prices where equity meets maintenance (a row, NaN-padded), the one that
        counts: without a mark a long's highest and a short's lowest; with one, the nearest on the
        side the position is liquidated from (the side it recovers to, if already below maintenance)."""
        with np.errstate(invalid="ignore"):
            if mark is None:
                below = np.max(np.where(np.isnan(candidates), -np.inf, candidates), axis=-1)
                above = np.min(np.where(np.isnan(candidates), np.inf, candidates), axis=-1)
                falling = q > 0
            else:
                slack = 1e-12 * mark
                below = np.max(np.where(candidates <= mark + slack, candidates, -np.inf), axis=-1)
                above = np.min(np.where(candidates >= mark - slack, candidates, np.inf), axis=-1)
                healthy = c + q * mark >= as_array(self.maintenance_margin(np.abs(q) * mark, open_interest))
                falling = (q > 0) == healthy
        chosen = np.where(falling, below, above)
        return np.where(np.isfinite(chosen) & (q != 0), chosen, np.nan)

    def _liquidation_price(self, q: np.ndarray, c: np.ndarray, open_interest: float,
                           mark: float | None) -> np.ndarray:
        """Root of f(p) = c + q p - MM(|q| p) by bracketing and bisection (for non-linear kinds)."""
        long = q > 0
        short = q < 0

        def gap(p: np.ndarray) -> np.ndarray:
            return c + q * p - as_array(self.maintenance_margin(np.abs(q) * p, open_interest))

        lo = np.zeros_like(q)
        hi = np.where(q != 0, np.maximum(np.abs(c / np.where(q != 0, q, 1.0)), 1.0), 1.0)
        for _ in range(200):
            g = gap(hi)
            unbracketed = (long & (g < 0)) | (short & (g > 0))
            if not unbracketed.any():
                break
            hi = np.where(unbracketed, hi * 2.0, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if np.all((mid <= lo) | (mid >= hi)):
                break
            g = gap(mid)
            below_root = (long & (g < 0)) | (short & (g > 0))
            lo = np.where(below_root, mid, lo)
            hi = np.where(below_root, hi, mid)
        price = 0.5 * (lo + hi)
        never = (q == 0) | (long & (c >= 0))
        return np.where(never, np.nan, price)

    def table(self, open_interest: float = 0.0) -> pd.DataFrame:
        """The brackets, one row each: notional floor and cap, max leverage, rates, maintenance amount."""
        return self._table(open_interest)

    @abstractmethod
    def _table(self, open_interest: float) -> pd.DataFrame: ...
