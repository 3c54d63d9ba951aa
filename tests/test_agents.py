"""The agents in small hand-built situations.

Each test builds a model with tiny populations, then sets the state it needs by hand through the
exchange's public calls (deposits, market orders, the index) and watches one agent decide: the
whale's sizing against the schedule, the liquidator's bids, a retail trader's stops and herding,
a market maker's quotes.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.market_maker import refresh_makers, standings
from agents.retail import DERISK, NO_EXIT, STOP_LOSS, TAKE_PROFIT, signals
from sim.config import load_config
from sim.exchange import LiquidationOffer
from sim.market import MarketModel

BASELINE = "configs/baseline.yaml"
QUIET = [  # nobody acts unless the test makes them: no retail, whales, arrivals, shocks or jumps
    "retail.count=0", "retail.arrival_per_day=0", "whales.count=0",
    "fundamental.shocks=[]", "fundamental.jumps.intensity_per_day=0", "steps=50",
]


def build(*overrides: str, seed: int = 3) -> MarketModel:
    return MarketModel.from_config(load_config(BASELINE, [*QUIET, *overrides]), seed=seed)


def trader_account(model: MarketModel, deposit: float) -> int:
    """An outside account (not an agent's) to trade against the makers by hand."""
    return model.exchange.open_account(owner=10_000 + model.exchange.n_accounts, kind="retail", deposit=deposit)


def hold_index(model: MarketModel, price: float) -> None:
    """The index goes to ``price`` now and stays there for the rest of the run."""
    model.spot.fundamental[model.steps:] = price
    model.exchange.set_index(price)


# -------------------------------------------------------------------------------------- whales
WHALE = ["whales.count=1", "whales.capital=10000000", "whales.capital_max=10000000", "whales.reserve_share=0",
         "whales.leverage_min=1000", "whales.leverage_max=1000", "fees.taker=0", "fees.maker=0"]


def whale_targets(*overrides: str) -> tuple[list[float], list[float], MarketModel]:
    """Each account's target notional and equity for one whale built with ``overrides``."""
    model = build(*WHALE, *overrides)
    whale = model.whales[0]
    targets = [whale.target_notional(a) for a in whale.accounts]
    equities = [model.exchange.equity(a) for a in whale.accounts]
    return targets, equities, model


def test_whale_target_meets_the_schedules_limit_for_its_equity():
    (target,), (equity,), model = whale_targets()
    schedule = model.exchange.schedule
    assert equity == pytest.approx(10_000_000.0)
    assert target == pytest.approx(schedule.max_notional(equity), rel=1e-9)
    # Binance BTCUSDT: 10 M at 20x reaches the 100 M cap of that bracket; 10x covers only 100 M
    assert target == pytest.approx(100_000_000.0, rel=1e-9)
    # what the target leaves is exactly what the schedule allows: one more dollar needs more margin
    assert schedule.initial_margin(target) <= equity * (1 + 1e-12)
    assert schedule.initial_margin(target * 1.001) > equity


def test_whale_aims_for_its_own_leverage_where_the_schedule_allows_it():
    (target,), (equity,), _ = whale_targets("whales.leverage_min=3", "whales.leverage_max=3")
    assert target == pytest.approx(3 * equity, rel=1e-12)


@pytest.mark.parametrize("steeper", [["steepness=3"], ["schedule=schedules/steep.yaml"]])
def test_whale_target_is_smaller_under_a_steeper_schedule(steeper):
    (base,), _, _ = whale_targets()
    (steep,), (equity,), model = whale_targets(*steeper)
    assert steep == pytest.approx(model.exchange.schedule.max_notional(equity), rel=1e-9)
    assert steep < base


def test_split_whale_sizes_each_account_on_its_share_and_carries_more_in_all():
    (single,), _, _ = whale_targets()
    targets, equities, model = whale_targets("whales.split_accounts=4")
    schedule = model.exchange.schedule
    assert len(targets) == 4
    for target, equity in zip(targets, equities):
        assert equity == pytest.approx(2_500_000.0)
        assert target == pytest.approx(schedule.max_notional(equity), rel=1e-9)
    # 2.5 M each at 25x (bracket up to 70 M): 62.5 M each, 250 M in all, against 100 M unsplit
    assert sum(targets) == pytest.approx(250_000_000.0, rel=1e-9)
    assert sum(targets) > single
    # the accounts are one entity for the study, separate accounts for the exchange
    snap = model.exchange.snapshot()
    whale_rows = snap[snap["kind"] == "whale"]
    assert len(whale_rows) == 4 and whale_rows["entity"].nunique() == 1


def test_splitting_gains_nothing_under_a_flat_schedule():
    (single,), _, _ = whale_targets("schedule=schedules/flat_20x.yaml")
    targets, _, _ = whale_targets("schedule=schedules/flat_20x.yaml", "whales.split_accounts=4")
    assert single == pytest.approx(200_000_000.0, rel=1e-9)
    assert sum(targets) == pytest.approx(single, rel=1e-9)


# -------------------------------------------------------------------------------------- liquidators
def offer_for(model: MarketModel, position: float, bankruptcy: float) -> LiquidationOffer:
    mark = model.exchange.mark
    return LiquidationOffer(account=1, position=position, mark=mark, bankruptcy_price=bankruptcy,
                            equity=1.0, maintenance_margin=2.0)


def test_liquidator_bids_the_discount_through_the_mark():
    model = build("liquidators.count=1", "liquidators.discount=0.01")
    liquidator = model.liquidators[0]
    mark = model.exchange.mark
    long_bid = liquidator.bid(offer_for(model, 0.5, bankruptcy=0.95 * mark))
    assert long_bid is not None and long_bid.account == liquidator.account
    assert long_bid.price == pytest.approx(0.99 * mark, rel=1e-12)
    short_bid = liquidator.bid(offer_for(model, -0.5, bankruptcy=1.05 * mark))
    assert short_bid.price == pytest.approx(1.01 * mark, rel=1e-12)


def test_liquidator_bid_is_clamped_at_the_bankruptcy_price():
    model = build("liquidators.count=1", "liquidators.discount=0.01")
    liquidator = model.liquidators[0]
    mark = model.exchange.mark
    assert liquidator.bid(offer_for(model, 0.5, bankruptcy=0.996 * mark)).price == pytest.approx(0.996 * mark)
    assert liquidator.bid(offer_for(model, -0.5, bankruptcy=1.003 * mark)).price == pytest.approx(1.003 * mark)
    # bankrupt beyond the mark already: no discount is left to bid
    assert liquidator.bid(offer_for(model, 0.5, bankruptcy=1.001 * mark)) is None
    assert liquidator.bid(offer_for(model, -0.5, bankruptcy=0.999 * mark)) is None


def test_liquidator_does_not_bid_when_the_exchange_says_its_margin_cannot_carry(monkeypatch):
    model = build("liquidators.count=1")
    liquidator = model.liquidators[0]
    asked = []

    def cannot(account, position, price):
        asked.append((account, position, price))
        return False

    monkeypatch.setattr(model.exchange.liquidation, "can_take_over", cannot)
    offer = offer_for(model, 0.5, bankruptcy=0.9 * model.exchange.mark)
    assert liquidator.bid(offer) is None
    assert asked == [(liquidator.account, 0.5, pytest.approx(0.99 * model.exchange.mark))]


def test_small_liquidator_refuses_a_huge_position_that_a_large_one_takes():
    small = build("liquidators.count=1", "liquidators.capital=1000")
    huge = offer_for(small, 1_000.0, bankruptcy=0.9 * small.exchange.mark)   # 100 M notional
    assert not small.exchange.liquidation.can_take_over(small.liquidators[0].account, huge.position, 0.99 * huge.mark)
    assert small.liquidators[0].bid(huge) is None
    assert small.liquidators[0].bid(offer_for(small, -1_000.0, bankruptcy=1.1 * small.exchange.mark)) is None
    # the same small liquidator can carry a small position ...
    assert small.liquidators[0].bid(offer_for(small, 0.01, bankruptcy=0.9 * small.exchange.mark)) is not None
    # ... and one with ample capital takes the huge one
    large = build("liquidators.count=1", "liquidators.capital=50000000")
    bid = large.liquidators[0].bid(offer_for(large, 1_000.0, bankruptcy=0.9 * large.exchange.mark))
    assert bid is not None and bid.price == pytest.approx(0.99 * large.exchange.mark)


def test_liquidator_takes_over_a_real_liquidation_within_its_margin():
    model = build("liquidators.count=1", "liquidators.discount=0.002", "market.mark_band=0")
    ex = model.exchange
    liquidator = model.liquidators[0]
    account = trader_account(model, deposit=5_000.0)
    assert ex.submit_market_order(account, 1.0).accepted                 # 1 BTC long at ~20x
    entry = ex.mark
    # fall until equity is just below maintenance, with the bankruptcy price still below the bid
    price = entry
    while not ex.is_liquidatable(account):
        price *= 0.999
        ex.set_index(price)
    assert ex.bankruptcy_price(account) < 0.998 * ex.mark
    mark = ex.mark
    ex.liquidation.run(lambda offer: [b for b in (liq.bid(offer) for liq in model.liquidators) if b])
    log = ex.events.frame()
    assert list(log["taker"]) == ["liquidator"]
    assert log["price"].iloc[0] == pytest.approx(0.998 * mark)
    assert ex.position(account) == 0
    assert ex.position(liquidator.account) == pytest.approx(1.0)
    assert ex.equity(liquidator.account) >= ex.initial_margin(liquidator.account)
    ex.check_invariants(after_liquidation=True)


# -------------------------------------------------------------------------------------- retail
RETAIL = [
    "retail.count=3", "retail.activity=0", "retail.herding=0", "retail.stop_loss_share=1",
    "retail.leverage_min=5", "retail.leverage_max=5", "retail.stop_loss=0.5", "retail.take_profit=1.0",
    "market.mark_band=0", "liquidators.count=0",
]


def open_by_hand(model: MarketModel, slot: int, side: int) -> float:
    """Open the trader's position at its preferred leverage and record its entry, as the trader does."""
    ex = model.exchange
    pop = model.retail
    account = int(pop.account[slot])
    equity = ex.equity(account)
    leverage = float(pop.leverage[slot])
    result = ex.submit_market_order(account, side * equity * leverage / ex.mark)
    assert result.accepted
    pop.entry_equity[slot] = ex.equity(account)
    pop.entry_margin[slot] = abs(result.filled) * result.average_price / leverage
    return ex.mark


def scan(model: MarketModel) -> np.ndarray:
    """The flagging scan over every retail trader at the current mark."""
    ex = model.exchange
    pop = model.retail
    return pop.flag_exits(ex.lots[pop.account], ex.quote[pop.account], ex.lot_size * ex.mark, model.config.retail)


@pytest.mark.parametrize(
    "side, move, flag",
    [(1, -0.12, STOP_LOSS), (-1, 0.12, STOP_LOSS), (1, 0.25, TAKE_PROFIT), (-1, -0.22, TAKE_PROFIT)],
)
def test_retail_exit_fires_and_the_trader_closes(side, move, flag):
    model = build(*RETAIL)
    ex = model.exchange
    pop = model.retail
    entry = open_by_hand(model, 0, side)
    account = int(pop.account[0])
    assert pop.leverage[0] == pytest.approx(5.0)
    # 5x: a 12 % adverse move loses 60 % of the margin (stop at 50 %); 25 % / 22 % favourable
    # moves gain 125 % / 110 % (target at 100 %); none comes near maintenance
    hold_index(model, entry * (1 + move))
    assert not ex.is_liquidatable(account)
    assert scan(model).tolist() == [0]
    assert pop.exit_flag[0] == flag
    model.step()
    assert ex.position(account) == 0
    assert pop.exit_flag[0] == NO_EXIT
    assert len(ex.events.frame()) == 0                  # closed by its own order, not liquidated


def test_retail_exit_does_not_fire_inside_the_thresholds_or_without_stops():
    model = build(*RETAIL)
    ex = model.exchange
    pop = model.retail
    entry = open_by_hand(model, 0, 1)
    open_by_hand(model, 1, 1)
    pop.uses_stops[1] = False
    hold_index(model, entry * 0.95)                     # -25 % of margin: inside the stop
    assert scan(model).tolist() == []
    hold_index(model, entry * 1.15)                     # +75 % of margin: short of the target
    assert scan(model).tolist() == []
    hold_index(model, entry * 0.88)                     # past the stop: only the trader using stops
    assert scan(model).tolist() == [0]
    model.step()
    assert ex.position(int(pop.account[0])) == 0
    assert ex.position(int(pop.account[1])) > 0         # no stop: still holding (inactive this step)


def herding_model(herding: float) -> MarketModel:
    model = build("retail.count=7", "retail.activity=0", f"retail.herding={herding}", "network.degree=6",
                  "market.mark_band=0")
    model.retail.strategy[0] = 0                        # momentum ...
    model.momentum_signal = -1                          # ... whose own view is to sell
    return model


@pytest.mark.parametrize("crowd", [1, -1])
def test_herding_trader_copies_its_neighbours(crowd):
    model = herding_model(1.0)
    friends = model.network.neighbours(0)
    assert len(friends) > 0
    for friend in friends.tolist():
        assert model.exchange.submit_market_order(int(model.retail.account[friend]), crowd * 0.01).accepted
    draws = [int(signals(model, np.array([0]))[0]) for _ in range(20)]
    assert draws == [crowd] * 20


def test_without_herding_the_trader_follows_its_own_view():
    model = herding_model(0.0)
    for friend in model.network.neighbours(0).tolist():
        model.exchange.submit_market_order(int(model.retail.account[friend]), 0.01)
    assert [int(signals(model, np.array([0]))[0]) for _ in range(20)] == [-1] * 20


def test_neighbour_liquidation_makes_friends_derisk():
    model = build("retail.count=7", "retail.activity=0", "retail.derisk_on_neighbour_liquidation=1",
                  "retail.stop_loss_share=0", "market.mark_band=0", "liquidators.count=0")
    ex = model.exchange
    pop = model.retail
    friends = model.network.neighbours(0).tolist()
    # trader 0 at 100x, the friends at 2x: a 1.5 % fall liquidates 0 and no one else
    for slot in range(7):
        pop.leverage[slot] = 100.0 if slot == 0 else 2.0
        open_by_hand(model, slot, 1)
    hold_index(model, ex.mark * 0.985)
    model.step()
    log = ex.events.frame()
    assert set(log["account"]) == {int(pop.account[0])}
    for friend in friends:
        assert pop.exit_flag[friend] == DERISK
    before = {f: ex.position(int(pop.account[f])) for f in friends}
    model.step()
    for friend in friends:
        assert ex.position(int(pop.account[friend])) == pytest.approx(before[friend] / 2, abs=0.0011)


# -------------------------------------------------------------------------------------- market makers
MAKER = ["market_makers.count=1", "liquidators.count=0", "market.mark_band=0"]


def test_maker_quotes_both_sides_around_its_reference():
    model = build(*MAKER)
    cfg = model.config.market_makers
    start = model.exchange.index
    book = model.book
    # flat, calm, at the index: the reference is the index; levels from the half-spread out
    assert book.best_bid() == pytest.approx(start * (1 - cfg.spread))
    assert book.best_ask() == pytest.approx(start * (1 + cfg.spread))
    # level k (from 1) holds depth x k^-profile / sum_j j^-profile, in whole lots
    weights = [k ** -cfg.depth_profile for k in range(1, cfg.levels + 1)]
    lots = [int(cfg.depth * w / sum(weights) / model.exchange.rules.lot_size) for w in weights]
    assert book.depth(1.0) == (sum(lots), sum(lots))
    assert model.makers[0].depth_factor == pytest.approx(1.0)


def test_the_depth_profile_puts_a_fifth_of_the_book_within_ten_basis_points():
    """The baseline's book: 1 bp half-spread, levels 5 bp apart, profile 0.45: the first two levels (1 and
    6 bp) hold (1 + 2^-0.45) / sum_k k^-0.45 = 1.732 / 8.292 = 20.9 % of a side, as 3.5 M of 16.5 M USD
    within 10 bp on Binance BTC spot."""
    model = build(*MAKER)
    cfg = model.config.market_makers
    assert (cfg.spread, cfg.level_spacing, cfg.depth_profile, cfg.levels) == (0.0001, 0.0005, 0.45, 20)
    bids, _ = model.book.depth(0.0010)
    everything, _ = model.book.depth(1.0)
    assert bids / everything == pytest.approx(0.209, abs=0.002)


def test_an_even_profile_spreads_the_depth_evenly():
    model = build(*MAKER, "market_makers.depth_profile=0")
    cfg = model.config.market_makers
    per_level = int(cfg.depth / cfg.levels / model.exchange.rules.lot_size)
    assert model.book.depth(1.0) == (cfg.levels * per_level, cfg.levels * per_level)


def test_maker_recentres_towards_the_index():
    model = build(*MAKER)
    maker = model.makers[0]
    ex = model.exchange
    before = model.book.mid()
    hold_index(model, before * 1.01)
    refresh_makers([maker], model.book.mid())
    after = model.book.mid()
    assert before < after <= ex.index * (1 + 1e-12)


def test_maker_carries_index_moves_and_lets_its_own_impact_decay():
    """Resilience: the book's displacement from the index shrinks by ``resilience`` a refresh;
    a move of the index itself is quoted at once (the maker hedges on the index)."""
    model = build(*MAKER, "market_makers.inventory_lean=0", "market_makers.spread=0.0002", "market_makers.depth=20",
                  "market_makers.depth_profile=0")       # one unit on each of 20 levels, 2 bp then 5 bp apart
    maker = model.makers[0]
    ex = model.exchange
    r = model.config.market_makers.resilience
    start = ex.index
    other = trader_account(model, deposit=1_000_000.0)
    assert ex.submit_market_order(other, -12.0).accepted        # sells through 12 of 20 bid levels
    displaced = model.book.mid()
    # best bid now the 13th level, 1 - 0.0002 - 12 x 0.0005 = 0.9938; best ask 1.0002: mid 0.997
    assert displaced == pytest.approx(start * (0.9938 + 1.0002) / 2, rel=1e-12)
    refresh_makers([maker], displaced)                          # index unchanged
    assert model.book.mid() == pytest.approx(start * (1 + (1 - r) * (displaced / start - 1)), rel=1e-12)
    # now the index rises 1 %: the quotes follow it whole, keeping what is left of the displacement
    left = model.book.mid() / start - 1
    hold_index(model, start * 1.01)
    refresh_makers([maker], model.book.mid())
    assert model.book.mid() == pytest.approx(start * 1.01 * (1 + (1 - r) * left), rel=1e-12)


def test_maker_pulls_depth_when_recent_volatility_is_high(monkeypatch):
    model = build(*MAKER)
    maker = model.makers[0]
    normal = maker.normal_volatility
    mid = model.book.mid()
    monkeypatch.setattr(model, "recent_volatility", lambda: normal)
    refresh_makers([maker], mid)
    calm_factor, calm_depth = maker.depth_factor, model.book.depth(1.0)
    monkeypatch.setattr(model, "recent_volatility", lambda: 5 * normal)
    refresh_makers([maker], mid)
    pull = model.config.market_makers.volatility_pull
    assert calm_factor == pytest.approx(1.0)
    assert maker.depth_factor == pytest.approx(1.0 / (1.0 + pull * 4.0))
    storm_depth = model.book.depth(1.0)
    assert storm_depth[0] < calm_depth[0] and storm_depth[1] < calm_depth[1]


def test_maker_leans_against_its_inventory():
    def quotes_with(inventory_side: int) -> tuple[float, float]:
        model = build(*MAKER)
        maker = model.makers[0]
        if inventory_side:
            other = trader_account(model, deposit=1_000_000.0)
            # the outside trader sells to (or buys from) the maker: the maker holds inventory_side x 10 BTC
            assert model.exchange.submit_market_order(other, -inventory_side * 10.0).accepted
            assert np.sign(model.exchange.position(maker.account)) == inventory_side
        refresh_makers([maker], model.exchange.index)
        return model.book.best_bid(), model.book.best_ask()

    flat_bid, flat_ask = quotes_with(0)
    long_bid, long_ask = quotes_with(1)
    short_bid, short_ask = quotes_with(-1)
    assert long_bid < flat_bid and long_ask < flat_ask          # long: keen to sell, slow to buy
    assert short_bid > flat_bid and short_ask > flat_ask        # short: the other way


def test_makers_standings_computed_together_match_each_accounts_own_figures():
    """The model reads all makers' equity, liquidatability and inventory room in one pass; each
    figure must be the exchange's own for that account (all makers long, one well funded)."""
    model = build("market_makers.count=3", "liquidators.count=0", "market_makers.capital=1000")
    ex = model.exchange
    accounts = np.array([maker.account for maker in model.makers])
    other = trader_account(model, deposit=100_000.0)
    assert ex.submit_market_order(other, -0.6).accepted
    assert all(ex.position(int(a)) > 0 for a in accounts)
    ex.transfer(other, int(accounts[0]), 50_000.0)
    price = ex.mark
    while not any(ex.is_liquidatable(int(a)) for a in accounts):
        price *= 0.999
        ex.set_index(price)
    equity, liquidatable, capacity = standings(ex, accounts)
    assert liquidatable == [ex.is_liquidatable(int(a)) for a in accounts]
    assert any(liquidatable) and not all(liquidatable)
    assert equity == [ex.equity(int(a)) for a in accounts]
    oi = ex.open_interest_notional()
    assert capacity == [0.5 * ex.schedule.max_notional(max(e, 0.0), oi) / ex.mark for e in equity]


def test_maker_cancels_its_quotes_when_its_account_is_liquidatable():
    model = build(*MAKER, "market_makers.capital=1000")
    ex = model.exchange
    maker = model.makers[0]
    assert model.book.best_bid() is not None and model.book.best_ask() is not None
    other = trader_account(model, deposit=100_000.0)
    assert ex.submit_market_order(other, -0.5).accepted         # maker long 0.5 BTC on 1,000 USD
    assert ex.position(maker.account) == pytest.approx(0.5)
    price = ex.mark
    while not ex.is_liquidatable(maker.account):
        price *= 0.999
        ex.set_index(price)
    refresh_makers([maker], model.book.mid())
    assert model.book.best_bid() is None and model.book.best_ask() is None
    assert model.book.depth(1.0) == (0, 0)


# -------------------------------------------------------------------------------------- the whale population
def test_whale_traits_are_drawn_from_their_own_stream_and_distributions():
    from agents.whale import draw_whales
    from sim.config import WhaleConfig

    config = WhaleConfig(count=2000, capital=1e6, capital_tail=1.5, capital_max=1e9, leverage_min=2,
                         leverage_max=20, horizon=240, horizon_sigma=0.5)
    traits = draw_whales(2000, config, np.random.default_rng(5))
    capital = np.array([t.capital for t in traits])
    assert capital.min() >= 1e6
    # Pareto with tail 1.5: P(C > 4 x scale) = 4^-1.5 = 1/8
    assert np.mean(capital > 4e6) == pytest.approx(1 / 8, abs=0.02)
    leverage = np.log([t.leverage for t in traits])
    assert np.log(2) <= leverage.min() and leverage.max() <= np.log(20)
    assert np.median([t.horizon for t in traits]) == pytest.approx(240, rel=0.06)
    again = draw_whales(2000, config, np.random.default_rng(5))
    assert traits == again


def test_whales_enter_on_their_own_clocks():
    model = build("whales.count=8", "whales.wait=240", "retail.count=50", "steps=1440")
    model.run()
    first = sorted(whale.entries[0] for whale in model.whales if whale.entries)
    assert len(first) >= 6
    assert len(set(first)) == len(first)                 # no two whales start in the same minute
    assert first[-1] - first[0] > 120                    # spread over hours, not a common clock
    assert sum(len(whale.entries) for whale in model.whales) > len(first)   # and they come back


def test_a_whale_tops_up_an_account_near_maintenance_from_its_reserve():
    model = build(*WHALE, "whales.reserve_share=0.5", "whales.leverage_min=20", "whales.leverage_max=20")
    whale = model.whales[0]
    ex = model.exchange
    account = whale.accounts[0]
    assert ex.deposits[account] == pytest.approx(5e6) and whale.reserve == pytest.approx(5e6)
    whale.direction = 1
    ex.submit_market_order(account, 0.9 * ex.max_order_size(account, 1))
    maintenance = ex.maintenance_margin(account)
    ex.transfer(account, ex.treasury, ex.equity(account) - 1.2 * maintenance)   # a loss takes it near
    whale.top_up()
    assert ex.equity(account) == pytest.approx(3.0 * maintenance)
    assert whale.reserve == pytest.approx(5e6 - (1.8 * maintenance))
    ex.check_closed()


def test_a_whale_cuts_its_loss_at_its_conviction_and_takes_its_profit():
    model = build(*WHALE, "whales.conviction_min=0.3", "whales.conviction_max=0.3", "whales.take_profit=0.5")
    whale = model.whales[0]
    ex = model.exchange
    whale.start()
    assert whale.committed == pytest.approx(1e7)
    assert not whale.exit_on_profit_or_loss()
    ex.transfer(whale.accounts[0], ex.treasury, 0.29e7)
    assert not whale.exit_on_profit_or_loss()
    ex.transfer(whale.accounts[0], ex.treasury, 0.02e7)                 # 31 % of the margin lost
    assert whale.exit_on_profit_or_loss()
    ex.transfer(ex.treasury, whale.accounts[0], 0.81e7)                 # now 50 % up
    assert whale.exit_on_profit_or_loss()


def test_population_finds_each_accounts_slot_whether_its_accounts_are_consecutive_or_not():
    from agents.retail import RetailPopulation

    pop = RetailPopulation()
    ones = np.ones(3)
    pop.extend(np.array([10, 11, 12]), ones, ones, np.zeros(3, dtype=np.int8), np.zeros(3, dtype=bool))
    assert pop.rows == slice(10, 13)
    assert pop.slots_of(np.array([9, 10, 12, 13])).tolist() == [-1, 0, 2, -1]
    pop.extend(np.array([20, 21]), ones[:2], ones[:2], np.zeros(2, dtype=np.int8), np.zeros(2, dtype=bool))
    assert pop.rows.tolist() == [10, 11, 12, 20, 21]
    assert pop.slots_of(np.array([12, 20, 15, 22, 21])).tolist() == [2, 3, -1, -1, 4]
    with pytest.raises(ValueError):
        pop.extend(np.array([5]), ones[:1], ones[:1], np.zeros(1, dtype=np.int8), np.zeros(1, dtype=bool))
