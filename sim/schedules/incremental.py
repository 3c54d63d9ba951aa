"""dYdX v3's incremental initial margin: IMF = base + increment_rate x ceil(max(0, N - baseline) / increment)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import PositiveFloat, model_validator

from sim.schedules.fields import param
from sim.schedules.schedule import Schedule, SpecBase


class IncrementalSpec(SpecBase):
    """dYdX v3: IMF = base + increment_rate x ceil(max(0, N - baseline) / increment); MMF fixed."""

    kind: Literal["incremental"] = param(..., "-", "schedule family: initial margin stepping up with size (dYdX v3)")
    base_initial_rate: PositiveFloat = param(..., "fraction", "initial margin rate up to baseline_notional")
    increment_rate: PositiveFloat = param(..., "fraction", "added to the initial rate per increment past the baseline")
    baseline_notional: PositiveFloat = param(..., "USD", "notional up to which the base rate applies")
    increment_notional: PositiveFloat = param(..., "USD", "size of one increment past the baseline")
    maintenance_rate: PositiveFloat = param(..., "fraction", "maintenance margin rate on notional, at every size")
    max_notional: PositiveFloat = param(..., "USD", "largest position notional allowed")

    @model_validator(mode="after")
    def _consistent(self) -> IncrementalSpec:
        if self.maintenance_rate >= self.base_initial_rate:
            raise ValueError(
                f"maintenance_rate: {self.maintenance_rate:g} is not below base_initial_rate "
                f"{self.base_initial_rate:g}"
            )
        if self.max_notional < self.baseline_notional:
            raise ValueError("max_notional: is below baseline_notional")
        return self


class Incremental(Schedule):
    """dYdX v3: the initial fraction steps up by ``increment_rate`` per increment past a baseline."""


    @property
    def n_tiers(self) -> int:
        s = self.spec
        return 1 + math.ceil((s.max_notional - s.baseline_notional) / s.increment_notional)

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not hasattr(self, "_pieces"):
            table = self._table(open_interest)
            self._pieces = tuple(table[c].to_numpy(dtype=float, copy=True) for c in ("notional_floor", "notional_cap",
                                                                                    "initial_rate"))
        return self._pieces

    def _steps(self, n: np.ndarray) -> np.ndarray:
        s = self.spec
        over = np.maximum(n - s.baseline_notional, 0.0) / s.increment_notional
        return np.ceil(np.round(over, 12))

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        s = self.spec
        return np.minimum(s.base_initial_rate + s.increment_rate * self._steps(n), 1.0)

    def maintenance_pieces(self, open_interest: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One piece, N x rate (less nothing: N x rate - 0.0 is N x rate to the bit)."""
        return np.zeros(0), np.array([self.spec.maintenance_rate]), np.zeros(1)

    def _maintenance(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return n * self.spec.maintenance_rate

    def _tier(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return np.minimum(self._steps(n), self.n_tiers - 1) + 1

    def _liquidation_price(self, q: np.ndarray, c: np.ndarray, open_interest: float,
                           mark: float | None) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            price = c / (np.abs(q) * self.spec.maintenance_rate - q)
        return np.where((q != 0) & (price > 0), price, np.nan)

    def _table(self, open_interest: float) -> pd.DataFrame:
        s = self.spec
        k = np.arange(self.n_tiers)
        floors = np.where(k == 0, 0.0, s.baseline_notional + (k - 1) * s.increment_notional)
        caps = np.minimum(s.baseline_notional + k * s.increment_notional, s.max_notional)
        rates = np.minimum(s.base_initial_rate + s.increment_rate * k, 1.0)
        return pd.DataFrame(
            {
                "tier": k + 1,
                "notional_floor": floors,
                "notional_cap": caps,
                "max_leverage": 1.0 / rates,
                "initial_rate": rates,
                "maintenance_rate": s.maintenance_rate,
                "maintenance_amount": 0.0,
            }
        )

