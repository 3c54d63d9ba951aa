"""Leverage of open positions: the contract-weighted mean of the leverage each was opened at."""

from __future__ import annotations

import numpy as np


def contract_weighted(leverage: np.ndarray, lots: np.ndarray) -> float:
    """Mean of ``leverage`` over open positions, each weighted by its size in contracts (|lots|);
    0.0 with none open. The weighted values are summed position after position (a cumulative sum,
    not a BLAS dot whose result depends on its thread count), so the result is the same anywhere."""
    weights = np.abs(lots)
    contracts = int(weights.sum())
    return float(np.cumsum(weights * leverage)[-1] / contracts) if contracts else 0.0
