"""Concentration of open interest: HHI, top-k share, Gini and Lorenz curve, per side and per tier.

The per-step measures run over up to a million accounts: vectorised, on positions in whole lots, so
that their sums are exact and do not depend on the order of the accounts.
"""

from __future__ import annotations

import numpy as np

from sim.jit import compiled

SIDES = ("long", "short")


def _amounts(amounts: np.ndarray) -> np.ndarray:
    """The amounts as a 1-D float array; refuses negative values, which have no share."""
    values = np.asarray(amounts, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"amounts must be 1-D, got shape {values.shape}")
    if values.size and values.min() < 0:
        raise ValueError("amounts must be non-negative")
    return values


def _ratio(part: float, total: float) -> float:
    """part / total, 0.0 when there is nothing to share."""
    return float(part) / float(total) if total > 0 else 0.0


def _hhi(values: np.ndarray, total: float) -> float:
    """Sum of squared shares of amounts whose sum is ``total`` (exact for whole numbers)."""
    return _ratio((values * values).sum(), float(total) * float(total))


def _top_share(ascending: np.ndarray, total: float, k: int, count: int) -> float:
    """Share of ``total`` in the k largest of amounts sorted ascending (holding at least those);
    1.0 when k covers all ``count`` positive amounts, 0.0 when the total is 0 or k is 0."""
    if total <= 0 or k == 0:
        return 0.0
    if k >= count:
        return 1.0
    return _ratio(ascending[-k:].sum(), total)


def _gini(ascending: np.ndarray, total: float) -> float:
    """sum_i (2i - n - 1) x_i / (n sum x) over amounts sorted ascending, i from 1; 0 when all equal."""
    n = ascending.size
    if n == 0 or total <= 0 or ascending[0] == ascending[-1]:
        return 0.0
    weighted = np.dot(np.arange(1 - n, n, 2, dtype=ascending.dtype), ascending)
    return max(0.0, _ratio(weighted, float(n * total)))


def hhi(amounts: np.ndarray) -> float:
    """Herfindahl-Hirschman index: sum of squared shares of non-negative amounts, in [1/n, 1].

    0.0 when the total is 0 (nothing is concentrated when nothing is held).
    """
    values = _amounts(amounts)
    return _hhi(values, values.sum())


def top_share(amounts: np.ndarray, k: int) -> float:
    """Share of the total held by the k largest amounts.

    1.0 when k covers every positive amount, 0.0 when the total is 0 or k is 0.
    """
    values = _amounts(amounts)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return _top_share(np.sort(values), values.sum(), k, np.count_nonzero(values))


def gini(amounts: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts: 0 when equal, (n-1)/n when one holds everything.

    Population form (mean absolute difference / twice the mean); 0.0 when the total is 0.
    """
    values = np.sort(_amounts(amounts))
    return _gini(values, values.sum())


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
    lots: np.ndarray,
    lot_value: float,
    entity: np.ndarray,
    is_whale: np.ndarray,
    top_k: int = 10,
    ordered: np.ndarray | None = None,
) -> dict[str, float]:
    """Concentration of open interest per side and over both sides, from positions in whole lots.

    Per side (suffix _long/_short): HHI over accounts and entities, top-1 and top-k share (key
    ``top10_share`` whatever top_k is), Gini over the side's open accounts, whale share. Without
    suffix, both sides pooled: each entity counts its gross position (long plus short accounts).
    ``open_interest_notional`` is the long side's lots times ``lot_value`` (a lot's notional);
    ``accounts_open`` counts lots != 0.

    Shares do not depend on the price, so they are computed on the lots themselves: every sum is of
    whole numbers, exact and the same in any order (while sums of squares stay below 2^63, i.e.
    positions below about 3e9 lots), then divided once. ``ordered``, the nonzero lots sorted, may be
    given when the caller keeps them so (the model does, from step to step).
    """
    lots = np.asarray(lots)
    if lots.dtype.kind not in "iu":
        raise ValueError(f"lots must be whole numbers (an integer array), got {lots.dtype}")
    lots = lots.astype(np.int64, copy=False)
    entity = np.asarray(entity, dtype=np.int64)
    whale = np.asarray(is_whale, dtype=bool)
    if not lots.shape == entity.shape == whale.shape:
        raise ValueError(
            f"lots {lots.shape}, entity {entity.shape} and is_whale {whale.shape} must have the same shape"
        )
    if top_k < 0:
        raise ValueError(f"k must be >= 0, got {top_k}")
    ordered = np.sort(lots) if ordered is None else ordered   # shorts (most short first), flat, longs
    shorts, longs = ordered[: np.searchsorted(ordered, 0)], ordered[np.searchsorted(ordered, 0, "right"):]
    sides = {"long": longs, "short": -shorts[::-1]}           # each side's |lots|, ascending
    whales = lots[whale]
    whale_lots = {"long": int(whales[whales > 0].sum()), "short": -int(whales[whales < 0].sum())}
    per_entity = _per_entity(entity, lots)
    out: dict[str, float] = {}
    totals = {name: int(ascending.sum()) for name, ascending in sides.items()}
    squares = {name: int((ascending * ascending).sum()) for name, ascending in sides.items()}
    for column, (name, ascending) in enumerate(sides.items()):
        total = totals[name]
        out[f"hhi_accounts_{name}"] = _ratio(squares[name], float(total) * float(total))
        out[f"hhi_entities_{name}"] = out[f"hhi_accounts_{name}"] if per_entity is None else _hhi(
            per_entity[:, column], total)
        out[f"top1_share_{name}"] = _top_share(ascending, total, 1, ascending.size)
        out[f"top10_share_{name}"] = _top_share(ascending, total, top_k, ascending.size)
        out[f"gini_{name}"] = _gini(ascending, total)
        out[f"whale_share_{name}"] = _ratio(whale_lots[name], total)
    both = totals["long"] + totals["short"]
    count = len(longs) + len(shorts)
    tops = np.sort(np.concatenate([ascending[max(ascending.size - top_k, 0):] for ascending in sides.values()]))
    out["hhi_accounts"] = _ratio(squares["long"] + squares["short"], float(both) * float(both))
    out["hhi_entities"] = out["hhi_accounts"] if per_entity is None else _hhi(per_entity.sum(axis=1), both)
    out["top10_share"] = _top_share(tops, both, top_k, count)
    out["whale_share"] = _ratio(whale_lots["long"] + whale_lots["short"], both)
    out["open_interest_notional"] = float(totals["long"]) * float(lot_value)
    out["accounts_open"] = count
    return out


def _per_entity(entity: np.ndarray, lots: np.ndarray) -> np.ndarray | None:
    """Each entity's long and short lots (columns), entities in code order; None when every account
    is an entity of its own (then an entity's shares are its account's)."""
    if (entity[1:] < entity[:-1]).any():
        order = np.argsort(entity, kind="stable")
        entity, lots = entity[order], lots[order]
    starts = np.flatnonzero(np.concatenate(([True], entity[1:] != entity[:-1])))
    if len(starts) >= len(entity):
        return None
    return np.add.reduceat(np.column_stack([np.maximum(lots, 0), np.maximum(-lots, 0)]), starts, axis=0)


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
    notional, count, outside = _sum_by_tier(np.ascontiguousarray(position), float(mark),
                                            np.ascontiguousarray(tier), n_tiers)
    if outside:
        raise ValueError(f"tier of an open position outside 1..{n_tiers}")
    return notional, count


@compiled("Tuple((float64[:], int64[:], boolean))(float64[:], float64, int64[:], int64)")
def _sum_by_tier(position: np.ndarray, mark: float, tier: np.ndarray, n_tiers: int):
    """Open positions' notional and count per tier, summed position after position (as ``bincount``
    sums), in one compiled pass over the population; and whether an open position's tier is outside
    1..n_tiers."""
    notional = np.zeros(n_tiers)
    count = np.zeros(n_tiers, np.int64)
    for i in range(len(position)):
        if position[i] == 0:
            continue
        slot = tier[i] - 1
        if slot < 0 or slot >= n_tiers:
            return notional, count, True
        notional[slot] += abs(position[i]) * mark
        count[slot] += 1
    return notional, count, False

