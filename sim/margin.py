"""Margin schedules: initial and maintenance margin as functions of a position's notional.

Every function takes scalars or numpy arrays of notional (USD, >= 0) and returns the same shape.
Schedules are pure: they import nothing of the project, so they are read and tested alone.
Kinds: ``tiered`` (Binance's continuous brackets, or Bybit's ``whole`` step form), ``flat``,
``incremental`` (dYdX v3), ``size_premium`` (Drift-style square root) and ``open_interest``
(dYdX v4: the rate rises with the market's total open interest).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, model_validator

ArrayLike = float | np.ndarray


class SpecError(ValueError):
    """A schedule or config that cannot be used; the message is one line naming source and field."""


def describe_validation_error(err: ValidationError, source: str) -> str:
    """One line naming the source, the first offending field and what is wrong with it."""
    first = err.errors()[0]
    location = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    message = first["msg"].removeprefix("Value error, ")
    if ": " in message and not location and first["type"] == "value_error":
        location, message = message.split(": ", 1)
    elif ": " in message and first["type"] == "value_error" and message.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum():
        head, message = message.split(": ", 1)
        location = f"{location}.{head}"
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "missing required value"
    suffix = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    where = f"{source}: {location}: " if location else f"{source}: "
    return f"{where}{message}{suffix}"


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into one SpecError line naming the path."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file (not valid UTF-8)") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: not valid YAML{where}: {problem}") from None


# --------------------------------------------------------------------------------------------
# Specs: what a schedule file says, validated.
# --------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    description: str = ""
    source: str = ""


class Bracket(BaseModel):
    """One bracket: positions up to ``cap`` notional may use up to ``max_leverage``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cap: PositiveFloat = math.inf
    max_leverage: PositiveFloat
    maintenance_rate: PositiveFloat

    @model_validator(mode="after")
    def _maintenance_below_initial(self) -> Bracket:
        initial_rate = 1.0 / self.max_leverage
        if self.maintenance_rate >= initial_rate:
            raise ValueError(
                f"maintenance_rate: {self.maintenance_rate:g} is not below the initial rate "
                f"{initial_rate:g} (1 / max_leverage {self.max_leverage:g})"
            )
        return self


class TieredSpec(_Spec):
    kind: Literal["tiered"]
    mode: Literal["continuous", "whole"] = "continuous"
    brackets: list[Bracket] = Field(min_length=1)

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


class FlatSpec(_Spec):
    kind: Literal["flat"]
    max_leverage: PositiveFloat
    maintenance_rate: PositiveFloat
    max_notional: PositiveFloat = math.inf

    @model_validator(mode="after")
    def _maintenance_below_initial(self) -> FlatSpec:
        Bracket(cap=self.max_notional, max_leverage=self.max_leverage, maintenance_rate=self.maintenance_rate)
        return self


class IncrementalSpec(_Spec):
    """dYdX v3: IMF = base + increment_rate x ceil(max(0, N - baseline) / increment); MMF fixed."""

    kind: Literal["incremental"]
    base_initial_rate: PositiveFloat
    increment_rate: PositiveFloat
    baseline_notional: PositiveFloat
    increment_notional: PositiveFloat
    maintenance_rate: PositiveFloat
    max_notional: PositiveFloat

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


class SizePremiumSpec(_Spec):
    """Drift-style: rate(N) = max(base, (1 - discount) x base + imf_factor x sqrt(N / unit_notional))."""

    kind: Literal["size_premium"]
    base_initial_rate: PositiveFloat
    base_maintenance_rate: PositiveFloat
    imf_factor: PositiveFloat
    unit_notional: PositiveFloat = 1_000_000.0
    discount: float = Field(default=0.2, ge=0.0, lt=1.0)
    max_notional: PositiveFloat

    @model_validator(mode="after")
    def _consistent(self) -> SizePremiumSpec:
        if self.base_maintenance_rate >= self.base_initial_rate:
            raise ValueError(
                f"base_maintenance_rate: {self.base_maintenance_rate:g} is not below "
                f"base_initial_rate {self.base_initial_rate:g}"
            )
        return self


class OpenInterestSpec(_Spec):
    """dYdX v4 liquidity tier: IMF = min(base + max(scale x (1 - base), 0), 1), scale from market OI."""

    kind: Literal["open_interest"]
    base_initial_rate: PositiveFloat = Field(lt=1.0)
    maintenance_fraction: PositiveFloat = Field(lt=1.0)
    open_interest_lower_cap: float = Field(ge=0.0)
    open_interest_upper_cap: PositiveFloat
    max_notional: PositiveFloat = math.inf

    @model_validator(mode="after")
    def _caps(self) -> OpenInterestSpec:
        if not self.open_interest_upper_cap > self.open_interest_lower_cap:
            raise ValueError("open_interest_upper_cap: is not above open_interest_lower_cap")
        return self


SPEC_BY_KIND: dict[str, type[_Spec]] = {
    "tiered": TieredSpec,
    "flat": FlatSpec,
    "incremental": IncrementalSpec,
    "size_premium": SizePremiumSpec,
    "open_interest": OpenInterestSpec,
}


# --------------------------------------------------------------------------------------------
# Schedules: the vectorised maths.
# --------------------------------------------------------------------------------------------


def _as_array(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _like(result: np.ndarray, template: ArrayLike) -> ArrayLike:
    return float(result) if np.ndim(template) == 0 else result


class Schedule(ABC):
    """Margin requirement as a function of notional (and, for some kinds, market open interest)."""

    spec: Any
    uses_open_interest = False

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def name(self) -> str:
        return self.spec.name or self.spec.kind

    @property
    @abstractmethod
    def notional_limit(self) -> float:
        """Largest notional the schedule lets any account open (orders beyond it are refused)."""

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
        n = _as_array(notional)
        rate = self._initial_rate(n, open_interest)
        return _like(np.where(n > self.notional_limit, np.inf, rate), notional)

    def initial_margin(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Collateral needed to open a position of this notional (infinite past the limit)."""
        n = _as_array(notional)
        rate = _as_array(self.initial_rate(n, open_interest))
        return _like(np.where(n > 0, n * rate, 0.0), notional)

    def maintenance_margin(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Equity below which a position of this notional is liquidated."""
        n = _as_array(notional)
        return _like(np.maximum(self._maintenance(n, open_interest), 0.0), notional)

    def maintenance_rate(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Maintenance margin per unit of notional (the limit as notional goes to zero at zero)."""
        n = _as_array(notional)
        safe = np.where(n > 0, n, 1e-12)
        return _like(self._maintenance(safe, open_interest) / safe, notional)

    def max_leverage(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest leverage allowed at this notional: 1 / initial rate (zero past the limit)."""
        rate = _as_array(self.initial_rate(notional, open_interest))
        return _like(1.0 / rate, notional)

    def tier(self, notional: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Tier number, from 1 for the smallest positions."""
        n = _as_array(notional)
        t = self._tier(n, open_interest).astype(np.int64)
        return int(t) if np.ndim(notional) == 0 else t

    def max_notional(self, equity: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest notional whose initial margin the equity covers (0 for equity <= 0).

        Where the initial rate is constant on pieces of notional, the answer is exact: on each
        piece (floor, cap] at rate r the equity reaches min(cap, E / r) if that passes the floor.
        Where rounding puts (E / r) x r one ulp above E, the notional steps down one ulp.
        """
        pieces = self._initial_pieces(open_interest)
        if pieces is None:
            return self._largest_notional(self.initial_margin, equity, open_interest)
        floors, caps, rates = pieces
        e = np.maximum(_as_array(equity), 0.0)[..., None]
        reach = e / rates
        candidate = np.where((reach > floors) | (floors == 0), np.minimum(reach, caps), 0.0)
        most = candidate.max(axis=-1)
        over = _as_array(self.initial_margin(most, open_interest)) > e[..., 0]
        return _like(np.where(over, np.nextafter(most, 0.0), most), equity)

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(floors, caps, initial rates) where the initial rate is constant on each piece, else None."""
        return None

    def maintenance_capacity(self, equity: ArrayLike, open_interest: float = 0.0) -> ArrayLike:
        """Largest notional whose maintenance margin the equity covers: where a partial
        liquidation can stop."""
        return self._largest_notional(self.maintenance_margin, equity, open_interest)

    def _largest_notional(self, requirement, equity: ArrayLike, open_interest: float) -> ArrayLike:
        """Largest N with requirement(N) <= equity, by vectorised bisection.

        Requirements rise with notional in every kind, so bisection finds the boundary to float
        precision, even where the requirement jumps between brackets.
        """
        e = np.maximum(_as_array(equity), 0.0)
        floor_rate = float(self.maintenance_rate(np.zeros(1) + 1e-9, open_interest)[0])
        hi = np.minimum(e / floor_rate, self.notional_limit)
        lo = np.zeros_like(hi)
        fits = _as_array(requirement(hi, open_interest)) <= e
        lo = np.where(fits, hi, lo)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if np.all((mid <= lo) | (mid >= hi)):
                break
            ok = _as_array(requirement(mid, open_interest)) <= e
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        return _like(lo, equity)

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
        q = _as_array(position)
        c = _as_array(quote)
        q, c = np.broadcast_arrays(q, c)
        result = self._liquidation_price(q.astype(float), c.astype(float), open_interest, mark)
        return _like(result, position if np.ndim(position) else quote)

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
                healthy = c + q * mark >= _as_array(self.maintenance_margin(np.abs(q) * mark, open_interest))
                falling = (q > 0) == healthy
        chosen = np.where(falling, below, above)
        return np.where(np.isfinite(chosen) & (q != 0), chosen, np.nan)

    def _liquidation_price(self, q: np.ndarray, c: np.ndarray, open_interest: float,
                           mark: float | None) -> np.ndarray:
        """Root of f(p) = c + q p - MM(|q| p) by bracketing and bisection (for non-linear kinds)."""
        long = q > 0
        short = q < 0

        def gap(p: np.ndarray) -> np.ndarray:
            return c + q * p - _as_array(self.maintenance_margin(np.abs(q) * p, open_interest))

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
        self.spec = spec
        self.caps = np.array([b.cap for b in brackets])
        self.floors = np.concatenate([[0.0], self.caps[:-1]])
        self.leverages = np.array([b.max_leverage for b in brackets])
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
        return self.floors, self.caps, 1.0 / self.leverages

    def _bracket(self, n: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.caps, n, side="left"), len(self.caps) - 1)

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        return 1.0 / self.leverages[self._bracket(n)]

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


class Incremental(Schedule):
    """dYdX v3: the initial fraction steps up by ``increment_rate`` per increment past a baseline."""

    def __init__(self, spec: IncrementalSpec):
        self.spec = spec

    @property
    def notional_limit(self) -> float:
        return self.spec.max_notional

    @property
    def n_tiers(self) -> int:
        s = self.spec
        return 1 + math.ceil((s.max_notional - s.baseline_notional) / s.increment_notional)

    def _initial_pieces(self, open_interest: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not hasattr(self, "_pieces"):
            table = self._table(open_interest)
            self._pieces = tuple(table[c].to_numpy() for c in ("notional_floor", "notional_cap", "initial_rate"))
        return self._pieces

    def _steps(self, n: np.ndarray) -> np.ndarray:
        s = self.spec
        over = np.maximum(n - s.baseline_notional, 0.0) / s.increment_notional
        return np.ceil(np.round(over, 12))

    def _initial_rate(self, n: np.ndarray, open_interest: float) -> np.ndarray:
        s = self.spec
        return np.minimum(s.base_initial_rate + s.increment_rate * self._steps(n), 1.0)

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


class SizePremium(Schedule):
    """Drift-style size premium: rates grow with the square root of notional past a threshold."""

    def __init__(self, spec: SizePremiumSpec):
        self.spec = spec

    @property
    def notional_limit(self) -> float:
        return self.spec.max_notional

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


class OpenInterestScaled(Schedule):
    """dYdX v4: one rate for every position, rising linearly with the market's open interest."""

    uses_open_interest = True

    def __init__(self, spec: OpenInterestSpec):
        self.spec = spec

    @property
    def notional_limit(self) -> float:
        return self.spec.max_notional

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


_KINDS = {
    "tiered": Tiered,
    "flat": Tiered,
    "incremental": Incremental,
    "size_premium": SizePremium,
    "open_interest": OpenInterestScaled,
}


def build_schedule(spec: Any) -> Schedule:
    """The schedule for a validated spec."""
    return _KINDS[spec.kind](spec)


def parse_schedule_spec(data: Any, source: str = "schedule") -> Any:
    """Validate a mapping as a schedule spec, raising SpecError with one line naming the field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    kind = data.get("kind")
    if kind is None:
        raise SpecError(f"{source}: kind: missing required value (one of {', '.join(SPEC_BY_KIND)})")
    if kind not in SPEC_BY_KIND:
        raise SpecError(f"{source}: kind: unknown schedule kind {kind!r} (one of {', '.join(SPEC_BY_KIND)})")
    try:
        return SPEC_BY_KIND[kind].model_validate(data)
    except ValidationError as err:
        raise SpecError(describe_validation_error(err, source)) from None


def load_schedule(path_or_dict: str | Path | dict) -> Schedule:
    """A schedule from a YAML file or a mapping; SpecError (one line) if it is not valid."""
    if isinstance(path_or_dict, dict):
        return build_schedule(parse_schedule_spec(path_or_dict))
    return build_schedule(parse_schedule_spec(read_yaml(path_or_dict), str(path_or_dict)))


def scaled(schedule: Schedule, steepness: float) -> Schedule:
    """The schedule made steeper (> 1) or gentler (< 1): every margin rate times ``steepness``.

    Leverage is divided by the same factor; where that would fall below 1 it is floored at 1 and
    the maintenance rate capped at 50 % (never below a smaller bracket's), so the result passes
    the same validation as a file would.
    """
    if steepness <= 0:
        raise SpecError(f"steepness: must be positive, got {steepness:g}")
    if steepness == 1.0:
        return schedule
    spec = schedule.spec
    data = spec.model_dump()

    def bracket(lev: float, mmr: float) -> tuple[float, float]:
        if lev / steepness >= 1.0:
            return lev / steepness, mmr * steepness
        return 1.0, min(mmr * steepness, 0.5)

    if isinstance(spec, TieredSpec):
        floor = 0.0
        for b in data["brackets"]:
            b["max_leverage"], mmr = bracket(b["max_leverage"], b["maintenance_rate"])
            b["maintenance_rate"] = floor = max(mmr, floor)
    elif isinstance(spec, FlatSpec):
        data["max_leverage"], data["maintenance_rate"] = bracket(spec.max_leverage, spec.maintenance_rate)
    elif isinstance(spec, OpenInterestSpec):
        data["base_initial_rate"] = min(spec.base_initial_rate * steepness, 0.99)
    else:
        rate_keys = [k for k in data if k.endswith("_rate") or k == "imf_factor"]
        for key in rate_keys:
            data[key] = data[key] * steepness
    data["name"] = f"{schedule.name} x{steepness:g}"
    return build_schedule(parse_schedule_spec(data, f"{schedule.name} x{steepness:g}"))
