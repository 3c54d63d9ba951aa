"""Retail traders: many small accounts with a preferred leverage, a strategy, stops and herding.

The population's state lives in numpy arrays (``RetailPopulation``) so that stop-loss and
take-profit checks are one vectorised scan a step; a ``RetailTrader`` agent runs Python only on the
steps it acts.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.config import RetailConfig
from sim.jit import compiled

STRATEGIES = ("momentum", "mean_reversion", "noise")
NO_EXIT, STOP_LOSS, TAKE_PROFIT, DERISK = 0, 1, 2, 3
MIN_ORDER_NOTIONAL = 10.0


class RetailPopulation:
    """Per-trader arrays, indexed by a trader's ``slot``; grown by doubling as traders arrive."""

    FIELDS = {"account": np.int64, "capital": float, "leverage": float, "strategy": np.int8,
              "uses_stops": bool, "entry_equity": float, "entry_margin": float, "entry_leverage": float,
              "exit_flag": np.int8}

    def __init__(self) -> None:
        self._buffers = {name: np.zeros(0, dtype=dtype) for name, dtype in self.FIELDS.items()}
        self._n = 0
        self.traders: list[RetailTrader] = []
        self._expose()

    def _expose(self) -> None:
        for name, buffer in self._buffers.items():
            setattr(self, name, buffer[: self._n])

    def __len__(self) -> int:
        return self._n

    def extend(self, accounts: np.ndarray, capital: np.ndarray, leverage: np.ndarray,
               strategy: np.ndarray, uses_stops: np.ndarray) -> np.ndarray:
        """Append traders' parameters (their accounts above every account already here); returns their slots."""
        start, count = self._n, len(accounts)
        if count and start and accounts[0] <= self.account[-1]:
            raise ValueError("traders must join with accounts above the population's")
        if start + count > len(self._buffers["account"]):
            capacity = max(2 * len(self._buffers["account"]), start + count)
            for name, buffer in self._buffers.items():
                grown = np.zeros(capacity, dtype=buffer.dtype)
                grown[:start] = buffer[:start]
                self._buffers[name] = grown
        new = slice(start, start + count)
        values = {"account": accounts, "capital": capital, "leverage": leverage, "strategy": strategy,
                  "uses_stops": uses_stops, "entry_equity": 0.0, "entry_margin": 0.0, "entry_leverage": 0.0,
                  "exit_flag": 0}
        for name, value in values.items():
            self._buffers[name][new] = value
        self._n += count
        self._expose()
        return np.arange(start, start + count)

    @property
    def rows(self) -> slice | np.ndarray:
        """Where the traders' accounts sit in the exchange's arrays, in slot order: a slice when they
        are consecutive (as when no other account opens between arrivals), so that reading every
        trader's row is a view rather than a copy; else the accounts themselves."""
        if self._n and self.account[-1] - self.account[0] == self._n - 1:
            return slice(int(self.account[0]), int(self.account[-1]) + 1)
        return self.account

    def slots_of(self, accounts: np.ndarray) -> np.ndarray:
        """Each account's slot, -1 where the account is not a retail trader's (traders join with
        accounts in increasing order, so the population's accounts are sorted)."""
        accounts = np.asarray(accounts, dtype=np.int64)
        if self._n == 0:
            return np.full(accounts.shape, -1, dtype=np.int64)
        rows = self.rows
        if isinstance(rows, slice):
            slots = accounts - rows.start
            return np.where((slots >= 0) & (slots < self._n), slots, -1)
        slots = np.minimum(np.searchsorted(self.account, accounts), self._n - 1)
        return np.where(self.account[slots] == accounts, slots, -1)

    def flag_exits(self, lots: np.ndarray, quote: np.ndarray, lot_value: float, config: RetailConfig) -> np.ndarray:
        """Of all traders (``lots`` and ``quote`` their accounts', in slot order; ``lot_value`` a lot's
        notional at mark), mark those who hold a position, use stops, and whose stop-loss or
        take-profit fired; returns their slots."""
        return fire_exits(np.ascontiguousarray(lots), np.ascontiguousarray(quote), lot_value, self.uses_stops,
                          self.entry_equity, self.entry_margin, config.stop_loss, config.take_profit, self.exit_flag)


@compiled("int64[:](int64[::1], float64[::1], float64, boolean[::1], float64[::1], float64[::1], float64, float64,"
          " int8[::1])")
def fire_exits(lots: np.ndarray, quote: np.ndarray, lot_value: float, uses_stops: np.ndarray,
               entry_equity: np.ndarray, entry_margin: np.ndarray, stop_loss: float, take_profit: float,
               exit_flag: np.ndarray) -> np.ndarray:
    """The stop scan of ``RetailPopulation.flag_exits``, compiled as it runs every step over the
    population: profit since entry over the entry margin (zero where none was posted), against the
    target and the stop. A first pass without branches (vectorised: who holds a position is random)
    gives each trader its flag; a second gathers the traders flagged."""
    n = len(lots)
    flag = np.empty(n, np.int8)
    for slot in range(n):
        margin = entry_margin[slot]
        pnl = (quote[slot] + lots[slot] * lot_value - entry_equity[slot]) / (margin if margin > 0 else np.inf)
        watched = (lots[slot] != 0) & uses_stops[slot]
        flag[slot] = watched * ((pnl >= take_profit) * TAKE_PROFIT
                                + ((pnl < take_profit) & (pnl <= -stop_loss)) * STOP_LOSS)
    fired = np.empty(n, np.int64)
    count = 0
    for slot in range(n):
        fired[count] = slot
        count += flag[slot] != NO_EXIT
    for slot in fired[:count]:
        exit_flag[slot] = flag[slot]
    return fired[:count]


def draw_traders(count: int, config: RetailConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Capital (lognormal), preferred leverage (log-uniform), strategy and stop use for ``count`` traders."""
    capital = config.capital_median * np.exp(config.capital_sigma * rng.standard_normal(count))
    leverage = np.exp(rng.uniform(np.log(config.leverage_min), np.log(config.leverage_max), count))
    names = list(config.strategy_mix)
    weights = np.array([config.strategy_mix[n] for n in names], dtype=float)
    picks = rng.choice(len(names), size=count, p=weights / weights.sum())
    strategy = np.array([STRATEGIES.index(names[p]) for p in range(len(names))], dtype=np.int8)[picks]
    uses_stops = rng.random(count) < config.stop_loss_share
    return {"capital": capital, "leverage": leverage, "strategy": strategy, "uses_stops": uses_stops}


@dataclass
class RetailOrders:
    """A step's retail orders: who, how much (units, signed), reduce-only, which open a position, and
    each trader's equity when it decided (the margin behind an opening order)."""

    slots: np.ndarray
    sizes: np.ndarray
    reduce_only: np.ndarray
    opening: np.ndarray
    equity: np.ndarray


def decide(model: mesa.Model, slots: np.ndarray) -> RetailOrders:
    """What the acting traders do this step, decided for all of them at once.

    A trader whose stop-loss or take-profit fired closes; one told to de-risk halves its position;
    one holding against its signal closes; a flat one opens on its signal at its preferred leverage,
    capped by what the schedule lets its equity carry. Random draws come from ``model.rng`` in a
    fixed order, so decisions are reproducible.
    """
    pop: RetailPopulation = model.retail
    exchange = model.exchange
    slots = np.asarray(slots, dtype=np.int64)
    accounts = pop.account[slots]
    position = exchange.lots[accounts] * exchange.rules.lot_size
    flag = pop.exit_flag[slots].copy()
    pop.exit_flag[slots] = NO_EXIT
    side = signals(model, slots)
    holding = position != 0
    direction = np.sign(position)
    close_all = holding & ((flag == STOP_LOSS) | (flag == TAKE_PROFIT) | ((flag == NO_EXIT) & (side == -direction)))
    close_half = holding & (flag == DERISK)
    opening = ~holding & (flag == NO_EXIT)
    equity = exchange.equity(accounts)
    capacity = exchange.max_order_sizes(accounts, side)
    open_size = side * np.minimum(np.maximum(equity, 0.0) * pop.leverage[slots] / exchange.mark, capacity)
    opening &= np.abs(open_size) * exchange.mark >= MIN_ORDER_NOTIONAL
    sizes = np.where(close_all, -position, np.where(close_half, -position / 2.0, open_size))
    acting = close_all | close_half | opening
    return RetailOrders(slots[acting], sizes[acting], (close_all | close_half)[acting], opening[acting],
                        equity[acting])


def signals(model: mesa.Model, slots: np.ndarray) -> np.ndarray:
    """+1 buy or -1 sell per trader: its strategy's view (a coin flip when it has none), or, for
    those herding this step, the neighbours' net side."""
    pop: RetailPopulation = model.retail
    config = model.config.retail
    herding = model.rng.random(len(slots)) < config.herding
    coin = np.where(model.rng.random(len(slots)) < 0.5, 1, -1)
    strategy = pop.strategy[slots]
    view = np.array([model.momentum_signal, model.reversion_signal, 0])[strategy]
    side = np.where(view != 0, view, coin)
    if herding.any():
        crowd = model.neighbour_sentiment(slots[herding])
        side[herding] = np.where(crowd != 0, crowd, side[herding])
    return side.astype(np.int64)


def record_entries(model: mesa.Model, orders: RetailOrders, filled: np.ndarray, price: np.ndarray) -> None:
    """After the fills, remember each new position's equity, margin and leverage (notional over the
    equity the trader decided on): stops are measured from them, and the measures read the leverage."""
    pop: RetailPopulation = model.retail
    opened = orders.opening & (filled != 0)
    slots = orders.slots[opened]
    notional = np.abs(filled[opened]) * price[opened]
    pop.entry_equity[slots] = model.exchange.equity(pop.account[slots])
    pop.entry_margin[slots] = notional / pop.leverage[slots]
    pop.entry_leverage[slots] = notional / orders.equity[opened]


class RetailTrader(mesa.Agent):
    """One retail trader: a Mesa agent whose parameters and state live in the population's arrays.

    Traders decide together (``decide``) on the steps they are active, so that a step costs what
    the active traders do.
    """

    def __init__(self, model: mesa.Model, account: int, slot: int):
        super().__init__(model)
        self.account = account
        self.slot = slot

    @property
    def population(self) -> RetailPopulation:
        return self.model.retail

    @property
    def strategy(self) -> str:
        return STRATEGIES[self.population.strategy[self.slot]]

    @property
    def leverage(self) -> float:
        return float(self.population.leverage[self.slot])

    @property
    def capital(self) -> float:
        return float(self.population.capital[self.slot])
