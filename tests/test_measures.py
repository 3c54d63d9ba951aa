"""Tests of sim.metrics: worked examples by hand, edge cases and properties."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.measures import (
    CASCADE_COLUMNS,
    by_entity,
    concentration,
    contract_weighted,
    detect_cascades,
    gini,
    hhi,
    lorenz_curve,
    summarize,
    tail_exponent,
    tier_open_interest,
    top_share,
)

positive_amounts = st.lists(
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)
nonnegative_amounts = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e6)),
    min_size=1,
    max_size=60,
).filter(lambda values: sum(values) > 0)


# --------------------------------------------------------------------------------------------
# hhi, top_share, gini, lorenz_curve, by_entity: worked examples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([3.0, 1.0], 0.625),  # (3/4)^2 + (1/4)^2
        ([1.0, 1.0, 1.0, 1.0], 0.25),
        ([5.0], 1.0),
        ([2.0, 0.0, 0.0], 1.0),
        ([1.0, 2.0, 3.0, 4.0], (1 + 4 + 9 + 16) / 100),
    ],
)
def test_hhi_worked_examples(amounts, expected):
    assert hhi(np.array(amounts)) == pytest.approx(expected)


@pytest.mark.parametrize("amounts", [[], [0.0], [0.0, 0.0, 0.0]])
def test_nothing_held_is_not_concentrated(amounts):
    values = np.array(amounts, dtype=float)
    assert hhi(values) == 0.0
    assert gini(values) == 0.0
    assert top_share(values, 1) == 0.0
    assert top_share(values, 10) == 0.0


@pytest.mark.parametrize("function", [hhi, gini, lambda a: top_share(a, 1), lorenz_curve])
def test_negative_amounts_are_refused(function):
    with pytest.raises(ValueError, match="non-negative"):
        function(np.array([1.0, -2.0]))


@pytest.mark.parametrize(
    ("k", "expected"),
    [(0, 0.0), (1, 0.5), (2, 0.8), (3, 1.0), (10, 1.0)],
)
def test_top_share_worked_examples(k, expected):
    assert top_share(np.array([3.0, 5.0, 2.0]), k) == pytest.approx(expected)


def test_top_share_counts_only_positive_amounts_for_the_whole():
    assert top_share(np.array([0.0, 4.0, 0.0]), 1) == 1.0
    assert top_share(np.array([0.0, 3.0, 1.0, 0.0]), 1) == pytest.approx(0.75)


def test_top_share_is_exactly_one_when_k_covers_every_holder():
    # summed in another order these would give 1.0000000000000002
    values = np.array(
        [
            39.16190005281612,
            8.902743520047924,
            2.2715759353337974,
            6231.871446860424,
            8401.534358238483,
            0.8326441476533978,
            0.7870983074886834,
        ]
    )
    assert top_share(values, 7) == 1.0
    assert top_share(np.append(values, 0.0), 7) == 1.0
    c = concentration(np.round(values * 1000).astype(np.int64), 0.001, np.arange(7), np.zeros(7, dtype=bool), top_k=7)
    assert c["top10_share_long"] == 1.0
    assert lorenz_curve(values)[1][-1] == 1.0


def test_top_share_refuses_negative_k():
    with pytest.raises(ValueError):
        top_share(np.array([1.0, 2.0]), -1)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([0.0, 0.0, 1.0], 2 / 3),  # one of three holds everything: (n-1)/n
        ([1.0, 1.0, 1.0], 0.0),
        ([1.0, 2.0, 3.0, 4.0], 0.25),  # sum |xi - xj| = 20 over 2 n^2 mean = 80
        ([1.0, 3.0], 0.25),  # |1-3| * 2 / (2 * 4 * 2)
        ([7.0], 0.0),
    ],
)
def test_gini_worked_examples(amounts, expected):
    assert gini(np.array(amounts)) == pytest.approx(expected, abs=1e-12)


def test_gini_of_equal_amounts_is_never_below_zero():
    # the weighted sum comes out at -8.5e-18 in floating point for these
    assert gini(np.full(34, 26.97867137638703)) == 0.0


def test_lorenz_curve_worked_example():
    population, value = lorenz_curve(np.array([3.0, 1.0]))
    np.testing.assert_allclose(population, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(value, [0.0, 0.25, 1.0])


def test_lorenz_curve_ends_exactly_at_one():
    # the running sum of these stops just short of their pairwise total
    values = np.array(
        [759.269, 5.97, 917.692, 6896.302, 5.004, 770.838, 488.449, 212.831, 13.27, 5060.649]
    )
    population, value = lorenz_curve(values)
    assert population[-1] == value[-1] == 1.0
    assert value.size == values.size + 1


@pytest.mark.parametrize("amounts", [[], [0.0, 0.0]])
def test_lorenz_curve_of_nothing_is_the_equality_line(amounts):
    population, value = lorenz_curve(np.array(amounts, dtype=float))
    assert population[0] == value[0] == 0.0
    assert population[-1] == value[-1] == 1.0
    np.testing.assert_array_equal(population, value)


def test_by_entity_sums_accounts_and_drops_empty_entities():
    amounts = np.array([1.0, 2.0, 3.0, 4.0])
    entity = np.array([0, 2, 0, 5])
    np.testing.assert_array_equal(by_entity(amounts, entity), [4.0, 2.0, 4.0])


def test_by_entity_empty_and_mismatched():
    assert by_entity(np.zeros(0), np.zeros(0, dtype=np.int64)).size == 0
    with pytest.raises(ValueError):
        by_entity(np.ones(3), np.zeros(2, dtype=np.int64))


# --------------------------------------------------------------------------------------------
# concentration and tier_open_interest
# --------------------------------------------------------------------------------------------


def _book():
    """Six accounts (lots) worth 10 a lot: entity 0 is a whale split over two long accounts."""
    position = np.array([3, 1, 4, -6, -2, 0])
    entity = np.array([0, 0, 1, 2, 3, 4])
    is_whale = np.array([True, True, False, False, True, False])
    return position, 10.0, entity, is_whale


def test_concentration_worked_example():
    position, mark, entity, is_whale = _book()
    c = concentration(position, mark, entity, is_whale)
    # long notionals 30, 10, 40 (total 80); entity 0 holds 30 + 10 = 40, entity 1 holds 40
    assert c["hhi_accounts_long"] == pytest.approx((9 + 1 + 16) / 64)
    assert c["hhi_entities_long"] == pytest.approx(0.5)
    assert c["top1_share_long"] == pytest.approx(0.5)
    assert c["top10_share_long"] == 1.0
    assert c["gini_long"] == pytest.approx(0.25)  # sorted 10, 30, 40: (-2*10 + 2*40) / (3*80)
    assert c["whale_share_long"] == pytest.approx(0.5)
    # short notionals 60, 20 (total 80), one account per entity
    assert c["hhi_accounts_short"] == pytest.approx(0.625)
    assert c["hhi_entities_short"] == pytest.approx(0.625)
    assert c["top1_share_short"] == pytest.approx(0.75)
    assert c["gini_short"] == pytest.approx(0.25)
    assert c["whale_share_short"] == pytest.approx(0.25)
    # both sides: notionals 30, 10, 40, 60, 20 (total 160); entities 40, 40, 60, 20
    assert c["hhi_accounts"] == pytest.approx((900 + 100 + 1600 + 3600 + 400) / 160**2)
    assert c["hhi_entities"] == pytest.approx((1600 + 1600 + 3600 + 400) / 160**2)
    assert c["top10_share"] == 1.0
    assert c["whale_share"] == pytest.approx(60 / 160)
    assert c["open_interest_notional"] == pytest.approx(80.0)
    assert c["accounts_open"] == 5


def test_concentration_top_k_keeps_the_top10_key():
    position, mark, entity, is_whale = _book()
    c = concentration(position, mark, entity, is_whale, top_k=2)
    assert c["top10_share_long"] == pytest.approx(70 / 80)
    assert c["top10_share_short"] == 1.0
    assert c["top10_share"] == pytest.approx(100 / 160)
    assert "top2_share" not in c


def test_two_accounts_of_one_entity_count_as_one():
    position = np.array([5, 5, -10])
    apart = concentration(position, 1.0, np.array([0, 1, 2]), np.zeros(3, dtype=bool))
    merged = concentration(position, 1.0, np.array([7, 7, 2]), np.zeros(3, dtype=bool))
    assert apart["hhi_entities_long"] == pytest.approx(0.5)
    assert merged["hhi_entities_long"] == pytest.approx(1.0)
    assert merged["hhi_accounts_long"] == apart["hhi_accounts_long"] == pytest.approx(0.5)


def test_an_entity_on_both_sides_counts_its_gross_notional_pooled():
    position = np.array([4, -4, -1, 1])
    entity = np.array([0, 0, 1, 2])  # entity 0 is long on one account, short on another
    c = concentration(position, 1.0, entity, np.zeros(4, dtype=bool))
    assert c["hhi_entities_long"] == pytest.approx((16 + 1) / 25)
    assert c["hhi_entities_short"] == pytest.approx((16 + 1) / 25)
    assert c["hhi_entities"] == pytest.approx((64 + 1 + 1) / 100)


def test_concentration_with_nothing_open():
    for n in (0, 4):
        c = concentration(np.zeros(n, dtype=np.int64), 123.0, np.arange(n, dtype=np.int64), np.ones(n, dtype=bool))
        assert c["accounts_open"] == 0
        assert c["open_interest_notional"] == 0.0
        assert all(value == 0.0 for value in c.values())


def test_concentration_one_side_only_and_plain_types():
    c = concentration(np.array([2, 0]), 5.0, np.array([0, 1]), np.array([False, True]))
    assert c["hhi_accounts_long"] == 1.0
    assert c["hhi_accounts_short"] == 0.0
    assert c["whale_share"] == 0.0
    assert c["open_interest_notional"] == 10.0
    assert all(type(value) in (float, int) for value in c.values())


def test_concentration_refuses_mismatched_arrays():
    with pytest.raises(ValueError, match="same shape"):
        concentration(np.ones(3, dtype=np.int64), 1.0, np.zeros(2, dtype=np.int64), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="whole numbers"):
        concentration(np.ones(3), 1.0, np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool))


def test_tier_open_interest_worked_example():
    position = np.array([1.0, -2.0, 0.0, 3.0])
    tier = np.array([1, 2, 3, 2])
    notional, count = tier_open_interest(position, 10.0, tier, 3)
    np.testing.assert_allclose(notional, [10.0, 50.0, 0.0])
    np.testing.assert_array_equal(count, [1, 2, 0])
    assert notional.shape == count.shape == (3,)


def test_contract_weighted_leverage_worked_example():
    # 3 lots long opened at 10x, 1 lot short at 20x, a flat account at 5x: (3 x 10 + 1 x 20) / 4 = 12.5
    assert contract_weighted(np.array([10.0, 20.0, 5.0]), np.array([3, -1, 0])) == 12.5
    assert contract_weighted(np.array([7.0]), np.array([0])) == 0.0
    assert contract_weighted(np.zeros(0), np.zeros(0, dtype=np.int64)) == 0.0
    with pytest.raises(ValueError, match="whole numbers"):
        contract_weighted(np.array([10.0]), np.array([1.5]))


def test_tier_open_interest_empty_and_out_of_range():
    notional, count = tier_open_interest(np.zeros(0), 1.0, np.zeros(0, dtype=np.int64), 4)
    np.testing.assert_array_equal(notional, np.zeros(4))
    np.testing.assert_array_equal(count, np.zeros(4))
    # a closed account's tier is not looked at
    tier_open_interest(np.array([1.0, 0.0]), 1.0, np.array([1, 0]), 1)
    with pytest.raises(ValueError, match="tier"):
        tier_open_interest(np.array([1.0, -1.0]), 1.0, np.array([1, 3]), 2)
    with pytest.raises(ValueError, match="tier"):
        tier_open_interest(np.array([1.0]), 1.0, np.array([0]), 2)


# --------------------------------------------------------------------------------------------
# detect_cascades
# --------------------------------------------------------------------------------------------


def _liquidations() -> pd.DataFrame:
    """Hand-built log: steps 3, 4, 6 (long side) and 10 (mostly short)."""
    rows = [
        # step, round, account, side, notional, taker, bad_debt
        (3, 1, 10, "long", 100.0, "engine", 0.0),
        (3, 1, 10, "long", 50.0, "adl", 5.0),  # same liquidation, closed partly by ADL
        (3, 2, 11, "long", 30.0, "liquidator", 0.0),
        (4, 1, 10, "long", 20.0, "engine", 0.0),  # the same account again, a step later
        (6, 3, 13, "long", 40.0, "engine", 2.0),
        (10, 1, 14, "short", 70.0, "liquidator", 0.0),
        (10, 1, 15, "long", 10.0, "engine", 0.0),
    ]
    frame = pd.DataFrame(
        rows, columns=["step", "round", "account", "side", "notional", "taker", "bad_debt"]
    )
    frame["owner"] = frame["account"]
    frame["entity"] = frame["account"]
    frame["kind"] = "retail"
    frame["mark_before"] = 100.0
    frame["size"] = frame["notional"] / frame["mark_before"]
    frame["tier"] = 1
    frame["mark_after"] = 99.0
    frame["price"] = 99.5
    frame["penalty"] = 0.0
    return frame


def _timeseries() -> pd.DataFrame:
    """Twelve steps: the mark falls harder than the index, then jumps up at step 10 (the index is its
    own fundamental here: no flow moved spot)."""
    mark = [100, 100, 100, 95, 90, 92, 88, 90, 90, 90, 99, 100]
    index = [100, 100, 100, 98, 96, 97, 96, 96, 96, 96, 97, 97]
    n = len(mark)
    return pd.DataFrame(
        {
            "step": np.arange(n),
            "mark": np.array(mark, dtype=float),
            "index": np.array(index, dtype=float),
            "fundamental": np.array(index, dtype=float),
            "basis": [0.0, 0.001, -0.002, -0.03, -0.06, -0.05, -0.08, -0.06, -0.06, -0.06, 0.02, 0.03],
            "arbitrage_margin_use": [0.0] * 3 + [0.5, 0.9, 0.4] + [0.1] * 6,
            "open_interest_notional": np.linspace(1000.0, 890.0, n),
            "insurance_fund": [50, 50, 50, 45, 45, 40, 43, 43, 43, 43, 44, 46.0],
            "bad_debt": [0, 0, 0, 5, 5, 5, 7, 7, 7, 7, 7, 7.0],
            "adl_count": [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            "liquidation_count": [0, 0, 0, 2, 1, 0, 1, 0, 0, 0, 2, 0],
            "liquidation_notional": [0, 0, 0, 180, 20, 0, 40, 0, 0, 0, 80, 0.0],
            "hhi_accounts": np.linspace(0.1, 0.2, n),
            "hhi_entities": np.linspace(0.2, 0.4, n),
            "top10_share": np.full(n, 0.5),
            "whale_share": [0.1] * 6 + [0.3] * 6,
        }
    )


def test_cascades_with_no_gap():
    cascades = detect_cascades(_liquidations(), _timeseries(), gap=0)
    assert list(cascades.columns) == list(CASCADE_COLUMNS)
    assert cascades["cascade"].tolist() == [0, 1, 2]
    assert cascades["start_step"].tolist() == [3, 6, 10]
    assert cascades["end_step"].tolist() == [4, 6, 10]
    assert cascades["duration"].tolist() == [2, 1, 1]
    assert cascades["count"].tolist() == [3, 1, 2]  # distinct (step, account)
    assert cascades["events"].tolist() == [4, 1, 2]
    assert cascades["rounds"].tolist() == [2, 3, 1]
    np.testing.assert_allclose(cascades["notional"], [200.0, 40.0, 80.0])
    np.testing.assert_allclose(cascades["long_notional"], [200.0, 40.0, 10.0])
    np.testing.assert_allclose(cascades["short_notional"], [0.0, 0.0, 70.0])
    np.testing.assert_allclose(cascades["bad_debt"], [5.0, 2.0, 0.0])
    np.testing.assert_allclose(cascades["adl_notional"], [50.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("gap", "starts", "counts"),
    [
        (1, [3, 10], [4, 2]),  # one quiet step (5) between 4 and 6 is allowed
        (2, [3, 10], [4, 2]),  # three quiet steps (7, 8, 9) before 10 are not
        (3, [3], [6]),
    ],
)
def test_cascades_with_gaps(gap, starts, counts):
    cascades = detect_cascades(_liquidations(), _timeseries(), gap=gap)
    assert cascades["start_step"].tolist() == starts
    assert cascades["count"].tolist() == counts
    assert cascades["notional"].sum() == pytest.approx(320.0)


def test_cascade_gap_joins_rounds_and_bad_debt():
    first = detect_cascades(_liquidations(), _timeseries(), gap=2).iloc[0]
    assert (first["end_step"], first["duration"], first["events"]) == (6, 4, 5)
    assert first["rounds"] == 3
    assert first["bad_debt"] == pytest.approx(7.0)


def test_cascade_mark_move_index_move_and_amplification():
    cascades = detect_cascades(_liquidations(), _timeseries(), gap=0)
    # steps 2..4: mark 100 -> 90, index 100 -> 96 between the same steps
    # steps 5..6: mark 92 -> 88, index 97 -> 96 (step 2's peak is outside the window)
    # steps 9..10, short side: mark rises 90 -> 99, index 96 -> 97
    np.testing.assert_allclose(cascades["mark_move"], [0.10, 4 / 92, 0.10])
    np.testing.assert_allclose(cascades["index_move"], [0.04, 1 / 97, 1 / 96])
    np.testing.assert_allclose(cascades["amplification"], [2.5, (4 / 92) / (1 / 97), 9.6])
    joined = detect_cascades(_liquidations(), _timeseries(), gap=1).iloc[0]
    assert joined["mark_move"] == pytest.approx(0.12)  # 100 at step 2 to 88 at step 6
    assert joined["amplification"] == pytest.approx(3.0)


def _single(step: int, side: str) -> pd.DataFrame:
    """A one-row liquidation log."""
    frame = _liquidations().iloc[[0]].copy()
    frame["step"] = step
    frame["side"] = side
    return frame


def test_index_moving_the_other_way_gives_negative_index_move_and_infinite_amplification():
    ts = pd.DataFrame({"step": [0, 1, 2], "mark": [100.0, 100.0, 90.0], "index": [100.0] * 3})
    ts.loc[2, "index"] = 101.0
    ts["fundamental"] = ts["index"]
    row = detect_cascades(_single(2, "long"), ts, gap=0).iloc[0]
    assert row["mark_move"] == pytest.approx(0.10)
    assert row["index_move"] == pytest.approx(-0.01)
    assert row["amplification"] == math.inf


def test_short_cascade_measures_the_rise():
    ts = pd.DataFrame(
        {"step": [0, 1, 2], "mark": [100.0, 80.0, 90.0], "index": [100.0, 90.0, 99.0]}
    )
    ts["fundamental"] = ts["index"]
    up = detect_cascades(_single(2, "short"), ts, gap=0).iloc[0]
    down = detect_cascades(_single(2, "long"), ts, gap=0).iloc[0]
    assert up["mark_move"] == pytest.approx(0.125)  # 80 -> 90 over steps 1..2
    assert up["index_move"] == pytest.approx(0.10)  # 90 -> 99
    assert up["amplification"] == pytest.approx(1.25)
    assert down["mark_move"] == 0.0  # the fall 100 -> 80 ends at step 1, the window's start


@pytest.mark.parametrize(
    ("mark", "index", "expected_index_move"),
    [
        ([120.0, 95.0, 100.0, 90.0], [120.0, 100.0, 98.0, 96.0], 2 / 98),  # peak inside window
        ([120.0, 100.0, 100.0, 90.0], [120.0, 100.0, 99.0, 97.0], 2 / 99),  # latest equal peak
    ],
)
def test_index_move_is_taken_between_the_steps_of_the_mark_move(mark, index, expected_index_move):
    ts = pd.DataFrame({"step": [0, 1, 2, 3], "mark": mark, "index": index})
    ts["fundamental"] = ts["index"]
    log = pd.concat([_single(2, "long"), _single(3, "long")], ignore_index=True)
    row = detect_cascades(log, ts, gap=0).iloc[0]
    assert (row["start_step"], row["end_step"]) == (2, 3)
    assert row["mark_move"] == pytest.approx(0.10)
    assert row["index_move"] == pytest.approx(expected_index_move)
    assert row["amplification"] == pytest.approx(0.10 / expected_index_move)


def test_amplification_is_the_marks_move_over_the_fundamentals():
    # the fundamental falls 2 %, flow takes spot (the index) down 5 %, the mark 10 %
    ts = pd.DataFrame({"step": [0, 1, 2], "mark": [100.0, 100.0, 90.0], "index": [100.0, 100.0, 95.0],
                       "fundamental": [100.0, 100.0, 98.0]})
    row = detect_cascades(_single(2, "long"), ts, gap=0).iloc[0]
    assert row["mark_move"] == pytest.approx(0.10)
    assert row["index_move"] == pytest.approx(0.05)
    assert row["fundamental_move"] == pytest.approx(0.02)
    assert row["amplification"] == pytest.approx(5.0)


def test_nothing_moved_gives_no_amplification():
    ts = pd.DataFrame({"step": [0, 1], "mark": [100.0, 100.0], "index": [100.0, 100.0]})
    ts["fundamental"] = ts["index"]
    row = detect_cascades(_single(1, "long"), ts, gap=0).iloc[0]
    assert row["mark_move"] == 0.0
    assert row["index_move"] == 0.0
    assert math.isnan(row["amplification"])


def test_cascade_outside_the_timeseries_has_nan_moves():
    ts = pd.DataFrame({"step": [0, 1], "mark": [100.0, 90.0], "index": [100.0, 95.0]})
    ts["fundamental"] = ts["index"]
    row = detect_cascades(_single(50, "long"), ts, gap=0).iloc[0]
    assert row["count"] == 1
    assert math.isnan(row["mark_move"]) and math.isnan(row["amplification"])


@pytest.mark.parametrize("log", [_liquidations().iloc[0:0], pd.DataFrame()])
def test_no_liquidations_give_an_empty_cascade_table(log):
    cascades = detect_cascades(log, _timeseries(), gap=0)
    assert len(cascades) == 0
    assert list(cascades.columns) == list(CASCADE_COLUMNS)
    assert dict(cascades.dtypes.astype(str)) == CASCADE_COLUMNS


def test_cascades_refuse_negative_gap():
    with pytest.raises(ValueError):
        detect_cascades(_liquidations(), _timeseries(), gap=-1)


def test_cascades_ignore_row_order():
    shuffled = _liquidations().sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        detect_cascades(shuffled, _timeseries(), gap=0),
        detect_cascades(_liquidations(), _timeseries(), gap=0),
    )


# --------------------------------------------------------------------------------------------
# tail_exponent
# --------------------------------------------------------------------------------------------


def _pareto(rng: np.random.Generator, alpha: float, xmin: float, n: int) -> np.ndarray:
    """Samples of density ~ x^-alpha above xmin (numpy's pareto is the Lomax shifted by 1)."""
    return xmin * (1.0 + rng.pareto(alpha - 1.0, n))


def test_tail_exponent_recovers_a_known_pareto():
    sizes = _pareto(np.random.default_rng(20240601), alpha=2.5, xmin=3.0, n=5000)
    assert tail_exponent(sizes, xmin=3.0) == pytest.approx(2.5, abs=0.06)
    assert tail_exponent(sizes) == pytest.approx(2.5, abs=0.15)


def test_tail_exponent_finds_the_tail_above_a_body():
    rng = np.random.default_rng(7)
    sizes = np.concatenate([rng.uniform(0.05, 1.0, 3000), _pareto(rng, 2.5, 1.0, 3000)])
    assert tail_exponent(sizes, xmin=float(sizes.min())) < 1.6  # the body drags it down
    assert tail_exponent(sizes) == pytest.approx(2.5, abs=0.15)


def test_tail_exponent_formula_by_hand():
    sizes = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 0.5])
    expected = 1.0 + 5 / (np.log(2) * (0 + 1 + 2 + 3 + 4))
    assert tail_exponent(sizes, xmin=1.0) == pytest.approx(expected)
    # five points leave the search no xmin but the smallest (a higher one fits 1.1..7 better)
    few = np.array([1.0, 1.1, 5.0, 6.0, 7.0])
    assert tail_exponent(few) == pytest.approx(tail_exponent(few, xmin=1.0))
    assert tail_exponent(few) == pytest.approx(1.0 + 5 / np.log(1.1 * 5 * 6 * 7))


def test_tail_exponent_needs_five_distinct_points():
    assert math.isnan(tail_exponent(np.array([1.0, 2.0, 3.0, 4.0])))
    assert math.isnan(tail_exponent(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), xmin=2.0))
    assert math.isnan(tail_exponent(np.full(10, 3.0)))
    assert math.isnan(tail_exponent(np.array([])))
    assert not math.isnan(tail_exponent(np.array([1.0, 2.0, 3.0, 4.0, 5.0])))
    with pytest.raises(ValueError):
        tail_exponent(np.arange(1.0, 10.0), xmin=0.0)


# --------------------------------------------------------------------------------------------
# summarize
# --------------------------------------------------------------------------------------------


def test_summarize_worked_example():
    ts, log = _timeseries(), _liquidations()
    cascades = detect_cascades(log, ts, gap=0)
    s = summarize(ts, log, cascades)
    assert s["peak_hhi_accounts"] == pytest.approx(0.2)
    assert s["mean_hhi_accounts"] == pytest.approx(0.15)
    assert s["peak_hhi_entities"] == pytest.approx(0.4)
    assert s["mean_hhi_entities"] == pytest.approx(0.3)
    assert s["mean_top10_share"] == pytest.approx(0.5)
    assert s["mean_whale_share"] == pytest.approx(0.2)
    assert s["peak_whale_share"] == pytest.approx(0.3)
    assert s["liquidation_count"] == 6
    assert s["liquidation_notional"] == pytest.approx(320.0)
    assert s["liquidated_long_notional"] == pytest.approx(250.0)
    assert s["liquidated_short_notional"] == pytest.approx(70.0)
    assert s["cascade_count"] == 3
    assert s["largest_cascade_notional"] == pytest.approx(200.0)
    assert s["largest_cascade_count"] == 3
    assert s["largest_cascade_rounds"] == 3  # from the second cascade: each is its own maximum
    assert s["mean_amplification"] == pytest.approx((2.5 + (4 / 92) / (1 / 97) + 9.6) / 3)
    assert s["max_amplification"] == pytest.approx(9.6)
    assert s["infinite_amplification_count"] == 0
    assert math.isnan(s["cascade_tail_exponent"])  # three cascades are too few
    assert s["max_drawdown"] == pytest.approx(0.12)
    assert s["index_max_drawdown"] == pytest.approx(0.04)
    assert s["fundamental_max_drawdown"] == pytest.approx(0.04)
    assert s["drawdown_amplification"] == pytest.approx(3.0)
    assert s["mean_abs_basis"] == pytest.approx(0.453 / 12)
    assert s["max_abs_basis"] == pytest.approx(0.08)
    assert s["peak_arbitrage_margin_use"] == pytest.approx(0.9)
    assert s["bad_debt"] == pytest.approx(7.0)
    assert s["insurance_fund_low"] == pytest.approx(40.0)
    assert s["insurance_fund_end"] == pytest.approx(46.0)
    assert s["adl_count"] == 1
    assert s["adl_notional"] == pytest.approx(50.0)
    assert s["mean_open_interest_notional"] == pytest.approx(945.0)
    assert s["final_open_interest_notional"] == pytest.approx(890.0)
    assert s["steps"] == 12
    assert all(type(value) in (float, int) for value in s.values())
    json.dumps(s)


def test_summarize_drawdowns_of_fundamental_index_and_mark():
    ts = _timeseries()
    ts["fundamental"] = [100.0, 100, 100, 99, 98, 99, 98, 98, 98, 98, 99, 99]
    s = summarize(ts, _liquidations(), pd.DataFrame())
    assert s["fundamental_max_drawdown"] == pytest.approx(0.02)
    assert s["index_max_drawdown"] == pytest.approx(0.04)
    assert s["drawdown_amplification"] == pytest.approx(0.12 / 0.02)


def test_summarize_uses_step_order_and_finite_amplifications_only():
    ts = _timeseries().iloc[::-1]
    cascades = detect_cascades(_liquidations(), ts, gap=0)
    cascades.loc[1, "amplification"] = math.inf
    s = summarize(ts, _liquidations(), cascades)
    assert s["insurance_fund_end"] == pytest.approx(46.0)
    assert s["max_drawdown"] == pytest.approx(0.12)
    assert s["mean_amplification"] == pytest.approx((2.5 + 9.6) / 2)
    assert s["infinite_amplification_count"] == 1


def test_summarize_a_quiet_run():
    ts = _timeseries()
    s = summarize(ts, _liquidations().iloc[0:0], detect_cascades(pd.DataFrame(), ts, gap=0))
    for key in (
        "liquidation_count",
        "liquidation_notional",
        "liquidated_long_notional",
        "liquidated_short_notional",
        "cascade_count",
        "largest_cascade_notional",
        "largest_cascade_count",
        "largest_cascade_rounds",
        "adl_notional",
        "infinite_amplification_count",
    ):
        assert s[key] == 0, key
    assert math.isnan(s["mean_amplification"]) and math.isnan(s["max_amplification"])
    assert s["steps"] == 12


def test_summarize_no_steps_at_all():
    s = summarize(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert s["steps"] == 0 and s["liquidation_count"] == 0 and s["bad_debt"] == 0.0
    assert s["max_drawdown"] == 0.0
    assert math.isnan(s["mean_hhi_accounts"])


def test_summarize_names_missing_columns():
    with pytest.raises(KeyError, match="hhi_entities"):
        summarize(_timeseries().drop(columns="hhi_entities"), _liquidations(), pd.DataFrame())


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@given(positive_amounts)
def test_hhi_lies_between_equal_and_monopoly(values):
    h = hhi(np.array(values))
    assert 1.0 / len(values) - 1e-12 <= h <= 1.0 + 1e-12


@given(nonnegative_amounts)
def test_gini_lies_in_unit_interval(values):
    g = gini(np.array(values))
    assert 0.0 <= g <= (len(values) - 1) / len(values) + 1e-12
    assert g < 1.0


@given(nonnegative_amounts)
def test_gini_is_one_minus_twice_the_area_under_lorenz(values):
    population, value = lorenz_curve(np.array(values))
    assert np.all(np.diff(value) >= -1e-12)
    assert np.all(value <= population + 1e-12)
    area = float(np.sum(np.diff(population) * (value[1:] + value[:-1]) / 2))
    assert gini(np.array(values)) == pytest.approx(1.0 - 2.0 * area, abs=1e-9)


@given(nonnegative_amounts, st.data())
def test_measures_ignore_order(values, data):
    shuffled = np.array(data.draw(st.permutations(values)))
    values = np.array(values)
    k = data.draw(st.integers(min_value=0, max_value=len(values) + 1))
    assert hhi(shuffled) == pytest.approx(hhi(values), rel=1e-12)
    assert gini(shuffled) == pytest.approx(gini(values), rel=1e-12, abs=1e-15)
    assert top_share(shuffled, k) == pytest.approx(top_share(values, k), rel=1e-12)


@given(nonnegative_amounts, st.floats(min_value=1e-3, max_value=1e3))
def test_measures_ignore_scale(values, scale):
    values = np.array(values)
    scaled = values * scale
    assert hhi(scaled) == pytest.approx(hhi(values), rel=1e-9)
    assert gini(scaled) == pytest.approx(gini(values), rel=1e-9, abs=1e-12)
    assert top_share(scaled, 3) == pytest.approx(top_share(values, 3), rel=1e-9)


@given(nonnegative_amounts, st.integers(min_value=0, max_value=8))
def test_top_share_grows_with_k_up_to_one(values, k):
    values = np.array(values)
    assert 0.0 <= top_share(values, k) <= top_share(values, k + 1) + 1e-12
    assert top_share(values, k + 1) <= 1.0 + 1e-12
    assert top_share(values, 1) >= hhi(values) - 1e-12  # max share bounds the mean share


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-50_000, max_value=50_000),
            st.integers(min_value=0, max_value=5),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(min_value=0.5, max_value=2e5),
)
def test_concentration_is_consistent(rows, mark):
    position = np.array([row[0] for row in rows])
    entity = np.array([row[1] for row in rows], dtype=np.int64)
    is_whale = np.array([row[2] for row in rows])
    c = concentration(position, mark, entity, is_whale)
    for suffix in ("_long", "_short", ""):
        assert c[f"hhi_entities{suffix}"] >= c[f"hhi_accounts{suffix}"] - 1e-12
        for name in ("hhi_accounts", "hhi_entities", "top10_share", "whale_share"):
            assert 0.0 <= c[f"{name}{suffix}"] <= 1.0 + 1e-12
    for side, mask in (("long", position > 0), ("short", position < 0)):
        held = np.abs(position[mask]) * mark
        assert c[f"hhi_accounts_{side}"] == pytest.approx(hhi(held), rel=1e-9)
        assert c[f"gini_{side}"] == pytest.approx(gini(held), rel=1e-9, abs=1e-12)
        assert c[f"top1_share_{side}"] == pytest.approx(top_share(held, 1), rel=1e-9)
        assert c[f"top10_share_{side}"] == pytest.approx(top_share(held, 10), rel=1e-9)
    everything = np.abs(position) * mark
    assert c["top10_share"] == pytest.approx(top_share(everything, 10), rel=1e-9)
    assert c["open_interest_notional"] == pytest.approx(everything[position > 0].sum())
    assert c["accounts_open"] == np.count_nonzero(position)
    order = np.random.default_rng(len(rows)).permutation(len(rows))       # exact sums: any order, same bits
    assert concentration(position[order], mark, entity[order], is_whale[order]) == c
