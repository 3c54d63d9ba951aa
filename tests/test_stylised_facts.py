"""Qualitative facts of real leveraged markets that the calibrated model reproduces, pinned over enough
seeds not to be flaky (the figures themselves are in docs/validation/validation.md).

One fact the issue asked for is not here: fatter tails with leverage than without (Thurner, Farmer &
Geanakoplos 2012). At the calibrated depth the model does not show it on a calm day (the paired
difference is within noise); docs/validation/validation.md reports it and the README says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.measures import absolute_autocorrelation, log_returns

ROOT = Path(__file__).resolve().parents[1]
CALM = ROOT / "configs" / "scenarios" / "calm_day.yaml"
OCTOBER = ROOT / "configs" / "scenarios" / "october_2025.yaml"
CALM_SEEDS = range(1, 9)
CRASH_SEEDS = range(1, 5)
WINDOW_SLACK = 5

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crash_days() -> list[sim.RunResult]:
    return [sim.run(OCTOBER, seed=seed) for seed in CRASH_SEEDS]


def crash_window(result: sim.RunResult) -> tuple[int, int]:
    """The falling shock's steps, and a few minutes after them."""
    fall = next(shock for shock in result.config.fundamental.shocks if shock.size < 0)
    return fall.step, fall.step + fall.duration + WINDOW_SLACK


def test_absolute_returns_stay_autocorrelated_an_hour_apart():
    """Volatility clusters: |1-minute mark returns| are positively autocorrelated at a lag of 60
    minutes on the calm day, in every seed."""
    lag60 = [absolute_autocorrelation(log_returns(sim.run(CALM, seed=seed).timeseries["mark"].to_numpy()), [60])[0]
             for seed in CALM_SEEDS]
    assert min(lag60) > 0.0, np.round(lag60, 3)


def test_longs_are_most_of_what_a_down_crash_liquidates(crash_days):
    liquidated = long = 0.0
    for result in crash_days:
        start, end = crash_window(result)
        window = result.liquidations[(result.liquidations["step"] > start) & (result.liquidations["step"] <= end)]
        liquidated += window["notional"].sum()
        long += window.loc[window["side"] == "long", "notional"].sum()
    assert liquidated > 0
    assert long / liquidated > 0.8


def test_most_of_a_crash_days_liquidations_fall_inside_its_crash_window(crash_days):
    inside = total = 0.0
    for result in crash_days:
        start, end = crash_window(result)
        steps = result.liquidations["step"]
        inside += result.liquidations.loc[(steps > start) & (steps <= end), "notional"].sum()
        total += result.liquidations["notional"].sum()
    assert inside / total > 0.5
