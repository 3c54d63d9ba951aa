"""What a run records: a row of measures each step (concentration, liquidations, prices, depth) and
open interest by tier; at the end, the tables and the one-row summary a sweep stacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim import measures
from sim.exchange import KIND_CODE
from sim.jit import compiled

if TYPE_CHECKING:
    from sim.market.model import MarketModel


@dataclass
class RunTables:
    """A finished run's summary row and the tables it is computed from."""

    summary: dict[str, float]
    timeseries: pd.DataFrame
    liquidations: pd.DataFrame
    cascades: pd.DataFrame
    tiers: pd.DataFrame


class SortedLots:
    """The open positions (lots, signed) in ascending order, kept from one step to the next: the
    accounts whose lots changed since are taken out at their old lots and put back at their new ones,
    rather than every open position sorted again (a step changes a few per cent of them)."""

    def __init__(self) -> None:
        self._seen = np.zeros(0, dtype=np.int64)       # each account's lots when last updated
        self.ordered = np.zeros(0, dtype=np.int64)

    def update(self, lots: np.ndarray) -> np.ndarray:
        """The nonzero values of ``lots`` (every account's, in account order) sorted ascending."""
        if len(lots) > len(self._seen):                         # grown by doubling as accounts open
            self._seen = np.concatenate([self._seen, np.zeros(max(len(lots), 2 * len(self._seen)) - len(self._seen),
                                                              dtype=np.int64)])
        self.ordered = resorted(np.ascontiguousarray(lots, dtype=np.int64), self._seen, self.ordered)
        return self.ordered


@compiled("int64[:](int64[:], int64[:], int64[:])")
def resorted(lots: np.ndarray, seen: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """``ordered`` (the nonzero values of ``seen``, sorted) brought up to ``lots``: the changed
    accounts' old values taken out and their new ones put in, in one merge; ``seen`` becomes ``lots``.
    Compiled: a pass over every account each step, where numpy took several."""
    old = np.empty(len(lots), np.int64)
    new = np.empty(len(lots), np.int64)
    n_old = n_new = 0
    for account in range(len(lots)):
        if lots[account] != seen[account]:
            if seen[account] != 0:
                old[n_old] = seen[account]
                n_old += 1
            if lots[account] != 0:
                new[n_new] = lots[account]
                n_new += 1
            seen[account] = lots[account]
    if n_old == 0 and n_new == 0:
        return ordered
    old, new = np.sort(old[:n_old]), np.sort(new[:n_new])
    merged = np.empty(len(ordered) - n_old + n_new, np.int64)
    i = j = k = out = 0                     # i: ordered, j: old (to take out), k: new (to put in)
    while i < len(ordered) or k < n_new:
        if i < len(ordered) and j < n_old and ordered[i] == old[j]:
            i += 1
            j += 1
        elif k < n_new and (i == len(ordered) or new[k] <= ordered[i]):
            merged[out] = new[k]
            k += 1
            out += 1
        else:
            merged[out] = ordered[i]
            i += 1
            out += 1
    return merged


class MarketRecord:
    """The measures of the latest step (``measures``, which the model's DataCollector reads) and
    open interest by tier over the run."""

    def __init__(self, model: MarketModel):
        self.model = model
        self.tier_rows: list[np.ndarray] = []
        self.measures: dict[str, float] = {}
        self._arbitrage_accounts = np.array([arb.account for arb in model.arbitrageurs], dtype=np.int64)
        self._sorted = SortedLots()

    def measure(self) -> None:
        """This step's row of measures, computed over the accounts holding a position (the flat ones
        add nothing to any share, count or tier)."""
        model = self.model
        ex = model.exchange
        every = ex.lots[: ex.n_accounts]
        holders = np.flatnonzero(every != 0)
        lots = ex.lots[holders]
        concentration = measures.concentration(lots, ex.rules.lot_size * ex.mark, ex.entity[holders],
                                               ex.kind[holders] == KIND_CODE["whale"], model.config.metrics.top_k,
                                               ordered=self._sorted.update(every))
        position = lots * ex.rules.lot_size
        tiers = ex.schedule.tier(np.abs(position) * ex.mark, ex.open_interest_notional())
        tier_notional, tier_accounts = measures.tier_open_interest(position, ex.mark, tiers, ex.schedule.n_tiers)
        self.tier_rows.append(np.concatenate([[model.steps], tier_notional, tier_accounts]))
        events = model.step_events
        bid_depth, ask_depth = model.book.depth(0.01)
        self.measures = {
            "step": model.steps,
            "index": ex.index,
            "mark": ex.mark,
            "insurance_fund": ex.equity(ex.insurance),
            "bad_debt": ex.counters.bad_debt,
            "adl_count": ex.counters.adl_count,
            "liquidation_count": len({event[2] for event in events}),
            "liquidation_notional": float(sum(event[8] for event in events)),
            "funding_rate": ex.funding.rate,
            "depth_bid": bid_depth * ex.rules.lot_size,
            "depth_ask": ask_depth * ex.rules.lot_size,
            "retail_traders": len(model.retail),
            "retail_leverage": self.retail_leverage(holders, lots),
            **concentration,
            **self.price_formation(),
        }

    def retail_leverage(self, holders: np.ndarray, lots: np.ndarray) -> float:
        """The contract-weighted leverage of open retail positions: each position's entry leverage
        weighted by its notional now (0 with none open); ``holders`` are the accounts holding ``lots``."""
        pop = self.model.retail
        slots = pop.slots_of(holders)
        retail = slots >= 0
        return measures.contract_weighted(pop.entry_leverage[slots[retail]], lots[retail])

    def price_formation(self) -> dict[str, float]:
        """The fundamental beside the index (spot) and the perpetual's book, and how much of the
        arbitrageurs' room is in use."""
        model = self.model
        ex = model.exchange
        mid = model.book.mid()
        accounts = self._arbitrage_accounts
        equity = float(np.maximum(ex.equity(accounts), 0.0).sum()) if accounts.size else 0.0
        used = float(np.sum(ex.initial_margin(accounts))) if accounts.size else 0.0
        return {
            "fundamental": model.spot.fundamental[model.spot.step],
            "perp_mid": mid,
            "basis": mid / ex.index - 1.0,
            "spot_impact": model.spot.impact(),
            "arbitrage_position": float((ex.lots[accounts] * ex.lot_size).sum() * ex.mark) if accounts.size else 0.0,
            "arbitrage_margin_use": used / equity if equity > 0 else (1.0 if used > 0 else 0.0),
        }

    def tiers(self) -> pd.DataFrame:
        """Open interest and account count per tier, one row per step and tier with any position."""
        k = self.model.exchange.schedule.n_tiers
        data = np.vstack(self.tier_rows)
        steps = np.repeat(data[:, 0].astype(np.int64), k)
        frame = pd.DataFrame({
            "step": steps,
            "tier": np.tile(np.arange(1, k + 1), len(data)),
            "notional": data[:, 1: 1 + k].ravel(),
            "accounts": data[:, 1 + k:].ravel().astype(np.int64),
        })
        return frame[frame["accounts"] > 0].reset_index(drop=True)


class MeasureCollector(mesa.DataCollector):
    """Mesa's DataCollector with a model reporter per measure of the record. Collecting appends the
    record's latest values as they are: plain numbers, which need neither a reporter call nor the copy
    Mesa makes of each reported value."""

    def __init__(self, record: MarketRecord):
        super().__init__(model_reporters={name: (lambda model, key=name: model.record.measures[key])
                                          for name in record.measures})

    def collect(self, model: mesa.Model) -> None:
        for name, value in model.record.measures.items():
            self.model_vars[name].append(value)
