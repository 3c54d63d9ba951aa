"""Leverage of open positions: the contract-weighted mean of the leverage each was opened at."""

from __future__ import annotations

import numpy as np

from sim.jit import compiled


def contract_weighted(leverage: np.ndarray, lots: np.ndarray) -> float:
    """Mean of ``leverage`` over open positions, each weighted by its size in contracts (|lots|, whole
    lots); 0.0 with none open. The weighted values are summed position after position (not a BLAS
    dot whose result depends on its thread count), so the result is the same anywhere."""
    lots = np.asarray(lots)
    if lots.dtype.kind not in "iu":
        raise ValueError(f"lots must be whole numbers (an integer array), got {lots.dtype}")
    leverage = np.ascontiguousarray(leverage, dtype=float)
    if leverage.shape != lots.shape:
        raise ValueError(f"leverage {leverage.shape} and lots {lots.shape} differ in shape")
    return _weighted_mean(leverage.ravel(), np.ascontiguousarray(lots, dtype=np.int64).ravel())


@compiled("float64(float64[:], int64[:])")
def _weighted_mean(leverage: np.ndarray, lots: np.ndarray) -> float:
    """``contract_weighted``'s sums in one compiled pass (it runs every step over every open position)."""
    weighted = 0.0
    contracts = 0
    for i in range(len(lots)):
        weight = abs(lots[i])
        weighted += weight * leverage[i]
        contracts += weight
    return weighted / contracts if contracts else 0.0
