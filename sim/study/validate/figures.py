"""The validation's figures: the |returns| autocorrelation and the tail of |returns| (mark against
fundamental), liquidations through the stress day's crash window, and retail leverage open and
liquidated against their references."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.study.figures import SIDE_COLOURS, save_figure
from sim.study.validate.experiments import Measured
from sim.study.validate.references import ACF_SLOPE, LIQUIDATED_LEVERAGE, LONG_MEMORY, OPEN_LEVERAGE
from sim.study.validate.statistics import FIGURE_LAGS, TAIL_SHARE

PRICE_STYLES = {"mark_": ("mark", "tab:blue", "-"), "fundamental_": ("fundamental", "0.45", ":")}
TAIL_GUIDE = 3.0
CONTEXT_BEFORE, CONTEXT_AFTER = 30, 90


def seed_mean(measured: list[Measured], name: str) -> np.ndarray:
    """A series' mean over the runs that have it, step by step (NaN where none has a value)."""
    stacked = np.vstack([m.series[name] for m in measured])
    finite = np.isfinite(stacked)
    counts = finite.sum(axis=0)
    totals = np.where(finite, stacked, 0.0).sum(axis=0)
    return np.divide(totals, counts, out=np.full(counts.shape, np.nan), where=counts > 0)


def save_loglog(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """Both axes logarithmic, labelled, with legend and grid; the figure saved."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(which="both", color="0.92")
    return save_figure(fig, path)


def acf_figure(measured: list[Measured], path: Path) -> Path:
    """The autocorrelation of |returns| against lag, log-log, mean over seeds, with the reference
    band of slopes (anchored at the mark's lag-1 value) and the lag-60 threshold."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    lags = np.array(FIGURE_LAGS, dtype=float)
    for prefix, (label, colour, style) in PRICE_STYLES.items():
        acf = seed_mean(measured, prefix + "abs_acf")
        shown = acf > 0
        ax.plot(lags[shown], acf[shown], style, color=colour, lw=1.5, label=f"{label} (non-positive values not drawn)")
    anchor = seed_mean(measured, "mark_abs_acf")[0]
    if np.isfinite(anchor) and anchor > 0:
        ax.fill_between(lags, anchor * lags**ACF_SLOPE.low, anchor * lags**ACF_SLOPE.high, color="tab:green",
                        alpha=0.15, label=f"reference slopes {ACF_SLOPE.low} to {ACF_SLOPE.high} from the mark's lag 1")
    ax.axhline(LONG_MEMORY.low, color="tab:green", lw=0.8, ls="--", label=f"reference at lag 60: above {LONG_MEMORY.low}")
    return save_loglog(fig, ax, "lag (minutes)", "autocorrelation of |1-min returns|",
                       f"Calm day: volatility clustering, mean over {len(measured)} seeds", path)


def tail_figure(measured: list[Measured], path: Path) -> Path:
    """The complementary CDF of |returns| over their standard deviation, all seeds pooled, log-log,
    mark against fundamental, with a guide of slope -3 through the mark's top 2.5 %."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    anchor = None
    for prefix, (label, colour, style) in PRICE_STYLES.items():
        pooled = np.concatenate([m.series[prefix + "scaled_abs_returns"] for m in measured])
        pooled = np.sort(pooled[np.isfinite(pooled) & (pooled > 0)])[::-1]
        if pooled.size == 0:
            continue
        share = np.arange(1, pooled.size + 1) / pooled.size
        ax.plot(pooled, share, style, color=colour, lw=1.5, label=label)
        if prefix == "mark_":
            k = max(1, round(TAIL_SHARE * pooled.size))
            anchor = (pooled[k - 1], share[k - 1])
    if anchor is not None:
        x = np.geomspace(anchor[0], anchor[0] * 10, 20)
        ax.plot(x, anchor[1] * (x / anchor[0]) ** -TAIL_GUIDE, color="tab:green", lw=1.0, ls="--",
                label=f"slope -{TAIL_GUIDE:g} (tail exponent about 3) from the mark's top {TAIL_SHARE:.1%}")
    return save_loglog(fig, ax, "|1-min return| / its standard deviation", "share of returns at least this large",
                       f"Calm day: tail of |returns|, {len(measured)} seeds pooled", path)


def crash_figure(measured: list[Measured], window: tuple[int, int] | None, path: Path) -> Path:
    """Mark and fundamental (over their start) and the notional liquidated each minute, longs and
    shorts, mean over seeds, around the crash window (shaded)."""
    steps = len(measured[0].series["liquidated_long"])
    if window is not None and window[0] >= steps:
        window = None  # a run cut short of the crash: the whole run, unshaded
    start, end = window if window is not None else (0, steps - 1)
    shown = np.arange(max(0, start - CONTEXT_BEFORE), min(steps, end + CONTEXT_AFTER + 1))
    fig, (price, flow) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [2, 3]})
    for prefix, (label, colour, style) in PRICE_STYLES.items():
        price.plot(shown, seed_mean(measured, prefix + "relative_price")[shown], style, color=colour, lw=1.5,
                   label=label)
    price.set_ylabel("price / price at the start")
    price.legend(fontsize=8)
    bottom = np.zeros(shown.size)
    for side, colour in SIDE_COLOURS.items():
        notional = seed_mean(measured, f"liquidated_{side}")[shown] / 1e6
        flow.bar(shown, notional, bottom=bottom, width=1.0, color=colour, alpha=0.8, label=f"{side}s liquidated")
        bottom += np.nan_to_num(notional)
    flow.set_ylabel("liquidated notional (M USD a minute)")
    flow.set_xlabel("step (minutes from 00:00)")
    flow.legend(fontsize=8)
    if window is not None:
        for ax in (price, flow):
            ax.axvspan(start, end, color="0.85", alpha=0.5, zorder=0)
    price.set_title(f"Stress day: the crash window (shaded), mean over {len(measured)} seeds")
    return save_figure(fig, path)


def leverage_figure(per_seed: pd.DataFrame, titles: dict[str, str], path: Path) -> Path:
    """Retail leverage, open (contract-weighted) and liquidated (notional-weighted), each run and
    the mean, by experiment, on the reference ranges (shaded)."""
    groups = [(experiment, column, reference) for experiment in titles
              for column, reference in (("open_retail_leverage", OPEN_LEVERAGE),
                                        ("liquidated_retail_leverage", LIQUIDATED_LEVERAGE))]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.7 * len(groups)))
    for y, (experiment, column, reference) in enumerate(groups):
        values = per_seed.loc[per_seed["experiment"] == experiment, column].to_numpy(dtype=float)
        ax.fill_betweenx([y - 0.35, y + 0.35], reference.low, reference.high, color="tab:green", alpha=0.15,
                         label="reference range" if y == 0 else None)
        ax.scatter(values, np.full(values.size, y), s=14, color="0.5", alpha=0.7,
                   label="one run" if y == 0 else None)
        if np.isfinite(values).any():
            ax.plot(np.nanmean(values), y, "D", color="tab:blue", ms=7, label="mean over seeds" if y == 0 else None)
    ax.set_yticks(range(len(groups)), [f"{titles[e]}: {'open' if c.startswith('open') else 'liquidated'}"
                                      for e, c, _ in groups], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("retail leverage (x)")
    ax.set_title("Leverage of open and of liquidated retail positions")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", color="0.92")
    return save_figure(fig, path)
