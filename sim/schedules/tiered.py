"""Tiered brackets (Binance's continuous form, Bybit's ``whole`` step form) and the flat schedule.

A bracket caps the leverage of positions up to its notional cap and sets their maintenance rate.
Binance: IM = N / the max leverage of N's bracket; MM = N x mmr_k - cum_k, with
cum_k = cum_{k-1} + floor_k x (mmr_k - mmr_{k-1}) so that MM is continuous. ``whole`` charges the
whole notional at its bracket's rate. ``flat`` is one bracket: the control arm of most experiments.
"""

from __future__ import annotations

import bisect
import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, PositiveFloat, model_validator

from sim.schedules.fields import param
from sim.schedules.pieces import initial_in_pieces, pieces_holding
from sim.schedules.schedule import ArrayLike, Schedule, SpecBase, as_array, like


class Bracket(BaseModel):
    """One bracket: positions up to ``cap`` notional may use up to ``max_leverage``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cap: PositiveFloat = param(math.inf, "USD", "largest notional in the bracket (the last one's is unlimited by default)")
    max_leverage: PositiveFloat = param(..., "x", "highest leverage a position in the bracket may open with: "
                                        "initial margin = notional / max_leverage")
    maintenance_rate: PositiveFloat = param(..., "fraction", "maintenance margin rate on notional in the bracket")

    @model_validator(mode="after")
    def _maintenance_below_initial(self) -> Bracket:
        initial_rate = 1.0 / self.max_leverage
        if self.maintenance_rate >= initial_rate:
            raise ValueError(
                f"maintenance_rate: {self.maintenance_rate:g} is not below the initial rate "
                f"{initial_rate:g} (1 / max_leverage {self.max_leverage:g})"
            )
        return self


class TieredSpec(SpecBase):
    kind: Literal["tiered"] = param(..., "-", "schedule family: brackets of notional")
    mode: Literal["continuous", "whole"] = param(
        "continuous", "-", "continuous: maintenance continuous in notional (Binance); "
        "whole: the whole notional at its bracket's rate (Bybit)")
    brackets: list[Bracket] = param(..., "-", "the brackets, in rising cap", min_length=1)

    @model_validator(mode="after")
    def _monotone(self) -> TieredSpec:
        for i in range(1, len(self.brackets)):
            lower, upper = self.brackets[i - 1], self.brackets[i]
            where = f"brackets.{i}"
            if not upper.cap > lower.cap:
                raise ValueError(f"{where}.cap: {upper.cap:g} is not above the previous cap {lower.cap:g}")
            if upper.max_leverage > lower.max_leverage:
                raise ValueError(
                    f"{where}.max_leverage: {upper.max_leverage:g} rises with size "
                    f"(previous bracket allows {lower.max_leverage:g})"
                )
            if upper.maintenance_rate < lower.maintenance_rate:
                raise ValueError(
                    f"{where}.maintenance_rate: {upper.maintenance_rate:g} falls with size "
                    f"(previous bracket has {lower.maintenance_rate:g})"
                )
        return self


class FlatSpec(SpecBase):
    kind: Literal["flat"] = param(..., "-", "schedule family: one rate for every size")
    max_leverage: PositiveFloat = param(..., "x", "highest leverage: initial margin = notional / max_leverage")
    maintenance_rate: PositiveFloat = param(..., "fraction", "maintenance margin rate on notional")
    max_notional: PositiveFloat = param(math.inf, "USD", "largest position notional allowed")

    @model_validator(mode="after")
    def _maintenance_below_initial(self) -> FlatSpec:
        Bracket(cap=self.max_notional, max_leverage=self.max_leverage, maintenance_rate=self.maintenance_rate)
        return self


class Tiered(Schedule):
    """Brackets of (cap, max leverage, maintenance rate); MM continuous unless ``mode: whole``."""

    def __init__(self, spec: TieredSpec | FlatSpec):
        if isinstance(spec, FlatSpec):
            brackets = [Bracket(cap=spec.max_notional, max_leverage=spec.max_leverage,
                                maintenance_rate=spec.maintenance_rate)]
            self.mode = "continuous"
        else:
            brackets = spec.brackets
            self.mode = spec.mode
        super().__init__(spec)
        self.caps = np.array([b.cap for b in brackets])
        self.floors = np.concatenate([[0.0], self.caps[:-1]])
        self._inner_caps = self.caps[:-1].copy()
        self._cap_list = self._inner_caps.tolist()
        self.leverages = np.array([b.max_leverage for b in brackets])
        self.initial_rates = 1.0 / self.leverages
        self.rates = np.array([b.maintenance_rate for b in brackets])
        if self.mode == "whole":
            self.amounts = np.zeros_like(self.rates)
        else:
            steps = self.floors * np.diff(self.rates, prepend=0.0)
            self.amounts = np.cumsum(steps)

    @property
    def notional_limit(self) -> float:
        return float(self.caps[-1])

    @property
    def n_tiers(self) -> int:
        return len(self.caps)

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.floors, self.caps, self.initial_rates

    def _bracket(self, n: np.ndarray | float) -> np.ndarray | int:
        # searching the caps below the last gives min(bracket, last) without a second call
        if isinstance(n, float):            # one notional: bisect, cheaper to call (NaN: past every cap)
            return bisect.bisect_left(self._cap_list, n) if n == n else len(self._cap_list)
        return pieces_holding(np.ravel(n), self._inner_caps).reshape(np.shape(n))

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return self.initial_rates[self._bracket(n)]

    def initial_margin(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """``Schedule.initial_margin``; many notionals in one compiled pass over the brackets."""
        if isinstance(notional, float):
            return super().initial_margin(notional, open_interest)
        n = as_array(notional)
        margin = initial_in_pieces(np.ravel(n), self._inner_caps, self.initial_rates, self.notional_limit)
        return like(margin.reshape(n.shape), notional)

    def maintenance_pieces(self, open_interest: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._inner_caps, self.rates, self.amounts

    def _maintenance(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        k = self._bracket(n)
        return n * self.rates[k] - self.amounts[k]

    def _tier(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return self._bracket(n) + 1

    def _liquidation_price(self, q: np.ndarray, c: np.ndarray, open_interest: float,
                           mark: float | None) -> np.ndarray:
        """Solve c + q p = |q| p rate_k - amount_k in each bracket; keep the one inside its bracket.

        The last bracket extends past its cap (a short's notional grows as the price rises), and in
        ``whole`` mode a short is also liquidated where maintenance jumps above equity at a cap.
        """
        qa = np.abs(q)[..., None]
        denom = qa * self.rates - q[..., None]
        caps = np.concatenate([self.caps[:-1], [np.inf]])
        with np.errstate(divide="ignore", invalid="ignore"):
            price = (c[..., None] + self.amounts) / denom
            notional = qa * price
            at_cap = self.caps[:-1] / qa
            equity_at_cap = c[..., None] + q[..., None] * at_cap
        inside = (price > 0) & (notional > self.floors) & (notional <= caps)
        below = self.caps[:-1] * self.rates[:-1] - self.amounts[:-1]
        above = self.caps[:-1] * self.rates[1:] - self.amounts[1:]
        jump = (q < 0)[..., None] & (equity_at_cap >= below) & (equity_at_cap < above)
        price = np.concatenate([price, at_cap], axis=-1)
        inside = np.concatenate([inside, jump], axis=-1)
        return self._first_threshold(np.where(inside, price, np.nan), q, c, open_interest, mark)

    def _table(self, open_interest: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "tier": np.arange(1, len(self.caps) + 1),
                "notional_floor": self.floors,
                "notional_cap": self.caps,
                "max_leverage": self.leverages,
                "initial_rate": 1.0 / self.leverages,
                "maintenance_rate": self.rates,
                "maintenance_amount": self.amounts,
            }
        )

