"""Concentration of open interest: HHI, top-k share, Gini and Lorenz curve, per side and per tier.

The per-step measures run over up to 100,000 accounts, so they are vectorised and group accounts by
integer entity code with ``np.bincount``.
"""

from __future__ import annotations

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


def _hhi(values: np.ndarray, total: float) -> float:
    """HHI of validated amounts whose sum is already known (einsum, not BLAS dot: faster here)."""
    if total <= 0:
        return 0.0
    shares = values / total
    return float(np.einsum("i,i->", shares, shares))


def _top_share_sorted(parts: tuple[np.ndarray, ...], total: float, k: int) -> float:
    """Top-k share of amounts given as parts each sorted ascending, without sorting them again."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if total <= 0 or k == 0:
        return 0.0
    positive = sum(part.size - int(np.searchsorted(part, 0.0, side="right")) for part in parts)
    if k >= positive:
        return 1.0
    largest = parts[0][-k:] if len(parts) == 1 else np.sort(np.concatenate([part[-k:] for part in parts]))[-k:]
    return float(largest.sum() / total)


def _gini_sorted(ascending: np.ndarray, total: float) -> float:
    """Gini of amounts already sorted ascending: sum_i (2i - n - 1) x_i / (n sum x), i from 1."""
    n = ascending.size
    if total <= 0 or ascending[0] == ascending[-1]:
        return 0.0
    weights = np.arange(1 - n, n, 2, dtype=float)
    return float(max(0.0, np.einsum("i,i->", weights, ascending) / (n * total)))


def _share(part: float, total: float) -> float:
    """part / total, 0.0 when there is nothing to share."""
    return float(part / total) if total > 0 else 0.0


def hhi(amounts: np.ndarray) -> float:
    """Herfindahl-Hirschman index: sum of squared shares of non-negative amounts, in [1/n, 1].

    0.0 when the total is 0 (nothing is concentrated when nothing is held).
    """
    values = _amounts(amounts)
    return _hhi(values, float(values.sum()))


def top_share(amounts: np.ndarray, k: int) -> float:
    """Share of the total held by the k largest amounts.

    1.0 when k covers every positive amount, 0.0 when the total is 0 or k is 0.
    """
    values = _amounts(amounts)
    total = float(values.sum())
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if total <= 0 or k == 0:
        return 0.0
    if k >= np.count_nonzero(values):
        return 1.0
    largest = np.partition(values, values.size - k)[values.size - k :]
    return float(largest.sum() / total)


def gini(amounts: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts: 0 when equal, (n-1)/n when one holds everything.

    Population form (mean absolute difference / twice the mean); 0.0 when the total is 0.
    """
    values = np.sort(_amounts(amounts))
    return _gini_sorted(values, float(values.sum()))


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
    """
    position = np.asarray(position, dtype=float)
    entity = np.asarray(entity)
    whale = np.asarray(is_whale, dtype=bool)
    if not position.shape == entity.shape == whale.shape:
        raise ValueError(
            f"position {position.shape}, entity {entity.shape} and is_whale {whale.shape} "
            "must have the same shape"
        )
    notional = np.abs(position) * float(mark)
    side = np.sign(position).astype(np.int64) + 1
    side_total = np.bincount(side, weights=notional, minlength=3)
    side_whale = np.bincount(side, weights=np.where(whale, notional, 0.0), minlength=3)
    if entity.size:
        slots = 3 * (int(entity.max()) + 1)
        entity_side = np.bincount(3 * entity + side, weights=notional, minlength=slots)
        entity_side = entity_side.reshape(-1, 3)
    else:
        entity_side = np.zeros((0, 3))
    out: dict[str, float] = {}
    ascending: dict[str, np.ndarray] = {}
    for name, code in (("long", 2), ("short", 0)):
        held = np.sort(notional[side == code])
        total = float(side_total[code])
        ascending[name] = held
        out[f"hhi_accounts_{name}"] = _hhi(held, total)
        by_entity_side = entity_side[:, code]
        out[f"hhi_entities_{name}"] = _hhi(by_entity_side, float(by_entity_side.sum()))
        out[f"top1_share_{name}"] = _top_share_sorted((held,), total, 1)
        out[f"top10_share_{name}"] = _top_share_sorted((held,), total, top_k)
        out[f"gini_{name}"] = _gini_sorted(held, total)
        out[f"whale_share_{name}"] = _share(float(side_whale[code]), total)

    total = float(side_total[0] + side_total[2])
    out["hhi_accounts"] = _hhi(notional, total)
    gross = entity_side[:, 0] + entity_side[:, 2]
    out["hhi_entities"] = _hhi(gross, float(gross.sum()))
    out["top10_share"] = _top_share_sorted((ascending["long"], ascending["short"]), total, top_k)
    out["whale_share"] = _share(float(side_whale[0] + side_whale[2]), total)
    out["open_interest_notional"] = float(side_total[2])
    out["accounts_open"] = int(np.count_nonzero(position))
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

