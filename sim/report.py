"""Figures and tables from run outputs and sweep folders.

A sweep report gives, per arm, the mean of every summary measure with its 95 % interval; paired
differences to the control arm over the same seeds; sensitivity indices where the sweep sampled;
figures; and report.md beside a self-contained report.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Mark and index with liquidation markers, concentration, and the insurance fund, stacked."""
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    price, concentration, fund = axes
    price.plot(timeseries["step"], timeseries["index"], color="0.55", lw=1.0, label="index")
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


# ------------------------------------------------------------------------------------------
# Sweep reports
# ------------------------------------------------------------------------------------------

LEVEL = 0.95
FIGURE_MEASURES = ("liquidation_notional", "largest_cascade_notional", "cascade_count", "max_drawdown",
                   "mean_amplification", "peak_hhi_entities", "mean_whale_share", "bad_debt")
CONCENTRATION_MEASURES = ("peak_hhi_entities", "mean_hhi_entities", "mean_top10_share", "mean_whale_share")
CONCENTRATION_SERIES = (("hhi_entities", "HHI of open interest over entities"), ("whale_share", "whale share of open interest"))
NOT_MEASURES = frozenset({"run_id", "arm", "arm_label", "replicate", "seed", "sample_index", "status", "error",
                          "wall_seconds", "steps"})
MAX_LINES = 12
MAX_ARM_ROWS = 40


MORE_LABELS = {"mean_hhi_entities": "mean HHI (entities)", "mean_hhi_accounts": "mean HHI (accounts)",
               "mean_top10_share": "mean top-10 share", "peak_whale_share": "peak whale share"}


def measure_label(key: str) -> str:
    """A measure's name for people: the run summary's label where it has one, else the key."""
    from sim.runner import SUMMARY_LINES

    found = next((label for label, name, _ in SUMMARY_LINES if name == key), None)
    return found or MORE_LABELS.get(key, key.replace("_", " "))


def format_value(key: str, value: float, millions: bool | None = None) -> str:
    """A measure's value as the run summary prints it; amounts in USD in millions when large
    (or when ``millions`` says so, to keep one unit across a mean and its interval)."""
    from sim.runner import SUMMARY_LINES

    if value is None or not np.isfinite(value):
        return "n/a" if value is None or np.isnan(value) else ("inf" if value > 0 else "-inf")
    fmt = next((f for _, name, f in SUMMARY_LINES if name == key), "{:.4g}")
    if fmt == "{:,.0f}" and (abs(value) >= 1e5 if millions is None else millions):
        text = f"{value / 1e6:,.2f}M"
    else:
        text = fmt.format(value)
    return text.removeprefix("-") if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_interval(key: str, mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` in one unit; the mean alone when there is no interval (fewer than two values)."""
    if not np.isfinite(low) or not np.isfinite(high):
        return format_value(key, mean)
    millions = max(abs(mean), abs(low), abs(high)) >= 1e5
    return (f"{format_value(key, mean, millions)} [{format_value(key, low, millions)}, "
            f"{format_value(key, high, millions)}]")


def mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, int]:
    """Mean of the finite values and its Student-t confidence interval: (mean, low, high, n).

    The interval is NaN with fewer than two values; zero-width when the values are all equal.
    """
    from scipy import stats

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    n = finite.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(finite.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * finite.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


@dataclass
class SweepResults:
    """A sweep folder read for a report: manifest, arms in plan order, and the successful runs."""

    root: Path
    manifest: dict[str, Any]
    arms: pd.DataFrame
    runs: pd.DataFrame
    failed: pd.DataFrame
    measures: list[str]

    @property
    def sampled(self) -> list[str]:
        sample = self.manifest.get("sample")
        return list(sample["bounds"]) if sample else []

    def table(self, run_id: str, name: str) -> pd.DataFrame | None:
        """A kept per-run table (timeseries, liquidations, cascades), or None if it was not kept."""
        path = self.root / "tables" / run_id / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None


def read_results(root: str | Path) -> SweepResults:
    """Read a sweep folder: ConfigError (one line) if it is not one or holds no successful run."""
    from sim.config import ConfigError
    from sim.sweep import open_folder

    folder = open_folder(root)
    manifest = folder.manifest()
    runs = folder.runs()
    arms = pd.DataFrame(manifest["arms"])
    params = {key for arm in manifest["arms"] for key in arm["params"]}
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        raise ConfigError(f"{folder.root}: no successful runs to report ({len(runs)} failed)")
    measures = [column for column in ok.columns if column not in NOT_MEASURES and column not in params
                and pd.api.types.is_numeric_dtype(ok[column])]
    return SweepResults(folder.root, manifest, arms, ok, runs[runs["status"] != "ok"], measures)


def arm_statistics(results: SweepResults) -> pd.DataFrame:
    """Per arm and measure: runs, mean and its 95 % interval. Long form, arms in plan order."""
    rows = []
    for arm in results.arms.itertuples():
        chosen = results.runs[results.runs["arm"] == arm.arm]
        for measure in results.measures:
            mean, low, high, n = mean_interval(chosen[measure].to_numpy(dtype=float))
            rows.append({"arm": arm.arm, "label": arm.label, "measure": measure, "n": n,
                         "mean": mean, "low": low, "high": high})
    return pd.DataFrame(rows)


def paired_differences(results: SweepResults) -> pd.DataFrame:
    """Per arm and measure: the mean of (arm - control) over the seeds both ran, with its interval.

    Pairing by seed removes the variation the arms share (same prices, same traders), so these
    intervals are narrower than the difference of the per-arm intervals would suggest.
    """
    rows = []
    labels = dict(zip(results.arms["arm"], results.arms["label"]))
    for arm in results.arms.itertuples():
        if not isinstance(arm.control, str) or arm.control == arm.arm:
            continue
        mine = results.runs[results.runs["arm"] == arm.arm].set_index("seed")
        theirs = results.runs[results.runs["arm"] == arm.control].set_index("seed")
        seeds = mine.index.intersection(theirs.index)
        for measure in results.measures:
            control = theirs.loc[seeds, measure].to_numpy(dtype=float)
            mean, low, high, n = mean_interval(mine.loc[seeds, measure].to_numpy(dtype=float) - control)
            base = float(np.nanmean(control)) if len(seeds) else float("nan")
            rows.append({"arm": arm.arm, "label": arm.label, "control": labels[arm.control], "measure": measure,
                         "pairs": n, "difference": mean, "low": low, "high": high, "control_mean": base})
    return pd.DataFrame(rows)


def sensitivity_indices(results: SweepResults, measures: tuple[str, ...] = FIGURE_MEASURES
                        ) -> tuple[pd.DataFrame, list[str]]:
    """Sensitivity indices over the sampled parameters, per group of the other parameters.

    Sobol samples give first-order and total Sobol indices (SALib ``sobol.analyze``); Latin
    hypercubes give first-order indices (``rbd_fast``). Each point's output is its mean over seeds.
    Returns the table and notes on what could not be computed.
    """
    sample = results.manifest.get("sample")
    if not sample:
        return pd.DataFrame(), []
    import warnings

    from SALib.analyze import rbd_fast, sobol

    problem = sample["problem"]
    names = problem["names"]
    arms = results.arms.copy()
    arms["group"] = [", ".join(f"{k}={v}" for k, v in params.items() if k not in names) or "all"
                     for params in arms["params"]]
    expected = int(arms["sample_index"].max()) + 1
    rows, notes = [], []
    for group, members in arms.groupby("group", sort=False):
        runs = results.runs[results.runs["arm"].isin(members["arm"])]
        points = runs.groupby("sample_index")
        if points.ngroups < expected:
            notes.append(f"sensitivity ({group}): {expected - points.ngroups} of {expected} sample points "
                         "have no successful run; indices not computed")
            continue
        x = points[names].first().to_numpy(dtype=float)
        for measure in (m for m in measures if m in results.measures):
            y = points[measure].mean().to_numpy(dtype=float)
            if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
                notes.append(f"sensitivity ({group}): {measure} is constant or undefined at some points; skipped")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if sample["method"] == "sobol":
                    found = sobol.analyze(problem, y, calc_second_order=sample["second_order"], seed=0)
                else:
                    found = rbd_fast.analyze(problem, x, y, seed=0)
            for i, name in enumerate(names):
                row = {"group": group, "measure": measure, "parameter": name,
                       "S1": found["S1"][i], "S1_conf": found["S1_conf"][i]}
                if "ST" in found:
                    row.update({"ST": found["ST"][i], "ST_conf": found["ST_conf"][i]})
                rows.append(row)
    return pd.DataFrame(rows), notes


# ---------------------------------------------------------------- figures


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


# ---------------------------------------------------------------- documents


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


type Block = Heading | Text | Table | Figure


def to_markdown(blocks: list[Block], root: Path) -> str:
    """The report as Markdown; figures linked relative to ``root``."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Text):
            lines += [block.text, ""]
        elif isinstance(block, Table):
            frame = block.frame.astype(str).map(lambda cell: cell.replace("|", "\\|"))
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(map(str, frame.columns)) + " |")
            lines.append("|" + "---|" * len(frame.columns))
            lines += ["| " + " | ".join(row) + " |" for row in frame.itertuples(index=False)]
            lines.append("")
        else:
            lines += [f"![{block.caption}]({block.path.relative_to(root).as_posix()})", "", f"*{block.caption}*", ""]
    return "\n".join(lines)


HTML_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}
figcaption,caption{font-style:italic;color:#555;text-align:left;margin:.3em 0}code{background:#f5f5f5}"""


def to_html(blocks: list[Block], title: str) -> str:
    """The report as one self-contained HTML page: figures embedded as base64 PNG."""
    import base64
    import html

    head = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{HTML_STYLE}</style></head><body>")
    parts = [head]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            parts.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            table = block.frame.to_html(index=False, escape=True, border=0)
            if block.caption:
                table = table.replace(">", f"><caption>{html.escape(block.caption)}</caption>", 1)
            parts.append(table)
        else:
            data = base64.b64encode(block.path.read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt='{html.escape(block.caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(block.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def wide_table(stats: pd.DataFrame, measures: list[str], value: str = "mean") -> pd.DataFrame:
    """Measures as rows, arms as columns, cells ``mean [low, high]``."""
    cells = {}
    for label, chosen in stats.groupby("label", sort=False):
        chosen = chosen.set_index("measure")
        cells[label] = [format_interval(m, chosen.at[m, value], chosen.at[m, "low"], chosen.at[m, "high"])
                        for m in measures]
    return pd.DataFrame({"measure": [measure_label(m) for m in measures], **cells})


def arms_table(results: SweepResults) -> pd.DataFrame:
    """The arms: id, label, parameter values, control, runs done and failed."""
    ok = results.runs["arm"].value_counts()
    failed = results.failed["arm"].value_counts() if len(results.failed) else pd.Series(dtype=int)
    labels = dict(zip(results.arms["arm"], results.arms["label"]))
    return pd.DataFrame({
        "arm": results.arms["arm"],
        "label": results.arms["label"],
        "parameters": [", ".join(f"{k}={v}" for k, v in params.items()) or "(base)" for params in results.arms["params"]],
        "control": [labels.get(c, "") if isinstance(c, str) else "" for c in results.arms["control"]],
        "runs ok": [int(ok.get(arm, 0)) for arm in results.arms["arm"]],
        "failed": [int(failed.get(arm, 0)) for arm in results.arms["arm"]],
    })


def provenance_text(results: SweepResults) -> str:
    """Where the numbers come from: sweep file and hash, seeds, commit, versions, time."""
    m = results.manifest
    git = m.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (with uncommitted changes)" if git.get("dirty") else "")
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items() if v)
    return (f"Sweep file {m.get('sweep_file')} (sha256 {str(m.get('sweep_sha256'))[:12]}), root seed "
            f"{m.get('root_seed')}, {len(m.get('seeds', []))} seeds per arm (the same in every arm), "
            f"{m.get('runs_planned')} runs planned; source commit {commit}; {versions}; "
            f"run from {m.get('started')} to {m.get('ended')}.")


@dataclass
class SweepReport:
    """What ``write_report`` wrote."""

    markdown: Path
    html: Path
    figures: list[Path]
    tables: dict[str, Path]
    notes: list[str]


def sensitivity_blocks(results: SweepResults, indices: pd.DataFrame, figures_dir: Path) -> list[Block]:
    """The sampled sweep's sections: measures against parameters, and the sensitivity indices."""
    blocks: list[Block] = [Heading("Sampled parameters"),
                           Figure(sample_figure(results, figures_dir / "sample.png"),
                                  "Measures against the sampled parameters (mean over seeds per point).")]
    if indices.empty:
        return blocks
    shown = indices.copy()
    for column in [c for c in shown.columns if c.startswith("S")]:
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    shown["measure"] = shown["measure"].map(measure_label)
    if shown["group"].nunique() == 1:
        shown = shown.drop(columns="group")
    method = ("Sobol indices (SALib sobol.analyze)" if results.manifest["sample"]["method"] == "sobol"
              else "first-order indices (SALib rbd_fast)")
    return blocks + [Heading("Sensitivity"),
                     Text(f"{method}; each sample point's output is its mean over seeds; conf: half-width of "
                          "the 95 % bootstrap interval."),
                     Table(shown),
                     Figure(sensitivity_figure(indices, figures_dir / "sensitivity.png"),
                            "Sensitivity indices by parameter.")]


def write_report(root: str | Path) -> SweepReport:
    """Tables, figures, report.md and a self-contained report.html for the sweep folder ``root``.

    Per-arm tables and figures are drawn for up to 40 arms (12 for the line figures); a sampled
    sweep has hundreds, and is summarised by its sensitivity indices instead.
    """
    results = read_results(root)
    out, m = results.root, results.manifest
    figures_dir = out / "figures"
    figures_dir.mkdir(exist_ok=True)
    notes: list[str] = []
    held = len(results.runs) + len(results.failed)
    if held < m["runs_planned"]:
        notes.append(f"{m['runs_planned'] - held} of {m['runs_planned']} planned runs are missing; "
                     "run the sweep again to finish it")
    if len(results.failed):
        notes.append(f"{len(results.failed)} runs failed and are left out (errors in runs.parquet)")
    codes = {s.get("code") for s in m.get("sessions", []) if s.get("runs_done")}
    if len(codes) > 1:
        notes.append(f"the runs come from {len(codes)} versions of the model code (see the sessions in "
                     "manifest.json); rerun into a new folder for results from one version")

    stats = arm_statistics(results)
    differences = paired_differences(results)
    indices, sensitivity_notes = sensitivity_indices(results)
    notes += sensitivity_notes
    tables = {"arm_statistics": out / "arm_statistics.csv", "differences": out / "differences.csv",
              "sensitivity": out / "sensitivity.csv"}
    for name, frame in (("arm_statistics", stats), ("differences", differences), ("sensitivity", indices)):
        if frame.empty:
            tables.pop(name)
        else:
            frame.to_csv(tables[name], index=False)

    few_arms = len(results.arms) <= MAX_ARM_ROWS
    headline = [measure for measure in FIGURE_MEASURES if measure in results.measures]
    arms = arms_table(results)
    blocks: list[Block] = [Heading(f"{m['name']}: sweep report", 1)]
    blocks += [Text(m["description"])] if m.get("description") else []
    blocks += [Text(provenance_text(results)), Heading("Arms"),
               Table(arms.head(MAX_ARM_ROWS), "" if few_arms else f"first {MAX_ARM_ROWS} of {len(arms)} arms")]
    if few_arms:
        blocks += [Heading("Headline measures by arm"),
                   Text(f"Mean over seeds and its {LEVEL:.0%} confidence interval (Student t) per arm."),
                   Table(wide_table(stats, headline)),
                   Figure(measures_figure(results, stats, figures_dir / "measures_by_arm.png"),
                          f"Headline measures by arm: each run (grey) and the mean with its {LEVEL:.0%} "
                          "interval (blue).")]
    if few_arms and len(differences):
        blocks += [Heading("Paired differences to the control"),
                   Text("Arm minus control on the same seed (same index path, same traders), averaged over "
                        f"seeds, with its {LEVEL:.0%} interval: pairing removes the variation the arms share."),
                   Table(wide_table(differences.rename(columns={"difference": "mean"}), headline)),
                   Figure(differences_figure(results, differences, figures_dir / "differences.png"),
                          "Paired differences to the control arm; red where the interval excludes 0.")]
    sizes = cascade_sizes(results)
    if sizes is None:
        notes.append("the sweep kept no cascades (keep: [events]); no cascade-size figure")
    elif len(sizes) > MAX_LINES:
        notes.append(f"{len(sizes)} arms are too many lines for the cascade-size figure; skipped")
    else:
        blocks += [Heading("Cascade sizes"),
                   Figure(cascade_figure(results, sizes, figures_dir / "cascade_sizes.png"),
                          "Share of cascades at least a given notional, by arm, all seeds pooled "
                          "(log-log: a straight tail is a power law).")]
    if len(results.arms) <= MAX_LINES:
        blocks += [Heading("Concentration"),
                   Figure(concentration_figure(results, figures_dir / "concentration.png"),
                          "Concentration of open interest by arm.")]
    if results.sampled:
        blocks += sensitivity_blocks(results, indices, figures_dir)
    if few_arms:
        blocks += [Heading("All measures by arm"), Table(wide_table(stats, results.measures))]
    if few_arms and len(differences):
        blocks += [Heading("All paired differences to the control"),
                   Table(wide_table(differences.rename(columns={"difference": "mean"}), results.measures))]
    blocks += [Heading("Notes"), *[Text(note) for note in notes]] if notes else []
    blocks.append(Text("Tables as CSV: " + ", ".join(path.name for path in tables.values())
                       + "; one row per run in runs.parquet."))
    markdown, page = out / "report.md", out / "report.html"
    markdown.write_text(to_markdown(blocks, out))
    page.write_text(to_html(blocks, f"{m['name']}: sweep report"))
    figures = [block.path for block in blocks if isinstance(block, Figure)]
    return SweepReport(markdown, page, figures, tables, notes)
