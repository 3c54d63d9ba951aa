"""Auto-deleveraging: when the insurance fund cannot take a bankrupt position, the most profitable,
most leveraged opposite positions are closed against it at the bankruptcy price.

Exchanges keep an ADL queue, and so does this one: the opposite positions ranked by profit x
leverage, built once for the mark and then updated only for the accounts that traded or paid since
(the account book notes them), so that thousands of ADL closes in a crash do not each rank the
whole market again. A build sorts only the front of the queue (a crash's closes between two marks
take tens of accounts, not the tens of thousands on a side); the rest is sorted if the front runs
out. The order is exactly ``ranking``'s.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

from sim.jit import compiled

if TYPE_CHECKING:
    from sim.exchange.exchange import Exchange


class _Queue:
    """One side's ADL queue: the ranking as built (arrays, read in order) and a heap of the entries of
    accounts changed since, each account's current key kept beside it.

    An account's score changes only when its cash, position or deposits change (or the mark moves,
    when the queue is rebuilt): its entry in the ranking stops counting and its new one goes on the
    heap; the next account is the better of the two fronts. ``rest`` holds the accounts ranked after
    the built front, unsorted, in rising order with their keys (None: none).
    """

    def __init__(self, accounts: np.ndarray, keys: np.ndarray, rest: tuple[np.ndarray, np.ndarray] | None = None):
        self.accounts, self.keys = accounts, keys
        self.rest = rest
        self.next = 0
        self.changed: set[int] = set()
        self.heap: list[tuple[float, int]] = []
        self.current: dict[int, float] = {}

    def update(self, accounts: list[int], keys: list[float], on_side: list[bool]) -> None:
        for account, key, ranked in zip(accounts, keys, on_side):
            self.changed.add(account)
            if ranked:
                self.current[account] = key
                heapq.heappush(self.heap, (key, account))
            else:
                self.current.pop(account, None)

    def pop(self) -> int | None:
        """The top-ranked account, taken off the queue (None when it is empty)."""
        while True:
            while self.next < len(self.accounts) and int(self.accounts[self.next]) in self.changed:
                self.next += 1
            if self.next < len(self.accounts) or self.rest is None:
                break
            accounts, keys = self.rest
            order = np.argsort(keys, kind="stable")
            self.accounts = np.concatenate([self.accounts, accounts[order]])
            self.keys = np.concatenate([self.keys, keys[order]])
            self.rest = None
        while self.heap and self.current.get(self.heap[0][1]) != self.heap[0][0]:
            heapq.heappop(self.heap)
        if self.next < len(self.accounts):
            built = (float(self.keys[self.next]), int(self.accounts[self.next]))
            if not self.heap or built < self.heap[0]:
                self.next += 1
                self.changed.add(built[1])
                return built[1]
        if self.heap:
            account = heapq.heappop(self.heap)[1]
            del self.current[account]
            return account
        return None


class AutoDeleveraging:
    """Ranks opposite positions by profit x leverage and closes them against a bankrupt account."""

    def __init__(self, exchange: Exchange, front: int = 1024):
        """``front``: how many of a side's positions a queue build sorts (at least; more on ties)."""
        self.exchange = exchange
        self.front = front
        self._queues: dict[int, _Queue] = {}
        self._mark = float("nan")

    def scores(self, accounts: np.ndarray) -> np.ndarray:
        """Profit (equity over deposits, less one) x leverage (notional over equity) per account;
        -inf where equity is not positive."""
        ex = self.exchange
        return adl_scores(accounts, ex.quote, ex.lots, ex.deposits, ex.lot_size, ex.mark)

    def ranking(self, side: int, exclude: int = -1) -> np.ndarray:
        """Accounts holding positions on ``side``, most profitable x most leveraged first (ties: the
        lower account first)."""
        return self._ranked(side, exclude)[0]

    def _ranked(self, side: int, exclude: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """``ranking`` and each ranked account's key (minus its score)."""
        candidates, keys = self._candidates(side, exclude)
        order = np.argsort(keys, kind="stable")          # ties keep the candidates' rising order
        return candidates[order], keys[order]

    def _candidates(self, side: int, exclude: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """The accounts holding positions on ``side``, in rising order, and their keys (minus their score)."""
        lots = self.exchange.lots[: self.exchange.n_accounts]
        candidates = np.flatnonzero(lots > 0 if side > 0 else lots < 0)
        candidates = candidates[candidates != exclude]
        return candidates, -self.scores(candidates)

    def _build(self, side: int) -> _Queue:
        """``side``'s queue with its front sorted: every account whose key is at most the
        ``front``-th smallest, ranked as ``ranking`` ranks them; the others after them, unsorted."""
        candidates, keys = self._candidates(side)
        if len(keys) <= self.front:
            order = np.argsort(keys, kind="stable")
            return _Queue(candidates[order], keys[order])
        threshold = np.partition(keys, self.front - 1)[self.front - 1]
        ahead = keys <= threshold
        front = np.flatnonzero(ahead)
        order = front[np.argsort(keys[front], kind="stable")]
        behind = ~ahead
        return _Queue(candidates[order], keys[order], (candidates[behind], keys[behind]))

    def close(self, account: int, price: float, round_: int, bad_debt: float) -> None:
        """Close the account against the top-ranked opposite positions at ``price``."""
        ex = self.exchange
        lots = int(ex.lots[account])
        side = 1 if lots > 0 else -1
        mark_before = ex.mark
        remaining = abs(lots)
        queue = self._queue(-side)
        while remaining:
            opponent = queue.pop()
            if opponent is None:
                break
            take = min(remaining, abs(int(ex.lots[opponent])))
            ex.trade(opponent, account, side * take, price)
            remaining -= take
            if opponent != ex.insurance:
                # closed beyond its own bankruptcy price, a flat opponent's shortfall is bad debt now
                ex.fund.cover(opponent)
            ex.counters.adl_count += 1
            ex.counters.adl_notional += take * ex.lot_size * mark_before
        ex.counters.bad_debt += bad_debt
        ex.events.record(round_, account, lots, mark_before, price, "adl", 0.0, bad_debt)

    def forget(self) -> None:
        """Drop the queues and stop the account book noting changes (the liquidation phase is over)."""
        self._queues = {}
        self.exchange.unwatch()

    def _queue(self, side: int) -> _Queue:
        """``side``'s queue as of now: rebuilt when the mark moved or changes went unnoted, else
        brought up to date with the accounts changed since it was last read."""
        ex = self.exchange
        changed = ex.changes()
        if changed is None or ex.mark != self._mark:
            self._queues = {}
            self._mark = ex.mark
            ex.watch()
        elif changed and self._queues:
            accounts = sorted(changed)
            at = np.array(accounts, dtype=np.int64)
            keys = (-self.scores(at)).tolist()
            lots = ex.lots[at].tolist()
            for queue_side, queue in self._queues.items():
                queue.update(accounts, keys, [held * queue_side > 0 for held in lots])
        if side not in self._queues:
            self._queues[side] = self._build(side)
        return self._queues[side]


@compiled("float64[:](int64[:], float64[:], int64[:], float64[:], float64, float64)")
def adl_scores(accounts: np.ndarray, quote: np.ndarray, lots: np.ndarray, deposits: np.ndarray, lot_size: float,
               mark: float) -> np.ndarray:
    """``AutoDeleveraging.scores``, compiled: the queue rescores a few accounts after every ADL close,
    thousands of times in a crash, where numpy's cost per call outweighs the work."""
    scores = np.empty(len(accounts))
    for i in range(len(accounts)):
        account = accounts[i]
        equity = quote[account] + lots[account] * (lot_size * mark)
        if equity > 0:
            leverage = abs(lots[account]) * lot_size * mark / max(equity, 1e-12)
            scores[i] = (equity - deposits[account]) / max(deposits[account], 1e-12) * leverage
        else:
            scores[i] = -np.inf
    return scores
