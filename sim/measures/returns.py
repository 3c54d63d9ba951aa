"""Statistics of price returns: the stylised facts a market model is checked against (fat tails,
volatility clustering, aggregational Gaussianity, no linear predictability).

Pure numpy. Non-finite values are dropped where a statistic is a function of the sample alone; the
series functions (returns, autocorrelation) keep the time order and refuse gaps instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0
MIN_TAIL_POINTS = 5
HILL_SHARES = (0.01, 0.02, 0.03, 0.04, 0.05)
HORIZONS = (1, 5, 15, 60)


def log_returns(prices: np.ndarray) -> np.ndarray:
    """Log returns of a price series, log(p[t] / p[t-1]); one fewer than the prices."""
    p = np.asarray(prices, dtype=float).ravel()
    if not np.all(np.isfinite(p) & (p > 0)):
        raise ValueError("log_returns: prices must be finite and positive")
    return np.diff(np.log(p))


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def hill_exponent(values: np.ndarray, share: float = 0.025) -> float:
    """Hill's estimate of the tail exponent of |values| from the largest k = round(share x n):
    alpha = 1 / mean(log(x_(i) / x_(k+1))), i = 1..k, with x_(1) the largest.

    NaN when k < 5, when k reaches the sample size, or when x_(k+1) is 0 or all k equal it.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"hill_exponent: share must be in (0, 1), got {share}")
    x = np.sort(np.abs(_finite(values)))[::-1]
    k = int(round(share * x.size))
    if k < MIN_TAIL_POINTS or k >= x.size or x[k] <= 0:
        return float("nan")
    spread = float(np.mean(np.log(x[:k]) - np.log(x[k])))  # a difference of logs: no ratio to overflow
    return 1.0 / spread if spread > 0 else float("nan")


def hill_profile(values: np.ndarray, shares: Sequence[float] = HILL_SHARES) -> np.ndarray:
    """The Hill exponent over several tail shares (1-5 % by default): a stable estimate changes
    little from one share to the next."""
    return np.array([hill_exponent(values, share) for share in shares])


def excess_kurtosis(values: np.ndarray) -> float:
    """Excess kurtosis m4 / m2^2 - 3 with population (biased) moments; 0 for a normal sample.
    NaN with fewer than two finite values or none spread."""
    x = _finite(values)
    if x.size < 2:
        return float("nan")
    deviations = x - x.mean()
    scale = float(np.max(np.abs(deviations)))
    if scale == 0:
        return float("nan")
    deviations = deviations / scale  # the ratio is scale-free; this keeps tiny values from underflowing
    return float(np.mean(deviations**4)) / float(np.mean(deviations**2)) ** 2 - 3.0


def autocorrelation(values: np.ndarray, lags: Iterable[int]) -> np.ndarray:
    """Sample autocorrelation at each lag: sum (x_t - mean)(x_{t+k} - mean) / sum (x_t - mean)^2
    (the standard, biased form). NaN at a lag not shorter than the series or when it is constant."""
    x = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError("autocorrelation: values must be finite (a gap would shift the lags)")
    deviations = x - x.mean() if x.size else x
    denominator = float(deviations @ deviations)
    out = []
    for lag in lags:
        if lag < 0:
            raise ValueError(f"autocorrelation: lags must be >= 0, got {lag}")
        if lag >= x.size or denominator == 0:
            out.append(float("nan"))
        else:
            out.append(float(deviations[: x.size - lag] @ deviations[lag:]) / denominator)
    return np.array(out)


def absolute_autocorrelation(returns: np.ndarray, lags: Iterable[int]) -> np.ndarray:
    """Autocorrelation of |returns| at each lag: positive and slowly decaying where volatility clusters."""
    return autocorrelation(np.abs(np.asarray(returns, dtype=float)), lags)


def loglog_slope(lags: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) on log(lags) over the points with positive lag and value:
    the exponent of a power-law decay. NaN with fewer than two such points at distinct lags."""
    x = np.asarray(lags, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    kept = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.unique(x[kept]).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[kept]), np.log(y[kept]), 1)[0])


def aggregate_returns(returns: np.ndarray, horizon: int) -> np.ndarray:
    """Returns over non-overlapping blocks of ``horizon`` steps (log returns add); a last partial
    block is dropped."""
    if horizon < 1:
        raise ValueError(f"aggregate_returns: horizon must be >= 1, got {horizon}")
    r = np.asarray(returns, dtype=float).ravel()
    blocks = r.size // horizon
    return r[: blocks * horizon].reshape(blocks, horizon).sum(axis=1)


def kurtosis_by_horizon(returns: np.ndarray, horizons: Sequence[int] = HORIZONS) -> np.ndarray:
    """Excess kurtosis of returns aggregated over each horizon (in steps): real returns grow more
    normal as the horizon lengthens."""
    return np.array([excess_kurtosis(aggregate_returns(returns, h)) for h in horizons])


def annualised_volatility(returns: np.ndarray, minutes_per_step: float = 1.0) -> float:
    """Realised volatility, annualised: sqrt(mean(r^2) x steps a year), as realised volatility is
    quoted (no mean removed). NaN without finite returns."""
    r = _finite(returns)
    if r.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(r**2) * MINUTES_PER_YEAR / minutes_per_step))
