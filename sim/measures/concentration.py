"""Concentration of open interest: HHI, top-k share, Gini and Lorenz curve, per side and per tier.

The per-step measures run over up to 100,000 accounts, so they are vectorised and group accounts by
integer entity code with ``np.bincount``.
"""

from __future__ import annotations

import numba
import numpy as np

SIDES = ("long", "short")


def _amounts(amounts: np.ndarray) -> np.ndarray:
    """The amounts as a 1-D float array; refuses negative values, which have no share."""
    values = np.asarray(amounts, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"amounts must be 1-D, got shape {values.shape}")
    if values.size and values.min() < 0:
        raise ValueError("amounts must be non-negative")
    return values


def hhi(amounts: np.ndarray) -> float:
    """Herfindahl-Hirschman index: sum of squared shares of non-negative amounts, in [1/n, 1].

    0.0 when the total is 0 (nothing is concentrated when nothing is held).
    """
    values = _amounts(amounts)
    return float(_ratio(_sum(values * values), _sum(values) ** 2))


def top_share(amounts: np.ndarray, k: int) -> float:
    """Share of the total held by the k largest amounts.

    1.0 when k covers every positive amount, 0.0 when the total is 0 or k is 0.
    """
    values = _amounts(amounts)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return float(_top_share(np.sort(values), _sum(values), k, np.count_nonzero(values)))


def gini(amounts: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts: 0 when equal, (n-1)/n when one holds everything.

    Population form (mean absolute difference / twice the mean); 0.0 when the total is 0.
    """
    values = np.sort(_amounts(amounts))
    return float(_gini(values, _sum(values))) if values.size else 0.0


def lorenz_curve(amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve: cumulative population share and value share, smallest amounts first.

    Both arrays have n + 1 points from 0 to 1; a zero total or empty input gives the equality line.
    """
    values = np.sort(_amounts(amounts))
    if values.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    population = np.linspace(0.0, 1.0, values.size + 1)
    total = float(values.sum())
    if total <= 0:
        return population, population.copy()
    value = np.concatenate(([0.0], np.cumsum(values) / total))
    value[-1] = 1.0
    return population, value


def by_entity(amounts: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """Amounts summed per entity code (codes >= 0), entities with a zero sum dropped.

    The exchange sees accounts; the study sees entities (one whale may split across accounts).
    """
    values = np.asarray(amounts, dtype=float)
    codes = np.asarray(entity)
    if values.shape != codes.shape:
        raise ValueError(f"amounts {values.shape} and entity {codes.shape} differ in shape")
    if values.size == 0:
        return np.zeros(0)
    sums = np.bincount(codes, weights=values)
    return sums[sums != 0]


def concentration(
    position: np.ndarray,
    mark: float,
    entity: np.ndarray,
    is_whale: np.ndarray,
    top_k: int = 10,
) -> dict[str, float]:
    """Concentration of open interest per side and over both sides, on notional |position| x mark.

    Per side (suffix _long/_short): HHI over accounts and entities, top-1 and top-k share (key
    ``top10_share`` whatever top_k is), Gini over the side's open accounts, whale share. Without
    suffix, both sides pooled: each entity counts its gross notional (long plus short accounts).
    ``open_interest_notional`` is the long side's notional; ``accounts_open`` counts position != 0.

    Shares do not depend on the mark, so they are computed on |position| itself: given positions in
    whole lots (and the value of a lot as ``mark``), every sum is of whole numbers and exact, whatever
    the order of the accounts. One compiled pass over the accounts (``_concentration``), as the model
    measures every step over up to a million accounts.
    """
    position = np.asarray(position, dtype=float)
    entity = np.asarray(entity, dtype=np.int64)
    whale = np.asarray(is_whale, dtype=bool)
    if not position.shape == entity.shape == whale.shape:
        raise ValueError(
            f"position {position.shape}, entity {entity.shape} and is_whale {whale.shape} "
            "must have the same shape"
        )
    if top_k < 0:
        raise ValueError(f"k must be >= 0, got {top_k}")
    values = _concentration(position, entity, whale, top_k).tolist()
    out = dict(zip(_CONCENTRATION_KEYS, values[:-2], strict=True))
    out["open_interest_notional"] = values[-2] * float(mark)
    out["accounts_open"] = int(values[-1])
    return out


_CONCENTRATION_KEYS = [f"{name}_{side}" for side in SIDES for name in (
    "hhi_accounts", "hhi_entities", "top1_share", "top10_share", "gini", "whale_share")] + [
    "hhi_accounts", "hhi_entities", "top10_share", "whale_share"]


@numba.njit("float64(float64, float64)", cache=True)
def _ratio(part: float, total: float) -> float:
    return part / total if total > 0 else 0.0


@numba.njit("float64(float64[:])", cache=True)
def _sum(values: np.ndarray) -> float:
    """The sum, element after element (the order every measure here sums in)."""
    total = 0.0
    for value in values:
        total += value
    return total


@numba.njit("float64(float64[:], float64, int64, int64)", cache=True)
def _top_share(ascending: np.ndarray, total: float, k: int, count: int) -> float:
    """Share of ``total`` in the k largest amounts (``ascending`` holds at least those, sorted); 1 when
    k covers all ``count`` amounts, 0 when the total is 0 or k is 0."""
    if total <= 0 or k == 0:
        return 0.0
    if k >= count:
        return 1.0
    largest = 0.0
    for i in range(len(ascending) - k, len(ascending)):
        largest += ascending[i]
    return largest / total


@numba.njit("float64(float64[:], float64)", cache=True)
def _gini(ascending: np.ndarray, total: float) -> float:
    """sum_i (2i - n - 1) x_i / (n sum x) over amounts sorted ascending, i from 1; 0 when all equal."""
    n = len(ascending)
    if total <= 0 or ascending[0] == ascending[n - 1]:
        return 0.0
    weighted = 0.0
    for i in range(n):
        weighted += (2 * i + 1 - n) * ascending[i]
    return max(0.0, weighted / (n * total))


@numba.njit("float64[:](float64[:], int64[:], boolean[:], int64)", cache=True)
def _concentration(position: np.ndarray, entity: np.ndarray, whale: np.ndarray, top_k: int) -> np.ndarray:
    """The values ``concentration`` names (in ``_CONCENTRATION_KEYS`` order: long side, short side,
    pooled), then the long side's amount and the count of open accounts.

    Sums run in a fixed order: accounts as given, entities by code, sorted amounts ascending.
    """
    held = np.abs(position)
    open_ = np.flatnonzero(held)
    side = np.where(position[open_] > 0, 0, 1)              # 0 long, 1 short
    total, squares, whales = np.zeros(2), np.zeros(2), np.zeros(2)
    for j in range(len(open_)):
        x = held[open_[j]]
        total[side[j]] += x
        squares[side[j]] += x * x
        if whale[open_[j]]:
            whales[side[j]] += x
    # each entity's amount per side: accounts grouped by code (sorted if not already in order)
    codes = entity[open_]
    order = np.arange(len(open_)) if np.all(codes[1:] >= codes[:-1]) else np.argsort(codes, kind="mergesort")
    entity_squares, gross_squares = np.zeros(2), 0.0
    j = 0
    while j < len(order):
        code, long_, short = codes[order[j]], 0.0, 0.0
        while j < len(order) and codes[order[j]] == code:
            if side[order[j]] == 0:
                long_ += held[open_[order[j]]]
            else:
                short += held[open_[order[j]]]
            j += 1
        entity_squares[0] += long_ * long_
        entity_squares[1] += short * short
        gross_squares += (long_ + short) * (long_ + short)
    out = np.zeros(18)
    tops = np.zeros(0)
    for s in range(2):
        ascending = np.sort(held[open_[side == s]])
        count = len(ascending)
        out[6 * s] = _ratio(squares[s], total[s] * total[s])
        out[6 * s + 1] = _ratio(entity_squares[s], total[s] * total[s])
        out[6 * s + 2] = _top_share(ascending, total[s], 1, count)
        out[6 * s + 3] = _top_share(ascending, total[s], top_k, count)
        out[6 * s + 4] = _gini(ascending, total[s]) if count else 0.0
        out[6 * s + 5] = _ratio(whales[s], total[s])
        tops = np.concatenate((tops, ascending[max(count - top_k, 0):]))
    both = total[0] + total[1]
    out[12] = _ratio(squares[0] + squares[1], both * both)
    out[13] = _ratio(gross_squares, both * both)
    out[14] = _top_share(np.sort(tops), both, top_k, len(open_))
    out[15] = _ratio(whales[0] + whales[1], both)
    out[16] = total[0]
    out[17] = len(open_)
    return out


def tier_open_interest(
    position: np.ndarray, mark: float, tier: np.ndarray, n_tiers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Notional and count of open positions in each tier 1..n_tiers (index 0 is tier 1).

    Both sides count, so the notionals sum to twice the open interest; closed accounts are ignored.
    """
    if n_tiers < 1:
        raise ValueError(f"n_tiers must be >= 1, got {n_tiers}")
    position = np.asarray(position, dtype=float)
    tier = np.asarray(tier, dtype=np.int64)
    if position.shape != tier.shape:
        raise ValueError(f"position {position.shape} and tier {tier.shape} differ in shape")
    is_open = position != 0
    slot = tier[is_open] - 1
    if slot.size and (slot.min() < 0 or slot.max() >= n_tiers):
        raise ValueError(f"tier of an open position outside 1..{n_tiers}")
    notional = np.bincount(slot, weights=np.abs(position[is_open]) * float(mark), minlength=n_tiers)
    count = np.bincount(slot, minlength=n_tiers).astype(np.int64)
    return notional, count

