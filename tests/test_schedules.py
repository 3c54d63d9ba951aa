"""Margin schedules: worked examples computed by hand, properties over random schedules, validation.

The expected values are written as arithmetic from the exchanges' published rules (Binance's
USD(S)-M futures pages on leverage brackets and the liquidation price, Hyperliquid's margin tiers,
dYdX's v3 and v4 margin parameters; each schedule file names its source), never copied from what
the code returns.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.exchange.exchange import below_maintenance_in_pieces
from sim.schedules import Schedule, SpecError, load_schedule, read_yaml, scaled
from sim.schedules.pieces import farthest_reach, piece_holding, pieces_holding

SCHEDULES = Path(__file__).resolve().parents[1] / "configs" / "schedules"
SHIPPED = sorted(SCHEDULES.glob("*.yaml"))
TABLE_COLUMNS = [
    "tier",
    "notional_floor",
    "notional_cap",
    "max_leverage",
    "initial_rate",
    "maintenance_rate",
    "maintenance_amount",
]

# Binance BTCUSDT, 2026-03-05: (floor, cap, max leverage, maintenance rate, cum) from the reference.
BINANCE = [
    (0, 300_000, 150, 0.004, 0),
    (300_000, 800_000, 100, 0.005, 300),
    (800_000, 3_000_000, 75, 0.0065, 1_500),
    (3_000_000, 12_000_000, 50, 0.01, 12_000),
    (12_000_000, 70_000_000, 25, 0.02, 132_000),
    (70_000_000, 100_000_000, 20, 0.025, 482_000),
    (100_000_000, 230_000_000, 10, 0.05, 2_982_000),
    (230_000_000, 480_000_000, 5, 0.10, 14_482_000),
    (480_000_000, 600_000_000, 4, 0.125, 26_482_000),
    (600_000_000, 800_000_000, 3, 0.15, 41_482_000),
    (800_000_000, 1_200_000_000, 2, 0.25, 121_482_000),
    (1_200_000_000, 1_800_000_000, 1, 0.50, 421_482_000),
]


def shipped(name: str) -> Schedule:
    """A schedule from configs/schedules by file stem."""
    return load_schedule(SCHEDULES / f"{name}.yaml")


@pytest.fixture(scope="module")
def binance() -> Schedule:
    return shipped("binance_btcusdt")


def two_bracket(mode: str) -> Schedule:
    """50x / MMR 1 % up to 1M, then 10x / MMR 5 %: small numbers for hand-worked examples."""
    return load_schedule(
        {
            "kind": "tiered",
            "mode": mode,
            "brackets": [
                {"cap": 1_000_000, "max_leverage": 50, "maintenance_rate": 0.01},
                {"max_leverage": 10, "maintenance_rate": 0.05},
            ],
        }
    )


# ------------------------------------------------------------------------------------------
# Shipped files
# ------------------------------------------------------------------------------------------


def test_every_kind_is_shipped() -> None:
    kinds = {load_schedule(path).kind for path in SHIPPED}
    assert kinds == {"flat", "tiered", "incremental", "size_premium", "open_interest"}
    assert {p.stem for p in SHIPPED} >= {
        "flat_100x",
        "flat_20x",
        "binance_btcusdt",
        "hyperliquid_btc",
        "steep",
        "dydx_incremental",
        "size_premium",
        "open_interest",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_file_is_documented(path: Path) -> None:
    """Each file opens with a comment block and fills name, description and source."""
    assert path.read_text().startswith("#")
    data = read_yaml(path)
    assert data["name"] == path.stem
    assert data["description"].strip() and data["source"].strip()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_table_columns_and_tier_numbering(path: Path) -> None:
    """table() has the documented columns; tier(N) agrees with the row whose (floor, cap] holds N."""
    schedule = load_schedule(path)
    table = schedule.table()
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["tier"]) == list(range(1, schedule.n_tiers + 1))
    assert schedule.tier(0.0) == 1
    for row in table.itertuples():
        inside = row.notional_floor * (1 + 1e-9) if row.notional_floor > 0 else 1.0
        assert schedule.tier(inside) == row.tier
        if math.isfinite(row.notional_cap):
            assert schedule.tier(row.notional_cap) == row.tier


def test_flat_control_arms() -> None:
    wide, narrow = shipped("flat_100x"), shipped("flat_20x")
    assert wide.initial_margin(1_000_000) == pytest.approx(1_000_000 / 100)
    assert wide.maintenance_margin(1_000_000) == pytest.approx(1_000_000 * 0.005)
    assert narrow.initial_margin(1e9) == pytest.approx(1e9 / 20)
    assert narrow.maintenance_margin(1e9) == pytest.approx(1e9 * 0.025)
    assert narrow.max_leverage(5e9) == pytest.approx(20)
    assert narrow.n_tiers == 1 and narrow.tier(5e9) == 1


# ------------------------------------------------------------------------------------------
# Tiered: Binance
# ------------------------------------------------------------------------------------------


def test_binance_reference_cum_obeys_the_recurrence() -> None:
    """cum_k = cum_{k-1} + floor_k x (rate_k - rate_{k-1}), checked on the reference column itself."""
    for (_, _, _, prev_rate, prev_cum), (floor, _, _, rate, cum) in itertools.pairwise(BINANCE):
        assert cum == pytest.approx(prev_cum + floor * (rate - prev_rate))
    assert BINANCE[2][4] == pytest.approx(300 + 800_000 * (0.0065 - 0.005))


def test_binance_table_reproduces_reference(binance: Schedule) -> None:
    table = binance.table()
    assert len(table) == 12
    assert list(table["notional_floor"]) == pytest.approx([row[0] for row in BINANCE])
    assert list(table["notional_cap"]) == pytest.approx([row[1] for row in BINANCE])
    assert list(table["max_leverage"]) == pytest.approx([row[2] for row in BINANCE])
    assert list(table["initial_rate"]) == pytest.approx([1 / row[2] for row in BINANCE])
    assert list(table["maintenance_rate"]) == pytest.approx([row[3] for row in BINANCE])
    assert list(table["maintenance_amount"]) == pytest.approx([row[4] for row in BINANCE], abs=1e-6)


def test_binance_maintenance_by_hand(binance: Schedule) -> None:
    mm = binance.maintenance_margin
    assert mm(0.0) == 0.0
    assert mm(100_000) == pytest.approx(100_000 * 0.004)
    assert mm(300_000) == pytest.approx(300_000 * 0.004)
    assert mm(800_000) == pytest.approx(800_000 * 0.005 - 300)
    assert mm(800_000) == pytest.approx(800_000 * 0.0065 - 1_500)
    assert mm(1_000_000) == pytest.approx(1_000_000 * 0.0065 - 1_500)
    assert mm(50_000_000) == pytest.approx(50_000_000 * 0.02 - 132_000)
    assert mm(1_500_000_000) == pytest.approx(1_500_000_000 * 0.50 - 421_482_000)
    assert binance.maintenance_rate(1_000_000) == pytest.approx((6_500 - 1_500) / 1_000_000)
    vector = mm(np.array([300_000.0, 1_000_000.0]))
    assert isinstance(vector, np.ndarray)
    assert vector == pytest.approx([1_200, 5_000])


def test_binance_initial_margin_jumps_at_caps(binance: Schedule) -> None:
    im = binance.initial_margin
    assert im(300_000) == pytest.approx(300_000 / 150)
    assert im(300_001) == pytest.approx(300_001 / 100)
    assert im(300_001) - im(300_000) > 999
    assert im(12_000_000) == pytest.approx(12_000_000 / 50)
    assert im(12_000_001) == pytest.approx(12_000_001 / 25)
    assert binance.max_leverage(300_000) == pytest.approx(150)
    assert binance.max_leverage(300_001) == pytest.approx(100)
    assert binance.max_leverage(1_800_000_000) == pytest.approx(1)


def test_binance_tiers_numbered_from_one(binance: Schedule) -> None:
    assert binance.tier(0) == 1
    assert binance.tier(300_000) == 1
    assert binance.tier(300_001) == 2
    assert binance.tier(3_000_000) == 3
    assert binance.tier(1_800_000_000) == 12
    assert list(binance.tier(np.array([1.0, 800_001.0, 1e8]))) == [1, 3, 6]


def test_past_the_last_cap_is_refused(binance: Schedule) -> None:
    assert binance.initial_margin(1_800_000_000) == pytest.approx(1_800_000_000 / 1)
    assert binance.initial_margin(1_800_000_001) == math.inf
    assert binance.initial_rate(2e9) == math.inf
    assert binance.max_leverage(1_800_000_001) == 0.0
    for name in ("dydx_incremental", "size_premium"):
        schedule = shipped(name)
        past = schedule.notional_limit * (1 + 1e-9)
        assert math.isfinite(schedule.initial_margin(schedule.notional_limit))
        assert schedule.initial_margin(past) == math.inf
        assert schedule.max_leverage(past) == 0.0


def test_continuous_maintenance_has_no_jump_at_any_cap() -> None:
    for name in ("binance_btcusdt", "hyperliquid_btc", "steep"):
        schedule = shipped(name)
        for cap in schedule.table()["notional_cap"][:-1]:
            at = schedule.maintenance_margin(cap)
            past = schedule.maintenance_margin(cap * (1 + 1e-12))
            assert past == pytest.approx(at, rel=1e-9), (name, cap)


def test_whole_mode_jumps_at_the_cap() -> None:
    """Bybit's step form charges the whole notional at the bracket's rate."""
    whole, continuous = two_bracket("whole"), two_bracket("continuous")
    assert whole.maintenance_margin(1_000_000) == pytest.approx(1_000_000 * 0.01)
    assert whole.maintenance_margin(1_000_000 * (1 + 1e-12)) == pytest.approx(1_000_000 * 0.05)
    assert whole.maintenance_margin(2_000_000) == pytest.approx(2_000_000 * 0.05)
    assert continuous.maintenance_margin(2_000_000) == pytest.approx(
        2_000_000 * 0.05 - 1_000_000 * (0.05 - 0.01)
    )
    assert whole.initial_margin(2_000_000) == pytest.approx(2_000_000 / 10)


def test_hyperliquid_deduction() -> None:
    schedule = shipped("hyperliquid_btc")
    assert schedule.notional_limit == math.inf
    assert schedule.table()["maintenance_amount"].iloc[1] == pytest.approx(
        150_000_000 * (0.025 - 0.0125)
    )
    assert schedule.maintenance_margin(200_000_000) == pytest.approx(
        200_000_000 * 0.025 - 1_875_000
    )
    assert schedule.initial_margin(200_000_000) == pytest.approx(200_000_000 / 20)
    assert schedule.initial_margin(100_000_000) == pytest.approx(100_000_000 / 40)


def test_steep_reaches_2x_past_20m() -> None:
    schedule = shipped("steep")
    assert schedule.max_leverage(50_000) == pytest.approx(100)
    assert schedule.max_leverage(20_000_001) == pytest.approx(2)
    table = schedule.table()
    assert (table["maintenance_rate"] <= table["initial_rate"] / 2 + 1e-12).all()


# ------------------------------------------------------------------------------------------
# Liquidation prices
# ------------------------------------------------------------------------------------------


def test_binance_reference_long_liquidation_price(binance: Schedule) -> None:
    """Long 120 BTC at 100,000 with 240,000 wallet: LP in bracket 4 (MMR 1 %, cum 12,000)."""
    quote = 240_000 - 120 * 100_000
    expected = (240_000 + 12_000 - 1 * 120 * 100_000) / (120 * 0.01 - 1 * 120)
    assert expected == pytest.approx(98_888.89, abs=0.005)
    assert binance.liquidation_price(120, quote) == pytest.approx(expected, rel=1e-12)


def test_binance_short_liquidation_price(binance: Schedule) -> None:
    """Short 10 BTC at 100,000 with 20,000 wallet: LP in bracket 3 (MMR 0.65 %, cum 1,500)."""
    quote = 20_000 + 10 * 100_000
    expected = (20_000 + 1_500 + 10 * 100_000) / (10 * 0.0065 + 10)
    assert binance.liquidation_price(-10, quote) == pytest.approx(expected, rel=1e-12)
    assert 800_000 < 10 * expected <= 3_000_000


def test_short_liquidation_price_solved_again_in_the_next_bracket(binance: Schedule) -> None:
    """Short 29 BTC at 100,000 (bracket 3): bracket 3's solution lies past 3M, so bracket 4's holds."""
    quote = 200_000 + 29 * 100_000
    in_bracket_3 = (200_000 + 1_500 + 2_900_000) / (29 * 1.0065)
    assert 29 * in_bracket_3 > 3_000_000
    expected = (200_000 + 12_000 + 2_900_000) / (29 * 1.01)
    assert 3_000_000 < 29 * expected <= 12_000_000
    assert binance.liquidation_price(-29, quote) == pytest.approx(expected, rel=1e-12)


def test_short_liquidation_past_the_last_cap(binance: Schedule) -> None:
    """A short's notional grows as the price rises: past 1.8B the last bracket's maintenance holds."""
    quote = 1_000_000_000 + 17_000 * 100_000
    expected = (quote + 421_482_000) / (17_000 * (1 + 0.50))
    assert 17_000 * expected > 1_800_000_000
    assert binance.liquidation_price(-17_000, quote) == pytest.approx(expected, rel=1e-12)


def test_whole_mode_short_liquidated_where_maintenance_jumps() -> None:
    """Short 10 at 95,000, wallet 80,000: at 100,000 equity is 30,000, MM jumps from 10,000 to 50,000."""
    whole = two_bracket("whole")
    quote = 80_000 + 10 * 95_000
    assert whole.liquidation_price(-10, quote) == pytest.approx(100_000, rel=1e-12)
    continuous = two_bracket("continuous")
    expected = (quote + 1_000_000 * (0.05 - 0.01)) / (10 * (1 + 0.05))
    assert continuous.liquidation_price(-10, quote) == pytest.approx(expected, rel=1e-12)


def test_liquidation_price_vectorised_and_nan_when_none(binance: Schedule) -> None:
    prices = binance.liquidation_price(
        np.array([120.0, 0.0, 1.0]), np.array([-11_760_000.0, 5.0, 10.0])
    )
    assert prices[0] == pytest.approx(11_748_000 / 118.8)
    assert np.isnan(prices[1]) and np.isnan(prices[2])


def test_incremental_and_open_interest_liquidation_prices() -> None:
    dydx = shipped("dydx_incremental")
    assert dydx.liquidation_price(10, 50_000 - 1_000_000) == pytest.approx(
        950_000 / (10 * (1 - 0.03))
    )
    assert dydx.liquidation_price(-10, 50_000 + 1_000_000) == pytest.approx(1_050_000 / (10 * 1.03))
    oi = shipped("open_interest")
    assert oi.liquidation_price(10, 50_000 - 1_000_000) == pytest.approx(
        950_000 / (10 * (1 - 0.012))
    )


def test_whole_tiers_long_liquidation_price_is_the_first_threshold_below_the_mark() -> None:
    """Long 1 unit with quote -80 under whole tiers (MM 5 % to 100 notional, then 40 % of all of it).

    Equity p - 80 meets 0.05 p at p = 80 / 0.95 = 84.21 and 0.4 p at 80 / 0.6 = 133.33; between 100
    and 133.33 the whole position is at 40 % and below maintenance. From a mark of 95 the price
    falls to 84.21 first; at 110 the account is already below and must recover to 133.33.
    """
    whole = load_schedule({"kind": "tiered", "mode": "whole", "brackets": [
        {"cap": 100, "max_leverage": 10, "maintenance_rate": 0.05},
        {"cap": 1e12, "max_leverage": 2, "maintenance_rate": 0.4}]})
    assert whole.liquidation_price(1.0, -80.0, mark=95.0) == pytest.approx(80 / 0.95, rel=1e-12)
    assert whole.liquidation_price(1.0, -80.0, mark=110.0) == pytest.approx(80 / 0.6, rel=1e-12)
    assert whole.liquidation_price(1.0, -80.0) == pytest.approx(80 / 0.6, rel=1e-12)
    assert -80 + 95.0 >= whole.maintenance_margin(95.0) and -80 + 110.0 < whole.maintenance_margin(110.0)


def test_open_interest_liquidation_price_moves_open_interest_with_the_price() -> None:
    """IMF 2 % rising over 0-100 open notional, MM half of it; the long's 1 unit is all the open
    interest, so at price p the rate is 0.02 + 0.0098 p and c + p = 0.5 p (0.02 + 0.0098 p):
    -0.0049 p^2 + 0.99 p - 40 = 0 for quote -40, root 55.83 (the other, 146.2, is past the cap, where
    the rate is 1 and -40 + 0.5 p has its root at 80, below the cap: none there). Holding today's
    rate (at 60 open notional, MM 0.304 p) would say 40 / 0.696 = 57.47."""
    oi = load_schedule({"kind": "open_interest", "base_initial_rate": 0.02, "maintenance_fraction": 0.5,
                        "open_interest_lower_cap": 0, "open_interest_upper_cap": 100})
    root = (0.99 - math.sqrt(0.99**2 - 4 * 0.0049 * 40)) / (2 * 0.0049)
    assert oi.liquidation_price(1.0, -40.0, 60.0, mark=60.0) == pytest.approx(root, rel=1e-12)
    assert oi.liquidation_price(1.0, -40.0, 60.0) == pytest.approx(40 / 0.696, rel=1e-12)
    assert -40 + root == pytest.approx(oi.maintenance_margin(root, root), rel=1e-12)


def test_size_premium_liquidation_price_meets_maintenance() -> None:
    schedule = shipped("size_premium")
    quote = 2_000_000 - 40 * 100_000
    price = schedule.liquidation_price(40, quote)
    assert 0 < price < 100_000
    assert quote + 40 * price == pytest.approx(schedule.maintenance_margin(40 * price), rel=1e-9)


# ------------------------------------------------------------------------------------------
# max_notional
# ------------------------------------------------------------------------------------------


def test_binance_max_notional_by_hand(binance: Schedule) -> None:
    """10,000 x 100 = 1M passes bracket 2's 800k cap, but 10,000 x 75 = 750k < bracket 3's floor."""
    assert binance.max_notional(10_000) == pytest.approx(800_000, rel=1e-12)
    assert binance.initial_margin(800_000) == pytest.approx(800_000 / 100)
    assert binance.initial_margin(800_000 * (1 + 1e-9)) > 10_000
    assert binance.max_notional(1_000) == pytest.approx(1_000 * 150)
    assert binance.max_notional(100_000) == pytest.approx(100_000 * 50)
    assert binance.max_notional(1e9) == pytest.approx(1_200_000_000)
    assert binance.max_notional(2e9) == pytest.approx(1_800_000_000)
    assert binance.max_notional(0.0) == 0.0
    assert binance.max_notional(-5.0) == 0.0
    assert binance.max_notional(np.array([1_000.0, 10_000.0])) == pytest.approx([150_000, 800_000])


def test_other_kinds_max_notional_by_hand() -> None:
    assert shipped("flat_20x").max_notional(10_000) == pytest.approx(10_000 * 20)
    dydx = shipped("dydx_incremental")
    assert dydx.max_notional(45_000) == pytest.approx(45_000 / 0.05)
    assert dydx.max_notional(60_000) == pytest.approx(60_000 / 0.06)
    assert dydx.max_notional(70_000) == pytest.approx(1_050_000)
    oi = shipped("open_interest")
    assert oi.max_notional(10_000, open_interest=100_000_000) == pytest.approx(10_000 / 0.51)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize("equity", [1.0, 2_345.0, 10_000.0, 777_777.0, 3e7, 5e9])
def test_max_notional_is_the_boundary(path: Path, equity: float) -> None:
    schedule = load_schedule(path)
    most = schedule.max_notional(equity)
    assert 0 < most <= schedule.notional_limit
    assert schedule.initial_margin(most) <= equity
    if most < schedule.notional_limit:
        assert schedule.initial_margin(most * (1 + 1e-9)) > equity


@given(base=st.floats(0.01, 0.5), premium=st.floats(0.001, 0.1), unit=st.floats(1e4, 1e7),
       discount=st.floats(0.0, 0.9), equity=st.lists(st.floats(0.0, 1e10) | st.sampled_from([0.0, 1e-300, 5e4]),
                                                     min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_size_premium_compiled_searches_are_the_bisection_to_the_bit(base, premium, unit, discount, equity):
    """The compiled searches for the largest notional equity covers, on initial and on maintenance
    margin, return the float numpy's bisection over the schedule's own margin returns, for many
    equities and for one."""
    schedule = load_schedule({"kind": "size_premium", "base_initial_rate": base, "base_maintenance_rate": base / 2,
                              "imf_factor": premium, "unit_notional": unit, "discount": discount,
                              "max_notional": 1e9})
    e = np.array(equity)
    for compiled, margin in ((schedule.max_notional, schedule.initial_margin),
                             (schedule.maintenance_capacity, schedule.maintenance_margin)):
        bisected = schedule._largest_notional(margin, e, 0.0)
        assert compiled(e).tobytes() == bisected.tobytes()
        assert compiled(equity[0]) == float(bisected[0])


# ------------------------------------------------------------------------------------------
# Incremental, size premium, open interest
# ------------------------------------------------------------------------------------------


def test_dydx_incremental_steps() -> None:
    """IMF = 5 % + 1 % x ceil((N - 900,000) / 150,000) past the 900,000 baseline."""
    dydx = shipped("dydx_incremental")
    assert dydx.initial_rate(100_000) == pytest.approx(0.05)
    assert dydx.initial_rate(900_000) == pytest.approx(0.05)
    assert dydx.initial_rate(900_001) == pytest.approx(0.06)
    assert dydx.initial_rate(1_050_000) == pytest.approx(0.06)
    assert dydx.initial_rate(1_050_001) == pytest.approx(0.07)
    assert dydx.initial_rate(3_000_000) == pytest.approx(0.05 + 0.01 * 14)
    assert dydx.initial_margin(1_050_001) == pytest.approx(1_050_001 * 0.07)
    assert dydx.initial_rate(15_000_000) == pytest.approx(0.05 + 0.01 * 94)
    assert dydx.initial_rate(15_000_001) == pytest.approx(1.0)
    assert dydx.initial_margin(17_000_000) == pytest.approx(17_000_000)
    assert dydx.maintenance_margin(2_000_000) == pytest.approx(2_000_000 * 0.03)
    assert [dydx.tier(n) for n in (900_000, 900_001, 1_050_000, 1_050_001)] == [1, 2, 2, 3]
    assert dydx.n_tiers == 1 + math.ceil((17_000_000 - 900_000) / 150_000)


def test_size_premium_by_hand() -> None:
    """rate = max(base, 0.8 base + 0.02 sqrt(N / 1M)): flat below 1M (initial), sqrt growth above."""
    schedule = shipped("size_premium")
    for notional in (1_000.0, 500_000.0, 1_000_000.0):
        assert schedule.initial_rate(notional) == pytest.approx(0.10)
    assert schedule.initial_rate(4_000_000) == pytest.approx(0.08 + 0.02 * 2)
    assert schedule.initial_rate(9_000_000) == pytest.approx(0.08 + 0.02 * 3)
    assert schedule.initial_margin(16_000_000) == pytest.approx(16_000_000 * (0.08 + 0.02 * 4))
    assert schedule.initial_rate(50_000_000) == pytest.approx(0.08 + 0.02 * math.sqrt(50))
    assert schedule.maintenance_rate(100_000) == pytest.approx(0.05)
    assert schedule.maintenance_rate(250_000) == pytest.approx(0.04 + 0.02 * 0.5)
    assert schedule.maintenance_margin(4_000_000) == pytest.approx(4_000_000 * (0.04 + 0.02 * 2))
    assert [schedule.tier(n) for n in (1e6 * 0.999, 1.5e6, 2e6, 2e6 + 1, 4e6, 5e7)] == [
        1,
        2,
        2,
        3,
        3,
        7,
    ]


def test_open_interest_scaling_by_hand() -> None:
    """scale = (OI - 50M) / 100M; IMF = min(2 % + max(scale x 98 %, 0), 1); MM = 0.6 IMF."""
    schedule = shipped("open_interest")
    assert schedule.initial_rate(1e6, open_interest=0.0) == pytest.approx(0.02)
    assert schedule.initial_rate(1e6, open_interest=50_000_000) == pytest.approx(0.02)
    assert schedule.initial_rate(1e6, open_interest=100_000_000) == pytest.approx(
        0.02 + 0.5 * (1 - 0.02)
    )
    assert schedule.initial_rate(1e6, open_interest=150_000_000) == pytest.approx(1.0)
    assert schedule.initial_rate(1e6, open_interest=400_000_000) == pytest.approx(1.0)
    assert schedule.maintenance_margin(1e6, open_interest=100_000_000) == pytest.approx(
        1e6 * 0.51 * 0.6
    )
    assert schedule.max_leverage(5e8, open_interest=0.0) == pytest.approx(50)
    assert schedule.tier(5e8) == 1


# ------------------------------------------------------------------------------------------
# scaled
# ------------------------------------------------------------------------------------------


def test_scaled_doubles_flat_rates() -> None:
    doubled = scaled(shipped("flat_20x"), 2)
    assert doubled.max_leverage(1e6) == pytest.approx(10)
    assert doubled.initial_margin(1e6) == pytest.approx(2 * 1e6 / 20)
    assert doubled.maintenance_margin(1e6) == pytest.approx(2 * 1e6 * 0.025)


def test_scaled_doubles_binance_rates(binance: Schedule) -> None:
    """Every rate doubles; bracket 12 is already 1x, so it stays at 1x with maintenance capped at 50 %."""
    doubled = scaled(binance, 2).table()
    assert list(doubled["max_leverage"]) == pytest.approx(
        [row[2] / 2 for row in BINANCE[:11]] + [1]
    )
    assert list(doubled["maintenance_rate"]) == pytest.approx(
        [2 * row[3] for row in BINANCE[:11]] + [0.5]
    )
    assert list(doubled["maintenance_amount"][:11]) == pytest.approx(
        [2 * row[4] for row in BINANCE[:11]]
    )
    for notional in (100_000, 1_000_000, 50_000_000):
        assert scaled(binance, 2).maintenance_margin(notional) == pytest.approx(
            2 * binance.maintenance_margin(notional)
        )
    halved = scaled(binance, 0.5)
    assert halved.max_leverage(100_000) == pytest.approx(300)
    assert halved.maintenance_margin(1_000_000) == pytest.approx(0.5 * (1_000_000 * 0.0065 - 1_500))


def test_scaled_other_kinds() -> None:
    dydx = scaled(shipped("dydx_incremental"), 2)
    assert dydx.initial_rate(1_050_000) == pytest.approx(2 * 0.06)
    assert dydx.maintenance_margin(1e6) == pytest.approx(2 * 0.03 * 1e6)
    premium = scaled(shipped("size_premium"), 2)
    assert premium.initial_rate(4_000_000) == pytest.approx(2 * (0.08 + 0.02 * 2))
    oi = scaled(shipped("open_interest"), 2)
    assert oi.initial_rate(1e6) == pytest.approx(2 * 0.02)
    with pytest.raises(SpecError, match="steepness"):
        scaled(shipped("flat_20x"), 0)


# ------------------------------------------------------------------------------------------
# Properties over random valid tiered schedules
# ------------------------------------------------------------------------------------------


@st.composite
def tiered_specs(draw: st.DrawFn, mode: str = "continuous") -> dict[str, Any]:
    """Caps increasing, leverage non-increasing, rates non-decreasing with rate < 1 / leverage."""
    count = draw(st.integers(1, 6))
    steps = draw(st.lists(st.floats(1e3, 1e8), min_size=count, max_size=count))
    caps = np.cumsum(steps).tolist()
    leverages = sorted(
        draw(st.lists(st.floats(1, 200), min_size=count, max_size=count)), reverse=True
    )
    brackets, rate = [], 0.0
    for cap, leverage in zip(caps, leverages):
        rate = max(rate, draw(st.floats(0.05, 0.95)) / leverage)
        brackets.append({"cap": cap, "max_leverage": leverage, "maintenance_rate": rate})
    if draw(st.booleans()):
        del brackets[-1]["cap"]
    return {"kind": "tiered", "mode": mode, "brackets": brackets}


def probe_notionals(schedule: Schedule, extra: list[float]) -> np.ndarray:
    caps = schedule.table()["notional_cap"].to_numpy()
    caps = caps[np.isfinite(caps)]
    points = np.concatenate([caps, caps * (1 + 1e-12), caps * (1 - 1e-12), extra, [0.0]])
    return np.sort(points[points <= schedule.notional_limit])


@settings(deadline=None)
@given(tiered_specs(), st.lists(st.floats(0, 1e9), max_size=30))
def test_property_maintenance_continuous_and_non_decreasing(spec: dict, extra: list[float]) -> None:
    schedule = load_schedule(spec)
    n = probe_notionals(schedule, extra)
    mm = schedule.maintenance_margin(n)
    assert np.all(np.diff(mm) >= -1e-9 * np.maximum(mm[1:], 1.0))
    table = schedule.table()
    for cap, next_rate in zip(table["notional_cap"][:-1], table["maintenance_rate"][1:]):
        step = cap * 1e-12
        assert schedule.maintenance_margin(cap + step) == pytest.approx(
            schedule.maintenance_margin(cap) + next_rate * step, rel=1e-9
        )


@settings(deadline=None)
@given(
    st.sampled_from(["continuous", "whole"]).flatmap(tiered_specs),
    st.lists(st.floats(-1.0, 2e9) | st.sampled_from([0.0, math.inf, math.nan]), max_size=30),
)
def test_brackets_compiled_initial_margin_is_the_generic_one_to_the_bit(spec: dict, extra: list[float]) -> None:
    """Brackets' initial margin of many notionals, one compiled pass, is the float the generic
    numpy formula (rate of the bracket, infinite past the limit, 0 at 0) gives, caps included."""
    schedule = load_schedule(spec)
    n = np.concatenate([probe_notionals(schedule, []), np.array(extra), [schedule.notional_limit * 2]])
    assert schedule.initial_margin(n, 1e8).tobytes() == Schedule.initial_margin(schedule, n, 1e8).tobytes()
    assert schedule.initial_margin(n[:1]).shape == (1,)
    assert schedule.initial_margin(np.float64(n[0])) == Schedule.initial_margin(schedule, np.float64(n[0]))


@settings(deadline=None)
@given(
    st.sampled_from(["continuous", "whole"]).flatmap(tiered_specs),
    st.lists(st.floats(0, 1e9), max_size=30),
)
def test_property_initial_margin_non_decreasing(spec: dict, extra: list[float]) -> None:
    schedule = load_schedule(spec)
    n = probe_notionals(schedule, extra)
    assert np.all(np.diff(schedule.initial_margin(n)) >= 0)
    assert np.all(np.diff(schedule.maintenance_margin(n)) >= -1e-9 * np.maximum(n[1:], 1.0))


@settings(deadline=None)
@given(
    tiered_specs(),
    st.floats(0.001, 1.0),
    st.floats(0.01, 1_000),
    st.floats(1e3, 2e5),
    st.floats(0.0, 1.0),
    st.sampled_from([1, -1]),
)
def test_property_equity_equals_maintenance_at_liquidation_price(
    spec: dict, size_share: float, units: float, entry: float, cushion: float, side: int
) -> None:
    """Equity = MM at the liquidation price; the position is safe just before it, liquidated after."""
    schedule = load_schedule(spec)
    notional = min(units * entry, schedule.notional_limit * size_share)
    units = notional / entry
    low, high = schedule.maintenance_margin(notional), schedule.initial_margin(notional)
    equity = low + (0.001 + 0.998 * cushion) * (high - low)
    position = side * units
    quote = equity - position * entry
    price = schedule.liquidation_price(position, quote)
    assert np.isfinite(price) and price > 0
    at = quote + position * price
    assert at == pytest.approx(schedule.maintenance_margin(units * price), rel=1e-9)
    safer, worse = (
        (price * (1 + 1e-6), price * (1 - 1e-6))
        if side > 0
        else (price * (1 - 1e-6), price * (1 + 1e-6))
    )
    assert quote + position * safer > schedule.maintenance_margin(units * safer)
    assert quote + position * worse < schedule.maintenance_margin(units * worse)
    assert (price < entry) if side > 0 else (price > entry)


@settings(deadline=None)
@given(
    tiered_specs(mode="whole"),
    st.floats(0.001, 1.0),
    st.floats(0.01, 1_000),
    st.floats(1e3, 2e5),
    st.floats(0.0, 1.0),
    st.sampled_from([1, -1]),
)
@example(  # a short exactly on a cap, whose equity meets its bracket but not the next: any rise liquidates it
    {"kind": "tiered", "mode": "whole", "brackets": [{"cap": 1000.0, "max_leverage": 1.0, "maintenance_rate": 0.25},
                                                     {"cap": 2000.0, "max_leverage": 1.0, "maintenance_rate": 0.5}]},
    1.0, 1.0, 1000.0, 0.0, -1,
)
def test_property_whole_tiers_liquidation_price_is_the_first_threshold_from_the_mark(
    spec: dict, size_share: float, units: float, entry: float, cushion: float, side: int
) -> None:
    """Maintenance jumps at each cap in whole mode, so equity can meet it more than once: the price
    given the mark is the first met moving against the position, safe all the way there. A short
    sitting exactly on a cap may meet the next bracket's rate at any rise: its price is then the mark."""
    schedule = load_schedule(spec)
    notional = min(units * entry, schedule.notional_limit * size_share)
    units = notional / entry
    low, high = schedule.maintenance_margin(notional), schedule.initial_margin(notional)
    position = side * units
    quote = low + (0.001 + 0.998 * cushion) * (high - low) - position * entry
    price = schedule.liquidation_price(position, quote, mark=entry)
    on_cap = side < 0 and notional in schedule.caps
    assert np.isfinite(price) and ((price < entry) if side > 0 else (price > entry or (on_cap and price == entry)))
    path = entry + (price - entry) * np.linspace(0.0, 1.0, 401)[:-1]
    gap = quote + position * path - schedule.maintenance_margin(units * path)
    assert np.all(gap >= -1e-9 * schedule.maintenance_margin(units * path))
    worse = price * (1 - side * 1e-6)
    assert quote + position * worse < schedule.maintenance_margin(units * worse)


@settings(deadline=None)
@given(tiered_specs(), st.floats(0.0, 1e9))
def test_property_max_notional_is_the_boundary(spec: dict, equity: float) -> None:
    schedule = load_schedule(spec)
    most = schedule.max_notional(equity)
    assert 0 <= most <= schedule.notional_limit
    assert schedule.initial_margin(most) <= equity
    if most < schedule.notional_limit:
        assert schedule.initial_margin(most * (1 + 1e-9) + 1e-9) > equity


@settings(deadline=None)
@given(tiered_specs(), st.floats(0.1, 20))
def test_property_scaled_schedule_is_valid(spec: dict, steepness: float) -> None:
    steeper = scaled(load_schedule(spec), steepness)
    table = steeper.table()
    assert (table["max_leverage"] >= 1).all()
    assert (table["maintenance_rate"] < table["initial_rate"]).all()
    assert np.all(np.diff(table["maintenance_rate"]) >= 0)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------

FLAT = "kind: flat\nmax_leverage: 20\nmaintenance_rate: 0.025\n"
TWO = (
    "kind: tiered\nbrackets:\n"
    "  - {{cap: {c1}, max_leverage: {l1}, maintenance_rate: {m1}}}\n"
    "  - {{cap: {c2}, max_leverage: {l2}, maintenance_rate: {m2}}}\n"
)


def two(**changes: Any) -> str:
    """A valid two-bracket file (50x / 1 % to 1M, 20x / 2 % to 5M) with some numbers changed."""
    values = {
        "c1": 1_000_000,
        "l1": 50,
        "m1": 0.01,
        "c2": 5_000_000,
        "l2": 20,
        "m2": 0.02,
    } | changes
    return TWO.format(**values)


BAD_SPECS = [
    ("caps not increasing", two(c2=1_000_000), "brackets.1.cap"),
    ("caps decreasing", two(c2=500_000), "brackets.1.cap"),
    ("leverage rising", two(l2=75, m2=0.011), "brackets.1.max_leverage"),
    ("maintenance falling", two(m2=0.005), "brackets.1.maintenance_rate"),
    ("maintenance = initial", two(m1=0.02), "brackets.0.maintenance_rate"),
    ("maintenance > initial", two(m2=0.06), "brackets.1.maintenance_rate"),
    ("flat maintenance >= initial", FLAT.replace("0.025", "0.05"), "maintenance_rate"),
    ("negative cap", two(c1=-1), "brackets.0.cap"),
    ("zero leverage", FLAT.replace("20", "0"), "max_leverage"),
    ("negative rate", FLAT.replace("0.025", "-0.01"), "maintenance_rate"),
    ("missing number", "kind: flat\nmaintenance_rate: 0.01\n", "max_leverage"),
    ("missing bracket number", two().replace("max_leverage: 20, ", ""), "brackets.1.max_leverage"),
    ("not a number", FLAT.replace("20", "lots"), "max_leverage"),
    ("unknown key", FLAT + "colour: blue\n", "colour"),
    (
        "unknown bracket key",
        two().replace("cap: 5000000", "cap: 5000000, note: x"),
        "brackets.1.note",
    ),
    ("unknown kind", "kind: ladder\nmax_leverage: 3\n", "kind"),
    ("missing kind", "max_leverage: 3\nmaintenance_rate: 0.01\n", "kind"),
    ("unknown mode", two().replace("kind: tiered", "kind: tiered\nmode: stepped"), "mode"),
    ("no brackets", "kind: tiered\nbrackets: []\n", "brackets"),
    (
        "incremental maintenance",
        (SCHEDULES / "dydx_incremental.yaml")
        .read_text()
        .replace("maintenance_rate: 0.03", "maintenance_rate: 0.06"),
        "maintenance_rate",
    ),
    (
        "size premium maintenance",
        (SCHEDULES / "size_premium.yaml")
        .read_text()
        .replace("base_maintenance_rate: 0.05", "base_maintenance_rate: 0.2"),
        "base_maintenance_rate",
    ),
    (
        "open interest caps",
        (SCHEDULES / "open_interest.yaml")
        .read_text()
        .replace("open_interest_upper_cap: 150_000_000", "open_interest_upper_cap: 10_000_000"),
        "open_interest_upper_cap",
    ),
]
BAD_FILES = [
    ("list not mapping", "- kind: flat\n- max_leverage: 20\n", "expected a mapping"),
    ("invalid YAML", "kind: flat\nmax_leverage: [20\n", "not valid YAML at line 3"),
    ("tab in YAML", "kind: flat\n\tmax_leverage: 20\n", "not valid YAML at line 2"),
    ("empty file", "", "expected a mapping"),
]


def assert_one_line_naming(err: SpecError, path: Path, field: str) -> None:
    """The message is one line: ``<path>: <field>: <problem>``."""
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}"), message


@pytest.mark.parametrize(
    "text, field", [case[1:] for case in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_invalid_spec_refused_naming_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_schedule(path)
    assert_one_line_naming(caught.value, path, f"{field}: ")


@pytest.mark.parametrize(
    "text, problem", [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_unusable_file_refused_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_schedule(path)
    assert_one_line_naming(caught.value, path, problem)


def test_missing_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SpecError) as caught:
        load_schedule(path)
    assert_one_line_naming(caught.value, path, "file not found")


def test_directory_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_schedule(tmp_path)
    assert_one_line_naming(caught.value, tmp_path, "is a directory")


def test_binary_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "plot.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(SpecError) as caught:
        load_schedule(path)
    assert_one_line_naming(caught.value, path, "not a text file")


def test_unreadable_file_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text(FLAT)
    path = blocker / "flat.yaml"
    with pytest.raises(SpecError) as caught:
        load_schedule(path)
    assert_one_line_naming(caught.value, path, "cannot be read")


def test_valid_inline_mapping_loads() -> None:
    schedule = load_schedule({"kind": "flat", "max_leverage": 20, "maintenance_rate": 0.025})
    assert schedule.initial_margin(1_000) == pytest.approx(50)


PIECEWISE_SPECS = st.one_of(tiered_specs(), tiered_specs("whole"), st.builds(
    lambda base, step, mm: {"kind": "incremental", "base_initial_rate": base, "increment_rate": step,
                            "baseline_notional": 1e6, "increment_notional": 1e5, "maintenance_rate": mm * base,
                            "max_notional": 2e7},
    st.floats(0.02, 0.5), st.floats(0.001, 0.05), st.floats(0.1, 0.9)))


@given(spec=PIECEWISE_SPECS, equity=st.lists(st.floats(0.0, 1e9) | st.sampled_from([0.0, 1e-300, 5e4, 1e6]),
                                             min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_compiled_capacity_search_is_the_bisection_to_the_bit(spec, equity):
    """Where a family gives its maintenance as pieces, the compiled search for the largest notional
    equity covers returns the float numpy's bisection over ``maintenance_margin`` returns."""
    schedule = load_schedule(spec)
    e = np.array(equity)
    compiled = schedule.maintenance_capacity(e)
    bisected = schedule._largest_notional(schedule.maintenance_margin, e, 0.0)
    assert compiled.tobytes() == bisected.tobytes()
    assert schedule.maintenance_capacity(equity[0]) == float(bisected[0])


@given(caps=st.lists(st.floats(1.0, 1e9), min_size=0, max_size=12, unique=True),
       notional=st.lists(st.floats(0.0, 2e9) | st.sampled_from([0.0, math.inf, math.nan]), min_size=1, max_size=20),
       on_cap=st.booleans())
def test_compiled_bracket_search_is_searchsorted(caps, notional, on_cap):
    """The compiled search for the piece holding a notional (from the smallest piece up) finds what
    ``searchsorted`` (left) finds, on a cap, past the last, and for NaN (past every cap) too."""
    inner = np.sort(np.array(caps, dtype=float))
    n = np.array(notional + (caps[:3] if on_cap else []), dtype=float)
    assert pieces_holding(n, inner).tolist() == inner.searchsorted(n, side="left").tolist()
    assert [piece_holding(float(x), inner) for x in n] == inner.searchsorted(n, side="left").tolist()


@given(notional=st.floats(0.0, 1e10) | st.sampled_from([0.0, 5e4, 2.5e5, math.inf, math.nan]))
def test_one_notional_finds_the_bracket_many_do(notional):
    """A tiered schedule's bracket of one notional (bisect on floats) is the one the array search finds."""
    schedule = shipped("binance_btcusdt")
    assert schedule._bracket(notional) == int(schedule._bracket(np.array([notional]))[0])


@given(spec=PIECEWISE_SPECS, equity=st.lists(st.floats(0.0, 1e10) | st.sampled_from([0.0, 5e3, 1e5]), min_size=1,
                                             max_size=20))
@settings(max_examples=200, deadline=None)
def test_compiled_reach_is_the_broadcast_over_pieces(spec, equity):
    """The compiled loop over the initial-rate pieces gives, to the bit, what numpy gives broadcasting
    every equity over every piece: min(cap, E / rate) where that passes the floor, the largest."""
    floors, caps, rates = load_schedule(spec)._initial_pieces(0.0)
    e = np.array(equity)
    reach = e[:, None] / rates
    broadcast = np.where((reach > floors) | (floors == 0), np.minimum(reach, caps), 0.0).max(axis=-1)
    assert farthest_reach(e, floors, caps, rates).tobytes() == broadcast.tobytes()


@given(spec=PIECEWISE_SPECS,
       lots=st.lists(st.integers(-10**10, 10**10), min_size=1, max_size=30),
       offsets=st.lists(st.sampled_from([-0.01, -1e-12, 0.0, 1e-12, 0.01]) | st.floats(-0.5, 0.5), min_size=30,
                        max_size=30),
       mark=st.floats(1.0, 1e6))
@settings(max_examples=300, deadline=None)
def test_compiled_scan_finds_exactly_the_accounts_below_maintenance(spec, lots, offsets, mark):
    """Where a family gives its maintenance as pieces, the compiled liquidation scan finds exactly the
    accounts whose equity is below the schedule's maintenance margin, as numpy computes both, also
    for equity within rounding of the margin (past the notional limit too)."""
    schedule = load_schedule(spec)
    lots = np.array(lots, dtype=np.int64)
    lot_value = 0.001 * mark
    notional = np.abs(lots) * lot_value
    margin = schedule.maintenance_margin(notional)
    quote = margin - lots * lot_value + np.array(offsets[: len(lots)]) * notional
    found = below_maintenance_in_pieces(lots, quote, lot_value, *schedule.maintenance_pieces())
    expected = np.flatnonzero((lots != 0) & (quote + lots * lot_value < margin))
    assert found.tolist() == expected.tolist()
