"""Concentration and cascade measures of the simulated market.

Pure functions over numpy arrays and pandas DataFrames: they import nothing of the project, so they
are read and tested alone. The per-step ones run over up to 100,000 accounts, so they are vectorised
and group accounts by integer entity code with ``np.bincount``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIDES = ("long", "short")
MOVE_EPS = 1e-12
MIN_TAIL_POINTS = 5

CASCADE_COLUMNS: dict[str, str] = {
    "cascade": "int64",
    "start_step": "int64",
    "end_step": "int64",
    "duration": "int64",
    "count": "int64",
    "events": "int64",
    "notional": "float64",
    "rounds": "int64",
    "long_notional": "float64",
    "short_notional": "float64",
    "bad_debt": "float64",
    "adl_notional": "float64",
    "mark_move": "float64",
    "index_move": "float64",
    "amplification": "float64",
}

SUMMARY_TIMESERIES_COLUMNS = (
    "step",
    "mark",
    "index",
    "hhi_accounts",
    "hhi_entities",
    "top10_share",
    "whale_share",
    "open_interest_notional",
    "insurance_fund",
    "bad_debt",
    "adl_count",
)


# --------------------------------------------------------------------------------------------
# Concentration of amounts
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Cascades
# --------------------------------------------------------------------------------------------


def _largest_move(prices: np.ndarray, up: bool) -> tuple[float, int, int]:
    """Largest peak-to-trough fall (trough-to-peak rise if up) as a positive fraction of its start.

    Returns the move and the positions of its start and end (latest start at that level).
    """
    if prices.size == 0:
        return float("nan"), -1, -1
    if up:
        reference = np.minimum.accumulate(prices)
        moves = prices / reference - 1.0
    else:
        reference = np.maximum.accumulate(prices)
        moves = 1.0 - prices / reference
    end = int(np.argmax(moves))
    start = int(np.flatnonzero(prices[: end + 1] == reference[end])[-1])
    return float(moves[end]), start, end


def _amplification(mark_move: float, index_move: float) -> float:
    """mark_move / index_move; inf when only the mark moved, NaN when neither moved."""
    if np.isnan(mark_move) or np.isnan(index_move):
        return float("nan")
    if index_move > MOVE_EPS:
        return mark_move / index_move
    return float("inf") if mark_move > MOVE_EPS else float("nan")


def _empty_cascades() -> pd.DataFrame:
    """The cascade table with its columns and dtypes and no rows."""
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in CASCADE_COLUMNS.items()})


def detect_cascades(liquidations: pd.DataFrame, timeseries: pd.DataFrame, gap: int) -> pd.DataFrame:
    """Group liquidation rows into cascades and measure each; one row per cascade.

    A cascade is a run of liquidation steps with at most ``gap`` quiet steps between two of them.
    mark_move is the mark's largest move in the cascade's direction (fall for a long-side cascade,
    rise when short notional exceeds long) over steps start-1..end, as a positive fraction.
    index_move is the index's signed move, same direction and base, between the same two steps as
    that mark move. amplification = mark_move / index_move if index_move > 1e-12; else inf if the
    mark moved, NaN if it did not (or if the timeseries has no row in the window).
    """
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    if liquidations is None or len(liquidations) == 0:
        return _empty_cascades()

    step = liquidations["step"].to_numpy(dtype=np.int64)
    steps = np.unique(step)
    breaks = np.flatnonzero(np.diff(steps) > gap + 1)
    cascade_of_step = np.zeros(steps.size, dtype=np.int64)
    cascade_of_step[breaks + 1] = 1
    cascade_of_step = np.cumsum(cascade_of_step)
    code = cascade_of_step[np.searchsorted(steps, step)]
    n = int(cascade_of_step[-1]) + 1
    start = steps[np.concatenate(([0], breaks + 1))]
    end = steps[np.concatenate((breaks, [steps.size - 1]))]

    notional = liquidations["notional"].to_numpy(dtype=float)
    side = liquidations["side"].to_numpy()
    adl = liquidations["taker"].to_numpy() == "adl"
    first_of_liquidation = ~liquidations.duplicated(subset=["step", "account"]).to_numpy()
    rounds = np.zeros(n, dtype=np.int64)
    np.maximum.at(rounds, code, liquidations["round"].to_numpy(dtype=np.int64))

    def total(weights: np.ndarray) -> np.ndarray:
        """Sum of weights per cascade."""
        return np.bincount(code, weights=weights, minlength=n)

    table = pd.DataFrame(
        {
            "cascade": np.arange(n, dtype=np.int64),
            "start_step": start,
            "end_step": end,
            "duration": end - start + 1,
            "count": np.bincount(code[first_of_liquidation], minlength=n).astype(np.int64),
            "events": np.bincount(code, minlength=n).astype(np.int64),
            "notional": total(notional),
            "rounds": rounds,
            "long_notional": total(np.where(side == "long", notional, 0.0)),
            "short_notional": total(np.where(side == "short", notional, 0.0)),
            "bad_debt": total(liquidations["bad_debt"].to_numpy(dtype=float)),
            "adl_notional": total(np.where(adl, notional, 0.0)),
        }
    )

    ts = timeseries.sort_values("step") if len(timeseries) else timeseries
    ts_step = ts["step"].to_numpy(dtype=np.int64) if len(ts) else np.zeros(0, dtype=np.int64)
    ts_mark = ts["mark"].to_numpy(dtype=float) if len(ts) else np.zeros(0)
    ts_index = ts["index"].to_numpy(dtype=float) if len(ts) else np.zeros(0)
    lo = np.searchsorted(ts_step, start - 1, side="left")
    hi = np.searchsorted(ts_step, end, side="right")
    up = (table["short_notional"] > table["long_notional"]).to_numpy()
    mark_move = np.full(n, np.nan)
    index_move = np.full(n, np.nan)
    amplification = np.full(n, np.nan)
    for c in range(n):
        move, a, b = _largest_move(ts_mark[lo[c] : hi[c]], bool(up[c]))
        if a < 0:
            continue
        index = ts_index[lo[c] : hi[c]]
        direction = 1.0 if up[c] else -1.0
        mark_move[c] = move
        index_move[c] = direction * (index[b] - index[a]) / index[a]
        amplification[c] = _amplification(mark_move[c], index_move[c])
    table["mark_move"] = mark_move
    table["index_move"] = index_move
    table["amplification"] = amplification
    return table.astype(CASCADE_COLUMNS)


def tail_exponent(sizes: np.ndarray, xmin: float | None = None) -> float:
    """Power-law exponent alpha of the tail of sizes, continuous MLE (Clauset, Shalizi, Newman 2009).

    alpha = 1 + n / sum(log(x / xmin)) over x >= xmin. Without xmin, the xmin minimising the
    Kolmogorov-Smirnov distance is chosen, as Clauset et al. do. NaN with fewer than 5 points in
    the tail or when they are all equal; non-positive and non-finite sizes are ignored.
    """
    x = np.asarray(sizes, dtype=float).ravel()
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    if xmin is not None:
        if not xmin > 0:
            raise ValueError(f"xmin must be > 0, got {xmin}")
        tail = x[x >= xmin]
        spread = float(np.log(tail / xmin).sum())
        if tail.size < MIN_TAIL_POINTS or spread <= 0:
            return float("nan")
        return 1.0 + tail.size / spread

    n_total = x.size
    if n_total < MIN_TAIL_POINTS:
        return float("nan")
    logs = np.log(x)
    log_suffix = np.cumsum(logs[::-1])[::-1]
    n_tail = n_total - np.arange(n_total)
    spread = log_suffix - n_tail * logs
    first = np.concatenate(([True], x[1:] != x[:-1]))
    candidates = np.flatnonzero(first & (n_tail >= MIN_TAIL_POINTS) & (spread > 0))
    best_alpha, best_distance = float("nan"), np.inf
    for i in candidates:
        n = int(n_tail[i])
        alpha = 1.0 + n / spread[i]
        fitted = 1.0 - (x[i:] / x[i]) ** (1.0 - alpha)
        empirical = np.arange(1, n + 1) / n
        distance = max(np.max(empirical - fitted), np.max(fitted - (empirical - 1.0 / n)))
        if distance < best_distance:
            best_alpha, best_distance = float(alpha), distance
    return best_alpha


# --------------------------------------------------------------------------------------------
# Run summary
# --------------------------------------------------------------------------------------------


def _mean(values: np.ndarray) -> float:
    """Mean, NaN for no values."""
    return float(values.mean()) if values.size else float("nan")


def _peak(values: np.ndarray) -> float:
    """Maximum, NaN for no values."""
    return float(values.max()) if values.size else float("nan")


def summarize(
    timeseries: pd.DataFrame, liquidations: pd.DataFrame, cascades: pd.DataFrame
) -> dict[str, float]:
    """One row of scalars describing a run, for a sweep to stack.

    Counts and sums with nothing to count are 0; means and extremes over nothing are NaN.
    largest_cascade_* are each the maximum over cascades of that column (not one cascade's values);
    amplification statistics use finite amplifications only, infinite ones are counted apart.
    """
    ts = timeseries
    if len(ts):
        missing = [name for name in SUMMARY_TIMESERIES_COLUMNS if name not in ts.columns]
        if missing:
            raise KeyError(f"timeseries lacks columns: {', '.join(missing)}")
        ts = ts.sort_values("step")

    def column(name: str) -> np.ndarray:
        """A timeseries column as floats in step order, empty for an empty timeseries."""
        return ts[name].to_numpy(dtype=float) if len(ts) else np.zeros(0)

    def last(name: str, empty: float) -> float:
        """A column's value at the last step, or ``empty`` without steps."""
        values = column(name)
        return float(values[-1]) if values.size else empty

    hhi_accounts = column("hhi_accounts")
    hhi_entities = column("hhi_entities")
    whale_share = column("whale_share")
    open_interest = column("open_interest_notional")
    insurance = column("insurance_fund")
    mark = column("mark")
    index = column("index")

    if len(liquidations):
        notional = liquidations["notional"].to_numpy(dtype=float)
        side = liquidations["side"].to_numpy()
        liquidation_count = int((~liquidations.duplicated(subset=["step", "account"])).sum())
        liquidation_notional = float(notional.sum())
        long_notional = float(notional[side == "long"].sum())
        short_notional = float(notional[side == "short"].sum())
        adl_notional = float(notional[liquidations["taker"].to_numpy() == "adl"].sum())
    else:
        liquidation_count = 0
        liquidation_notional = long_notional = short_notional = adl_notional = 0.0

    if len(cascades):
        amplification = cascades["amplification"].to_numpy(dtype=float)
        finite = amplification[np.isfinite(amplification)]
        cascade_notional = cascades["notional"].to_numpy(dtype=float)
        largest_notional = float(cascade_notional.max())
        largest_count = int(cascades["count"].max())
        largest_rounds = int(cascades["rounds"].max())
        infinite = int(np.isinf(amplification).sum())
    else:
        finite = cascade_notional = np.zeros(0)
        largest_notional, largest_count, largest_rounds, infinite = 0.0, 0, 0, 0

    return {
        "peak_hhi_accounts": _peak(hhi_accounts),
        "mean_hhi_accounts": _mean(hhi_accounts),
        "peak_hhi_entities": _peak(hhi_entities),
        "mean_hhi_entities": _mean(hhi_entities),
        "mean_top10_share": _mean(column("top10_share")),
        "mean_whale_share": _mean(whale_share),
        "peak_whale_share": _peak(whale_share),
        "liquidation_count": liquidation_count,
        "liquidation_notional": liquidation_notional,
        "liquidated_long_notional": long_notional,
        "liquidated_short_notional": short_notional,
        "cascade_count": len(cascades),
        "largest_cascade_notional": largest_notional,
        "largest_cascade_count": largest_count,
        "largest_cascade_rounds": largest_rounds,
        "mean_amplification": _mean(finite),
        "max_amplification": _peak(finite),
        "infinite_amplification_count": infinite,
        "cascade_tail_exponent": tail_exponent(cascade_notional),
        "max_drawdown": _largest_move(mark, up=False)[0] if mark.size else 0.0,
        "index_max_drawdown": _largest_move(index, up=False)[0] if index.size else 0.0,
        "bad_debt": last("bad_debt", 0.0),
        "insurance_fund_low": float(insurance.min()) if insurance.size else float("nan"),
        "insurance_fund_end": last("insurance_fund", float("nan")),
        "adl_count": int(last("adl_count", 0.0)),
        "adl_notional": adl_notional,
        "mean_open_interest_notional": _mean(open_interest),
        "final_open_interest_notional": last("open_interest_notional", 0.0),
        "steps": len(ts),
    }
