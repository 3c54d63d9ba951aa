"""Statistics of returns (sim/measures/returns.py): hand-computed examples and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.measures import (
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

samples = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=20, max_size=200)


def test_log_returns_are_log_price_ratios() -> None:
    np.testing.assert_allclose(log_returns(np.array([1.0, math.e, math.e, 1.0])), [1.0, 0.0, -1.0])
    assert log_returns(np.array([5.0])).size == 0
    for bad in ([1.0, 0.0], [1.0, -2.0], [1.0, np.nan]):
        with pytest.raises(ValueError, match="positive"):
            log_returns(np.array(bad))


def test_hill_exponent_by_hand() -> None:
    # 200 values, top 2.5 % = 5: e^1..e^5 over x_(6) = 1, mean log ratio 3, alpha 1/3
    values = np.concatenate([np.exp(np.arange(1.0, 6.0)), np.ones(195)])
    assert hill_exponent(values, 0.025) == pytest.approx(1 / 3)
    # signs do not matter (|x|), nor the order, nor NaN
    shuffled = np.random.default_rng(0).permutation(values * np.where(np.arange(200) % 2, -1, 1))
    assert hill_exponent(np.append(shuffled, np.nan), 0.025) == pytest.approx(1 / 3)
    # k = round(0.03 x 200) = 6 takes in x_(6) = 1 over x_(7) = 1: mean log ratio 15 / 6
    assert hill_exponent(values, 0.03) == pytest.approx(6 / 15)


def test_hill_exponent_is_nan_without_enough_tail() -> None:
    assert math.isnan(hill_exponent(np.arange(1.0, 101.0), 0.025))  # k = round(2.5) = 2 < 5
    assert math.isnan(hill_exponent(np.ones(400), 0.025))  # all the tail equal
    assert math.isnan(hill_exponent(np.concatenate([np.arange(1.0, 11.0), np.zeros(190)]), 0.1))  # x_(k+1) = 0
    with pytest.raises(ValueError, match="share"):
        hill_exponent(np.ones(10), 0.0)


def test_hill_exponent_recovers_a_pareto_tail() -> None:
    rng = np.random.default_rng(1)
    pareto = rng.pareto(3.0, size=200_000) + 1.0  # P(X > x) = x^-3
    assert hill_exponent(pareto, 0.025) == pytest.approx(3.0, abs=0.15)
    profile = hill_profile(pareto)
    assert profile.shape == (5,)
    np.testing.assert_allclose(profile, 3.0, atol=0.15)
    assert profile[2] == hill_exponent(pareto, 0.03)


@given(samples, st.floats(min_value=1e-3, max_value=1e3))
def test_hill_exponent_does_not_depend_on_scale(values: list[float], scale: float) -> None:
    x = np.array(values)
    first, second = hill_exponent(x, 0.25), hill_exponent(scale * x, 0.25)
    assert (math.isnan(first) and math.isnan(second)) or second == pytest.approx(first, rel=1e-9)


def test_excess_kurtosis_by_hand() -> None:
    assert excess_kurtosis(np.array([1.0, -1.0, 1.0, -1.0])) == pytest.approx(-2.0)
    # mean 0, m2 = 2/5, m4 = 2/5: 0.4 / 0.16 - 3
    assert excess_kurtosis(np.array([0.0, 0.0, 0.0, 1.0, -1.0, np.nan])) == pytest.approx(-0.5)
    assert math.isnan(excess_kurtosis(np.array([2.0, 2.0, 2.0])))
    assert math.isnan(excess_kurtosis(np.array([1.0])))


def test_excess_kurtosis_of_a_normal_sample_is_near_zero() -> None:
    normal = np.random.default_rng(2).normal(size=200_000)
    assert excess_kurtosis(normal) == pytest.approx(0.0, abs=0.05)


@given(samples, st.floats(min_value=-1e3, max_value=1e3), st.floats(min_value=1e-2, max_value=1e2))
def test_excess_kurtosis_does_not_depend_on_location_or_scale(values: list[float], shift: float,
                                                              scale: float) -> None:
    x = np.array(values)
    first, second = excess_kurtosis(x), excess_kurtosis(shift + scale * x)
    if np.ptp(x) > 1e-3:
        assert second == pytest.approx(first, rel=1e-6, abs=1e-6)


def test_autocorrelation_by_hand() -> None:
    # deviations -1.5, -0.5, 0.5, 1.5; sum of squares 5
    found = autocorrelation(np.array([1.0, 2.0, 3.0, 4.0]), [0, 1, 2, 3, 4])
    np.testing.assert_allclose(found[:4], [1.0, 1.25 / 5, -1.5 / 5, -2.25 / 5])
    assert math.isnan(found[4])
    assert np.isnan(autocorrelation(np.full(5, 3.0), [1])).all()
    np.testing.assert_allclose(absolute_autocorrelation(np.array([1.0, -2.0, 3.0, -4.0]), [1]), [0.25])
    with pytest.raises(ValueError, match="finite"):
        autocorrelation(np.array([1.0, np.nan, 2.0]), [1])


def test_autocorrelation_of_independent_draws_is_near_zero_and_clustering_shows() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(size=100_000)
    assert abs(autocorrelation(noise, [1])[0]) < 4 / np.sqrt(noise.size)
    regimes = np.repeat(rng.choice([0.5, 2.0], size=1000), 100)  # volatility that persists 100 steps
    clustered = noise * regimes
    acf = absolute_autocorrelation(clustered, [1, 10, 60])
    assert np.all(acf > 0.1)
    assert abs(autocorrelation(clustered, [1])[0]) < 4 / np.sqrt(noise.size)


def test_loglog_slope_recovers_a_power_law_and_skips_non_positive_points() -> None:
    lags = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert loglog_slope(lags, 0.3 * lags**-0.5) == pytest.approx(-0.5)
    with_noise = 0.3 * lags**-0.5
    with_noise[3] = -0.01
    assert loglog_slope(lags, with_noise) == pytest.approx(-0.5)
    assert math.isnan(loglog_slope(lags, np.array([0.1, -0.1, 0.0, np.nan, -1.0])))


def test_aggregate_returns_sums_blocks_and_drops_the_partial_one() -> None:
    np.testing.assert_allclose(aggregate_returns(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2), [3.0, 7.0])
    with pytest.raises(ValueError, match="horizon"):
        aggregate_returns(np.ones(3), 0)


def test_kurtosis_by_horizon_by_hand() -> None:
    # one spike in eight: 1 minute, mean 1/4: m2 = 7/16, m4 = 301/256, kurtosis 43/7 - 3 = 22/7;
    # in pairs [2, 0, 0, 0]: m2 = 3/4, m4 = 21/16, kurtosis 7/3 - 3 = -2/3
    found = kurtosis_by_horizon(np.array([2.0, 0, 0, 0, 0, 0, 0, 0]), (1, 2))
    np.testing.assert_allclose(found, [22 / 7, -2 / 3])


@settings(max_examples=30)
@given(st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=1, max_size=120), st.integers(1, 10))
def test_aggregation_keeps_the_total_move_of_whole_blocks(values: list[float], horizon: int) -> None:
    r = np.array(values)
    whole = (len(values) // horizon) * horizon
    assert aggregate_returns(r, horizon).sum() == pytest.approx(r[:whole].sum(), abs=1e-9)


def test_annualised_volatility_by_hand_and_on_a_random_walk() -> None:
    assert annualised_volatility(np.full(10, 0.001)) == pytest.approx(math.sqrt(1e-6 * 525_600))
    assert annualised_volatility(np.full(10, 0.001), minutes_per_step=5.0) == pytest.approx(math.sqrt(1e-6 * 105_120))
    walk = np.random.default_rng(4).normal(0.0, 0.4 / math.sqrt(525_600), size=100_000)
    assert annualised_volatility(walk) == pytest.approx(0.4, rel=0.02)
    assert math.isnan(annualised_volatility(np.array([np.nan])))
