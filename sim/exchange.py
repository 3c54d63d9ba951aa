"""The exchange: account book, market orders, margin checks, funding and the liquidation engine.

Accounts are rows of numpy arrays. Positions are integer lots, so open interest balances exactly;
cash (``quote``) is USD. Every fill, fee, penalty and funding payment moves money between two
accounts, so the sum of equity always equals the sum of deposits. The exchange enforces rules and
knows no strategy: it never imports an agent, the model or Mesa.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd

from sim.margin import Schedule

KINDS = ("retail", "whale", "liquidator", "market_maker", "insurance", "exchange")
KIND_CODE = {name: code for code, name in enumerate(KINDS)}

LIQUIDATION_COLUMNS = [
    "step", "round", "account", "owner", "entity", "kind", "side", "size", "notional", "tier",
    "mark_before", "mark_after", "price", "taker", "penalty", "bad_debt",
]


class Fill(NamedTuple):
    """Part of a market order: ``lots`` bought by the taker (negative: sold) from ``maker`` at ``price``."""

    maker: int
    lots: int
    price: float


class Liquidity(Protocol):
    """Where market orders execute: the order book, or any stand-in with the same two calls."""

    def mid(self) -> float: ...

    def take(self, lots: int, limit_price: float | None = None, taker: int | None = None) -> list[Fill]: ...


@dataclass(frozen=True)
class Rules:
    """The exchange's parameters: lot size, fees, mark band and liquidation policy."""

    lot_size: float = 0.001
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    mark_band: float = 0.005
    penalty_rate: float = 0.005
    partial_liquidation: bool = True
    partial_buffer: float = 0.1
    max_rounds: int = 50
    backstop_rounds: int = 10_000


@dataclass(frozen=True)
class OrderResult:
    """What became of a market order: the filled size (units, signed), average price, fee, or why not."""

    account: int
    requested: float
    filled: float = 0.0
    average_price: float = float("nan")
    fee: float = 0.0
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class LiquidationOffer:
    """A liquidatable position put to the liquidators: they bid a price for taking it over."""

    account: int
    position: float
    mark: float
    bankruptcy_price: float
    equity: float
    maintenance_margin: float


@dataclass(frozen=True)
class Bid:
    """A liquidator's offer to take a position over at ``price``."""

    account: int
    price: float


BidSource = Callable[[LiquidationOffer], Sequence[Bid]]


@dataclass
class Counters:
    """Running totals the measures read."""

    bad_debt: float = 0.0
    bad_debt_insurance: float = 0.0
    adl_count: int = 0
    adl_notional: float = 0.0
    liquidation_count: int = 0
    liquidation_notional: float = 0.0
    fees: float = 0.0
    penalties: float = 0.0
    funding_paid_by_longs: float = 0.0


class Exchange:
    """One linear perpetual market with a margin schedule, an insurance fund and a fee account."""

    def __init__(self, schedule: Schedule, rules: Rules = Rules(), *, index_price: float,
                 insurance_fund: float = 0.0, liquidity: Liquidity | None = None, capacity: int = 1024):
        self.schedule = schedule
        self.rules = rules
        self.liquidity = liquidity
        self.index = float(index_price)
        self.mark = float(index_price)
        self.step = 0
        self.counters = Counters()
        self._n = 0
        self.deposits = np.zeros(capacity)
        self.quote = np.zeros(capacity)
        self.lots = np.zeros(capacity, dtype=np.int64)
        self.owner = np.zeros(capacity, dtype=np.int64)
        self.entity = np.zeros(capacity, dtype=np.int64)
        self.kind = np.zeros(capacity, dtype=np.int8)
        self._long_lots = 0
        self._top_leverage_value: float | None = None
        self._events: list[tuple] = []
        self.insurance = self.open_account(owner=-1, kind="insurance", entity=0, deposit=insurance_fund)
        self.treasury = self.open_account(owner=-2, kind="exchange", entity=0)

    # ---------------------------------------------------------------- accounts
    @property
    def n_accounts(self) -> int:
        return self._n

    def _grow(self) -> None:
        for name in ("deposits", "quote", "lots", "owner", "entity", "kind"):
            old = getattr(self, name)
            new = np.zeros(2 * len(old), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def open_account(self, owner: int, kind: str, entity: int | None = None, deposit: float = 0.0) -> int:
        """A new empty account; ``entity`` groups accounts of one owner (defaults to the owner)."""
        if kind not in KIND_CODE:
            raise ValueError(f"unknown account kind {kind!r}")
        if deposit < 0:
            raise ValueError("a deposit must be non-negative")
        if self._n == len(self.quote):
            self._grow()
        account = self._n
        self._n += 1
        self.owner[account] = owner
        self.entity[account] = owner if entity is None else entity
        self.kind[account] = KIND_CODE[kind]
        if deposit:
            self.deposit(account, deposit)
        return account

    def open_accounts(self, owners: np.ndarray, kind: str, deposits: np.ndarray) -> np.ndarray:
        """Many accounts at once (one per owner, each its own entity); returns their indices."""
        if np.any(deposits < 0):
            raise ValueError("a deposit must be non-negative")
        count = len(owners)
        while self._n + count > len(self.quote):
            self._grow()
        accounts = np.arange(self._n, self._n + count)
        self._n += count
        self.owner[accounts] = owners
        self.entity[accounts] = owners
        self.kind[accounts] = KIND_CODE[kind]
        self.deposits[accounts] += deposits
        self.quote[accounts] += deposits
        return accounts

    def deposit(self, account: int, amount: float) -> None:
        """Add collateral from outside the market."""
        if amount < 0:
            raise ValueError("a deposit must be non-negative")
        self.deposits[account] += amount
        self.quote[account] += amount

    def position(self, account: int | None = None) -> float | np.ndarray:
        """Signed position in units, for one account or (None) all."""
        if account is None:
            return self.lots[: self._n] * self.rules.lot_size
        return float(self.lots[account]) * self.rules.lot_size

    def equity(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """Cash plus position at mark, for one account, an array of accounts, or (None) all."""
        at = slice(0, self._n) if account is None else account
        value = self.quote[at] + self.lots[at] * (self.rules.lot_size * self.mark)
        return float(value) if np.ndim(value) == 0 else value

    def notional(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """|position| x mark, for one account, an array of accounts, or (None) all."""
        at = slice(0, self._n) if account is None else account
        value = np.abs(self.lots[at]) * (self.rules.lot_size * self.mark)
        return float(value) if np.ndim(value) == 0 else value

    def liquidation_price(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """The mark at which equity meets maintenance margin, for one account, an array of accounts,
        or (None) all; NaN where there is none."""
        at = slice(0, self._n) if account is None else account
        return self.schedule.liquidation_price(self.lots[at] * self.rules.lot_size, self.quote[at],
                                               self.open_interest_notional(), self.mark)

    def open_interest(self) -> float:
        """Long open interest in units (equal to short open interest)."""
        return self._long_lots * self.rules.lot_size

    def open_interest_notional(self) -> float:
        return self.open_interest() * self.mark

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
        target = sides * (capacity * (1.0 - 1e-10) / self.mark - 1e-8 * self.rules.lot_size)
        return np.maximum(0.0, sides * (target - self.lots[accounts] * self.rules.lot_size))

    def position_capacity(self, accounts: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """Per account, the largest notional on ``sides`` that its equity can carry after fees.

        The fee is paid from equity, so capacity is sized on equity less the largest fee an order
        could cost (taker fee x the schedule's top leverage x equity), plus, for an order that
        reverses the position, the fee on closing the current one.
        """
        oi = self.open_interest_notional()
        held = self.lots[accounts] * (self.rules.lot_size * self.mark)
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
        return -float(self.quote[account]) / (float(lots) * self.rules.lot_size)

    # ---------------------------------------------------------------- prices
    def set_index(self, price: float) -> None:
        """The oracle's new index price; the mark follows within its band."""
        self.index = float(price)
        self.update_mark()

    def update_mark(self) -> float:
        """Mark = book mid held within index x (1 +- band); the index alone when there is no book."""
        band = self.rules.mark_band
        reference = self.liquidity.mid() if self.liquidity is not None else self.index
        self.mark = min(max(float(reference), self.index * (1.0 - band)), self.index * (1.0 + band))
        return self.mark

    # ---------------------------------------------------------------- money movement
    def _set_lots(self, account: int, lots: int) -> None:
        old = int(self.lots[account])
        self._long_lots += max(lots, 0) - max(old, 0)
        self.lots[account] = lots

    def _trade(self, buyer_side_account: int, other: int, lots: int, price: float) -> None:
        """``buyer_side_account`` gains ``lots`` (signed) from ``other`` at ``price``."""
        value = lots * self.rules.lot_size * price
        self._set_lots(buyer_side_account, int(self.lots[buyer_side_account]) + lots)
        self._set_lots(other, int(self.lots[other]) - lots)
        self.quote[buyer_side_account] -= value
        self.quote[other] += value

    def transfer(self, source: int, destination: int, amount: float) -> None:
        """Move cash between two accounts."""
        self.quote[source] -= amount
        self.quote[destination] += amount

    def _execute(self, account: int, lots: int, limit_price: float | None, fee_rate: float) -> tuple[int, float, float]:
        """One market order for ``account``: (filled lots, cost, taker fee)."""
        filled, cost, fee = self._fill([account], [lots], [limit_price], fee_rate)
        return filled[0], cost[0], fee[0]

    def _fill(self, accounts: list[int], lots: list[int], limits: list[float | None],
              fee_rate: float) -> tuple[list[int], list[float], list[float]]:
        """Walk the liquidity for each order in turn and book every fill with its fees.

        Balances are accumulated in Python and applied to the arrays once at the end (nothing reads
        them in between), then the mark follows the book. Returns per order (filled lots, cost,
        taker fee).
        """
        filled = [0] * len(accounts)
        cost = [0.0] * len(accounts)
        fee = [0.0] * len(accounts)
        if self.liquidity is None or not accounts:
            return filled, cost, fee
        lot_size = self.rules.lot_size
        maker_rate = self.rules.maker_fee
        take = self.liquidity.take
        touched: list[int] = []
        delta_lots: list[int] = []
        delta_cash: list[float] = []
        fees = 0.0
        for i, (account, size, limit) in enumerate(zip(accounts, lots, limits)):
            for fill in take(size, limit, account):
                if fill.lots == 0 or fill.maker == account:
                    continue
                value = fill.lots * lot_size * fill.price
                taker_fee = fee_rate * abs(value)
                maker_fee = maker_rate * abs(value)
                touched += (account, fill.maker)
                delta_lots += (fill.lots, -fill.lots)
                delta_cash += (-value - taker_fee, value - maker_fee)
                fees += taker_fee + maker_fee
                filled[i] += fill.lots
                cost[i] += value
                fee[i] += taker_fee
        if touched:
            index = np.array(touched, dtype=np.int64)
            unique = np.fromiter(dict.fromkeys(touched), dtype=np.int64)
            before = np.maximum(self.lots[unique], 0).sum()
            np.add.at(self.lots, index, np.array(delta_lots, dtype=np.int64))
            np.add.at(self.quote, index, np.array(delta_cash))
            self._long_lots += int(np.maximum(self.lots[unique], 0).sum() - before)
            self.quote[self.treasury] += fees
            self.counters.fees += fees
            self.update_mark()
        return filled, cost, fee

    def to_lots(self, size: float | np.ndarray) -> int | np.ndarray:
        """Units to whole lots, toward zero: never more than asked, so less than one lot is none.

        A size within float noise of a whole number of lots (0.003 / 0.001 = 2.9999999999999996)
        counts as that number.
        """
        lots = np.asarray(size, dtype=float) / self.rules.lot_size
        nearest = np.round(lots)
        snapped = np.where(np.abs(lots - nearest) <= 1e-9 + 1e-12 * np.abs(lots), nearest, np.trunc(lots))
        return int(snapped) if np.ndim(size) == 0 else snapped.astype(np.int64)

    def submit_market_order(self, account: int, size: float, reduce_only: bool = False) -> OrderResult:
        """Buy (size > 0) or sell at market. Increasing orders must leave equity above initial margin.

        A reducing order is always allowed. A refused order changes nothing and says why.
        """
        batch = self.prepare_orders(np.array([account]), np.array([size]), reduce_only)
        return batch.execute(0)

    def prepare_orders(self, accounts: np.ndarray, sizes: np.ndarray,
                       reduce_only: np.ndarray | bool = False) -> OrderBatch:
        """Check many market orders at once against the current mark; execute them later, one by one.

        This is how a minute's orders from many traders are judged together (vectorised) and then
        filled in the order the caller chooses; only the orders that passed can be executed.
        """
        accounts = np.asarray(accounts, dtype=np.int64)
        sizes = np.asarray(sizes, dtype=float)
        lots = self.to_lots(sizes)
        current = self.lots[accounts]
        new = current + lots
        reducing = (np.abs(new) <= np.abs(current)) & (new * current >= 0)
        lot_value = self.rules.lot_size * self.mark
        notional = np.abs(new) * lot_value
        required = np.asarray(self.schedule.initial_margin(notional, self.open_interest_notional()))
        fee = self.rules.taker_fee * np.abs(lots) * lot_value
        equity = self.quote[accounts] + current * lot_value
        too_small = lots == 0
        not_reducing = ~too_small & np.asarray(reduce_only) & ~reducing
        increasing = ~too_small & ~not_reducing & ~reducing
        over_limit = increasing & ~np.isfinite(required)
        short_margin = increasing & ~over_limit & (equity - fee < required)
        reasons: list[str | None] = [None] * len(accounts)
        if not (too_small | not_reducing | over_limit | short_margin).any():
            return OrderBatch(self, accounts, sizes, lots, reasons)
        for i in np.flatnonzero(too_small):
            reasons[i] = "smaller than one lot"
        for i in np.flatnonzero(not_reducing):
            reasons[i] = "reduce-only order would increase the position"
        for i in np.flatnonzero(over_limit):
            reasons[i] = (f"notional {notional[i]:,.0f} exceeds the schedule's limit "
                          f"{self.schedule.notional_limit:,.0f}")
        for i in np.flatnonzero(short_margin):
            reasons[i] = (f"insufficient margin: needs {required[i]:,.2f} + fee {fee[i]:,.2f}, "
                          f"equity {equity[i]:,.2f}")
        return OrderBatch(self, accounts, sizes, lots, reasons)

    def unwind_insurance(self, share: float) -> OrderResult | None:
        """The engine works off ``share`` of what the insurance fund took over (at least one lot)."""
        lots = int(self.lots[self.insurance])
        if lots == 0:
            return None
        close = -lots if abs(lots) == 1 else -int(np.sign(lots)) * max(1, int(abs(lots) * share))
        return self.submit_market_order(self.insurance, close * self.rules.lot_size, reduce_only=True)

    def apply_funding(self, rate: float) -> float:
        """Longs pay shorts ``rate`` x notional (shorts pay when negative). Returns what longs paid."""
        n = self._n
        payments = rate * self.lots[:n] * (self.rules.lot_size * self.mark)
        self.quote[:n] -= payments
        paid = float(payments[payments > 0].sum()) if rate >= 0 else float(payments[payments < 0].sum())
        self.counters.funding_paid_by_longs += paid
        return paid

    # ---------------------------------------------------------------- liquidation
    def liquidatable(self) -> np.ndarray:
        """Accounts with an open position whose equity is below maintenance margin at mark."""
        candidates = np.flatnonzero(self.lots[: self._n])
        return candidates[self.below_maintenance(candidates)]

    def below_maintenance(self, accounts: np.ndarray) -> np.ndarray:
        """Per account, whether it holds a position and its equity is below maintenance margin at mark."""
        return (self.lots[accounts] != 0) & (self.equity(accounts) < self.maintenance_margin(accounts))

    def is_liquidatable(self, account: int) -> bool:
        return bool(self.below_maintenance(account))

    def margin_ratio(self, accounts: np.ndarray) -> np.ndarray:
        """Equity over maintenance margin at mark, per account (below 1: liquidatable)."""
        return self.equity(accounts) / np.maximum(self.maintenance_margin(accounts), 1e-300)

    def offer(self, account: int) -> LiquidationOffer:
        """What liquidators see of a liquidatable account."""
        return LiquidationOffer(
            account=account, position=self.position(account), mark=self.mark,
            bankruptcy_price=self.bankruptcy_price(account), equity=self.equity(account),
            maintenance_margin=float(self.maintenance_margin(account)),
        )

    def can_take_over(self, liquidator: int, position: float, price: float) -> bool:
        """Whether the liquidator's equity after buying ``position`` at ``price`` covers its initial margin."""
        lots = self.to_lots(position)
        new_lots = int(self.lots[liquidator]) + lots
        quote = self.quote[liquidator] - lots * self.rules.lot_size * price
        equity = quote + new_lots * self.rules.lot_size * self.mark
        notional = abs(new_lots) * self.rules.lot_size * self.mark
        return bool(equity >= self.schedule.initial_margin(notional, self.open_interest_notional()))

    def take_over(self, account: int, liquidator: int, price: float, round_: int = 1) -> str | None:
        """A liquidator takes the whole position at ``price``; None on success, else the reason.

        The price must be no better for the liquidator than the bankruptcy price and no worse than
        the mark (a discount to the mark), and the liquidator's margin must carry the position.
        """
        if liquidator == account:
            return "an account cannot take over its own position"
        if not self.is_liquidatable(account):
            return "account is not liquidatable"
        lots = int(self.lots[account])
        side = 1 if lots > 0 else -1
        bankrupt = self.bankruptcy_price(account)
        if side * (price - self.mark) > 1e-9 * self.mark:
            return "price is not a discount to the mark"
        if side * (price - bankrupt) < -1e-9 * self.mark:
            return "price is beyond the bankruptcy price"
        position = lots * self.rules.lot_size
        if not self.can_take_over(liquidator, position, price):
            return "liquidator's margin cannot carry the position"
        mark_before = self.mark
        self._trade(liquidator, account, lots, price)
        penalty = self._charge_penalty(account, abs(position) * mark_before)
        self._log(round_, account, lots, mark_before, price, "liquidator", penalty, 0.0)
        return None

    def _charge_penalty(self, account: int, notional: float) -> float:
        """Liquidation penalty to the insurance fund, limited to what equity is left."""
        if account == self.insurance:
            return 0.0
        penalty = min(self.rules.penalty_rate * notional, max(self.equity(account), 0.0))
        if penalty > 0:
            self.transfer(account, self.insurance, penalty)
            self.counters.penalties += penalty
        return penalty

    def _log(self, round_: int, account: int, lots: int, mark_before: float, price: float,
             taker: str, penalty: float, bad_debt: float) -> None:
        size = abs(lots) * self.rules.lot_size
        notional = size * mark_before
        # the tier of the position being liquidated (``lots`` has just left it), not of the part closed
        held = abs(int(self.lots[account]) + lots) * self.rules.lot_size * mark_before
        self._events.append((
            self.step, round_, account, int(self.owner[account]), int(self.entity[account]),
            KINDS[self.kind[account]], "long" if lots > 0 else "short", size, notional,
            int(self.schedule.tier(held, self.open_interest_notional())), mark_before, self.mark,
            price, taker, penalty, bad_debt,
        ))
        self.counters.liquidation_notional += notional

    def _partial_target(self, account: int) -> int | None:
        """Lots to keep so that maintenance is met in a lower tier, or None when a whole close is due."""
        if not self.rules.partial_liquidation:
            return None
        equity = self.equity(account)
        if equity <= 0:
            return None
        lots = int(self.lots[account])
        oi = self.open_interest_notional()
        notional = self.notional(account)
        penalty = self.rules.penalty_rate * notional
        room = (equity - penalty) * (1.0 - self.rules.partial_buffer)
        target_notional = self.schedule.maintenance_capacity(max(room, 0.0), oi)
        if target_notional <= 0 or self.schedule.tier(target_notional, oi) >= self.schedule.tier(notional, oi):
            return None
        keep = int(target_notional / (self.rules.lot_size * self.mark))
        return keep if lots > 0 else -keep

    def _close_in_book(self, account: int, target_lots: int, round_: int) -> None:
        """Engine order towards ``target_lots``, limited at the bankruptcy price; penalty on what filled."""
        lots = int(self.lots[account])
        mark_before = self.mark
        limit = self.bankruptcy_price(account)
        if not limit > 0:
            return
        filled, cost, _ = self._execute(account, target_lots - lots, limit, 0.0)
        if filled == 0:
            return
        closed_notional = abs(filled) * self.rules.lot_size * mark_before
        penalty = self._charge_penalty(account, closed_notional)
        self._log(round_, account, -filled, mark_before, cost / (filled * self.rules.lot_size), "engine", penalty, 0.0)

    def _fund_can_carry(self, lots: int, price: float) -> bool:
        fund = self.insurance
        held = int(self.lots[fund])
        new_lots = held + lots
        equity = self.equity(fund) - lots * self.rules.lot_size * (price - self.mark)
        if abs(new_lots) <= abs(held) and new_lots * held >= 0:
            return equity >= 0
        notional = abs(new_lots) * self.rules.lot_size * self.mark
        return bool(equity >= self.schedule.initial_margin(notional, self.open_interest_notional()))

    def _backstop(self, account: int, round_: int) -> None:
        """Close what is left at the bankruptcy price: the insurance fund takes it, else ADL."""
        lots = int(self.lots[account])
        if lots == 0:
            return
        price = max(self.bankruptcy_price(account), 0.0)
        bad_debt = max(-self.equity(account), 0.0)
        mark_before = self.mark
        if account != self.insurance and self._fund_can_carry(lots, price):
            self._trade(self.insurance, account, lots, price)
            self.counters.bad_debt += bad_debt
            self.counters.bad_debt_insurance += bad_debt
            self._log(round_, account, lots, mark_before, price, "insurance", 0.0, bad_debt)
        else:
            self._auto_deleverage(account, price, round_, bad_debt)
        residual = -self.quote[account] if self.lots[account] == 0 and self.quote[account] < 0 else 0.0
        if residual > 0:
            self.transfer(self.insurance, account, residual)
            self.counters.bad_debt += residual
            self.counters.bad_debt_insurance += residual

    def adl_ranking(self, side: int, exclude: int) -> np.ndarray:
        """Accounts holding positions on ``side``, most profitable x most leveraged first."""
        n = self._n
        lots = self.lots[:n]
        equity = self.equity()
        candidates = np.flatnonzero((np.sign(lots) == side) & (np.arange(n) != exclude))
        eq = equity[candidates]
        deposits = np.maximum(self.deposits[candidates], 1e-12)
        leverage = np.where(eq > 0, np.abs(lots[candidates]) * self.rules.lot_size * self.mark / np.maximum(eq, 1e-12), 0.0)
        profit = (eq - self.deposits[candidates]) / deposits
        score = np.where(eq > 0, profit * leverage, -np.inf)
        order = np.lexsort((candidates, -score))
        return candidates[order]

    def _auto_deleverage(self, account: int, price: float, round_: int, bad_debt: float) -> None:
        """Close the account against the top-ranked opposite positions at ``price``."""
        lots = int(self.lots[account])
        side = 1 if lots > 0 else -1
        mark_before = self.mark
        remaining = abs(lots)
        for opponent in self.adl_ranking(-side, exclude=account):
            if remaining == 0:
                break
            take = min(remaining, abs(int(self.lots[opponent])))
            self._trade(opponent, account, side * take, price)
            remaining -= take
            if opponent != self.insurance and self.lots[opponent] == 0 and self.quote[opponent] < 0:
                # closed beyond its own bankruptcy price: a flat account cannot be liquidated, so
                # its shortfall is bad debt the insurance fund takes on now (as in ``_backstop``)
                shortfall = -float(self.quote[opponent])
                self.transfer(self.insurance, opponent, shortfall)
                self.counters.bad_debt += shortfall
                self.counters.bad_debt_insurance += shortfall
            self.counters.adl_count += 1
            self.counters.adl_notional += take * self.rules.lot_size * mark_before
        self.counters.bad_debt += bad_debt
        self._log(round_, account, lots, mark_before, price, "adl", 0.0, bad_debt)

    def _liquidate_one(self, account: int, round_: int, bids: BidSource | None, use_market: bool) -> None:
        if use_market and bids is not None and account != self.insurance and self.equity(account) > 0:
            offer = self.offer(account)
            side = 1 if offer.position > 0 else -1
            ranked = sorted(bids(offer), key=lambda b: (-side * b.price, b.account))
            for bid in ranked:
                if self.take_over(account, bid.account, bid.price, round_) is None:
                    return
        if use_market:
            target = self._partial_target(account)
            self._close_in_book(account, 0 if target is None else target, round_)
            if target is not None and not self.is_liquidatable(account):
                return
            if self.lots[account] != 0 and target is not None:
                self._close_in_book(account, 0, round_)
        if self.lots[account] != 0:
            self._backstop(account, round_)

    def run_liquidations(self, bids: BidSource | None = None) -> int:
        """Liquidate in rounds until no account is below maintenance; returns the number of rounds.

        Round by round: liquidators bid first; what none takes, the engine closes into the book
        (partially where a lower tier restores maintenance); what the book cannot fill above the
        bankruptcy price goes to the insurance fund, else to auto-deleveraging. After
        ``max_rounds`` only the backstop acts, so the phase always ends clear.
        """
        round_ = 0
        while True:
            candidates = self.liquidatable()
            if len(candidates) == 0:
                return round_
            round_ += 1
            if round_ > self.rules.max_rounds + self.rules.backstop_rounds:
                raise RuntimeError("liquidation did not clear")
            ratio = self.margin_ratio(candidates)
            use_market = round_ <= self.rules.max_rounds
            for account in candidates[np.lexsort((candidates, ratio))]:
                if self.is_liquidatable(account):
                    self.counters.liquidation_count += 1
                    self._liquidate_one(int(account), round_, bids, use_market)

    # ---------------------------------------------------------------- records
    def liquidations(self) -> pd.DataFrame:
        """Every liquidation action so far, one row each (a liquidation may take several)."""
        return pd.DataFrame.from_records(self._events, columns=LIQUIDATION_COLUMNS)

    def events_since(self, start: int) -> list[tuple]:
        return self._events[start:]

    @property
    def event_count(self) -> int:
        return len(self._events)

    def snapshot(self) -> pd.DataFrame:
        """One row per account: balances, position, margins, tier and liquidation price."""
        n = self._n
        notional = self.notional()
        oi = self.open_interest_notional()
        position = self.position()
        return pd.DataFrame({
            "account": np.arange(n),
            "owner": self.owner[:n],
            "entity": self.entity[:n],
            "kind": pd.Categorical.from_codes(self.kind[:n], categories=list(KINDS)),
            "deposits": self.deposits[:n],
            "quote": self.quote[:n],
            "position": position,
            "notional": notional,
            "equity": self.equity(),
            "initial_margin": self.schedule.initial_margin(notional, oi),
            "maintenance_margin": self.schedule.maintenance_margin(notional, oi),
            "tier": self.schedule.tier(notional, oi),
            "liquidation_price": self.liquidation_price(),
        })

    def check_invariants(self, after_liquidation: bool = False) -> None:
        """Raise AssertionError if open interest does not balance or money appeared or vanished."""
        n = self._n
        total_lots = int(self.lots[:n].sum())
        assert total_lots == 0, f"positions sum to {total_lots} lots, not zero"
        equity = float(self.equity().sum())
        deposits = float(self.deposits[:n].sum())
        assert abs(equity - deposits) <= 1e-9 * max(deposits, 1.0), (
            f"equity sums to {equity!r}, deposits to {deposits!r}")
        if after_liquidation:
            below = self.liquidatable()
            assert len(below) == 0, f"accounts below maintenance after liquidation: {below[:10].tolist()}"


class OrderBatch:
    """Orders checked together by ``Exchange.prepare_orders``; each passed order executes once."""

    def __init__(self, exchange: Exchange, accounts: np.ndarray, sizes: np.ndarray, lots: np.ndarray,
                 reasons: list[str | None]):
        self.exchange = exchange
        self.accounts = accounts
        self.sizes = sizes
        self.lots = lots
        self.reasons = reasons
        self._done = np.zeros(len(accounts), dtype=bool)

    def __len__(self) -> int:
        return len(self.accounts)

    def execute(self, i: int) -> OrderResult:
        """Fill order ``i`` at market (or report why it was refused); an order fills at most once."""
        account, size = int(self.accounts[i]), float(self.sizes[i])
        if self.reasons[i] is not None:
            return OrderResult(account, size, reason=self.reasons[i])
        if self._done[i]:
            return OrderResult(account, size, reason="already executed")
        filled, cost, fee = self.execute_many([i])
        if filled[0] == 0:
            return OrderResult(account, size, reason="no liquidity")
        units = filled[0] * self.exchange.rules.lot_size
        return OrderResult(account, size, filled=units, average_price=cost[0] / units, fee=fee[0])

    def execute_many(self, indices: list[int]) -> tuple[list[int], list[float], list[float]]:
        """Fill the passed, not yet executed orders among ``indices``, in that sequence.

        Returns per index (filled lots, cost, taker fee); refused or repeated ones fill nothing.
        """
        runnable = [i for i in indices if self.reasons[i] is None and not self._done[i]]
        self._done[runnable] = True
        exchange = self.exchange
        filled, cost, fee = exchange._fill(self.accounts[runnable].tolist(), self.lots[runnable].tolist(),
                                           [None] * len(runnable), exchange.rules.taker_fee)
        result = {i: (f, c, x) for i, f, c, x in zip(runnable, filled, cost, fee)}
        empty = (0, 0.0, 0.0)
        rows = [result.get(i, empty) for i in indices]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


@dataclass
class LinearImpact:
    """A stand-in market: one maker account fills any size, the price moving ``impact`` per unit.

    Used where there is no order book (exchange tests); the average price of n units is the mid
    moved by half the impact, and the mid moves by the whole of it.
    """

    maker: int
    price: float
    impact: float
    lot_size: float
    fills: list[Fill] = field(default_factory=list)

    def mid(self) -> float:
        return self.price

    def take(self, lots: int, limit_price: float | None = None, taker: int | None = None) -> list[Fill]:
        if lots == 0 or taker == self.maker:       # no self-trade: nothing fills, the price stays
            return []
        side = 1 if lots > 0 else -1
        if limit_price is not None and side * (limit_price - self.price) < 0:
            return []                               # already past the limit
        if limit_price is not None and self.impact > 0:
            room = side * (limit_price / self.price - 1.0) / self.impact
            lots = side * min(abs(lots), max(int(room / self.lot_size), 0))
            if lots == 0:
                return []
        move = self.impact * lots * self.lot_size
        average = self.price * (1.0 + move / 2.0)
        self.price *= 1.0 + move
        fill = Fill(self.maker, lots, average)
        self.fills.append(fill)
        return [fill]
