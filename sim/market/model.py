"""MarketModel: the exchange, its book and index, the kinds of trader, and the step order.

One step: the index moves; makers refresh quotes; funding settles on its interval;
traders act in random order (retail only when active); liquidation rounds until clear;
liquidators unwind; measures are collected.
"""

from __future__ import annotations

from collections.abc import Callable

import mesa
import numpy as np
import pandas as pd

from agents import Arbitrageur, Liquidator, MarketMaker, RetailPopulation, RetailTrader, Whale
from agents.market_maker import refresh_makers
from agents.retail import DERISK, draw_traders
from agents.whale import draw_whales
from sim import measures
from sim.config import RunConfig
from sim.exchange import Bid, Exchange, LiquidationOffer, OrderBook, Rules
from sim.exchange.funding import Funding
from sim.market.fundamental import MINUTES_PER_YEAR, fundamental_path
from sim.market.network import SocialGraph
from sim.market.record import MarketRecord, MeasureCollector, RunTables
from sim.market.spot import SpotMarket
from sim.market.trading import trade

VOLATILITY_WINDOW = 10


def exchange_rules(config: RunConfig) -> Rules:
    """The exchange's rules from a run config."""
    return Rules(
        lot_size=config.market.lot_size,
        taker_fee=config.fees.taker,
        maker_fee=config.fees.maker,
        mark_band=config.market.mark_band,
        mark_rule=config.market.mark,
        basis_window=config.market.basis_window,
        penalty_rate=config.liquidation.penalty_rate,
        partial_liquidation=config.liquidation.partial,
        partial_buffer=config.liquidation.partial_buffer,
        max_rounds=config.liquidation.max_rounds,
    )


class MarketModel(mesa.Model):
    """A perpetual-futures market under a margin schedule, populated from a run config.

    Four random streams derive from the seed: the fundamental price path, the retail population
    (including arrivals) and the whales' traits come from their own ``SeedSequence`` children, so arms
    of an experiment that differ only in schedule see the same fundamental and the same traders;
    behaviour draws use ``self.rng``. The index is the spot price: the fundamental moved by the arbitrageurs' flow.
    """

    def __init__(self, config: RunConfig, seed: int | None = None):
        seed = config.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.config = config
        self.seed = seed
        fundamental_stream, setup_stream, whale_stream = np.random.SeedSequence(seed).spawn(3)
        self.setup_rng = np.random.default_rng(setup_stream)
        csv_path = config.resolve(config.fundamental.csv.path) if config.fundamental.csv is not None else None
        fundamental = fundamental_path(config.fundamental, config.market.initial_price, config.steps,
                                       config.dt_minutes, np.random.default_rng(fundamental_stream), csv_path)
        self.spot = SpotMarket(fundamental, config.spot, config.fundamental.volatility)
        start = self.spot.price
        self.book = OrderBook(start)
        funding = Funding(config.funding.interval_steps, config.funding.cap, config.funding.interest_rate)
        self.exchange = Exchange(config.build_schedule(), exchange_rules(config), index_price=start,
                                 insurance_fund=config.insurance_fund.initial, liquidity=self.book, funding=funding)
        self._marks = np.empty(config.steps + 1)
        self._marks[0] = start
        self._recorded = 1
        self._volatility_at = -1
        self._volatility = 0.0
        self.momentum_signal = 0
        self.reversion_signal = 0
        self.step_events: list[tuple] = []
        self.liquidated_leverage: dict[int, float] = {}
        self.normal_volatility = config.fundamental.volatility * np.sqrt(config.dt_minutes / MINUTES_PER_YEAR)

        self.makers = [MarketMaker(self, config.market_makers, self.normal_volatility)
                       for _ in range(config.market_makers.count)]
        self.liquidators = [Liquidator(self, config.liquidators) for _ in range(config.liquidators.count)]
        self.arbitrageurs = [Arbitrageur(self, config.arbitrageurs) for _ in range(config.arbitrageurs.count)]
        self.whales = [Whale(self, config.whales, traits) for traits in
                       draw_whales(config.whales.count, config.whales, np.random.default_rng(whale_stream))]
        self.retail = RetailPopulation()
        self.network = SocialGraph(config.retail.count, config.network.degree, config.network.rewire,
                                   self.setup_rng, config.network.kind)
        self.add_retail(config.retail.count)

        self.record = MarketRecord(self)
        self._refresh_quotes()
        self._marks[0] = self.exchange.mark
        self.record.measure()
        self.datacollector = MeasureCollector(self.record)
        self.datacollector.collect(self)

    @classmethod
    def from_config(cls, config: RunConfig, seed: int | None = None) -> MarketModel:
        """A model for ``config``; a ``seed`` given overrides the config's."""
        return cls(config, seed=seed)

    # ---------------------------------------------------------------- population
    def add_retail(self, count: int) -> None:
        """Open ``count`` retail traders' accounts, drawn from the population stream, and link the
        ones the social graph does not yet hold."""
        if count == 0:
            return
        drawn = draw_traders(count, self.config.retail, self.setup_rng)
        start = self.agent_id_counter
        owners = np.arange(start, start + count)
        accounts = self.exchange.open_accounts(owners, "retail", drawn["capital"])
        slots = self.retail.extend(accounts, drawn["capital"], drawn["leverage"], drawn["strategy"],
                                   drawn["uses_stops"])
        for account, slot in zip(accounts.tolist(), slots.tolist()):
            trader = RetailTrader(self, account, slot)
            self.retail.traders.append(trader)
        missing = len(self.retail) - len(self.network)
        if missing > 0:
            self.network.add(missing)

    def neighbour_sentiment(self, slots: np.ndarray) -> np.ndarray:
        """Per trader, the sign of its neighbours' summed positions: the side a herding trader copies."""
        return self.network.sentiment(slots, self.exchange.lots[self.retail.rows])

    def liquidation_fuel(self, within: float) -> tuple[float, float]:
        """Retail notional whose liquidation price lies within ``within`` below (longs) and above (shorts) the mark."""
        ex = self.exchange
        accounts = self.retail.account
        position = ex.lots[accounts] * ex.rules.lot_size
        price = ex.liquidation_price(accounts)
        notional = np.abs(position) * ex.mark
        mark = ex.mark
        below = (position > 0) & (price >= mark * (1 - within)) & (price <= mark)
        above = (position < 0) & (price <= mark * (1 + within)) & (price >= mark)
        return float(notional[below].sum()), float(notional[above].sum())

    # ---------------------------------------------------------------- market data
    def mark_history(self) -> np.ndarray:
        """Marks at the end of each completed step (element 0: the start)."""
        return self._marks[: self._recorded]

    def recent_volatility(self) -> float:
        """Standard deviation of the last few completed steps' mark log returns."""
        if self._volatility_at != self._recorded:
            self._volatility_at = self._recorded
            self._volatility = self._measure_volatility()
        return self._volatility

    def _measure_volatility(self) -> float:
        history = self._marks[max(0, self._recorded - 1 - VOLATILITY_WINDOW): self._recorded]
        if len(history) < 3:
            return self.normal_volatility
        return float(np.std(np.diff(np.log(history))))

    # ---------------------------------------------------------------- the step
    def step(self) -> None:
        t = self.steps
        if t > self.config.steps:
            self.running = False
            return
        exchange = self.exchange
        exchange.step = t
        self.spot.advance(t)
        exchange.set_index(self.spot.price)
        self._refresh_quotes()
        exchange.funding.settle(exchange, t)
        self._arrivals()
        trade(self)
        first_event = len(exchange.events)
        exchange.liquidation.run(self._bids)
        if self.config.debug:
            exchange.check_invariants(after_liquidation=True)
        self._after_liquidations(first_event)
        for liquidator in self.liquidators:
            liquidator.unwind()
        exchange.fund.unwind(self.config.insurance_fund.unwind_rate)
        exchange.sample_basis()
        self._marks[t] = exchange.mark
        self._recorded = t + 1
        self.record.measure()
        self.datacollector.collect(self)
        if t >= self.config.steps:
            self.running = False

    def run(self, steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Step ``steps`` times (the config's steps by default), calling ``progress`` after each."""
        for _ in range(self.config.steps if steps is None else steps):
            if not self.running:
                break
            self.step()
            if progress is not None:
                progress(self.steps)

    def _refresh_quotes(self) -> None:
        refresh_makers(self.makers, self.book.mid())
        self.exchange.update_mark()
        self._update_signals()

    def _update_signals(self) -> None:
        """The strategies' views of the price history, the same for every trader this step."""
        history = self.mark_history()
        lookback = min(self.config.retail.lookback, len(history) - 1)
        if lookback < 2:
            self.momentum_signal = self.reversion_signal = 0
            return
        now = history[-1]
        self.momentum_signal = int(np.sign(now - history[-1 - lookback]))
        self.reversion_signal = int(-np.sign(now - history[-1 - lookback:].mean()))

    def _arrivals(self) -> None:
        cfg = self.config.retail
        expected = cfg.arrival_per_day * cfg.count * self.config.dt_minutes / 1_440.0
        if expected > 0:
            self.add_retail(int(self.setup_rng.poisson(expected)))

    def _bids(self, offer: LiquidationOffer) -> list[Bid]:
        return [bid for bid in (liq.bid(offer) for liq in self.liquidators) if bid is not None]

    def _after_liquidations(self, first_event: int) -> None:
        """Record this step's liquidations; neighbours of liquidated retail traders may de-risk (in
        order of account, each neighbour holding a position with its own draw)."""
        events = self.exchange.events.since(first_event)
        self.step_events = events
        rows = [(row, event[2]) for row, event in enumerate(events, start=first_event) if event[5] == "retail"]
        if not rows:
            return
        pop = self.retail
        slots = pop.slots_of(np.array([account for _, account in rows]))
        for (row, _), slot in zip(rows, slots.tolist()):
            self.liquidated_leverage[row] = float(pop.entry_leverage[slot])
        liquidated = np.unique(slots)
        pop.entry_equity[liquidated] = 0.0
        pop.entry_margin[liquidated] = 0.0
        friends = np.concatenate([self.network.neighbours(slot) for slot in liquidated.tolist()])
        holding = friends[self.exchange.lots[pop.account[friends]] != 0]
        chance = self.config.retail.derisk_on_neighbour_liquidation
        pop.exit_flag[holding[self.rng.random(len(holding)) < chance]] = DERISK

    # ---------------------------------------------------------------- tables
    def timeseries(self) -> pd.DataFrame:
        """One row per collected step (step 0 is the start)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def liquidations(self) -> pd.DataFrame:
        """Every liquidation action so far, one row each, with the leverage a retail trader opened the
        liquidated position at (NaN for other kinds)."""
        frame = self.exchange.events.frame()
        leverage = np.full(len(frame), np.nan)
        rows = np.fromiter(self.liquidated_leverage, dtype=np.int64, count=len(self.liquidated_leverage))
        leverage[rows] = list(self.liquidated_leverage.values())
        frame["entry_leverage"] = leverage
        return frame

    def cascades(self) -> pd.DataFrame:
        """The liquidations so far grouped into cascades, one row each."""
        return measures.detect_cascades(self.liquidations(), self.timeseries(), self.config.metrics.cascade_gap)

    def summary(self) -> dict[str, float]:
        """The run's one-row summary (the row a sweep stacks)."""
        return self.tables().summary

    def tables(self) -> RunTables:
        """The summary row and every table of the run so far."""
        timeseries = self.timeseries()
        liquidations = self.liquidations()
        cascades = measures.detect_cascades(liquidations, timeseries, self.config.metrics.cascade_gap)
        return RunTables(measures.summarize(timeseries, liquidations, cascades), timeseries, liquidations,
                         cascades, self.record.tiers())
