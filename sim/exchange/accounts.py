"""The account book: one row per account in numpy arrays (deposits, cash, position in lots, owner,
entity, kind), and the transfers that move money and positions between rows.

Positions are integer lots, so open interest balances exactly; cash (``quote``) is USD. Every fill,
fee, penalty and funding payment moves money between two accounts, so the sum of equity always
equals the sum of deposits, at any mark.
"""

from __future__ import annotations

import numpy as np

from sim.jit import compiled

KINDS = ("retail", "whale", "liquidator", "market_maker", "insurance", "exchange", "arbitrageur")
KIND_CODE = {name: code for code, name in enumerate(KINDS)}


class AccountBook:
    """Accounts as rows of arrays, valued at ``mark``; grown by doubling as accounts open."""

    def __init__(self, lot_size: float, mark: float, capacity: int = 1024):
        self.lot_size = lot_size
        self.mark = float(mark)
        self._n = 0
        self.deposits = np.zeros(capacity)
        self.quote = np.zeros(capacity)
        self.lots = np.zeros(capacity, dtype=np.int64)
        self.owner = np.zeros(capacity, dtype=np.int64)
        self.entity = np.zeros(capacity, dtype=np.int64)
        self.kind = np.zeros(capacity, dtype=np.int8)
        self._long_lots = 0
        self._changed: set[int] | None = None

    # ---------------------------------------------------------------- who changed
    def watch(self) -> None:
        """Start noting the accounts whose cash, position or deposits change, so that a reader keeping
        something computed from them (the ADL queue) refreshes only those (``changes``)."""
        self._changed = set()

    def unwatch(self) -> None:
        self._changed = None

    def changes(self) -> set[int] | None:
        """The accounts changed since watching began or since the last call, which starts afresh;
        None when not watching."""
        changed = self._changed
        if changed is not None:
            self._changed = set()
        return changed

    def _note(self, *accounts: int) -> None:
        if self._changed is not None:
            self._changed.update(accounts)

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
        if self._changed is not None:
            self._changed.update(accounts.tolist())
        return accounts

    def deposit(self, account: int, amount: float) -> None:
        """Add collateral from outside the market."""
        if amount < 0:
            raise ValueError("a deposit must be non-negative")
        self.deposits[account] += amount
        self.quote[account] += amount
        self._note(account)

    def transfer(self, source: int, destination: int, amount: float) -> None:
        """Move cash between two accounts."""
        self.quote[source] -= amount
        self.quote[destination] += amount
        self._note(source, destination)

    def position(self, account: int | None = None) -> float | np.ndarray:
        """Signed position in units, for one account or (None) all."""
        if account is None:
            return self.lots[: self._n] * self.lot_size
        return float(self.lots[account]) * self.lot_size

    def equity(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """Cash plus position at mark, for one account, an array of accounts, or (None) all."""
        if isinstance(account, int | np.integer):       # one account: float arithmetic, no array (hot in liquidation)
            return float(self.quote[account]) + int(self.lots[account]) * (self.lot_size * self.mark)
        at = slice(0, self._n) if account is None else account
        value = self.quote[at] + self.lots[at] * (self.lot_size * self.mark)
        return value if isinstance(value, np.ndarray) and value.ndim else float(value)

    def notional(self, account: int | np.ndarray | None = None) -> float | np.ndarray:
        """|position| x mark, for one account, an array of accounts, or (None) all."""
        if isinstance(account, int | np.integer):
            return abs(int(self.lots[account])) * (self.lot_size * self.mark)
        at = slice(0, self._n) if account is None else account
        value = np.abs(self.lots[at]) * (self.lot_size * self.mark)
        return value if isinstance(value, np.ndarray) and value.ndim else float(value)

    def open_interest(self) -> float:
        """Long open interest in units (equal to short open interest)."""
        return self._long_lots * self.lot_size

    def open_interest_notional(self) -> float:
        return self.open_interest() * self.mark

    def _set_lots(self, account: int, lots: int) -> None:
        old = int(self.lots[account])
        self._long_lots += max(lots, 0) - max(old, 0)
        self.lots[account] = lots
        self._note(account)

    def trade(self, buyer: int, seller: int, lots: int, price: float) -> None:
        """``buyer`` gains ``lots`` (signed: negative sells) from ``seller`` at ``price``, no fees."""
        value = lots * self.lot_size * price
        self._set_lots(buyer, int(self.lots[buyer]) + lots)
        self._set_lots(seller, int(self.lots[seller]) - lots)
        self.quote[buyer] -= value
        self.quote[seller] += value

    def settle(self, orders: np.ndarray, takers: np.ndarray, makers: np.ndarray, lots: np.ndarray,
               prices: np.ndarray, n_orders: int, taker_rate: float, maker_rate: float,
               fee_account: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Book fills in the order they happened (``settle_fills``), the fees to ``fee_account``.

        Fill ``i`` belongs to order ``orders[i]`` of ``n_orders``: ``takers[i]`` buys ``lots[i]``
        (negative: sells) from ``makers[i]`` at ``prices[i]``. Returns per order (filled lots, cost,
        taker fee) and the fees collected.
        """
        filled, cost, fee, fees, long_change = settle_fills(
            self.quote, self.lots, orders, takers, makers, lots, prices, n_orders, self.lot_size, taker_rate,
            maker_rate)
        if len(lots):
            self.quote[fee_account] += fees
            self._long_lots += long_change
            if self._changed is not None:
                self._changed.update(takers.tolist(), makers.tolist(), (fee_account,))
        return filled, cost, fee, fees

    def check_closed(self) -> None:
        """Raise AssertionError if open interest does not balance or money appeared or vanished."""
        n = self._n
        total_lots = int(self.lots[:n].sum())
        assert total_lots == 0, f"positions sum to {total_lots} lots, not zero"
        equity = float(self.equity().sum())
        deposits = float(self.deposits[:n].sum())
        assert abs(equity - deposits) <= 1e-9 * max(deposits, 1.0), (
            f"equity sums to {equity!r}, deposits to {deposits!r}")


@compiled("(float64[:], int64[:], int64[:], int64[:], int64[:], int64[:], float64[:], int64, float64,"
          " float64, float64)")
def settle_fills(quote: np.ndarray, position: np.ndarray, orders: np.ndarray, takers: np.ndarray,
                 makers: np.ndarray, lots: np.ndarray, prices: np.ndarray, n_orders: int, lot_size: float,
                 taker_rate: float, maker_rate: float):
    """Each fill in turn: the taker gains the lots and pays their value plus ``taker_rate`` of it;
    the maker gives the lots and receives the value less ``maker_rate`` of it. Compiled (numba), as
    a sequence of fills can run to thousands.

    Returns per order (filled lots, cost, taker fee), both fees summed fill after fill (what the fee
    account receives), and the change in long open interest (lots).
    """
    filled = np.zeros(n_orders, np.int64)
    cost = np.zeros(n_orders)
    fee = np.zeros(n_orders)
    fees = 0.0
    long_change = 0
    for i in range(len(lots)):
        taker, maker, n = takers[i], makers[i], lots[i]
        value = n * lot_size * prices[i]
        taker_fee = taker_rate * abs(value)
        maker_fee = maker_rate * abs(value)
        long_change += max(position[taker] + n, 0) - max(position[taker], 0)
        position[taker] += n
        quote[taker] += -value - taker_fee
        long_change += max(position[maker] - n, 0) - max(position[maker], 0)
        position[maker] -= n
        quote[maker] += value - maker_fee
        fees += taker_fee + maker_fee
        filled[orders[i]] += n
        cost[orders[i]] += value
        fee[orders[i]] += taker_fee
    return filled, cost, fee, fees, long_change
