"""Step 4, trading: whales, arbitrageurs and the acting retail traders, in one random order.

Retail orders are decided and margin-checked together at the step's mark, then filled in the random
sequence, in runs between the whales' own turns: the order of fills is random as the design asks;
what is batched is the margin check. A step costs what the active traders do, not the population.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.retail import DERISK, decide, record_entries

if TYPE_CHECKING:
    from sim.market.model import MarketModel


def acting_retail(model: MarketModel) -> np.ndarray:
    """Slots of the retail traders drawn active this step, those whose stop or target fired, and
    those told to de-risk."""
    pop = model.retail
    ex = model.exchange
    n = len(pop)
    active = model.rng.integers(0, n, model.rng.binomial(n, model.config.retail.activity)) if n else []
    acting = pop.exit_flag == DERISK
    acting[pop.flag_exits(ex.lots[pop.rows], ex.quote[pop.rows], ex.lot_size * ex.mark, model.config.retail)] = True
    acting[active] = True
    return np.flatnonzero(acting)


def trade(model: MarketModel) -> None:
    """Decide the acting traders' orders, check them together, and fill them in a random sequence
    interleaved with the whales' turns."""
    orders = decide(model, acting_retail(model))
    batch = model.exchange.prepare_orders(model.retail.account[orders.slots], orders.sizes, orders.reduce_only)
    filled = np.zeros(len(batch), dtype=np.int64)
    cost = np.zeros(len(batch))
    actors = [*model.whales, *model.arbitrageurs]
    sequence = model.rng.permutation(len(actors) + len(batch))
    turns = np.flatnonzero(sequence < len(actors)).tolist()
    for start, end in zip([-1, *turns], [*turns, len(sequence)]):
        run = sequence[start + 1: end] - len(actors)
        if len(run):
            lots, value, _ = batch.execute_many(run)
            filled[run] = lots
            cost[run] = value
        if end < len(sequence):
            actors[sequence[end]].step()
    units = filled * model.exchange.rules.lot_size
    price = np.divide(cost, units, out=np.zeros_like(cost), where=units != 0)
    record_entries(model, orders, units, price)
