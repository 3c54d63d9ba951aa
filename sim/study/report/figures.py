"""A sweep report's figures: measures and paired differences by arm, cascade sizes, concentration,
and the sampled parameters with their sensitivity indices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.study.figures import save_figure
from sim.study.labels import measure_label
from sim.study.report.results import (
    CONCENTRATION_MEASURES,
    CONCENTRATION_SERIES,
    FIGURE_MEASURES,
    LEVEL,
    SweepResults,
)


def arm_colours(labels: list[str]) -> dict[str, Any]:
    """One colour per arm label, stable across figures."""
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    return {label: cmap(i % cmap.N) for i, label in enumerate(labels)}


def measures_figure(results: SweepResults, stats: pd.DataFrame, path: Path) -> Path:
    """Headline measures by arm: every run as a dot, the mean with its 95 % interval as a bar."""
    measures = [m for m in FIGURE_MEASURES if m in results.measures]
    labels = list(results.arms["label"])
    columns = 2
    rows = int(np.ceil(len(measures) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 1.0 + rows * (0.9 + 0.28 * len(labels))), squeeze=False)
    y = np.arange(len(labels))
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, size=len(results.runs))
    position = results.runs["arm"].map(dict(zip(results.arms["arm"], y))).to_numpy() + jitter
    controls = set(results.arms["control"].dropna())
    for ax, measure in zip(axes.ravel(), measures):
        values = results.runs[measure].to_numpy(dtype=float)
        ax.scatter(values, position, s=8, color="0.6", alpha=0.6, edgecolors="none")
        positive = values[np.isfinite(values) & (values > 0)]
        if positive.size == np.isfinite(values).sum() and positive.size and positive.max() > 100 * positive.min():
            ax.set_xscale("log", nonpositive="clip")
        chosen = stats[stats["measure"] == measure].set_index("arm").loc[results.arms["arm"]]
        err = np.vstack([chosen["mean"] - chosen["low"], chosen["high"] - chosen["mean"]])
        ax.errorbar(chosen["mean"], y, xerr=np.nan_to_num(err), fmt="o", color="tab:blue", capsize=3, ms=5)
        ax.set_yticks(y, [f"{label} (control)" if arm in controls else label
                          for arm, label in zip(results.arms["arm"], labels)], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(measure_label(measure) + (" (log scale)" if ax.get_xscale() == "log" else ""), fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.9")
    for ax in axes.ravel()[len(measures):]:
        ax.set_visible(False)
    fig.suptitle(f"{results.manifest['name']}: runs (grey) and mean with {LEVEL:.0%} interval (blue) by arm",
                 fontsize=10)
    return save_figure(fig, path)


def differences_figure(results: SweepResults, differences: pd.DataFrame, path: Path) -> Path:
    """Paired differences to the control arm with their 95 % intervals, one panel per headline measure."""
    measures = [m for m in FIGURE_MEASURES if m in results.measures]
    arms = list(dict.fromkeys(differences["arm"]))
    labels = [differences.loc[differences["arm"] == arm, "label"].iloc[0] for arm in arms]
    columns = 2
    rows = int(np.ceil(len(measures) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 1.0 + rows * (0.9 + 0.28 * len(arms))), squeeze=False)
    y = np.arange(len(arms))
    for ax, measure in zip(axes.ravel(), measures):
        chosen = differences[differences["measure"] == measure].set_index("arm").loc[arms]
        err = np.vstack([chosen["difference"] - chosen["low"], chosen["high"] - chosen["difference"]])
        significant = (chosen["low"] > 0) | (chosen["high"] < 0)
        colours = np.where(significant, "tab:red", "0.5")
        ax.axvline(0.0, color="0.3", lw=0.8)
        for i in range(len(arms)):
            ax.errorbar(chosen["difference"].iloc[i], y[i], xerr=np.nan_to_num(err[:, i : i + 1]), fmt="o",
                        color=colours[i], capsize=3, ms=5)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{measure_label(measure)}: arm - control", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="0.9")
    for ax in axes.ravel()[len(measures):]:
        ax.set_visible(False)
    controls = ", ".join(sorted(set(differences["control"])))
    fig.suptitle(f"{results.manifest['name']}: paired difference to control ({controls}), same seeds, "
                 f"mean and {LEVEL:.0%} interval; red: interval excludes 0", fontsize=10)
    return save_figure(fig, path)


def cascade_sizes(results: SweepResults) -> dict[str, np.ndarray] | None:
    """Cascade notionals per arm label, pooled over its runs; None if the sweep kept no cascades."""
    sizes: dict[str, list[np.ndarray]] = {}
    for run in results.runs.itertuples():
        cascades = results.table(run.run_id, "cascades")
        if cascades is None:
            return None
        sizes.setdefault(run.arm_label, []).append(cascades["notional"].to_numpy(dtype=float))
    return {label: np.concatenate(parts) for label, parts in sizes.items()}


def cascade_figure(results: SweepResults, sizes: dict[str, np.ndarray], path: Path) -> Path:
    """The distribution of cascade sizes by arm: P(cascade notional >= x), log-log."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = arm_colours(list(results.arms["label"]))
    for label, values in sizes.items():
        values = np.sort(values[values > 0])
        if values.size == 0:
            continue
        survival = 1.0 - np.arange(values.size) / values.size
        ax.step(values, survival, where="post", color=colours[label], lw=1.3, label=f"{label} ({values.size})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cascade notional liquidated (USD)")
    ax.set_ylabel("share of cascades at least this large")
    ax.set_title(f"{results.manifest['name']}: cascade sizes by arm, all seeds pooled (cascades in brackets)",
                 fontsize=10)
    ax.grid(which="both", color="0.92")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def concentration_figure(results: SweepResults, path: Path) -> Path:
    """Concentration by arm: over time (mean over seeds) when time series were kept, else the
    per-run concentration measures as box plots."""
    labels = list(results.arms["label"])
    colours = arm_colours(labels)
    series = {run.run_id: results.table(run.run_id, "timeseries") for run in results.runs.itertuples()}
    if all(frame is not None for frame in series.values()):
        fig, axes = plt.subplots(len(CONCENTRATION_SERIES), 1, figsize=(11, 3.3 * len(CONCENTRATION_SERIES)),
                                 sharex=True)
        for ax, (column, title) in zip(np.atleast_1d(axes), CONCENTRATION_SERIES):
            for arm in results.arms.itertuples():
                frames = [series[run_id] for run_id in results.runs.loc[results.runs["arm"] == arm.arm, "run_id"]]
                if not frames:
                    continue
                stacked = pd.concat(frames).groupby("step")[column]
                mean, low, high = stacked.mean(), stacked.quantile(0.25), stacked.quantile(0.75)
                ax.plot(mean.index, mean.to_numpy(), color=colours[arm.label], lw=1.2, label=arm.label)
                ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), color=colours[arm.label], alpha=0.08,
                                lw=0)
            ax.set_ylabel(title, fontsize=9)
            ax.set_ylim(0, 1)
            ax.grid(color="0.92")
        np.atleast_1d(axes)[0].legend(fontsize=8, ncol=2)
        np.atleast_1d(axes)[-1].set_xlabel("step (minutes)")
        fig.suptitle(f"{results.manifest['name']}: concentration over time, mean over seeds (band: middle half of runs)",
                     fontsize=10)
    else:
        measures = [m for m in CONCENTRATION_MEASURES if m in results.measures]
        fig, axes = plt.subplots(1, len(measures), figsize=(3.2 * len(measures), 1.5 + 0.3 * len(labels)),
                                 sharey=True, squeeze=False)
        for ax, measure in zip(axes.ravel(), measures):
            data = [results.runs.loc[results.runs["arm"] == arm, measure].dropna().to_numpy()
                    for arm in results.arms["arm"]]
            ax.boxplot(data, orientation="horizontal", tick_labels=labels, widths=0.6)
            ax.set_title(measure_label(measure), fontsize=9)
            ax.tick_params(labelsize=8)
        axes[0, 0].invert_yaxis()
        fig.suptitle(f"{results.manifest['name']}: concentration of open interest by arm (one value per run)",
                     fontsize=10)
    return save_figure(fig, path)


def sample_figure(results: SweepResults, path: Path) -> Path:
    """Each headline measure (mean over seeds per sample point) against each sampled parameter."""
    names = results.sampled
    measures = [m for m in FIGURE_MEASURES[:4] if m in results.measures]
    points = results.runs.groupby("sample_index")
    fig, axes = plt.subplots(len(measures), len(names), figsize=(3.0 * len(names), 2.4 * len(measures)),
                             squeeze=False, sharex="col")
    for row, measure in enumerate(measures):
        y = points[measure].mean()
        for col, name in enumerate(names):
            ax = axes[row, col]
            ax.scatter(points[name].first(), y, s=8, alpha=0.6, color="tab:blue", edgecolors="none")
            ax.tick_params(labelsize=7)
            if col == 0:
                ax.set_ylabel(measure_label(measure), fontsize=8)
            if row == len(measures) - 1:
                ax.set_xlabel(name, fontsize=8)
    fig.suptitle(f"{results.manifest['name']}: measures against sampled parameters (mean over seeds per point)",
                 fontsize=10)
    return save_figure(fig, path)


def sensitivity_figure(indices: pd.DataFrame, path: Path) -> Path:
    """First-order (and total) sensitivity indices per parameter, one panel per measure."""
    groups = list(dict.fromkeys(zip(indices["group"], indices["measure"])))
    columns = min(4, len(groups))
    rows = int(np.ceil(len(groups) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.8 * rows), squeeze=False)
    for ax, (group, measure) in zip(axes.ravel(), groups):
        chosen = indices[(indices["group"] == group) & (indices["measure"] == measure)]
        x = np.arange(len(chosen))
        ax.bar(x - 0.2, chosen["S1"], 0.4, yerr=chosen["S1_conf"], label="first order", color="tab:blue")
        if "ST" in chosen:
            ax.bar(x + 0.2, chosen["ST"], 0.4, yerr=chosen["ST_conf"], label="total", color="tab:orange")
        ax.set_xticks(x, [name.split(".")[-1] for name in chosen["parameter"]], rotation=30, fontsize=7)
        title = measure_label(measure) if group == "all" else f"{measure_label(measure)}\n{group}"
        ax.set_title(title, fontsize=8)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.tick_params(axis="y", labelsize=7)
    axes.ravel()[0].legend(fontsize=7)
    for ax in axes.ravel()[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("sensitivity indices (bars: 95 % confidence)", fontsize=10)
    return save_figure(fig, path)
