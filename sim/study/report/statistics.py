"""Per-arm means with intervals, paired differences to the control, and sensitivity indices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.study.report.results import FIGURE_MEASURES, LEVEL, SweepResults


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
            base = float(np.nanmean(control)) if np.isfinite(control).any() else float("nan")
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
