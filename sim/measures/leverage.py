"""Leverage of open positions: the contract-weighted mean of the leverage each was opened at."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit("float64(float64[:], int64[:])", cache=True)
def contract_weighted(leverage: np.ndarray, lots: np.ndarray) -> float:
    """Mean of ``leverage`` over open positions, each weighted by its size in contracts (|lots|);
    0.0 with none open. Summed position after position (compiled: it runs over every trader each
    step), so the result does not depend on threads or the machine's vector width."""
    weighted = 0.0
    contracts = 0
    for i in range(len(lots)):
        if lots[i] != 0:
            weighted += abs(lots[i]) * leverage[i]
            contracts += abs(lots[i])
    return weighted / contracts if contracts > 0 else 0.0
