"""Tails of size distributions: the power-law exponent of the largest values."""

from __future__ import annotations

import numpy as np

MIN_TAIL_POINTS = 5


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

