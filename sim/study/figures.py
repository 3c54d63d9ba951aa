"""Figures of one run: mark and index with liquidations, concentration, and the insurance fund."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

SIDE_COLOURS = {"long": "tab:red", "short": "tab:green"}


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Lay out, write as PNG and close a figure; returns its path."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def liquidation_markers(liquidations: pd.DataFrame) -> pd.DataFrame:
    """One marker per (step, side): the notional liquidated and the mark after it."""
    if liquidations.empty:
        return pd.DataFrame(columns=["step", "side", "notional", "mark_after"])
    grouped = liquidations.groupby(["step", "side"], as_index=False).agg(
        notional=("notional", "sum"), mark_after=("mark_after", "last"))
    return grouped


def run_figure(timeseries: pd.DataFrame, liquidations: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Fundamental, index and mark with liquidation markers, concentration, and the insurance fund, stacked."""
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    price, concentration, fund = axes
    price.plot(timeseries["step"], timeseries["fundamental"], color="0.7", lw=1.0, ls=":", label="fundamental")
    price.plot(timeseries["step"], timeseries["index"], color="tab:orange", lw=1.0, label="index (spot)")
    price.plot(timeseries["step"], timeseries["mark"], color="tab:blue", lw=1.0, label="mark")
    markers = liquidation_markers(liquidations)
    if len(markers):
        size = 10 + 190 * np.sqrt(markers["notional"] / markers["notional"].max())
        for side, colour in SIDE_COLOURS.items():
            chosen = (markers["side"] == side).to_numpy()
            price.scatter(markers["step"][chosen], markers["mark_after"][chosen], s=size[chosen], color=colour,
                          alpha=0.5, edgecolors="none", label=f"{side}s liquidated")
    price.set_ylabel("price (USD)")
    price.legend(loc="best", fontsize=8)
    price.set_title(title)
    for column, label in (("hhi_accounts", "HHI accounts"), ("hhi_entities", "HHI entities"),
                          ("top10_share", "top-10 share"), ("whale_share", "whale share")):
        if column in timeseries:
            concentration.plot(timeseries["step"], timeseries[column], lw=1.0, label=label)
    concentration.set_ylabel("open interest share")
    concentration.set_ylim(0, 1)
    concentration.legend(loc="best", fontsize=8)
    fund.plot(timeseries["step"], timeseries["insurance_fund"], color="tab:purple", lw=1.0, label="insurance fund")
    fund.plot(timeseries["step"], timeseries["bad_debt"], color="tab:orange", lw=1.0, label="bad debt (cumulative)")
    fund.set_ylabel("USD")
    fund.set_xlabel("step (minutes)")
    fund.legend(loc="best", fontsize=8)
    return save_figure(fig, path)
