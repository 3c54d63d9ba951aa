"""Liquidation cascades: liquidations grouped into episodes, each measured (size, rounds, moves)."""

from __future__ import annotations

import numpy as np
import pandas as pd

MOVE_EPS = 1e-12

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
    "fundamental_move": "float64",
}


def largest_move(prices: np.ndarray, up: bool) -> tuple[float, int, int]:
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


def amplification_of(mark_move: float, fundamental_move: float) -> float:
    """mark_move / fundamental_move; inf when only the mark moved, NaN when neither moved."""
    if np.isnan(mark_move) or np.isnan(fundamental_move):
        return float("nan")
    if fundamental_move > MOVE_EPS:
        return mark_move / fundamental_move
    return float("inf") if mark_move > MOVE_EPS else float("nan")


def _empty_cascades() -> pd.DataFrame:
    """The cascade table with its columns and dtypes and no rows."""
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in CASCADE_COLUMNS.items()})


def detect_cascades(liquidations: pd.DataFrame, timeseries: pd.DataFrame, gap: int) -> pd.DataFrame:
    """Group liquidation rows into cascades and measure each; one row per cascade.

    A cascade is a run of liquidation steps with at most ``gap`` quiet steps between two of them.
    mark_move is the mark's largest move in the cascade's direction (fall for a long-side cascade,
    rise when short notional exceeds long) over steps start-1..end, as a positive fraction.
    index_move and fundamental_move are the index's and the fundamental's signed moves, same direction
    and base, between the same two steps as that mark move. amplification = mark_move /
    fundamental_move if fundamental_move > 1e-12 (how far the market took the mark beyond what the
    fundamental did); else inf if the mark moved, NaN if it did not (or if the timeseries has no row
    in the window).
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
    ts_fundamental = ts["fundamental"].to_numpy(dtype=float) if len(ts) else np.zeros(0)
    lo = np.searchsorted(ts_step, start - 1, side="left")
    hi = np.searchsorted(ts_step, end, side="right")
    up = (table["short_notional"] > table["long_notional"]).to_numpy()
    mark_move = np.full(n, np.nan)
    index_move = np.full(n, np.nan)
    fundamental_move = np.full(n, np.nan)
    amplification = np.full(n, np.nan)
    for c in range(n):
        move, a, b = largest_move(ts_mark[lo[c] : hi[c]], bool(up[c]))
        if a < 0:
            continue
        direction = 1.0 if up[c] else -1.0
        index = ts_index[lo[c] : hi[c]]
        fundamental = ts_fundamental[lo[c] : hi[c]]
        mark_move[c] = move
        index_move[c] = direction * (index[b] - index[a]) / index[a]
        fundamental_move[c] = direction * (fundamental[b] - fundamental[a]) / fundamental[a]
        amplification[c] = amplification_of(mark_move[c], fundamental_move[c])
    table["mark_move"] = mark_move
    table["index_move"] = index_move
    table["amplification"] = amplification
    table["fundamental_move"] = fundamental_move
    return table.astype(CASCADE_COLUMNS)

