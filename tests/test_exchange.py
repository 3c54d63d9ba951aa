"""The exchange: order entry, fees, margin checks, funding, liquidation, insurance fund and ADL.

Worked examples are computed by hand in each test (the arithmetic is written out, not taken from
the engine); property-based tests then drive random schedules, deposits, orders and mark paths
and check the book's invariants after every operation.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.exchange import (
    LIQUIDATION_COLUMNS,
    Bid,
    Exchange,
    LinearImpact,
    LiquidationOffer,
    OrderBook,
    Rules,
)
from sim.exchange.orders import to_lots
from sim.schedules import load_schedule

LOT = 0.001
FLAT = {"kind": "flat", "max_leverage": 100, "maintenance_rate": 0.005}
NO_FEES = Rules(taker_fee=0.0, maker_fee=0.0)
SNAPSHOT_COLUMNS = [
    "account", "owner", "entity", "kind", "deposits", "quote", "position", "notional", "equity",
    "initial_margin", "maintenance_margin", "tier", "liquidation_price",
]


def approx(value: float, rel: float = 1e-12, abs_: float = 1e-9):
    return pytest.approx(value, rel=rel, abs=abs_)


DEFAULT_RULES = Rules()


def market(schedule: dict = FLAT, rules: Rules = DEFAULT_RULES, *, price: float = 100.0, impact: float = 0.0,
           fund: float = 0.0, maker_deposit: float = 1e7) -> tuple[Exchange, int]:
    """An exchange at ``price`` with one LinearImpact maker; returns (exchange, maker account)."""
    ex = Exchange(load_schedule(schedule), rules, index_price=price, insurance_fund=fund)
    maker = ex.open_account(owner=900, kind="market_maker", deposit=maker_deposit)
    ex.liquidity = LinearImpact(maker=maker, price=price, impact=impact, lot_size=ex.rules.lot_size)
    return ex, maker


def move_mark(ex: Exchange, price: float) -> None:
    """The index and the stand-in market's price both go to ``price``; the mark follows."""
    ex.liquidity.price = price
    ex.set_index(price)


def state(ex: Exchange) -> tuple:
    """Everything an operation could change: the book, counters, log, prices."""
    liquidity = None if ex.liquidity is None else (ex.liquidity.price, len(ex.liquidity.fills))
    return (ex.snapshot(), asdict(ex.counters), len(ex.events), ex.mark, ex.index,
            ex.open_interest(), liquidity)


def assert_unchanged(before: tuple, after: tuple) -> None:
    pd.testing.assert_frame_equal(before[0], after[0], check_exact=True)
    assert before[1:] == after[1:]


def check_books(ex: Exchange) -> None:
    """The exchange's own invariant check plus an explicit recomputation from the arrays."""
    ex.check_invariants()
    n = ex.n_accounts
    assert int(ex.lots[:n].sum()) == 0
    assert ex.lots.dtype == np.int64
    deposits = math.fsum(ex.deposits[:n])
    equity = math.fsum(ex.quote[i] + int(ex.lots[i]) * ex.rules.lot_size * ex.mark for i in range(n))
    assert abs(equity - deposits) <= 1e-9 * max(deposits, 1.0), (equity, deposits)
    longs = int(ex.lots[:n][ex.lots[:n] > 0].sum())
    assert ex.open_interest() == approx(longs * ex.rules.lot_size)


# ------------------------------------------------------------------------------ order entry


def test_market_order_fill_price_fees_quote_and_position():
    ex, maker = market(impact=0.001)
    a = ex.open_account(owner=1, kind="retail", deposit=1_000.0)
    result = ex.submit_market_order(a, 10.0)

    # 10 units, impact 0.001 per unit: the price moves 1 %, the average fill is half of that.
    average = 100.0 * (1 + 0.001 * 10 / 2)        # 100.5
    cost = 10 * average                              # 1,005
    taker_fee = 0.0005 * cost                        # 0.5025
    maker_fee = 0.0002 * cost                        # 0.201
    assert result.accepted and result.reason is None
    assert result.filled == approx(10.0)
    assert result.average_price == approx(average)
    assert result.fee == approx(taker_fee)
    assert ex.position(a) == approx(10.0)
    assert int(ex.lots[a]) == 10_000
    assert ex.quote[a] == approx(1_000.0 - cost - taker_fee)           # -5.5025
    assert ex.position(maker) == approx(-10.0)
    assert ex.quote[maker] == approx(1e7 + cost - maker_fee)
    assert ex.quote[ex.treasury] == approx(taker_fee + maker_fee)       # 0.7035
    assert ex.counters.fees == approx(taker_fee + maker_fee)
    # The stand-in's mid went to 101; the mark is held within 0.5 % of the index (100).
    assert ex.liquidity.price == approx(101.0)
    assert ex.mark == approx(100.5)
    assert ex.equity(a) == approx(1_000.0 - cost - taker_fee + 10 * 100.5)   # 999.4975
    check_books(ex)


def test_sell_order_fill_and_fees():
    ex, maker = market(impact=0.002)
    a = ex.open_account(owner=1, kind="retail", deposit=500.0)
    result = ex.submit_market_order(a, -5.0)
    average = 100.0 * (1 - 0.002 * 5 / 2)           # 99.5
    assert result.filled == approx(-5.0)
    assert result.average_price == approx(average)
    assert ex.quote[a] == approx(500.0 + 5 * average - 0.0005 * 5 * average)
    assert ex.quote[maker] == approx(1e7 - 5 * average - 0.0002 * 5 * average)
    assert ex.position(maker) == approx(5.0)
    assert ex.liquidity.price == approx(99.0)
    assert ex.mark == approx(99.5)
    check_books(ex)


def test_initial_margin_refusal_changes_nothing():
    ex, _maker = market()
    a = ex.open_account(owner=1, kind="retail", deposit=10.0)
    before = state(ex)
    # 10 units at 100: notional 1,000, IM 1 % = 10, fee 0.05 % = 0.5; equity 10 - 0.5 < 10.
    result = ex.submit_market_order(a, 10.0)
    assert not result.accepted
    assert result.reason.startswith("insufficient margin")
    assert "10.00" in result.reason and "0.50" in result.reason
    assert result.filled == 0.0 and result.fee == 0.0
    assert_unchanged(before, state(ex))


def test_initial_margin_boundary_includes_the_fee():
    ex, _ = market()
    short_by_a_cent = ex.open_account(owner=1, kind="retail", deposit=10.49)
    enough = ex.open_account(owner=2, kind="retail", deposit=10.51)
    assert not ex.submit_market_order(short_by_a_cent, 10.0).accepted
    assert ex.submit_market_order(enough, 10.0).accepted
    assert ex.position(enough) == approx(10.0)
    assert ex.position(short_by_a_cent) == 0.0


def test_reducing_order_allowed_below_initial_margin_but_increasing_refused():
    ex, _maker = market(rules=NO_FEES)
    a = ex.open_account(owner=1, kind="retail", deposit=20.0)
    assert ex.submit_market_order(a, 10.0).accepted                # quote 20 - 1,000 = -980
    move_mark(ex, 98.5)
    equity = -980.0 + 10 * 98.5                                        # 5
    im = 0.01 * 10 * 98.5                                              # 9.85
    mm = 0.005 * 10 * 98.5                                             # 4.925
    assert ex.equity(a) == approx(equity)
    assert mm < equity < im
    before = state(ex)
    refused = ex.submit_market_order(a, 0.001)
    assert refused.reason.startswith("insufficient margin")
    assert_unchanged(before, state(ex))
    reduced = ex.submit_market_order(a, -4.0)
    assert reduced.accepted
    assert ex.position(a) == approx(6.0)
    assert ex.quote[a] == approx(-980.0 + 4 * 98.5)
    closed = ex.submit_market_order(a, -6.0, reduce_only=True)
    assert closed.accepted and ex.position(a) == 0.0
    assert ex.quote[a] == approx(equity)
    check_books(ex)


def test_reduce_only_refused_when_it_would_increase_or_flip():
    ex, _ = market()
    a = ex.open_account(owner=1, kind="retail", deposit=1_000.0)
    fresh = ex.open_account(owner=2, kind="retail", deposit=1_000.0)
    assert ex.submit_market_order(a, 2.0).accepted
    for account, size in ((a, 1.0), (a, -2.5), (fresh, 1.0), (fresh, -1.0)):
        before = state(ex)
        result = ex.submit_market_order(account, size, reduce_only=True)
        assert result.reason == "reduce-only order would increase the position"
        assert_unchanged(before, state(ex))
    assert ex.submit_market_order(a, -2.0, reduce_only=True).accepted
    assert ex.position(a) == 0.0


def test_order_past_the_last_cap_refused():
    tiered = {"kind": "tiered", "brackets": [
        {"cap": 10_000, "max_leverage": 50, "maintenance_rate": 0.01},
        {"cap": 50_000, "max_leverage": 20, "maintenance_rate": 0.02},
    ]}
    ex, _ = market(tiered)
    a = ex.open_account(owner=1, kind="retail", deposit=1e6)
    before = state(ex)
    result = ex.submit_market_order(a, 500.01)                     # notional 50,001 > 50,000
    assert result.reason is not None and "exceeds the schedule's limit" in result.reason
    assert "50,000" in result.reason
    assert_unchanged(before, state(ex))
    assert ex.submit_market_order(a, 500.0).accepted                # exactly at the cap
    assert ex.position(a) == approx(500.0)
    before = state(ex)
    assert "exceeds" in ex.submit_market_order(a, 0.01).reason     # adding past it, too
    assert_unchanged(before, state(ex))


def test_negative_deposit_refused_before_any_account_opens():
    ex, _maker = market()
    before = state(ex), ex.n_accounts
    with pytest.raises(ValueError, match="non-negative"):
        ex.open_account(owner=1, kind="retail", deposit=-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        ex.open_accounts(np.array([2, 3]), "retail", np.array([5.0, -1.0]))
    assert ex.n_accounts == before[1]
    assert_unchanged(before[0], state(ex))


def test_order_smaller_than_one_lot_refused():
    ex, _ = market()
    a = ex.open_account(owner=1, kind="retail", deposit=1_000.0)
    for size in (0.0, 0.0004, -0.0004, 0.0009, -0.00099):
        before = state(ex)
        result = ex.submit_market_order(a, size)
        assert result.reason == "smaller than one lot", size
        assert_unchanged(before, state(ex))
    # Sizes are whole lots: never more than asked, and float noise does not lose a lot.
    assert ex.submit_market_order(a, 0.0019).filled == approx(0.001)
    assert ex.submit_market_order(a, 0.003).filled == approx(0.003)
    assert int(ex.lots[a]) == 4


@given(sizes=st.lists(st.floats(-1e4, 1e4) | st.integers(-10**6, 10**6).map(lambda k: k * 0.001)
                      | st.sampled_from([0.003, -0.003, 0.0029999, 0.0025, -0.0035, 0.0]), min_size=1, max_size=30))
def test_many_sizes_become_the_lots_each_would_alone(sizes):
    """A batch's sizes (converted in one compiled pass) become the lots each size becomes on its own:
    whole lots toward zero, never more than asked beyond float noise, less than a lot left over."""
    many = to_lots(np.array(sizes), 0.001)
    assert many.dtype == np.int64
    assert many.tolist() == [to_lots(size, 0.001) for size in sizes]
    for size, lots in zip(sizes, many.tolist()):
        exact = abs(size / 0.001)
        assert lots == 0 or (lots > 0) == (size > 0)
        assert exact - 1 < abs(lots) <= exact + 2e-9 + 2e-12 * exact
    assert to_lots(np.array([[0.003, -0.0029999]]), 0.001).tolist() == [[3, -2]]


# ------------------------------------------------------------------------------ funding


def test_funding_moves_rate_times_position_times_mark_from_longs_to_shorts():
    ex, maker = market(rules=NO_FEES)
    long_a = ex.open_account(owner=1, kind="retail", deposit=1_000.0)
    long_b = ex.open_account(owner=2, kind="retail", deposit=1_000.0)
    short_c = ex.open_account(owner=3, kind="retail", deposit=1_000.0)
    ex.submit_market_order(long_a, 10.0)
    ex.submit_market_order(long_b, 2.0)
    ex.submit_market_order(short_c, -4.0)                          # maker: -8
    move_mark(ex, 101.0)
    quotes = ex.quote[: ex.n_accounts].copy()
    paid = ex.apply_funding(0.0001)
    # rate x position x mark: a pays 0.101, b 0.0202; c receives 0.0404, the maker 0.0808.
    assert paid == approx(0.0001 * 12 * 101.0)
    assert ex.quote[long_a] - quotes[long_a] == approx(-0.0001 * 10 * 101.0)
    assert ex.quote[long_b] - quotes[long_b] == approx(-0.0001 * 2 * 101.0)
    assert ex.quote[short_c] - quotes[short_c] == approx(0.0001 * 4 * 101.0)
    assert ex.quote[maker] - quotes[maker] == approx(0.0001 * 8 * 101.0)
    assert ex.counters.funding_paid_by_longs == approx(0.1212)
    check_books(ex)
    # A negative rate: shorts pay longs.
    quotes = ex.quote[: ex.n_accounts].copy()
    paid = ex.apply_funding(-0.0005)
    assert paid == approx(-0.0005 * 12 * 101.0)
    assert ex.quote[long_a] - quotes[long_a] == approx(0.0005 * 10 * 101.0)
    assert ex.quote[short_c] - quotes[short_c] == approx(-0.0005 * 4 * 101.0)
    assert ex.quote[maker] - quotes[maker] == approx(-0.0005 * 8 * 101.0)
    assert ex.counters.funding_paid_by_longs == approx(0.1212 - 0.606)
    check_books(ex)


# ------------------------------------------------------------------------------ liquidatable


def test_liquidatable_at_the_hand_computed_mark_threshold_flat():
    ex, _maker = market(rules=NO_FEES, fund=1_000.0)
    long_a = ex.open_account(owner=1, kind="retail", deposit=10.0)
    short_b = ex.open_account(owner=2, kind="retail", deposit=10.0)
    ex.submit_market_order(long_a, 10.0)                          # quote -990
    ex.submit_market_order(short_b, -10.0)                        # quote 1,010
    # Long: -990 + 10 p = 0.005 x 10 p  ->  p = 990 / 9.95.  Short: 1,010 - 10 p = 0.05 p.
    long_liq = 990.0 / 9.95                                         # 99.4974...
    short_liq = 1_010.0 / 10.05                                     # 100.4975...
    assert ex.schedule.liquidation_price(10.0, -990.0) == approx(long_liq)
    assert ex.schedule.liquidation_price(-10.0, 1_010.0) == approx(short_liq)
    assert ex.snapshot().loc[long_a, "liquidation_price"] == approx(long_liq)
    assert ex.snapshot().loc[short_b, "liquidation_price"] == approx(short_liq)
    assert ex.bankruptcy_price(long_a) == approx(99.0)
    assert ex.bankruptcy_price(short_b) == approx(101.0)
    eps = 1e-9
    for mark, expected in ((long_liq * (1 + eps), []), (long_liq * (1 - eps), [long_a]),
                           (short_liq * (1 - eps), []), (short_liq * (1 + eps), [short_b])):
        move_mark(ex, mark)
        assert ex.liquidatable().tolist() == expected, mark
        assert ex.is_liquidatable(long_a) == (long_a in expected)
        assert ex.is_liquidatable(short_b) == (short_b in expected)


def test_liquidatable_one_lot_either_side_of_the_threshold():
    # Three longs entered at 100 on the same 10.01 of collateral: 9.999, 10 and 10.001 units.
    # liq(q) = (100 q - 10.01) / (0.995 q) rises with q, so at the 10-unit account's liquidation
    # price one lot more is liquidatable and one lot less is not.
    ex, _maker = market(rules=NO_FEES)
    smaller, middle, larger = (ex.open_account(owner=i, kind="retail", deposit=10.01) for i in (1, 2, 3))
    for account, units in ((smaller, 9.999), (middle, 10.0), (larger, 10.001)):
        assert ex.submit_market_order(account, units).accepted
    liq = (1_000.0 - 10.01) / (0.995 * 10)                           # 99.4965
    assert ex.schedule.liquidation_price(10.0, 10.01 - 1_000.0) == approx(liq)
    move_mark(ex, liq * (1 + 1e-9))
    assert ex.liquidatable().tolist() == [larger]
    move_mark(ex, liq * (1 - 1e-9))
    assert ex.liquidatable().tolist() == [middle, larger]
    # larger: -990.09 + 10.001 x 99.4965 = 4.9247 < MM 4.9751; smaller: 4.9755 > MM 4.9743
    assert ex.equity(larger) == approx(10.01 - 1_000.1 + 10.001 * ex.mark)
    assert ex.equity(larger) < 0.005 * 10.001 * ex.mark
    assert ex.equity(smaller) > 0.005 * 9.999 * ex.mark


def test_liquidatable_threshold_in_a_higher_tier():
    tiered = {"kind": "tiered", "brackets": [
        {"cap": 10_000, "max_leverage": 50, "maintenance_rate": 0.01},
        {"cap": 100_000, "max_leverage": 20, "maintenance_rate": 0.025},
    ]}
    ex, _maker = market(tiered, NO_FEES)
    a = ex.open_account(owner=1, kind="retail", deposit=2_000.0)
    assert ex.submit_market_order(a, 400.0).accepted              # 40,000 notional, IM 2,000
    # MM in tier 2 = 0.025 N - 10,000 x (0.025 - 0.01) = 0.025 N - 150, N = 400 p.
    # -38,000 + 400 p = 10 p - 150  ->  p = 37,850 / 390.
    liq = 37_850.0 / 390.0
    assert ex.schedule.liquidation_price(400.0, -38_000.0) == approx(liq)
    move_mark(ex, liq * (1 + 1e-9))
    assert ex.liquidatable().tolist() == []
    assert ex.maintenance_margin(a) == approx(0.025 * 400 * liq - 150, rel=1e-8)
    move_mark(ex, liq * (1 - 1e-9))
    assert ex.liquidatable().tolist() == [a]


@settings(max_examples=300, deadline=None)
@given(lots=st.integers(1, 200_000), side=st.sampled_from([1, -1]), price=st.floats(50_000.0, 150_000.0),
       nudge=st.integers(-3, 3))
def test_scan_and_single_check_agree_on_the_threshold(lots, side, price, nudge):
    """The liquidation scan and the per-account check read equity and maintenance alike, so an
    account on the threshold cannot be found by one and passed over by the other (the rounds of
    ``run_liquidations`` would then never clear)."""
    ex, maker = market("configs/schedules/binance_btcusdt.yaml", NO_FEES, price=price)
    a = ex.open_account(owner=1, kind="retail", deposit=ex.schedule.initial_margin(lots * LOT * price) * 1.01)
    assert ex.submit_market_order(a, side * lots * LOT).accepted
    threshold = ex.maintenance_margin(a) - (ex.equity(a) - ex.quote[a])
    for _ in range(2):                                  # the second transfer removes the first's rounding
        ex.transfer(a, maker, ex.quote[a] - threshold)
    ex.transfer(a, maker, nudge * np.spacing(threshold))
    assert ex.is_liquidatable(a) == (a in ex.liquidatable().tolist())
    assert ex.below_maintenance(np.array([a, maker])).tolist() == [ex.is_liquidatable(a), ex.is_liquidatable(maker)]


# ------------------------------------------------------------------------------ liquidator takeover


def _long_at_99_4(rules: Rules = NO_FEES, fund: float = 0.0):
    """A long 10 at 100 on 10 of collateral (bankrupt at 99) with the mark at 99.4: liquidatable."""
    ex, maker = market(rules=rules, fund=fund)
    a = ex.open_account(owner=1, kind="retail", deposit=10.0)
    assert ex.submit_market_order(a, 10.0).accepted                # quote -990
    move_mark(ex, 99.4)                                              # equity 4 < MM 4.97
    assert ex.is_liquidatable(a)
    return ex, maker, a


def test_liquidator_takeover_at_a_discount_penalty_capped_by_equity():
    ex, _maker, a = _long_at_99_4()
    liq = ex.open_account(owner=5, kind="liquidator", deposit=1_000.0)
    fund_before = ex.quote[ex.insurance]
    assert ex.liquidation.take_over(a, liq, 99.2) is None
    # a sells 10 at 99.2: quote -990 + 992 = 2; penalty min(0.005 x 994, 2) = 2.
    assert ex.position(a) == 0.0 and ex.quote[a] == approx(0.0)
    assert ex.position(liq) == approx(10.0)
    assert ex.quote[liq] == approx(1_000.0 - 992.0)
    assert ex.quote[ex.insurance] - fund_before == approx(2.0)
    assert ex.counters.penalties == approx(2.0)
    log = ex.events.frame()
    assert list(log.columns) == LIQUIDATION_COLUMNS
    assert len(log) == 1
    row = log.iloc[0]
    assert row["taker"] == "liquidator" and row["account"] == a and row["side"] == "long"
    assert row["size"] == approx(10.0) and row["notional"] == approx(994.0)
    assert row["price"] == approx(99.2) and row["penalty"] == approx(2.0)
    assert row["mark_before"] == approx(99.4) and row["mark_after"] == approx(99.4)
    assert row["bad_debt"] == 0.0 and row["kind"] == "retail" and row["tier"] == 1
    check_books(ex)


def test_liquidator_takeover_penalty_at_the_rate():
    ex, _maker, a = _long_at_99_4(Rules(taker_fee=0.0, maker_fee=0.0, penalty_rate=0.002))
    liq = ex.open_account(owner=5, kind="liquidator", deposit=1_000.0)
    assert ex.liquidation.take_over(a, liq, 99.35) is None
    # quote -990 + 993.5 = 3.5; penalty min(0.002 x 994 = 1.988, 3.5) = 1.988.
    assert ex.quote[a] == approx(3.5 - 1.988)
    assert ex.quote[ex.insurance] == approx(1.988)
    assert ex.events.frame().iloc[0]["penalty"] == approx(1.988)
    check_books(ex)


def test_liquidator_takeover_of_a_short():
    ex, _maker = market(rules=NO_FEES)
    s = ex.open_account(owner=1, kind="retail", deposit=10.0)
    assert ex.submit_market_order(s, -10.0).accepted               # quote 1,010, bankrupt 101
    move_mark(ex, 100.6)                                             # equity 4 < MM 5.03
    liq = ex.open_account(owner=5, kind="liquidator", deposit=1_000.0)
    before = state(ex)
    assert ex.liquidation.take_over(s, liq, 100.5) == "price is not a discount to the mark"
    assert ex.liquidation.take_over(s, liq, 101.01) == "price is beyond the bankruptcy price"
    assert_unchanged(before, state(ex))
    assert ex.liquidation.take_over(s, liq, 100.8) is None
    assert ex.position(liq) == approx(-10.0) and ex.position(s) == 0.0
    assert ex.quote[liq] == approx(1_000.0 + 1_008.0)
    assert ex.quote[s] == approx(0.0)                                 # 2 left, all penalty
    assert ex.quote[ex.insurance] == approx(2.0)
    assert ex.events.frame().iloc[0]["side"] == "short"
    check_books(ex)


def test_takeover_refusals_change_nothing():
    ex, _maker, a = _long_at_99_4()
    rich = ex.open_account(owner=5, kind="liquidator", deposit=1_000.0)
    poor = ex.open_account(owner=6, kind="liquidator", deposit=5.0)
    healthy = ex.open_account(owner=7, kind="retail", deposit=1_000.0)
    assert ex.submit_market_order(healthy, 1.0).accepted
    cases = [
        (a, rich, 98.99, "price is beyond the bankruptcy price"),      # bankrupt at 99
        (a, rich, 99.41, "price is not a discount to the mark"),       # mark 99.4
        # poor: 5 - 992 + 994 = 7 of equity against IM 9.94
        (a, poor, 99.2, "liquidator's margin cannot carry the position"),
        (a, a, 99.2, "an account cannot take over its own position"),
        (healthy, rich, 99.0, "account is not liquidatable"),
    ]
    for account, liquidator, price, reason in cases:
        before = state(ex)
        assert ex.liquidation.take_over(account, liquidator, price) == reason
        assert_unchanged(before, state(ex))
    assert not ex.liquidation.can_take_over(poor, 10.0, 99.2)
    # Margin check at the edge: 8 - 992 + 994 = 10 >= IM 9.94, but 8 - 993 + 994 = 9 < 9.94.
    modest = ex.open_account(owner=8, kind="liquidator", deposit=8.0)
    assert ex.liquidation.can_take_over(modest, 10.0, 99.2)
    assert not ex.liquidation.can_take_over(modest, 10.0, 99.3)
    assert ex.liquidation.take_over(a, modest, 99.3) == "liquidator's margin cannot carry the position"
    assert ex.liquidation.take_over(a, modest, 99.2) is None
    assert ex.position(modest) == approx(10.0)


# ------------------------------------------------------------------------------ engine closes


def test_engine_whole_close_into_the_market_no_taker_fee():
    ex, maker = market(rules=Rules(), fund=100.0)
    a = ex.open_account(owner=1, kind="retail", deposit=10.5)
    assert ex.submit_market_order(a, 10.0).accepted               # quote 10.5 - 1,000 - 0.5 = -990
    assert ex.quote[a] == approx(-990.0)
    ex.liquidity.impact = 1e-4
    move_mark(ex, 99.4)                                            # equity 4 < MM 4.97
    maker_quote, treasury = ex.quote[maker], ex.quote[ex.treasury]
    ex.step = 7
    assert ex.liquidation.run() == 1
    # Flat schedule: no lower tier, so a whole close, limited at the bankruptcy price 99 (not
    # binding: the 10 units move the price only 0.1 %).
    average = 99.4 * (1 - 1e-4 * 10 / 2)                          # 99.35030
    quote = -990.0 + 10 * average                                   # 3.5030
    penalty = min(0.005 * 10 * 99.4, quote)                        # the 3.5030 left
    assert ex.position(a) == 0.0
    assert ex.quote[a] == approx(quote - penalty)
    assert ex.quote[a] == approx(0.0)
    assert ex.quote[ex.insurance] == approx(100.0 + penalty)
    maker_fee = 0.0002 * 10 * average
    assert ex.quote[maker] - maker_quote == approx(-10 * average - maker_fee)
    assert ex.quote[ex.treasury] - treasury == approx(maker_fee)       # the engine pays no taker fee
    assert ex.mark == approx(99.4 * (1 - 1e-4 * 10))
    log = ex.events.frame()
    assert log["taker"].tolist() == ["engine"]
    row = log.iloc[0]
    assert (row["step"], row["round"], row["account"], row["owner"], row["entity"]) == (7, 1, a, 1, 1)
    assert row["price"] == approx(average) and row["penalty"] == approx(penalty)
    assert row["mark_before"] == approx(99.4) and row["mark_after"] == approx(ex.mark)
    assert row["size"] == approx(10.0) and row["notional"] == approx(994.0)
    assert ex.counters.liquidation_count == 1
    assert ex.counters.liquidation_notional == approx(994.0)
    assert ex.counters.bad_debt == 0.0
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


def test_engine_close_limited_at_the_bankruptcy_price_rest_to_the_fund():
    ex, maker = market(rules=NO_FEES, fund=1_000.0)
    a = ex.open_account(owner=1, kind="retail", deposit=10.0)
    assert ex.submit_market_order(a, 10.0).accepted               # quote -990, bankrupt at 99
    ex.liquidity.impact = 1e-3
    move_mark(ex, 99.4)
    assert ex.liquidation.run() == 1
    # The engine sells until the price reaches 99: (1 - 99 / 99.4) / 0.001 = 4.0241 units, so
    # 4,024 whole lots, at the average of the start and end price.
    filled = 4.024
    assert int((1 - 99.0 / 99.4) / 1e-3 / LOT) == 4_024
    average = 99.4 * (1 - 1e-3 * filled / 2)                      # 99.20001
    mark_after = 99.4 * (1 - 1e-3 * filled)                       # 99.00001, inside the band
    quote = -990.0 + filled * average
    equity = quote + (10 - filled) * mark_after                     # 0.80
    penalty = min(0.005 * filled * 99.4, equity)                   # capped: the 0.80 left
    bankrupt = -(quote - penalty) / (10 - filled)                   # = mark_after
    log = ex.events.frame()
    assert log["taker"].tolist() == ["engine", "insurance"]
    engine, fund = log.iloc[0], log.iloc[1]
    assert engine["size"] == approx(filled) and engine["price"] == approx(average)
    assert engine["price"] > 99.0 and mark_after >= 99.0
    assert engine["penalty"] == approx(penalty, rel=1e-9)
    assert engine["mark_after"] == approx(mark_after)
    assert fund["size"] == approx(10 - filled) and fund["price"] == approx(bankrupt, rel=1e-9)
    assert fund["bad_debt"] == approx(0.0)
    assert fund["round"] == 1 and fund["mark_before"] == approx(mark_after)
    assert ex.position(a) == 0.0 and ex.quote[a] == approx(0.0)
    assert ex.position(ex.insurance) == approx(10 - filled)
    assert ex.position(maker) == approx(-10 + filled)
    assert ex.equity(ex.insurance) == approx(1_000.0 + penalty, rel=1e-9)
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


TIERED_3 = {"kind": "tiered", "brackets": [
    {"cap": 10_000, "max_leverage": 100, "maintenance_rate": 0.005},
    {"cap": 100_000, "max_leverage": 50, "maintenance_rate": 0.01},
    {"cap": 1_000_000, "max_leverage": 20, "maintenance_rate": 0.02},
]}


def test_partial_liquidation_leaves_a_lower_tier_above_maintenance():
    ex, _maker = market(TIERED_3, NO_FEES, fund=1_000.0)
    a = ex.open_account(owner=1, kind="whale", deposit=6_600.0)
    assert ex.submit_market_order(a, 1_300.0).accepted           # 130,000 notional, tier 3
    assert ex.snapshot().loc[a, "tier"] == 3
    ex.liquidity.impact = 1e-6
    move_mark(ex, 96.0)
    # MM amounts: tier 2: 10,000 x 0.005 = 50; tier 3: 50 + 100,000 x 0.01 = 1,050.
    equity = 6_600.0 - 130_000.0 + 1_300 * 96.0                    # 1,400
    mm = 0.02 * 124_800 - 1_050                                      # 1,446
    assert ex.equity(a) == approx(equity) and ex.maintenance_margin(a) == approx(mm)
    assert ex.liquidatable().tolist() == [a]
    # Room = (equity - penalty on the whole) x (1 - buffer) = (1,400 - 624) x 0.9 = 698.4.
    # Tier 3 would need (698.4 + 1,050) / 0.02 = 87,420 < 100,000: not in tier 3.
    # Tier 2: (698.4 + 50) / 0.01 = 74,840 -> keep int(74,840 / 0.096) lots.
    room = (equity - 0.005 * 124_800) * 0.9
    assert (room + 1_050) / 0.02 < 100_000
    target = (room + 50) / 0.01
    keep = int(target / (LOT * 96.0))
    assert keep == 779_583
    sold = 1_300.0 - keep * LOT                                      # 520.417 units
    assert ex.liquidation.run() == 1
    assert int(ex.lots[a]) == keep
    average = 96.0 * (1 - 1e-6 * sold / 2)
    mark_after = 96.0 * (1 - 1e-6 * sold)
    penalty = 0.005 * sold * 96.0                                    # 249.80, below equity
    quote = 6_600.0 - 130_000.0 + sold * average - penalty
    assert ex.mark == approx(mark_after)
    assert ex.quote[a] == approx(quote)
    new_notional = keep * LOT * mark_after                           # 74,801
    assert ex.snapshot().loc[a, "tier"] == 2
    assert ex.notional(a) == approx(new_notional)
    assert ex.equity(a) == approx(quote + new_notional)             # 1,098
    assert ex.equity(a) > ex.maintenance_margin(a) == approx(0.01 * new_notional - 50)
    log = ex.events.frame()
    assert log["taker"].tolist() == ["engine"]
    row = log.iloc[0]
    assert row["size"] == approx(sold) and row["price"] == approx(average)
    assert row["penalty"] == approx(penalty) and row["notional"] == approx(sold * 96.0)
    assert row["tier"] == 3                  # the tier the position was liquidated from
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


def test_partial_liquidation_off_closes_whole():
    ex, _maker = market(TIERED_3, Rules(taker_fee=0.0, maker_fee=0.0, partial_liquidation=False),
                       fund=1_000.0)
    a = ex.open_account(owner=1, kind="whale", deposit=6_600.0)
    assert ex.submit_market_order(a, 1_300.0).accepted
    ex.liquidity.impact = 1e-6
    move_mark(ex, 96.0)
    ex.liquidation.run()
    assert ex.position(a) == 0.0
    assert ex.events.frame()["size"].sum() == approx(1_300.0)


# ------------------------------------------------------------------------------ bad debt and ADL


def test_bad_debt_covered_by_the_insurance_fund():
    ex, maker = market(rules=NO_FEES, fund=10_000.0, impact=0.0)
    a = ex.open_account(owner=1, kind="retail", deposit=10.0)
    assert ex.submit_market_order(a, 10.0).accepted               # quote -990, bankrupt at 99
    ex.liquidity.impact = 1e-3
    move_mark(ex, 95.0)                                             # equity -40
    assert ex.equity(a) == approx(-40.0)
    assert ex.liquidation.run() == 1
    # The book cannot fill above 99, so the fund takes the 10 units at 99: it loses 10 x (99 - 95).
    assert ex.position(a) == 0.0 and ex.quote[a] == approx(0.0) and ex.equity(a) == approx(0.0)
    assert ex.position(ex.insurance) == approx(10.0)
    assert ex.quote[ex.insurance] == approx(10_000.0 - 990.0)
    assert ex.equity(ex.insurance) == approx(10_000.0 - 40.0)
    assert ex.position(maker) == approx(-10.0)                       # untouched
    assert ex.counters.bad_debt == approx(40.0)
    assert ex.counters.bad_debt_insurance == approx(40.0)
    assert ex.counters.adl_count == 0
    log = ex.events.frame()
    assert log["taker"].tolist() == ["insurance"]
    assert log.iloc[0]["price"] == approx(99.0) and log.iloc[0]["bad_debt"] == approx(40.0)
    assert log.iloc[0]["penalty"] == 0.0
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


def test_adl_when_the_fund_is_empty_ranks_by_profit_times_leverage():
    ex = Exchange(load_schedule(FLAT), NO_FEES, index_price=100.0, insurance_fund=0.0)
    s1 = ex.open_account(owner=11, kind="retail", deposit=100.0)
    s2 = ex.open_account(owner=12, kind="retail", deposit=50.0)
    s3 = ex.open_account(owner=13, kind="whale", deposit=1_000.0)
    a = ex.open_account(owner=1, kind="retail", deposit=6.0)
    b = ex.open_account(owner=2, kind="retail", deposit=1_000.0)
    # Each short is in turn the maker of a price-neutral stand-in market.
    for maker, buyer, size in ((s2, a, 3.0), (s1, a, 2.0), (s1, b, 1.0), (s3, b, 4.0)):
        ex.liquidity = LinearImpact(maker=maker, price=100.0, impact=0.0, lot_size=LOT)
        assert ex.submit_market_order(buyer, size).accepted
    # a: long 5 on quote 6 - 500 = -494, bankrupt at 98.8.
    assert ex.bankruptcy_price(a) == approx(98.8)
    ex.liquidity = LinearImpact(maker=s3, price=100.0, impact=1e-3, lot_size=LOT)
    move_mark(ex, 95.0)
    # Scores at 95, profit = (equity - deposits) / deposits, leverage = notional / equity:
    score = {
        s1: (115 / 100 - 1) * (285 / 115),      # 0.372
        s2: (65 / 50 - 1) * (285 / 65),         # 1.315
        s3: (1_020 / 1_000 - 1) * (380 / 1_020),  # 0.0075
    }
    expected = sorted(score, key=lambda k: -score[k])
    assert expected == [s2, s1, s3]
    assert ex.adl.ranking(-1, exclude=a).tolist() == expected
    assert ex.equity(a) == approx(-19.0)
    assert ex.liquidation.run() == 1
    # 5 units at 98.8: all 3 of s2 (the top score), then 2 of s1's 3; s3 is untouched.
    assert ex.position(s2) == 0.0 and ex.quote[s2] == approx(350.0 - 3 * 98.8)
    assert ex.position(s1) == approx(-1.0) and ex.quote[s1] == approx(400.0 - 2 * 98.8)
    assert ex.position(s3) == approx(-4.0) and ex.quote[s3] == approx(1_400.0)
    assert ex.position(b) == approx(5.0)
    assert ex.position(a) == 0.0 and ex.quote[a] == approx(0.0)
    assert ex.position(ex.insurance) == 0.0 and ex.quote[ex.insurance] == approx(0.0)
    assert ex.counters.bad_debt == approx(19.0)
    assert ex.counters.bad_debt_insurance == approx(0.0)
    assert ex.counters.adl_count == 2
    assert ex.counters.adl_notional == approx(5 * 95.0)
    log = ex.events.frame()
    assert log["taker"].tolist() == ["adl"]
    assert log.iloc[0]["price"] == approx(98.8) and log.iloc[0]["bad_debt"] == approx(19.0)
    assert log.iloc[0]["account"] == a and log.iloc[0]["size"] == approx(5.0)
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


def test_adl_of_a_short_closes_the_most_profitable_longs():
    ex = Exchange(load_schedule(FLAT), NO_FEES, index_price=100.0)
    l1 = ex.open_account(owner=11, kind="retail", deposit=20.0)
    l2 = ex.open_account(owner=12, kind="retail", deposit=500.0)
    s = ex.open_account(owner=1, kind="retail", deposit=20.0)
    for maker, size in ((l1, 1.0), (l2, 9.0)):
        ex.liquidity = LinearImpact(maker=maker, price=100.0, impact=0.0, lot_size=LOT)
        assert ex.submit_market_order(s, -size).accepted
    ex.liquidity = None
    ex.set_index(104.0)                                              # no book: mark = index
    # s: quote 20 + 1,000 = 1,020, bankrupt at 102; equity -20.
    # l1: equity 20 - 100 + 104 = 24, profit 0.2, leverage 104 / 24 -> 0.867
    # l2: equity 500 - 900 + 936 = 536, profit 0.072, leverage 936 / 536 -> 0.126
    assert ex.adl.ranking(1, exclude=s).tolist() == [l1, l2]
    ex.liquidation.run()
    assert ex.position(l1) == 0.0 and ex.quote[l1] == approx(-80.0 + 102.0)
    assert ex.position(l2) == 0.0 and ex.quote[l2] == approx(-400.0 + 9 * 102.0)
    assert ex.quote[s] == approx(0.0)
    assert ex.counters.bad_debt == approx(20.0)
    assert ex.counters.adl_count == 2
    check_books(ex)


def _book_market(seed: int) -> tuple[Exchange, list[int]]:
    """An exchange whose liquidity is an order book of three makers (accounts), and twenty traders."""
    rng = np.random.default_rng(seed)
    ex = Exchange(load_schedule(FLAT), Rules(lot_size=1.0), index_price=100.0)
    book = OrderBook(100.0)
    ex.liquidity = book
    for _ in range(3):
        maker = ex.open_account(owner=900, kind="market_maker", deposit=1e6)
        levels = int(rng.integers(1, 8))
        book.set_quotes(maker, 100.0 - rng.integers(1, 10, levels) * 0.25, rng.integers(1, 6, levels),
                        100.0 + rng.integers(1, 10, levels) * 0.25, rng.integers(1, 6, levels))
    ex.update_mark()
    traders = [ex.open_account(owner=i, kind="retail", deposit=float(d)) for i, d in enumerate(rng.uniform(50, 5_000, 20))]
    return ex, traders


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=100, deadline=None)
def test_orders_filled_in_one_batch_book_as_filled_one_by_one(seed):
    """A run of checked orders executed at once leaves every account as executing them one at a time
    in the same sequence does, to the bit; only the treasury's fees are summed in another grouping."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 25))
    chosen = rng.integers(0, 20, count)
    sizes = rng.integers(-8, 9, count).astype(float)
    sequence = rng.permutation(count)
    results = []
    for together in (True, False):
        ex, traders = _book_market(seed)
        batch = ex.prepare_orders(np.array(traders)[chosen], sizes)
        if together:
            lots, cost, fee = batch.execute_many(sequence)
        else:
            rows = [batch.execute_many(sequence[i: i + 1]) for i in range(count)]
            lots, cost, fee = (np.concatenate(column) for column in zip(*rows))
        check_books(ex)
        n = ex.n_accounts
        others = np.arange(n) != ex.treasury
        results.append((lots.tolist(), cost.tobytes(), fee.tobytes(), ex.lots[:n].tolist(),
                        ex.quote[:n][others].tobytes(), ex.open_interest(), ex.mark, ex.quote[ex.treasury]))
    assert results[0][:-1] == results[1][:-1]
    assert results[0][-1] == approx(results[1][-1])


def _adl_as_ranked_afresh(ex: Exchange, account: int, price: float) -> None:
    """ADL's close as it was before the queue: the whole market ranked again for every close."""
    lots = int(ex.lots[account])
    side = 1 if lots > 0 else -1
    remaining = abs(lots)
    for opponent in ex.adl.ranking(-side, exclude=account):
        if remaining == 0:
            break
        take = min(remaining, abs(int(ex.lots[opponent])))
        ex.trade(opponent, account, side * take, price)
        remaining -= take
        if opponent != ex.insurance:
            ex.fund.cover(opponent)


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_adl_queue_closes_against_whom_a_fresh_ranking_would(seed):
    """Closes in a row, with trades, transfers, deposits and mark moves between them, take the
    same opponents in the same order, to the bit, as ranking the whole market before each close;
    also when a queue build sorts only its first few accounts and must sort the rest later."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    front = int(rng.integers(1, 5)) if rng.random() < 0.7 else 1024
    script = []                                     # the same operations, replayed on two exchanges
    for _ in range(int(rng.integers(5, 60))):
        a, b = (int(x) for x in rng.choice(n + 1, size=2, replace=False))   # n: the insurance fund
        kind = rng.choice(["trade", "deposit", "transfer", "mark", "adl", "adl", "adl"])
        script.append((str(kind), a, b, int(rng.integers(1, 5_000)), float(rng.uniform(80.0, 120.0))))
    books = []
    for queued in (True, False):
        ex = Exchange(load_schedule(FLAT), NO_FEES, index_price=100.0, insurance_fund=1_000.0)
        ex.adl.front = front
        accounts = [ex.open_account(owner=i, kind="retail", deposit=float(d))
                    for i, d in enumerate(np.random.default_rng(seed).uniform(10.0, 1_000.0, n))]
        accounts.append(ex.insurance)
        for kind, a, b, lots, price in script:
            a, b = accounts[a], accounts[b]
            if kind == "trade":
                ex.trade(a, b, lots, price)
            elif kind == "deposit":
                ex.deposit(a, price)
            elif kind == "transfer":
                ex.transfer(a, b, price / 10.0)
            elif kind == "mark":
                ex.set_index(price)
            elif ex.lots[a] != 0:
                if queued:
                    ex.adl.close(a, price, 1, 0.0)
                else:
                    _adl_as_ranked_afresh(ex, a, price)
        books.append((ex.quote[: ex.n_accounts].tobytes(), ex.lots[: ex.n_accounts].tolist()))
        check_books(ex)
    assert books[0] == books[1]


def test_adl_counterparty_closed_beyond_its_own_bankruptcy_is_covered_by_the_fund():
    # Traders act before the liquidation phase, so after a gap a short can open below the price
    # at which a long went bankrupt; ADL then closes the short at a loss larger than its margin.
    ex, maker = market(rules=NO_FEES, fund=0.0)
    a = ex.open_account(owner=1, kind="retail", deposit=100.0)
    b = ex.open_account(owner=2, kind="retail", deposit=8.95)
    assert ex.submit_market_order(a, 10.0).accepted               # quote -900, bankrupt at 90
    move_mark(ex, 89.0)                                             # a: equity -10, not yet liquidated
    assert ex.submit_market_order(b, -10.0).accepted              # IM 8.9; quote 898.95
    assert ex.position(maker) == 0.0
    assert ex.bankruptcy_price(b) == approx(89.895)
    ex.liquidation.run()
    # The fund is empty and the book (at 89) cannot fill at 90: ADL closes b at 90.
    # b: 898.95 - 900 = -1.05, flat; that shortfall is bad debt the fund takes on.
    assert ex.position(a) == 0.0 and ex.quote[a] == approx(0.0)
    assert ex.position(b) == 0.0
    assert ex.quote[b] == approx(0.0)
    assert ex.quote[ex.insurance] == approx(-1.05)
    assert ex.counters.bad_debt == approx(10.0 + 1.05)
    assert ex.counters.bad_debt_insurance == approx(1.05)
    log = ex.events.frame()
    assert log["taker"].tolist() == ["adl"]
    assert log.iloc[0]["price"] == approx(90.0) and log.iloc[0]["bad_debt"] == approx(10.0)
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


# ------------------------------------------------------------------------------ records


def test_liquidation_log_columns_and_one_row_per_action():
    ex = Exchange(load_schedule(FLAT), NO_FEES, index_price=100.0, insurance_fund=0.0)
    assert ex.events.frame().empty
    assert list(ex.events.frame().columns) == LIQUIDATION_COLUMNS
    assert LIQUIDATION_COLUMNS == [
        "step", "round", "account", "owner", "entity", "kind", "side", "size", "notional", "tier",
        "mark_before", "mark_after", "price", "taker", "penalty", "bad_debt",
    ]
    maker = ex.open_account(owner=900, kind="market_maker", deposit=1e6)
    ex.liquidity = LinearImpact(maker=maker, price=100.0, impact=0.0, lot_size=LOT)
    x = ex.open_account(owner=1, kind="retail", deposit=10.0)        # taken by the liquidator
    y = ex.open_account(owner=2, kind="retail", entity=77, deposit=10.1)  # closed by the engine
    z = ex.open_account(owner=3, kind="whale", deposit=10.2)         # bad debt: ADL
    liq = ex.open_account(owner=5, kind="liquidator", deposit=1_000.0)
    for account in (x, y, z):
        assert ex.submit_market_order(account, 10.0).accepted
    ex.liquidity.impact = 1e-4
    # x: quote -990 (bankrupt 99); y: -989.9 (98.99); z: -989.8 (98.98).
    move_mark(ex, 99.4)

    def bids(offer: LiquidationOffer) -> list[Bid]:
        assert isinstance(offer, LiquidationOffer) and offer.mark == ex.mark
        if offer.account != x:
            return []
        assert offer.position == approx(10.0) and offer.bankruptcy_price == approx(99.0)
        return [Bid(liq, 99.1)]

    ex.step = 3
    ex.liquidation.run(bids)
    log = ex.events.frame()
    assert list(log.columns) == LIQUIDATION_COLUMNS
    # x is the worst (lowest equity / MM) and goes first, to the liquidator; y and z to the engine.
    assert log["account"].tolist() == [x, y, z]
    assert log["taker"].tolist() == ["liquidator", "engine", "engine"]
    assert log["entity"].tolist() == [1, 77, 3]
    assert log["kind"].tolist() == ["retail", "retail", "whale"]
    assert (log["step"] == 3).all() and (log["round"] == 1).all()
    assert (log["side"] == "long").all()
    assert ex.counters.liquidation_count == 3
    assert len(log) == len(ex.events)
    assert ex.events.since(1) == [tuple(r) for r in log.iloc[1:].itertuples(index=False)]
    # A crash: the rest go to the fund (empty, so ADL against the maker and the liquidator).
    n = len(ex.events)
    for account in (x, y):
        ex.deposit(account, 10.0)
        ex.liquidity.impact = 0.0
        move_mark(ex, 99.4)
        assert ex.submit_market_order(account, 10.0).accepted
    ex.liquidity.impact = 1e-3
    move_mark(ex, 90.0)
    ex.liquidation.run()
    new = ex.events.frame().iloc[n:]
    assert set(new["taker"]) == {"adl"}
    assert sorted(new["account"]) == sorted([x, y])
    assert (new["bad_debt"] > 0).all()
    check_books(ex)
    ex.check_invariants(after_liquidation=True)


def test_snapshot_columns_and_values():
    ex, maker = market(TIERED_3, NO_FEES)
    a = ex.open_account(owner=1, kind="whale", entity=42, deposit=6_600.0)
    assert ex.submit_market_order(a, 1_300.0).accepted
    snap = ex.snapshot()
    assert list(snap.columns) == SNAPSHOT_COLUMNS
    assert len(snap) == ex.n_accounts == 4
    assert snap["kind"].tolist() == ["insurance", "exchange", "market_maker", "whale"]
    row = snap.loc[a]
    assert (row["account"], row["owner"], row["entity"]) == (a, 1, 42)
    assert row["deposits"] == 6_600.0 and row["quote"] == approx(-123_400.0)
    assert row["position"] == approx(1_300.0) and row["notional"] == approx(130_000.0)
    assert row["equity"] == approx(6_600.0)
    assert row["initial_margin"] == approx(130_000.0 / 20)
    assert row["maintenance_margin"] == approx(0.02 * 130_000 - 1_050)
    assert row["tier"] == 3
    # -123,400 + 1,300 p = 0.02 x 1,300 p - 1,050 -> p = 122,350 / 1,274 (notional 124,858: tier 3)
    assert row["liquidation_price"] == approx(122_350.0 / 1_274.0)
    assert np.isnan(snap.loc[ex.treasury, "liquidation_price"])
    assert snap.loc[maker, "position"] == approx(-1_300.0)


# ------------------------------------------------------------------------------ properties


@st.composite
def schedule_specs(draw) -> dict:
    """A valid flat or tiered schedule: caps increasing, leverage non-increasing, maintenance rate
    non-decreasing and below 1 / leverage in every bracket."""
    if draw(st.booleans()):
        leverage = draw(st.floats(1.0, 125.0))
        spec = {"kind": "flat", "max_leverage": leverage,
                "maintenance_rate": draw(st.floats(0.05, 0.9)) / leverage}
        if draw(st.booleans()):
            spec["max_notional"] = draw(st.floats(1e4, 1e7))
        return spec
    return draw(tiered_specs())


@st.composite
def tiered_specs(draw, min_brackets: int = 1) -> dict:
    cap = draw(st.floats(1e3, 1e5))
    leverage = draw(st.floats(2.0, 125.0))
    rate = 0.0
    brackets = []
    for i in range(draw(st.integers(min_brackets, 5))):
        if i:
            cap *= draw(st.floats(1.5, 10.0))
            leverage = max(1.0, leverage * draw(st.floats(0.3, 1.0)))
        rate = max(rate, draw(st.floats(0.05, 0.9)) / leverage)
        brackets.append({"cap": cap, "max_leverage": leverage, "maintenance_rate": rate})
    if draw(st.booleans()):
        del brackets[-1]["cap"]                 # the last bracket open-ended
    return {"kind": "tiered", "mode": draw(st.sampled_from(["continuous", "whole"])),
            "brackets": brackets}


def test_schedule_strategy_yields_valid_schedules():
    @settings(max_examples=50, deadline=None)
    @given(schedule_specs())
    def check(spec):
        schedule = load_schedule(spec)              # validation would raise SpecError
        table = schedule.table()
        assert (np.diff(table["notional_cap"]) > 0).all()
        assert (np.diff(table["max_leverage"]) <= 0).all()
        assert (np.diff(table["maintenance_rate"]) >= 0).all()
        assert (table["maintenance_rate"] < table["initial_rate"]).all()
    check()


order_op = st.tuples(
    st.just("order"), st.integers(0, 7),
    st.one_of(st.floats(0.5, 1.0), st.floats(0.9, 1.3), st.floats(0.0, 0.5), st.floats(-1.3, -0.05)),
    st.sampled_from([False, False, False, True]),
    st.sampled_from(["open", "open", "open", "close"]))
move_op = st.tuples(st.just("move"), st.one_of(
    st.floats(-0.005, 0.005), st.floats(-0.02, 0.02), st.floats(-0.005, 0.005), st.floats(-0.05, 0.05),
    st.sampled_from([-0.3, 0.3, -0.1, 0.1]), st.floats(-0.3, 0.3)))
funding_op = st.tuples(st.just("funding"), st.floats(-0.003, 0.003))
liquidate_op = st.tuples(st.just("liquidate"))
# a step: traders act, perhaps funding or a liquidation phase in between, then the mark moves
step_ops = st.tuples(
    st.lists(st.one_of(order_op, order_op, order_op, funding_op, liquidate_op), min_size=1, max_size=5),
    move_op,
).map(lambda step: [*step[0], step[1]])


@st.composite
def scenarios(draw) -> dict:
    deposits = draw(st.lists(st.floats(1.0, 5.0).map(lambda e: 10.0 ** e), min_size=2, max_size=6))
    return {
        "schedule": draw(schedule_specs()),
        "price": draw(st.sampled_from([1.0, 100.0, 2_500.0, 60_000.0])),
        "deposits": deposits,
        "maker_multiple": draw(st.floats(0.2, 20.0)),
        "fund": draw(st.one_of(st.just(0.0), st.floats(1.0, 1e5))),
        "liquidator": draw(st.one_of(st.none(), st.floats(1e3, 1e6), st.floats(1e3, 1e6))),
        "discount": draw(st.floats(0.0, 0.05)),
        "greedy_bid": draw(st.booleans()),
        "impact": draw(st.one_of(st.just(0.0), st.floats(1e-4, 0.01), st.floats(1e-4, 0.01),
                                  st.floats(0.01, 0.2))),
        "rules": Rules(
            taker_fee=draw(st.sampled_from([0.0, 0.0005, 0.002])),
            maker_fee=draw(st.sampled_from([0.0, 0.0002, -0.0001])),
            mark_band=draw(st.sampled_from([0.001, 0.005, 0.05])),
            penalty_rate=draw(st.floats(0.0, 0.02)),
            partial_liquidation=draw(st.booleans()),
            partial_buffer=draw(st.floats(0.0, 0.5)),
        ),
        "ops": [op for step in draw(st.lists(step_ops, min_size=1, max_size=8)) for op in step],
    }


def _build(scn: dict):
    schedule = load_schedule(scn["schedule"])
    price = scn["price"]
    ex = Exchange(schedule, scn["rules"], index_price=price, insurance_fund=scn["fund"])
    traders = [ex.open_account(owner=i + 1, kind="whale" if d > 3e4 else "retail", deposit=d)
               for i, d in enumerate(scn["deposits"])]
    total = sum(scn["deposits"])
    maker = ex.open_account(owner=900, kind="market_maker", deposit=total * scn["maker_multiple"])
    # impact: the fraction the price would move if every trader's capacity were bought at once
    units = (total + 2 * (scn["liquidator"] or 0.0)) * float(schedule.max_leverage(0.0)) / price
    ex.liquidity = LinearImpact(maker=maker, price=price, impact=scn["impact"] / units, lot_size=LOT)
    liquidators = []
    if scn["liquidator"] is not None:
        liquidators = [ex.open_account(owner=800, kind="liquidator", deposit=scn["liquidator"]),
                       ex.open_account(owner=801, kind="liquidator", deposit=scn["liquidator"])]
    return ex, traders, maker, liquidators


def _bid_source(ex: Exchange, liquidators: list[int], discount: float, greedy: bool):
    if not liquidators:
        return None

    def bids(offer: LiquidationOffer) -> list[Bid]:
        assert offer.equity > 0 and offer.equity < offer.maintenance_margin
        side = 1 if offer.position > 0 else -1
        price = offer.mark * (1 - side * discount)
        price = max(price, offer.bankruptcy_price) if side > 0 else min(price, offer.bankruptcy_price)
        result = [Bid(liquidators[0], price)]
        if greedy:        # better for the account than the mark: must be refused, then skipped
            result.append(Bid(liquidators[1], offer.mark * (1 + side * 0.01)))
        return result

    return bids


def _check_after_liquidation(ex: Exchange, scale: float) -> None:
    check_books(ex)
    ex.check_invariants(after_liquidation=True)
    n = ex.n_accounts
    equity = ex.equity()
    mm = ex.maintenance_margin()
    for i in range(n):
        if ex.lots[i] != 0:
            assert equity[i] >= mm[i], f"account {i} below maintenance after liquidation"
        if i == ex.treasury:
            # fees only come in, unless makers are paid a rebate out of it
            assert ex.rules.maker_fee < 0 or ex.quote[i] >= 0
        elif i != ex.insurance:
            # bad debt never stays with an account: the fund or ADL took it
            assert equity[i] >= -1e-9 * scale, f"account {i} left with equity {equity[i]!r}"
            if ex.lots[i] == 0:
                assert ex.quote[i] >= -1e-9 * scale, f"flat account {i} left with cash {ex.quote[i]!r}"
    log = ex.events.frame()
    assert set(log["taker"]) <= {"liquidator", "engine", "insurance", "adl"}
    assert (log["bad_debt"] >= 0).all() and (log["penalty"] >= 0).all()
    assert (log.loc[log["taker"].isin(["liquidator", "engine"]), "bad_debt"] == 0).all()
    assert (log["penalty"] <= ex.rules.penalty_rate * log["notional"] * (1 + 1e-9) + 1e-12).all()
    assert (log.loc[log["taker"].isin(["insurance", "adl"]), "penalty"] == 0).all()
    # a liquidator never takes a position at a premium to the mark
    taken = log[log["taker"] == "liquidator"]
    sign = np.where(taken["side"] == "long", 1.0, -1.0)
    assert (sign * (taken["price"] - taken["mark_before"]) <= 1e-9 * taken["mark_before"]).all()
    c = ex.counters
    adl_debt = float(log.loc[log["taker"] == "adl", "bad_debt"].sum())
    tol = 1e-9 * scale
    assert c.bad_debt == pytest.approx(c.bad_debt_insurance + adl_debt, abs=tol)
    assert c.bad_debt_insurance >= float(log.loc[log["taker"] == "insurance", "bad_debt"].sum()) - tol
    assert c.penalties == pytest.approx(float(log["penalty"].sum()), abs=tol)
    assert c.adl_count >= (log["taker"] == "adl").sum()


def _order_size(ex: Exchange, account: int, frac: float, mode: str) -> float:
    """``frac`` of what the account's equity could carry (negative: a sell), or of its position."""
    if mode == "close":
        return -abs(frac) * ex.position(account)
    capacity = ex.schedule.max_notional(max(ex.equity(account), 0.0)) / ex.mark
    return frac * capacity


def _run_scenario(scn: dict) -> dict:
    ex, traders, maker, liquidators = _build(scn)
    senders = traders + liquidators + [maker]
    bids = _bid_source(ex, liquidators, scn["discount"], scn["greedy_bid"])
    scale = float(ex.deposits[: ex.n_accounts].sum())
    seen = {"accepted": 0, "refused": 0, "liquidations": 0}
    check_books(ex)
    for op in scn["ops"]:
        kind = op[0]
        if kind == "order":
            _, who, frac, reduce_only, mode = op
            account = senders[who % len(senders)]
            size = _order_size(ex, account, frac, mode)
            before = state(ex)
            result = ex.submit_market_order(account, size, reduce_only=reduce_only)
            if result.accepted:
                seen["accepted"] += 1
                assert result.filled != 0 and np.sign(result.filled) == np.sign(size)
                assert abs(result.filled) <= abs(size) + 1e-12 * max(abs(size), 1.0)
                # the account pays the fills and the taker fee; the treasury gets both fees
                value = result.filled * result.average_price
                tol = 1e-9 * max(abs(value), 1.0) + 1e-13 * abs(before[0].loc[account, "quote"])
                assert result.fee == pytest.approx(ex.rules.taker_fee * abs(value), abs=tol)
                assert ex.position(account) - before[0].loc[account, "position"] == approx(result.filled)
                assert ex.quote[account] - before[0].loc[account, "quote"] == pytest.approx(
                    -value - result.fee, abs=tol)
                fees = (ex.rules.taker_fee + ex.rules.maker_fee) * abs(value)
                assert ex.quote[ex.treasury] - before[0].loc[ex.treasury, "quote"] == pytest.approx(
                    fees, abs=tol)
            else:
                seen["refused"] += 1
                assert_unchanged(before, state(ex))
            check_books(ex)
        elif kind == "move":
            price = ex.index * (1 + op[1])
            move_mark(ex, price)
            check_books(ex)
            ex.liquidation.run(bids)
            _check_after_liquidation(ex, scale)
        elif kind == "funding":
            quote = ex.quote[: ex.n_accounts].copy()
            paid = ex.apply_funding(op[1])
            due = op[1] * ex.lots[: ex.n_accounts] * LOT * ex.mark
            atol = 1e-13 * float(np.abs(quote).max()) + 1e-12       # cash is kept to float precision
            np.testing.assert_allclose(quote - ex.quote[: ex.n_accounts], due, rtol=1e-12, atol=atol)
            assert paid == pytest.approx(float(due[due > 0].sum() if op[1] >= 0 else due[due < 0].sum()))
            check_books(ex)
        else:
            ex.liquidation.run(bids)
            _check_after_liquidation(ex, scale)
    ex.liquidation.run(bids)
    _check_after_liquidation(ex, scale)
    seen["liquidations"] = len(ex.events)
    return seen


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_markets_keep_the_books_balanced(scn):
    _run_scenario(scn)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=tiered_specs(min_brackets=2), frac=st.floats(0.3, 1.0), side=st.sampled_from([1, -1]),
       impact=st.just(0.0) | st.floats(1e-6, 0.01), buffer=st.floats(0.0, 0.5), penalty=st.floats(0.0, 0.01),
       fund=st.sampled_from([0.0, 1e9]))
def test_engine_liquidation_steps_down_tiers_on_a_slow_slide(spec, frac, side, impact, buffer, penalty,
                                                             fund):
    """A large position on a slow adverse slide: each engine partial close leaves the account in a
    lower tier than before the round and above maintenance; a whole close leaves it flat."""
    rules = Rules(partial_buffer=buffer, penalty_rate=penalty)
    ex = Exchange(load_schedule(spec), rules, index_price=100.0, insurance_fund=fund)
    maker = ex.open_account(owner=900, kind="market_maker", deposit=1e12)
    table = ex.schedule.table()
    floor, cap = table["notional_floor"].iloc[-1], table["notional_cap"].iloc[-1]
    aim = 2 * floor if np.isinf(cap) else (floor + cap) / 2           # inside the last tier
    deposit = aim / float(ex.schedule.max_leverage(aim)) * 1.01
    whale = ex.open_account(owner=1, kind="whale", deposit=deposit)
    ex.liquidity = LinearImpact(maker=maker, price=100.0, impact=0.0, lot_size=LOT)
    size = frac * float(ex.schedule.max_notional(deposit * (1 - 0.001 * 125))) / 100.0
    assert ex.submit_market_order(whale, side * size).accepted
    liq = ex.snapshot().loc[whale, "liquidation_price"]
    if np.isnan(liq):                     # a fully collateralised long is never liquidated
        assert side > 0
        return
    ex.liquidity.impact = impact / max(size, 1e-9)                # the whole position moves it `impact`
    end = liq * (0.9 if side > 0 else 1.1)
    partials = 0
    for price in np.geomspace(100.0, end, 30):
        move_mark(ex, float(price))
        tier_before = ex.snapshot().loc[whale, "tier"]                # where the slide put it
        lots_before = int(ex.lots[whale])
        events = len(ex.events)
        ex.liquidation.run()
        check_books(ex)
        ex.check_invariants(after_liquidation=True)
        assert ex.quote[whale] >= -1e-9 * deposit or ex.lots[whale] != 0
        if len(ex.events) == events or ex.lots[whale] == 0:
            continue
        assert abs(int(ex.lots[whale])) < abs(lots_before)
        assert np.sign(ex.lots[whale]) == side
        new = ex.events.frame().iloc[events:]
        assert set(new["taker"]) == {"engine"}
        assert new["tier"].iloc[0] == tier_before
        # what is kept sits in a lower tier at the mark the engine decided on (the close's own
        # impact may then push a short's notional back over the cap) and above maintenance now
        kept = abs(int(ex.lots[whale])) * LOT * new["mark_before"].iloc[0]
        assert ex.schedule.tier(kept) < tier_before
        assert ex.equity(whale) >= ex.maintenance_margin(whale)
        partials += 1
    # the slide ends 10 % past the position's liquidation price: it cannot have escaped
    log = ex.events.frame()
    assert (log["account"] == whale).any()
    assert log["account"].isin([whale, ex.insurance]).all()   # the fund may take it over, and lose
    assert ex.lots[whale] == 0 or partials > 0


@settings(max_examples=300, deadline=None)
@given(spec=schedule_specs(), deposit=st.floats(1.0, 5.0).map(lambda e: 10.0 ** e),
       price=st.sampled_from([1.0, 100.0, 60_000.0]), before=st.floats(-1.0, 1.0),
       side=st.sampled_from([1, -1]), fee=st.sampled_from([0.0, 0.0005, 0.002]))
def test_max_order_size_passes_the_margin_check(spec, deposit, price, before, side, fee):
    """The largest order the exchange advertises is accepted, also when it reverses a position."""
    ex = Exchange(load_schedule(spec), Rules(taker_fee=fee), index_price=price)
    maker = ex.open_account(owner=900, kind="market_maker", deposit=1e12)
    ex.liquidity = LinearImpact(maker=maker, price=price, impact=0.0, lot_size=LOT)
    a = ex.open_account(owner=1, kind="retail", deposit=deposit)
    ex.submit_market_order(a, before * ex.max_order_size(a, 1 if before > 0 else -1))
    size = ex.max_order_size(a, side)
    assert size >= 0
    if ex.to_lots(size) == 0:
        return
    result = ex.submit_market_order(a, side * size)
    assert result.accepted, result.reason
    assert ex.equity(a) >= ex.initial_margin(a) * (1 - 1e-12)      # no impact: exactly as checked
