"""The run summary: one row of scalars describing a run, for a sweep to stack."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.measures.cascades import amplification_of, largest_move
from sim.measures.tails import tail_exponent

SUMMARY_TIMESERIES_COLUMNS = (
    "step",
    "mark",
    "index",
    "fundamental",
    "basis",
    "arbitrage_margin_use",
    "hhi_accounts",
    "hhi_entities",
    "top10_share",
    "whale_share",
    "open_interest_notional",
    "insurance_fund",
    "bad_debt",
    "adl_count",
)



def _mean(values: np.ndarray) -> float:
    """Mean, NaN for no values."""
    return float(values.mean()) if values.size else float("nan")


def _drawdown(prices: np.ndarray) -> float:
    """The largest fall of a price series, as a positive fraction; 0.0 without prices."""
    return largest_move(prices, up=False)[0] if prices.size else 0.0


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
    fundamental = column("fundamental")
    basis = np.abs(column("basis"))

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

    mark_drawdown, fundamental_drawdown = _drawdown(mark), _drawdown(fundamental)
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
        "max_drawdown": mark_drawdown,
        "index_max_drawdown": _drawdown(index),
        "fundamental_max_drawdown": fundamental_drawdown,
        "drawdown_amplification": amplification_of(mark_drawdown, fundamental_drawdown),
        "mean_abs_basis": _mean(basis),
        "max_abs_basis": _peak(basis),
        "peak_arbitrage_margin_use": _peak(column("arbitrage_margin_use")),
        "bad_debt": last("bad_debt", 0.0),
        "insurance_fund_low": float(insurance.min()) if insurance.size else float("nan"),
        "insurance_fund_end": last("insurance_fund", float("nan")),
        "adl_count": int(last("adl_count", 0.0)),
        "adl_notional": adl_notional,
        "mean_open_interest_notional": _mean(open_interest),
        "final_open_interest_notional": last("open_interest_notional", 0.0),
        "steps": len(ts),
    }

