"""Drift's size premium: the margin rate grows with the square root of notional, floored at a base rate."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import PositiveFloat, model_validator

from sim.jit import compiled
from sim.schedules.fields import param
from sim.schedules.schedule import Schedule, Search, SpecBase


class SizePremiumSpec(SpecBase):
    """Drift-style: rate(N) = max(base, (1 - discount) x base + imf_factor x sqrt(N / unit_notional))."""

    kind: Literal["size_premium"] = param(..., "-", "schedule family: rates growing with the square root of size (Drift)")
    base_initial_rate: PositiveFloat = param(..., "fraction", "initial margin rate of small positions (the floor)")
    base_maintenance_rate: PositiveFloat = param(..., "fraction", "maintenance margin rate of small positions (the floor)")
    imf_factor: PositiveFloat = param(..., "fraction", "premium per square root of (notional / unit_notional)")
    unit_notional: PositiveFloat = param(1_000_000.0, "USD", "notional the square root is taken in units of")
    discount: float = param(0.2, "fraction", "share taken off the base rate before the premium is added, "
                            "so the premium binds only past a size", ge=0.0, lt=1.0)
    max_notional: PositiveFloat = param(..., "USD", "largest position notional allowed")

    @model_validator(mode="after")
    def _consistent(self) -> SizePremiumSpec:
        if self.base_maintenance_rate >= self.base_initial_rate:
            raise ValueError(
                f"base_maintenance_rate: {self.base_maintenance_rate:g} is not below "
                f"base_initial_rate {self.base_initial_rate:g}"
            )
        return self


class SizePremium(Schedule):
    """Drift-style size premium: rates grow with the square root of notional past a threshold."""

    def _rate(self, n: np.ndarray, base: float) -> np.ndarray:
        s = self.spec
        premium = (1.0 - s.discount) * base + s.imf_factor * np.sqrt(n / s.unit_notional)
        return np.maximum(base, premium)

    def threshold(self, base: float | None = None) -> float:
        """Notional where the premium starts to bind on the initial rate."""
        s = self.spec
        base = s.base_initial_rate if base is None else base
        return s.unit_notional * (s.discount * base / s.imf_factor) ** 2

    @property
    def n_tiers(self) -> int:
        return 1 + max(0, math.ceil(math.log2(self.notional_limit / self.threshold())))

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return self._rate(n, self.spec.base_initial_rate)

    def _initial_search(self, open_interest: float) -> Search:
        return self._search(self.spec.base_initial_rate)

    def _maintenance_search(self, open_interest: float) -> Search:
        return self._search(self.spec.base_maintenance_rate)

    def _search(self, base: float) -> Search:
        """The compiled bisection for the margin whose rate floors at ``base``."""
        s = self.spec
        return lambda equity, upper: largest_under_premium(equity, upper, base, s.discount, s.imf_factor,
                                                           s.unit_notional)

    def _maintenance(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return n * self._rate(n, self.spec.base_maintenance_rate)

    def _tier(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        """Tier 1 up to the threshold, then one tier per doubling: (T 2^(k-2), T 2^(k-1)] is tier k."""
        ratio = np.maximum(n, 1e-300) / self.threshold()
        doublings = np.ceil(np.log2(np.maximum(ratio, 1.0)))
        return np.clip(np.where(ratio <= 1.0, 1, doublings + 1), 1, self.n_tiers)

    def _table(self, open_interest: float) -> pd.DataFrame:
        k = np.arange(self.n_tiers)
        floors = np.where(k == 0, 0.0, self.threshold() * 2.0 ** np.maximum(k - 1, 0))
        caps = np.minimum(self.threshold() * 2.0**k, self.notional_limit)
        rates = self._initial_rate(floors, open_interest)
        return pd.DataFrame(
            {
                "tier": k + 1,
                "notional_floor": floors,
                "notional_cap": caps,
                "max_leverage": 1.0 / rates,
                "initial_rate": rates,
                "maintenance_rate": self._rate(floors, self.spec.base_maintenance_rate),
                "maintenance_amount": 0.0,
            }
        )


@compiled("float64(float64, float64, float64, float64, float64)")
def _premium_margin(notional: float, base: float, discount: float, factor: float, unit: float) -> float:
    """N x rate(N), in ``_rate``'s arithmetic and order."""
    premium = (1.0 - discount) * base + factor * np.sqrt(notional / unit)
    return notional * (premium if premium > base else base)


@compiled("float64[:](float64[:], float64[:], float64, float64, float64, float64)")
def largest_under_premium(equity: np.ndarray, upper: np.ndarray, base: float, discount: float, factor: float,
                          unit: float) -> np.ndarray:
    """Per equity, the largest notional N in [0, upper] with N x rate(N) <= equity, rate as ``_rate``
    computes it from ``base``: the bisection of ``Schedule._largest_notional``, step for step, each
    equity on its own. The requirement rises float by float, so the boundary found is the one float
    any exact search finds. Compiled: every capacity check of an order reads it."""
    found = np.empty(len(equity))
    for i in range(len(equity)):
        e, lo, hi = equity[i], 0.0, upper[i]
        if _premium_margin(hi, base, discount, factor, unit) <= e:
            lo = hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if _premium_margin(mid, base, discount, factor, unit) <= e:
                lo = mid
            else:
                hi = mid
        found[i] = lo
    return found

