"""The exchange: one linear perpetual with a margin schedule, an insurance fund and a fee account.

It enforces rules and knows no strategy: it never imports an agent, the model or Mesa. Agents act
through its public calls (submit an order, read their own account, read public market data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.exchange.accounts import KINDS, AccountBook
from sim.exchange.adl import AutoDeleveraging
from sim.exchange.events import Counters, LiquidationLog
from sim.exchange.funding import Funding
from sim.exchange.insurance import InsuranceFund
from sim.exchange.liquidation import LiquidationEngine
from sim.exchange.mark import MarkPrice, MarkRule
from sim.exchange.orders import Liquidity, OrderBatch, OrderResult, fill_orders, to_lots
from sim.jit import compiled
from sim.schedules import Schedule
from sim.schedules.pieces import maintenance_in_pieces


@dataclass(frozen=True)
class Rules:
    """The exchange's parameters: lot size, fees, mark band and liquidation policy."""

    lot_size: float = 0.001
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    mark_band: float = 0.005
    mark_rule: MarkRule = "book_mid"
    basis_window: int = 1
    penalty_rate: float = 0.005
    partial_liquidation: bool = True
    partial_buffer: float = 0.1
    max_rounds: int = 50
    backstop_rounds: int = 10_000


class Exchange(AccountBook):
    """The account book with the exchange's rules: margin, prices, orders, funding, liquidation."""

    def __init__(self, schedule: Schedule, rules: Rules = Rules(), *, index_price: float,
                 insurance_fund: float = 0.0, liquidity: Liquidity | None = None, funding: Funding | None = None,
                 capacity: int = 1024):
        super().__init__(rules.lot_size, index_price, capacity)
        self.schedule = schedule
        self.rules = rules
        self.liquidity = liquidity
        self.funding = funding
        self.mark_price = MarkPrice(rules.mark_rule, rules.mark_band, rules.basis_window)
        self.index = float(index_price)
        self.step = 0
        self.counters = Counters()
        self.events = LiquidationLog(self)
        self.liquidation = LiquidationEngine(self)
        self.fund = InsuranceFund(self)
        self.adl = AutoDeleveraging(self)
        self._top_leverage_value: float | None = None
        self.insurance = self.open_account(owner=-1, kind="insurance", entity=0, deposit=insurance_fund)
        self.treasury = self.open_account(owner=-2, kind="exchange", entity=0)

    # ---------------------------------------------------------------- margin
    def liquidation_price(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """The mark at which equity meets maintenance margin, for one account, an array of accounts,
        or (None) all; NaN where there is none."""
        at = slice(0, self._n) if account is None else account
        return self.schedule.liquidation_price(self.lots[at] * self.lot_size, self.quote[at],
                                               self.open_interest_notional(), self.mark)

    def maintenance_margin(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        return self.schedule.maintenance_margin(self.notional(account), self.open_interest_notional())

    def initial_margin(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        return self.schedule.initial_margin(self.notional(account), self.open_interest_notional())

    def available_margin(self, account: int) -> float:
        """Equity left above the initial margin of the current position."""
        return self.equity(account) - self.initial_margin(account)

    def max_order_size(self, account: int, side: int) -> float:
        """The largest order (units, >= 0) on ``side`` (+1 buy, -1 sell) sure to pass the margin check."""
        return float(self.max_order_sizes(np.array([account]), np.array([side]))[0])

    def max_order_sizes(self, accounts: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """Per account, the largest order on its side sure to pass the margin check (units, >= 0)."""
        capacity = self.position_capacity(accounts, sides)
        # a hair under the limit, so that float noise cannot carry the order past the margin check
        target = sides * (capacity * (1.0 - 1e-10) / self.mark - 1e-8 * self.lot_size)
        return np.maximum(0.0, sides * (target - self.lots[accounts] * self.lot_size))

    def position_capacity(self, accounts: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """Per account, the largest notional on ``sides`` that its equity can carry after fees.

        The fee is paid from equity, so capacity is sized on equity less the largest fee an order
        could cost (taker fee x the schedule's top leverage x equity), plus, for an order that
        reverses the position, the fee on closing the current one.
        """
        oi = self.open_interest_notional()
        held = self.lots[accounts] * (self.lot_size * self.mark)
        equity = self.quote[accounts] + held
        closing = np.where(sides * held < 0, np.abs(held), 0.0)
        spendable = equity * (1.0 - self.rules.taker_fee * self._top_leverage(oi)) - self.rules.taker_fee * closing
        return np.asarray(self.schedule.max_notional(np.maximum(spendable, 0.0), oi))

    def _top_leverage(self, open_interest: float) -> float:
        """The schedule's leverage for the smallest positions (computed once unless it moves with OI)."""
        if self.schedule.uses_open_interest or self._top_leverage_value is None:
            self._top_leverage_value = float(self.schedule.max_leverage(0.0, open_interest))
        return self._top_leverage_value

    def bankruptcy_price(self, account: int) -> float:
        """The mark at which the account's equity is zero (NaN when flat)."""
        lots = self.lots[account]
        if lots == 0:
            return float("nan")
        return -float(self.quote[account]) / (float(lots) * self.lot_size)

    def below_maintenance(self, accounts: np.ndarray | int) -> np.ndarray | bool:
        """Per account, whether it holds a position and its equity is below maintenance margin at mark
        (one account: a bool, on floats, as asked before every liquidation step)."""
        if isinstance(accounts, int | np.integer):
            return bool(self.lots[accounts] != 0) and self.equity(accounts) < self.maintenance_margin(accounts)
        return (self.lots[accounts] != 0) & (self.equity(accounts) < self.maintenance_margin(accounts))

    def liquidatable(self) -> np.ndarray:
        """Accounts with an open position whose equity is below maintenance margin at mark."""
        pieces = self.schedule.maintenance_pieces(self.open_interest_notional())
        if pieces is not None:
            return below_maintenance_in_pieces(self.lots[: self._n], self.quote[: self._n],
                                               self.lot_size * self.mark, *pieces)
        candidates = np.flatnonzero(self.lots[: self._n] != 0)
        return candidates[self.below_maintenance(candidates)]

    def is_liquidatable(self, account: int) -> bool:
        return self.below_maintenance(account)

    def margin_ratio(self, accounts: np.ndarray) -> np.ndarray:
        """Equity over maintenance margin at mark, per account (below 1: liquidatable)."""
        return self.equity(accounts) / np.maximum(self.maintenance_margin(accounts), 1e-300)

    # ---------------------------------------------------------------- prices
    def set_index(self, price: float) -> None:
        """The new index price (the spot price); the mark follows."""
        self.index = float(price)
        self.update_mark()

    def update_mark(self) -> float:
        """The mark by the exchange's rule (``mark.py``); the index alone when there is no book."""
        if self.liquidity is None:
            mid = last = self.index
        else:
            mid, last = self.liquidity.mid(), self.liquidity.last_price
        premium = self.funding.premium_to_come(self.step) if self.funding is not None else 0.0
        self.mark = self.mark_price.price(self.index, mid, last, premium)
        return self.mark

    def sample_basis(self) -> None:
        """Record this step's basis (book mid - index) for the mark's moving average."""
        mid = self.liquidity.mid() if self.liquidity is not None else self.index
        self.mark_price.sample(self.index, mid)

    # ---------------------------------------------------------------- orders and funding
    def to_lots(self, size: float | np.ndarray) -> int | np.ndarray:
        """Units to whole lots, toward zero (``orders.to_lots`` at this exchange's lot size)."""
        return to_lots(size, self.lot_size)

    def submit_market_order(self, account: int, size: float, reduce_only: bool = False,
                            limit_price: float | None = None) -> OrderResult:
        """Buy (size > 0) or sell at market. Increasing orders must leave equity above initial margin.

        A reducing order is always allowed. A refused order changes nothing and says why. With
        ``limit_price`` the order takes only levels no worse than it and the rest is cancelled
        (immediate or cancel).
        """
        limits = None if limit_price is None else [limit_price]
        return self.prepare_orders(np.array([account]), np.array([size]), reduce_only, limits).execute(0)

    def prepare_orders(self, accounts: np.ndarray, sizes: np.ndarray, reduce_only: np.ndarray | bool = False,
                       limits: list[float | None] | None = None) -> OrderBatch:
        """Check many market orders at once against the current mark; execute them later, one by one.

        This is how a minute's orders from many traders are judged together (vectorised) and then
        filled in the order the caller chooses; only the orders that passed can be executed.
        """
        return OrderBatch(self, accounts, sizes, reduce_only, limits)

    def execute(self, account: int, lots: int, limit_price: float | None, fee_rate: float) -> tuple[int, float, float]:
        """One market order for ``account``, unchecked (the engine's own): (filled lots, cost, taker fee)."""
        filled, cost, fee = fill_orders(self, np.array([account]), np.array([lots]),
                                        np.array([np.nan if limit_price is None else limit_price]), fee_rate)
        return int(filled[0]), float(cost[0]), float(fee[0])

    def apply_funding(self, rate: float) -> float:
        """Longs pay shorts ``rate`` x notional (shorts pay when negative). Returns what longs paid."""
        n = self._n
        payments = rate * self.lots[:n] * (self.lot_size * self.mark)
        self.quote[:n] -= payments
        self.unwatch()              # every account changed: a reader of ``changes`` starts afresh
        paid = float(payments[payments > 0].sum()) if rate >= 0 else float(payments[payments < 0].sum())
        self.counters.funding_paid_by_longs += paid
        return paid

    # ---------------------------------------------------------------- records
    def snapshot(self) -> pd.DataFrame:
        """One row per account: balances, position, margins, tier and liquidation price."""
        n = self._n
        notional = self.notional()
        oi = self.open_interest_notional()
        return pd.DataFrame({
            "account": np.arange(n),
            "owner": self.owner[:n],
            "entity": self.entity[:n],
            "kind": pd.Categorical.from_codes(self.kind[:n], categories=list(KINDS)),
            "deposits": self.deposits[:n],
            "quote": self.quote[:n],
            "position": self.position(),
            "notional": notional,
            "equity": self.equity(),
            "initial_margin": self.schedule.initial_margin(notional, oi),
            "maintenance_margin": self.schedule.maintenance_margin(notional, oi),
            "tier": self.schedule.tier(notional, oi),
            "liquidation_price": self.liquidation_price(),
        })

    def check_invariants(self, after_liquidation: bool = False) -> None:
        """Raise AssertionError if the book is not closed, or (after the liquidation phase) if an
        account is left below maintenance."""
        self.check_closed()
        if after_liquidation:
            below = self.liquidatable()
            assert len(below) == 0, f"accounts below maintenance after liquidation: {below[:10].tolist()}"


@compiled("int64[:](int64[::1], float64[::1], float64, float64[:], float64[:], float64[:])")
def below_maintenance_in_pieces(lots: np.ndarray, quote: np.ndarray, lot_value: float, inner_caps: np.ndarray,
                                rates: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Accounts holding a position whose equity is below maintenance margin, where maintenance is
    piecewise linear in notional (``Schedule.maintenance_pieces``), with the same arithmetic as the
    schedule's. Compiled, as the scan runs over the population every liquidation round: a first pass
    without branches (vectorised) settles the accounts on the first piece, where most are, and marks
    the rest, which a second pass checks on their own piece."""
    n = len(lots)
    first_cap = inner_caps[0] if len(inner_caps) else np.inf
    marked = np.empty(n, np.bool_)
    for account in range(n):
        held = lots[account]
        notional = abs(held) * lot_value
        first_piece = first_cap >= notional
        below = quote[account] + held * lot_value < max(notional * rates[0] - amounts[0], 0.0)
        marked[account] = (held != 0) & ((first_piece & below) | (not first_piece))
    found = np.empty(n, np.int64)
    count = 0
    for account in range(n):
        if marked[account]:
            held = lots[account]
            notional = abs(held) * lot_value
            found[count] = account
            count += (first_cap >= notional) or (
                quote[account] + held * lot_value < maintenance_in_pieces(notional, inner_caps, rates, amounts))
    return found[:count]
