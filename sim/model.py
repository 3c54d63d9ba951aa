"""MarketModel: the exchange, its book and oracle, the four kinds of trader, and the step order.

One step (DESIGN.md): the index moves; makers refresh quotes; funding settles on its interval;
traders act in random order (retail only when active); liquidation rounds until clear;
liquidators unwind; measures are collected.
"""

from __future__ import annotations

from collections.abc import Callable

import mesa
import numpy as np
import pandas as pd

from agents import Liquidator, MarketMaker, RetailPopulation, RetailTrader, Whale
from agents.market_maker import standings
from agents.retail import DERISK, decide, draw_traders, record_entries
from sim import metrics
from sim.book import OrderBook
from sim.config import RunConfig
from sim.exchange import KIND_CODE, Bid, Exchange, LiquidationOffer, Rules
from sim.network import SocialGraph
from sim.oracle import MINUTES_PER_YEAR, index_path

VOLATILITY_WINDOW = 10


def exchange_rules(config: RunConfig) -> Rules:
    """The exchange's rules from a run config."""
    return Rules(
        lot_size=config.market.lot_size,
        taker_fee=config.fees.taker,
        maker_fee=config.fees.maker,
        mark_band=config.market.mark_band,
        penalty_rate=config.liquidation.penalty_rate,
        partial_liquidation=config.liquidation.partial,
        partial_buffer=config.liquidation.partial_buffer,
        max_rounds=config.liquidation.max_rounds,
    )


class MarketModel(mesa.Model):
    """A perpetual-futures market under a margin schedule, populated from a run config.

    Three random streams derive from the seed: the index path and the population (including
    arrivals) come from their own ``SeedSequence`` children, so arms of an experiment that differ
    only in schedule see the same prices and the same traders; behaviour draws use ``self.rng``.
    """

    def __init__(self, config: RunConfig, seed: int | None = None):
        seed = config.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.config = config
        self.seed = seed
        index_stream, setup_stream = np.random.SeedSequence(seed).spawn(2)
        self.setup_rng = np.random.default_rng(setup_stream)
        csv_path = config.resolve(config.oracle.csv.path) if config.oracle.csv is not None else None
        self.index_path = index_path(config.oracle, config.market.initial_price, config.steps,
                                     config.dt_minutes, np.random.default_rng(index_stream), csv_path)
        start = float(self.index_path[0])
        self.book = OrderBook(start)
        self.exchange = Exchange(config.build_schedule(), exchange_rules(config), index_price=start,
                                 insurance_fund=config.insurance_fund.initial, liquidity=self.book)
        self._marks = np.empty(config.steps + 1)
        self._marks[0] = start
        self._recorded = 1
        self._volatility_at = -1
        self._volatility = 0.0
        self.momentum_signal = 0
        self.reversion_signal = 0
        self._premium_sum = 0.0
        self.funding_rate = 0.0
        self.step_events: list[tuple] = []
        self.tier_rows: list[np.ndarray] = []
        self.normal_volatility = config.oracle.volatility * np.sqrt(config.dt_minutes / MINUTES_PER_YEAR)

        self.makers = [MarketMaker(self, config.market_makers, self.normal_volatility)
                       for _ in range(config.market_makers.count)]
        self.liquidators = [Liquidator(self, config.liquidators) for _ in range(config.liquidators.count)]
        self.whales = [Whale(self, config.whales) for _ in range(config.whales.count)]
        self.retail = RetailPopulation()
        self._slot_of_account: dict[int, int] = {}
        self.network = SocialGraph(config.retail.count, config.network.degree, config.network.rewire,
                                   self.setup_rng)
        self.add_retail(config.retail.count)

        self._refresh_quotes()
        self._marks[0] = self.exchange.mark
        self.measures: dict[str, float] = {}
        self._measure()
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda model, key=name: model.measures[key]) for name in self.measures})
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
            self._slot_of_account[account] = slot
        missing = len(self.retail) - len(self.network)
        if missing > 0:
            self.network.add(missing)

    def neighbour_sentiment(self, slots: np.ndarray) -> np.ndarray:
        """Per trader, the sign of its neighbours' summed positions: the side a herding trader copies."""
        return self.network.sentiment(slots, self.exchange.lots[self.retail.account])

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
        exchange.set_index(self.index_path[t])
        self._refresh_quotes()
        self._settle_funding(t)
        self._arrivals()
        self._trade()
        first_event = exchange.event_count
        exchange.run_liquidations(self._bids)
        if self.config.debug:
            exchange.check_invariants(after_liquidation=True)
        self._after_liquidations(first_event)
        for liquidator in self.liquidators:
            liquidator.unwind()
        exchange.unwind_insurance(self.config.insurance_fund.unwind_rate)
        self._marks[t] = exchange.mark
        self._recorded = t + 1
        self._measure()
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
        mid = self.book.mid()
        accounts = np.array([maker.account for maker in self.makers], dtype=np.int64)
        for maker, standing in zip(self.makers, zip(*standings(self.exchange, accounts))):
            maker.refresh(mid, standing)
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

    def _settle_funding(self, t: int) -> None:
        exchange = self.exchange
        self._premium_sum += (exchange.mark - exchange.index) / exchange.index
        interval = self.config.funding.interval_steps
        if t % interval == 0:
            cap = self.config.funding.cap
            rate = self._premium_sum / interval + self.config.funding.interest_rate
            self.funding_rate = float(np.clip(rate, -cap, cap))
            exchange.apply_funding(self.funding_rate)
            self._premium_sum = 0.0

    def _arrivals(self) -> None:
        cfg = self.config.retail
        expected = cfg.arrival_per_day * cfg.count * self.config.dt_minutes / 1_440.0
        if expected > 0:
            self.add_retail(int(self.setup_rng.poisson(expected)))

    def _acting_retail(self) -> np.ndarray:
        """Slots of the retail traders drawn active this step, those whose stop or target fired,
        and those told to de-risk."""
        pop = self.retail
        ex = self.exchange
        n = len(pop)
        active = self.rng.integers(0, n, self.rng.binomial(n, self.config.retail.activity)) if n else []
        acting = pop.exit_flag == DERISK
        acting[pop.flag_exits(ex.equity(pop.account), ex.lots[pop.account] != 0, self.config.retail)] = True
        acting[active] = True
        return np.flatnonzero(acting)

    def _trade(self) -> None:
        """Step 4: whales and the acting retail traders, in one random order.

        Retail orders are decided and margin-checked together at the step's mark, then filled in
        the random sequence, in runs between the whales' own turns.
        """
        orders = decide(self, self._acting_retail())
        batch = self.exchange.prepare_orders(self.retail.account[orders.slots], orders.sizes, orders.reduce_only)
        filled = np.zeros(len(batch), dtype=np.int64)
        cost = np.zeros(len(batch))
        whales = len(self.whales)
        sequence = self.rng.permutation(whales + len(batch))
        turns = np.flatnonzero(sequence < whales).tolist()
        for start, end in zip([-1, *turns], [*turns, len(sequence)]):
            run = (sequence[start + 1: end] - whales).tolist()
            if run:
                lots, value, _ = batch.execute_many(run)
                filled[run] = lots
                cost[run] = value
            if end < len(sequence):
                self.whales[sequence[end]].step()
        units = filled * self.exchange.rules.lot_size
        price = np.divide(cost, units, out=np.zeros_like(cost), where=units != 0)
        record_entries(self, orders, units, price)

    def _bids(self, offer: LiquidationOffer) -> list[Bid]:
        return [bid for bid in (liq.bid(offer) for liq in self.liquidators) if bid is not None]

    def _after_liquidations(self, first_event: int) -> None:
        """Record this step's liquidations; neighbours of liquidated retail traders may de-risk."""
        events = self.exchange.events_since(first_event)
        self.step_events = events
        liquidated = {e[2] for e in events if e[5] == "retail"}
        chance = self.config.retail.derisk_on_neighbour_liquidation
        for account in sorted(liquidated):
            slot = self._slot_of_account[account]
            self.retail.entry_equity[slot] = 0.0
            self.retail.entry_margin[slot] = 0.0
            for friend in self.network.neighbours(slot).tolist():
                if self.exchange.lots[self.retail.account[friend]] != 0 and self.rng.random() < chance:
                    self.retail.exit_flag[friend] = DERISK

    # ---------------------------------------------------------------- measures
    def _measure(self) -> None:
        """This step's row of measures, computed over the accounts holding a position (the flat ones
        add nothing to any share, count or tier)."""
        ex = self.exchange
        holders = np.flatnonzero(ex.lots[: ex.n_accounts])
        position = ex.lots[holders] * ex.rules.lot_size
        concentration = metrics.concentration(position, ex.mark, ex.entity[holders],
                                              ex.kind[holders] == KIND_CODE["whale"], self.config.metrics.top_k)
        tiers = ex.schedule.tier(np.abs(position) * ex.mark, ex.open_interest_notional())
        tier_notional, tier_accounts = metrics.tier_open_interest(position, ex.mark, tiers, ex.schedule.n_tiers)
        self.tier_rows.append(np.concatenate([[self.steps], tier_notional, tier_accounts]))
        events = self.step_events
        bid_depth, ask_depth = self.book.depth(0.01)
        self.measures = {
            "step": self.steps,
            "index": ex.index,
            "mark": ex.mark,
            "insurance_fund": ex.equity(ex.insurance),
            "bad_debt": ex.counters.bad_debt,
            "adl_count": ex.counters.adl_count,
            "liquidation_count": len({event[2] for event in events}),
            "liquidation_notional": float(sum(event[8] for event in events)),
            "funding_rate": self.funding_rate,
            "depth_bid": bid_depth * ex.rules.lot_size,
            "depth_ask": ask_depth * ex.rules.lot_size,
            "retail_traders": len(self.retail),
            **concentration,
        }

    def timeseries(self) -> pd.DataFrame:
        """One row per collected step (step 0 is the start)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def tier_timeseries(self) -> pd.DataFrame:
        """Open interest and account count per tier, one row per step and tier with any position."""
        k = self.exchange.schedule.n_tiers
        data = np.vstack(self.tier_rows)
        steps = np.repeat(data[:, 0].astype(np.int64), k)
        frame = pd.DataFrame({
            "step": steps,
            "tier": np.tile(np.arange(1, k + 1), len(data)),
            "notional": data[:, 1: 1 + k].ravel(),
            "accounts": data[:, 1 + k:].ravel().astype(np.int64),
        })
        return frame[frame["accounts"] > 0].reset_index(drop=True)

    def liquidations(self) -> pd.DataFrame:
        return self.exchange.liquidations()

    def cascades(self) -> pd.DataFrame:
        return metrics.detect_cascades(self.liquidations(), self.timeseries(), self.config.metrics.cascade_gap)

    def summary(self) -> dict[str, float]:
        """The run's one-row summary (the row a sweep stacks)."""
        return self.summary_and_tables()[0]

    def summary_and_tables(self) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The summary row and the three tables it is computed from: timeseries, liquidations, cascades."""
        timeseries = self.timeseries()
        liquidations = self.liquidations()
        cascades = metrics.detect_cascades(liquidations, timeseries, self.config.metrics.cascade_gap)
        return metrics.summarize(timeseries, liquidations, cascades), timeseries, liquidations, cascades
