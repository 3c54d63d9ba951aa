"""Price formation: the mark by the exchange's rule, spot impact, arbitrageurs, and the index as the
fundamental moved by their flow. Worked examples are computed by hand in each test."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.market_maker import refresh_makers
from sim.config import SpotConfig, load_config
from sim.exchange import Exchange, LinearImpact, Rules
from sim.exchange.funding import Funding
from sim.exchange.mark import MarkPrice
from sim.market import MarketModel
from sim.market.spot import SpotMarket
from sim.schedules import load_schedule

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
SCENARIOS = sorted((ROOT / "configs" / "scenarios").glob("*.yaml"))
SMALL = ["retail.count=300", "steps=300", "fundamental.shocks=[{step: 150, size: -0.08, duration: 10}]"]


# -------------------------------------------------------------------------------------- the mark
def test_book_mid_rule_is_the_mid_held_in_the_band():
    mark = MarkPrice("book_mid", band=0.02)
    assert mark.price(index=100.0, mid=101.0, last=90.0) == 101.0
    assert mark.price(index=100.0, mid=97.0, last=100.0) == pytest.approx(98.0)   # 100 x (1 - 2 %)


def test_exchange_rule_is_the_median_of_three_prices():
    mark = MarkPrice("exchange", band=0.05, window=3)
    mark.sample(index=100.0, mid=100.2)   # basis +0.2
    mark.sample(index=100.0, mid=100.4)   # basis +0.4
    # funded index: 100 x (1 + 0.0006 x 4/8) = 100.03
    # index + moving basis: 100 + (0.2 + 0.4 + (101 - 100)) / 3 = 100.5333...
    # last: 99.0; the median is the funded index
    assert mark.price(index=100.0, mid=101.0, last=99.0, funding_premium=0.0006 * 4 / 8) == pytest.approx(100.03)
    # last 100.3 lies between the other two: it is the mark
    assert mark.price(index=100.0, mid=101.0, last=100.3, funding_premium=0.0003) == pytest.approx(100.3)
    # all three above 100.2: the band (0.2 %) caps it
    capped = MarkPrice("exchange", band=0.002, window=1)
    assert capped.price(index=100.0, mid=101.0, last=101.0, funding_premium=0.01) == pytest.approx(100.2)


def test_a_thin_book_alone_cannot_drag_the_exchange_mark():
    """A sale that empties the bids moves the last price and the mid 10 % down; the mark moves by a
    fifth of the basis (window of five, four quiet samples) and no further."""
    mark = MarkPrice("exchange", band=0.1, window=5)
    for _ in range(4):
        mark.sample(index=100.0, mid=100.0)
    # funded index 100; index + (0 + 0 + 0 + 0 - 10) / 5 = 98; last 90 -> median 98
    assert mark.price(index=100.0, mid=90.0, last=90.0) == pytest.approx(98.0)
    book_mid = MarkPrice("book_mid", band=0.1)
    assert book_mid.price(index=100.0, mid=90.0, last=90.0) == pytest.approx(90.0)


def test_the_moving_average_keeps_only_its_window():
    mark = MarkPrice("exchange", band=1.0, window=2)
    for basis in (5.0, 1.0):
        mark.sample(index=100.0, mid=100.0 + basis)
    # only the last sample (1.0) and the current basis (3.0) count: 100 + 2 = 102
    assert mark.price(index=100.0, mid=103.0, last=102.0) == pytest.approx(102.0)


def test_the_exchange_reads_the_funding_premium_still_to_come():
    funding = Funding(interval_steps=8, cap=0.01, interest_rate=0.0)
    funding.rate = 0.001
    book = LinearImpact(maker=0, price=100.0, impact=0.0, lot_size=0.001)
    rules = Rules(lot_size=0.001, mark_rule="exchange", mark_band=0.05, basis_window=1)
    exchange = Exchange(load_schedule(ROOT / "configs" / "schedules" / "flat_100x.yaml"), rules,
                        index_price=100.0, liquidity=book, funding=funding)
    exchange.step = 2
    book.last_price = 99.0
    book.price = 100.5
    exchange.update_mark()
    # funded: 100 x (1 + 0.001 x 6/8) = 100.075; moving basis: 100.5; last 99 -> 100.075
    assert exchange.mark == pytest.approx(100.075)


def test_an_unknown_mark_rule_is_refused():
    with pytest.raises(ValueError, match="unknown mark rule"):
        MarkPrice("last")


# -------------------------------------------------------------------------------------- spot
def spot(**settings) -> SpotMarket:
    return SpotMarket(np.full(10, 100_000.0), SpotConfig(**settings), annual_volatility=0.6)


def test_square_root_impact_by_hand():
    market = spot(impact=1.0, impact_exponent=0.5, daily_volume=400e6, resilience=0.05)
    sigma_day = 0.6 / math.sqrt(365)
    average = market.trade(100.0)                 # 10 M USD bought
    moved = sigma_day * math.sqrt(10e6 / 400e6)   # 0.031405 x 0.158114 = 0.0049656
    assert market.impact() == pytest.approx(moved)
    assert market.price == pytest.approx(100_000.0 * math.exp(moved))
    assert average == pytest.approx(100_000.0 * (1 + math.exp(moved)) / 2)
    market.advance(1)                             # a twentieth of the flow decays
    assert market.impact() == pytest.approx(sigma_day * math.sqrt(9.5e6 / 400e6))


def test_a_metaorder_split_over_steps_moves_spot_as_one_order_of_its_size():
    whole = spot(resilience=1e-12)
    whole.trade(100.0)
    split = spot(resilience=1e-12)
    for _ in range(4):
        split.trade(25.0 * split.fundamental[0] / split.price)   # a quarter of the USD flow each time
    assert split.impact() == pytest.approx(whole.impact(), rel=1e-6)


def test_linear_impact_and_no_impact():
    linear = spot(impact_exponent=1.0)
    linear.trade(-100.0)
    assert linear.impact() == pytest.approx(-0.6 / math.sqrt(365) * 10e6 / 400e6)
    none = spot(impact=0.0)
    none.trade(1e6)
    assert none.price == 100_000.0 and none.impact() == 0.0


def test_a_quote_changes_nothing_and_equals_the_trade():
    market = spot()
    quoted = market.quote(-50.0)
    assert market.price == 100_000.0
    assert market.trade(-50.0) == quoted


# -------------------------------------------------------------------------------------- the model
@pytest.mark.parametrize("switch_off", [["arbitrageurs.count=0"], ["spot.impact=0"]])
def test_without_arbitrage_or_impact_the_index_is_the_fundamental_bit_for_bit(switch_off):
    model = MarketModel(load_config(BASELINE, [*SMALL, *switch_off]), seed=4)
    model.run()
    series = model.timeseries()
    assert series["index"].to_numpy().tobytes() == series["fundamental"].to_numpy().tobytes()
    np.testing.assert_array_equal(series["fundamental"], model.spot.fundamental)


def test_with_arbitrage_the_index_leaves_the_fundamental():
    model = MarketModel(load_config(BASELINE, [*SMALL, "market_makers.depth=10"]), seed=4)
    model.run()
    series = model.timeseries()
    assert (series["index"] != series["fundamental"]).any()
    assert series["spot_impact"].abs().max() > 1e-4
    assert any(arb.wallet.ledger for arb in model.arbitrageurs)


def test_arbitrageurs_buy_the_cheap_perpetual_and_sell_spot():
    model = MarketModel(load_config(BASELINE, [*SMALL, "arbitrageurs.count=1", "whales.count=0",
                                               "retail.activity=0"]), seed=1)
    ex = model.exchange
    seller = ex.open_account(owner=99_999, kind="retail", deposit=5e7)
    ex.submit_market_order(seller, -140.0)          # about 14 M USD sold into the perpetual's bids
    mid = model.book.mid()
    refresh_makers(model.makers, mid)               # makers quote again around the lower mid
    arb = model.arbitrageurs[0]
    assert model.book.best_ask() < model.spot.price * (1 - arb.config.entry_basis)
    coins, index = arb.wallet.coins, ex.index
    arb.step()
    assert ex.position(arb.account) > 0
    assert arb.wallet.coins == pytest.approx(coins - ex.position(arb.account))
    assert ex.index < index                          # its spot sale moved the index down


def test_arbitrageur_wealth_changes_only_by_trading_profit_and_fees():
    """Spot cash and coins change only through the ledger's trades; the perpetual account is the
    exchange's, audited every step (debug). So wealth = deposits + perp profit + spot profit - fees."""
    config = load_config(ROOT / "configs" / "scenarios" / "flash_crash.yaml",
                         ["retail.count=400", "steps=1000", "debug=true"])
    model = MarketModel(config, seed=3)
    start = [(arb.wallet.cash, arb.wallet.coins) for arb in model.arbitrageurs]
    model.run()
    price = model.spot.price
    traded = 0
    for arb, (cash0, coins0) in zip(model.arbitrageurs, start):
        ledger = np.array(arb.wallet.ledger).reshape(-1, 3)
        units, prices, fees = ledger.T
        traded += len(ledger)
        assert arb.wallet.coins == pytest.approx(coins0 + units.sum(), abs=1e-9)
        assert arb.wallet.cash == pytest.approx(cash0 - (units * prices).sum() - fees.sum(), rel=1e-12)
        assert arb.wallet.fees == pytest.approx(fees.sum())
        assert arb.wallet.cash >= -1e-6 and arb.wallet.coins >= -1e-12   # no borrowing on spot
        spot_profit = (units * (price - prices)).sum() - fees.sum()
        perp = model.exchange.equity(arb.account) - model.exchange.deposits[arb.account]
        assert arb.wealth() == pytest.approx(config.arbitrageurs.capital + perp + spot_profit
                                             + coins0 * (price - model.spot.fundamental[0]), rel=1e-9)
    assert traded > 0


@pytest.mark.slow
@pytest.mark.parametrize("path", [BASELINE, *SCENARIOS], ids=lambda p: p.stem)
def test_invariants_hold_every_step_in_every_scenario(path):
    """debug: true asserts after every step that positions sum to zero, equity sums to deposits and no
    account is left below maintenance; a run that breaks one raises."""
    config = load_config(path, ["debug=true", "retail.count=300"])
    model = MarketModel(config, seed=11)
    model.run()
    assert model.steps == config.steps
    model.exchange.check_invariants(after_liquidation=True)


@pytest.mark.parametrize(("setting", "field"), [
    ("arbitrageurs.capital=-1", "arbitrageurs.capital"),
    ("spot.impact_exponent=1.5", "spot.impact_exponent"),
    ("spot.impact_exponent=0", "spot.impact_exponent"),
    ("spot.resilience=0", "spot.resilience"),
    ("spot.resilience=1.2", "spot.resilience"),
    ("market.mark=last", "market.mark"),
    ("arbitrageurs.entry_basis=0.02", "arbitrageurs.entry_basis"),
])
def test_bad_price_formation_settings_are_one_line_naming_the_field(setting, field, tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(BASELINE), "--set", setting,
                           "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in done.stderr, done.stderr
