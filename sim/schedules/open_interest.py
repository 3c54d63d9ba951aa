"""dYdX v4's liquidity tiers: one margin rate for every position, rising with the market's open interest."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import PositiveFloat, model_validator

from sim.schedules.fields import param
from sim.schedules.schedule import Schedule, SpecBase


class OpenInterestSpec(SpecBase):
    """dYdX v4 liquidity tier: IMF = min(base + max(scale x (1 - base), 0), 1), scale from market OI."""

    kind: Literal["open_interest"] = param(..., "-", "schedule family: one rate rising with the market's "
                                           "open interest (dYdX v4)")
    base_initial_rate: PositiveFloat = param(..., "fraction", "initial margin rate while open interest is at most "
                                             "the lower cap", lt=1.0)
    maintenance_fraction: PositiveFloat = param(..., "fraction", "maintenance rate as a share of the initial rate",
                                                lt=1.0)
    open_interest_lower_cap: float = param(..., "USD", "market open notional where the rate starts to rise", ge=0.0)
    open_interest_upper_cap: PositiveFloat = param(..., "USD", "market open notional where the rate reaches 100 %")
    max_notional: PositiveFloat = param(math.inf, "USD", "largest position notional allowed")

    @model_validator(mode="after")
    def _caps(self) -> OpenInterestSpec:
        if not self.open_interest_upper_cap > self.open_interest_lower_cap:
            raise ValueError("open_interest_upper_cap: is not above open_interest_lower_cap")
        return self


class OpenInterestScaled(Schedule):
    """dYdX v4: one rate for every position, rising linearly with the market's open interest."""

    uses_open_interest = True

    @property
    def n_tiers(self) -> int:
        return 1

    def rate_at(self, open_interest: float) -> float:
        """The initial margin fraction when the market's open notional is ``open_interest``."""
        s = self.spec
        scale = (open_interest - s.open_interest_lower_cap) / (s.open_interest_upper_cap - s.open_interest_lower_cap)
        return min(s.base_initial_rate + max(scale * (1.0 - s.base_initial_rate), 0.0), 1.0)

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return np.full_like(n, self.rate_at(open_interest))

    def _maintenance(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return n * self.rate_at(open_interest) * self.spec.maintenance_fraction

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.zeros(1), np.array([self.notional_limit]), np.array([self.rate_at(open_interest)])

    def _tier(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return np.ones_like(n)

    def _liquidation_price(self, q: np.ndarray, c: np.ndarray, open_interest: float,
                           mark: float | None) -> np.ndarray:
        """Without a mark, the rate at today's open interest. With one, open interest in units is
        held and its notional moves with the price p: the rate is base below p1 = lower cap / units,
        1 above p2 = upper cap / units and a + b p between, so c + q p = |q| p rate mf is linear on
        the outer pieces and quadratic on the middle one, solved on each."""
        s = self.spec
        mf = s.maintenance_fraction
        qa = np.abs(q)
        if mark is None or open_interest <= 0:
            rate = self.rate_at(open_interest) * mf
            with np.errstate(divide="ignore", invalid="ignore"):
                price = c / (qa * rate - q)
            return np.where((q != 0) & (price > 0), price, np.nan)
        units = open_interest / mark
        p1, p2 = s.open_interest_lower_cap / units, s.open_interest_upper_cap / units
        b = units * (1.0 - s.base_initial_rate) / (s.open_interest_upper_cap - s.open_interest_lower_cap)
        a = s.base_initial_rate - b * p1
        with np.errstate(divide="ignore", invalid="ignore"):
            low = c / (qa * s.base_initial_rate * mf - q)
            high = c / (qa * mf - q)
            # -qa mf b p^2 + (q - qa mf a) p + c = 0
            quad_a, quad_b = -qa * mf * b, q - qa * mf * a
            root = np.sqrt(quad_b**2 - 4.0 * quad_a * c)
            middle = [(-quad_b + sign * root) / (2.0 * quad_a) for sign in (-1.0, 1.0)]
        candidates = np.stack([
            np.where((low > 0) & (low <= p1), low, np.nan),
            *(np.where((m > p1) & (m <= p2), m, np.nan) for m in middle),
            np.where((high > p2), high, np.nan),
        ], axis=-1)
        return self._first_threshold(candidates, q, c, open_interest, mark)

    def _table(self, open_interest: float) -> pd.DataFrame:
        rate = self.rate_at(open_interest)
        return pd.DataFrame(
            {
                "tier": [1],
                "notional_floor": [0.0],
                "notional_cap": [self.notional_limit],
                "max_leverage": [1.0 / rate],
                "initial_rate": [rate],
                "maintenance_rate": [rate * self.spec.maintenance_fraction],
                "maintenance_amount": [0.0],
            }
        )

