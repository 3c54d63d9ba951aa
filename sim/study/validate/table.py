"""The validation table: each row's statistic over seeds (mean and its 95 % Student-t interval), the
fundamental's beside it where the statistic is one of prices, the reference, and the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.measures.returns import HILL_SHARES
from sim.study.labels import format_interval
from sim.study.report.statistics import mean_interval
from sim.study.validate.experiments import Measured
from sim.study.validate.references import FUNDAMENTAL, RETURNS, ROWS, Row
from sim.study.validate.statistics import hill_key

MODEL = "model: mark, mean [95 % interval]"
BESIDE = "fundamental, same statistic"
INTERVAL = "95 % interval vs range"
DISPLAY_COLUMNS = ("figure", MODEL, BESIDE, "seeds", "reference", "source", "verdict", INTERVAL)


def per_seed_frame(measured: list[Measured]) -> pd.DataFrame:
    """One row per successful run: experiment, seed and every statistic."""
    return pd.DataFrame([{"experiment": m.experiment, "seed": m.seed, **m.statistics}
                         for m in measured if m.error is None])


def seed_values(per_seed: pd.DataFrame, experiment: str, statistic: str, versus: str | None) -> np.ndarray:
    """A statistic of an experiment's runs in seed order; with ``versus``, minus that experiment's
    on the same seed (seeds only one of them ran are left out)."""
    mine = per_seed[per_seed["experiment"] == experiment].set_index("seed")[statistic]
    if versus is None:
        return mine.to_numpy(dtype=float)
    theirs = per_seed[per_seed["experiment"] == versus].set_index("seed")[statistic]
    seeds = mine.index.intersection(theirs.index)
    return (mine.loc[seeds] - theirs.loc[seeds]).to_numpy(dtype=float)


def validation_table(per_seed: pd.DataFrame, rows: tuple[Row, ...] = ROWS) -> pd.DataFrame:
    """The table in numbers, one row per figure, in the order of ``rows``."""
    records = []
    for row in rows:
        mean, low, high, n = mean_interval(seed_values(per_seed, row.experiment, row.statistic, row.versus))
        beside = (mean_interval(seed_values(per_seed, row.experiment, row.fundamental, row.versus))
                  if row.fundamental else (np.nan, np.nan, np.nan, 0))
        reference = row.reference
        records.append({
            "section": row.section, "experiment": row.experiment, "versus": row.versus or "", "figure": row.figure,
            "statistic": row.statistic, "seeds": n, "mean": mean, "low": low, "high": high,
            "fundamental_mean": beside[0], "fundamental_low": beside[1], "fundamental_high": beside[2],
            "reference": reference.text, "reference_low": reference.low, "reference_high": reference.high,
            "source": reference.source, "verdict": reference.verdict(mean),
            "interval": reference.interval_verdict(low, high),
        })
    return pd.DataFrame(records)


def display_table(table: pd.DataFrame, section: str, rows: tuple[Row, ...] = ROWS) -> pd.DataFrame:
    """One section of the table as people read it: intervals formatted in the row's unit."""
    cells = []
    for row, numbers in zip(rows, table.itertuples(index=False)):
        if row.section != section:
            continue
        beside = (format_interval("", numbers.fundamental_mean, numbers.fundamental_low, numbers.fundamental_high,
                                  row.unit) if row.fundamental else "")
        cells.append((row.figure, format_interval("", numbers.mean, numbers.low, numbers.high, row.unit), beside,
                      str(numbers.seeds), numbers.reference, numbers.source, numbers.verdict, numbers.interval))
    return pd.DataFrame(cells, columns=list(DISPLAY_COLUMNS))


def hill_table(per_seed: pd.DataFrame, experiment: str = "calm_day") -> pd.DataFrame:
    """The Hill exponent of |returns| over tail shares of 1-5 %, mark and fundamental: a stable
    estimate changes little from one share to the next."""
    cells = []
    for share in HILL_SHARES:
        key = hill_key(share)
        cells.append({"largest |returns|": f"top {share:.0%}", **{
            label: format_interval("", *mean_interval(seed_values(per_seed, experiment, prefix + key, None))[:3],
                                   "{:.3g}")
            for label, prefix in (("mark", RETURNS), ("fundamental", FUNDAMENTAL))}})
    return pd.DataFrame(cells)
