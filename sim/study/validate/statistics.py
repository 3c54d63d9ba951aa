"""One run's validation statistics: the stylised facts of its mark and fundamental returns, its
liquidations against open interest, retail leverage open and liquidated, and the crash window's
share; and the short series the figures average over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.measures import (
    absolute_autocorrelation,
    annualised_volatility,
    autocorrelation,
    hill_exponent,
    hill_profile,
    kurtosis_by_horizon,
    log_returns,
    loglog_slope,
)
from sim.measures.returns import HILL_SHARES, HORIZONS
from sim.study.validate.references import (
    CRASH_WINDOW_MINUTES,
    CRASH_WINDOW_SLACK,
    FUNDAMENTAL,
    RETURNS,
)

TAIL_SHARE = 0.025
ACF_LAGS = (1, 10, 60)
SLOPE_LAGS = tuple(int(lag) for lag in np.unique(np.round(np.logspace(0.0, np.log10(60.0), 15))))
FIGURE_LAGS = tuple(range(1, 121))
MINUTES_PER_DAY = 1440.0
PRICES = {RETURNS: "mark", FUNDAMENTAL: "fundamental"}


def hill_key(share: float) -> str:
    """The statistic's name of the Hill exponent over the top ``share`` of |returns|."""
    return f"hill_{round(share * 100)}pct"


def return_statistics(prices: np.ndarray, minutes_per_step: float) -> dict[str, float]:
    """The stylised facts of one price series' returns: aggregation horizons in minutes, lags in steps
    (the same at the one-minute steps every validation config uses); the ACF's slope is fitted over
    log-spaced lags from 1 to 60."""
    r = log_returns(prices)
    steps = [max(1, round(minutes / minutes_per_step)) for minutes in HORIZONS]
    kurtosis = dict(zip(HORIZONS, kurtosis_by_horizon(r, steps)))
    found = {"hill": hill_exponent(r, TAIL_SHARE)}
    found.update({hill_key(share): value for share, value in zip(HILL_SHARES, hill_profile(r))})
    found.update({f"kurtosis_{h}": float(value) for h, value in kurtosis.items()})
    found["kurtosis_fall"] = kurtosis[HORIZONS[0]] - kurtosis[HORIZONS[-1]]
    found.update({f"abs_acf_{lag}": float(v) for lag, v in zip(ACF_LAGS, absolute_autocorrelation(r, ACF_LAGS))})
    found["abs_acf_slope"] = loglog_slope(np.array(SLOPE_LAGS), absolute_autocorrelation(r, SLOPE_LAGS))
    found["acf_1"] = float(autocorrelation(r, [1])[0])
    found["volatility"] = annualised_volatility(r, minutes_per_step)
    return found


def crash_window(shock_steps: list[int], minutes_per_step: float) -> tuple[int, int] | None:
    """The steps of the crash window: from the first shock for 40 minutes and a few more, or None."""
    if not shock_steps:
        return None
    start = min(shock_steps)
    return start, start + round((CRASH_WINDOW_MINUTES + CRASH_WINDOW_SLACK) / minutes_per_step)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is not positive or either is missing."""
    return numerator / denominator if denominator > 0 and np.isfinite(numerator) else float("nan")


def market_statistics(timeseries: pd.DataFrame, liquidations: pd.DataFrame, summary: dict[str, float],
                      window: tuple[int, int] | None, minutes_per_step: float) -> dict[str, float]:
    """Liquidations against open interest, retail leverage open and liquidated, the longs' share,
    the crash window's share, and the drawdowns from the run summary."""
    minutes = (len(timeseries) - 1) * minutes_per_step
    liquidated = float(summary["liquidation_notional"])
    per_day = ratio(liquidated, float(summary["mean_open_interest_notional"])) * MINUTES_PER_DAY / minutes \
        if minutes > 0 else float("nan")
    open_leverage = timeseries["retail_leverage"].to_numpy(dtype=float)
    open_leverage = open_leverage[open_leverage > 0]
    retail = liquidations[(liquidations["kind"] == "retail") & np.isfinite(liquidations["entry_leverage"])]
    notional = retail["notional"].to_numpy(dtype=float)
    liquidated_leverage = ratio(float(notional @ retail["entry_leverage"].to_numpy(dtype=float)), notional.sum())
    open_mean = float(open_leverage.mean()) if open_leverage.size else float("nan")
    in_window = float("nan")
    if window is not None and window[0] < len(timeseries):
        steps = liquidations["step"].to_numpy()
        inside = (steps >= window[0]) & (steps <= window[1])
        in_window = ratio(float(liquidations["notional"].to_numpy(dtype=float)[inside].sum()), liquidated)
    return {
        "liquidation_share": per_day,
        "open_retail_leverage": open_mean,
        "liquidated_retail_leverage": liquidated_leverage,
        "leverage_ratio": ratio(liquidated_leverage, open_mean),
        "long_share": ratio(float(summary["liquidated_long_notional"]), liquidated),
        "window_share": in_window,
        "max_drawdown": float(summary["max_drawdown"]),
        "fundamental_max_drawdown": float(summary["fundamental_max_drawdown"]),
        "drawdown_amplification": float(summary["drawdown_amplification"]),
    }


def run_statistics(timeseries: pd.DataFrame, liquidations: pd.DataFrame, summary: dict[str, float],
                   window: tuple[int, int] | None, minutes_per_step: float) -> dict[str, float]:
    """Every validation statistic of one run: returns of the mark and the fundamental (prefixed
    ``mark_``, ``fundamental_``) and the market's."""
    found: dict[str, float] = {}
    for prefix, column in PRICES.items():
        prices = timeseries[column].to_numpy(dtype=float)
        found.update({prefix + key: value for key, value in return_statistics(prices, minutes_per_step).items()})
    found.update(market_statistics(timeseries, liquidations, summary, window, minutes_per_step))
    return found


def run_series(timeseries: pd.DataFrame, liquidations: pd.DataFrame) -> dict[str, np.ndarray]:
    """What the figures average over seeds: the |returns| autocorrelation at lags 1-120 and |returns|
    over their standard deviation, of mark and fundamental; prices over the start; notional
    liquidated each step, longs and shorts."""
    series: dict[str, np.ndarray] = {}
    for prefix, column in PRICES.items():
        prices = timeseries[column].to_numpy(dtype=float)
        r = log_returns(prices)
        spread = r.std()
        series[prefix + "abs_acf"] = absolute_autocorrelation(r, FIGURE_LAGS)
        series[prefix + "scaled_abs_returns"] = np.abs(r) / spread if spread > 0 else np.full(r.size, np.nan)
        series[prefix + "relative_price"] = prices / prices[0]
    steps = len(timeseries)
    for side in ("long", "short"):
        chosen = liquidations[liquidations["side"] == side]
        series[f"liquidated_{side}"] = np.bincount(chosen["step"].to_numpy(dtype=int),
                                                   weights=chosen["notional"].to_numpy(dtype=float),
                                                   minlength=steps)[:steps]
    return series
