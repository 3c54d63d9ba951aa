"""Measures of the simulated market: concentration, cascades, tails, returns and the run summary.

Pure functions over numpy arrays and pandas DataFrames: the package imports nothing else of the
project, so it is read and tested alone.
"""

from sim.measures.cascades import CASCADE_COLUMNS, detect_cascades, largest_move
from sim.measures.concentration import (
    SIDES,
    by_entity,
    concentration,
    gini,
    hhi,
    lorenz_curve,
    tier_open_interest,
    top_share,
)
from sim.measures.leverage import contract_weighted
from sim.measures.returns import (
    absolute_autocorrelation,
    aggregate_returns,
    annualised_volatility,
    autocorrelation,
    excess_kurtosis,
    hill_exponent,
    hill_profile,
    kurtosis_by_horizon,
    log_returns,
    loglog_slope,
)
from sim.measures.summary import SUMMARY_TIMESERIES_COLUMNS, summarize
from sim.measures.tails import tail_exponent

__all__ = [
    "CASCADE_COLUMNS", "SIDES", "SUMMARY_TIMESERIES_COLUMNS", "absolute_autocorrelation", "aggregate_returns",
    "annualised_volatility", "autocorrelation", "by_entity", "concentration", "contract_weighted", "detect_cascades",
    "excess_kurtosis", "gini", "hhi", "hill_exponent", "hill_profile", "kurtosis_by_horizon", "largest_move",
    "log_returns", "loglog_slope", "lorenz_curve", "summarize", "tail_exponent", "tier_open_interest",
    "top_share",
]
