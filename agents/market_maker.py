"""Market makers: quote depth around a reference price, lean against inventory, pull depth in stress."""

from __future__ import annotations

import mesa
import numpy as np

from sim.config import MarketMakerConfig
from sim.exchange import Exchange


class MarketMaker(mesa.Agent):
    """Quotes ``levels`` price levels a side; the reference re-centres towards the index each step.

    Depth shrinks when short-term volatility exceeds normal volatility and when the maker is
    losing money: the liquidity that vanishes in a cascade.
    """

    def __init__(self, model: mesa.Model, config: MarketMakerConfig, normal_volatility: float):
        super().__init__(model)
        self.config = config
        self.normal_volatility = normal_volatility
        exchange = model.exchange
        self.account = exchange.open_account(owner=self.unique_id, kind="market_maker", deposit=config.capital)
        self.peak_equity = config.capital
        self.depth_factor = 1.0
        self.last_index = exchange.index
        self.offsets = config.spread + config.level_spacing * np.arange(config.levels)
        weights = np.arange(1, config.levels + 1, dtype=float) ** -config.depth_profile
        self.profile = weights / weights.sum()

    def plan(self, mid: float, equity: float, liquidatable: bool, capacity: float) -> tuple[float, float, float] | None:
        """This step's reference price and the units to quote a side (bids, asks), around ``mid`` (the
        book's mid before this step's refresh); None when the maker must quote nothing.

        The index's move since the last refresh passes straight into the reference (makers hedge on
        spot, whose price is the index), while the book's own displacement from it, what trading did
        to the mid, decays at the resilience rate; then the quotes lean against inventory and depth
        scales with stress. ``equity``, ``liquidatable`` and ``capacity`` are this maker's ``standings``.
        """
        model = self.model
        exchange = model.exchange
        cfg = self.config
        displacement = mid / self.last_index - 1.0
        self.last_index = exchange.index
        self.peak_equity = max(self.peak_equity, equity)
        if liquidatable or equity <= 0:
            return None
        reference = exchange.index * (1.0 + (1.0 - cfg.resilience) * displacement)
        inventory = exchange.position(self.account)
        fill_ratio = min(max(inventory / capacity, -1.0), 1.0) if capacity > 0 else 0.0
        reference *= 1.0 - cfg.inventory_lean * fill_ratio * cfg.level_spacing * cfg.levels / 4.0
        stress = max(0.0, model.recent_volatility() / self.normal_volatility - 1.0) if self.normal_volatility > 0 else 0.0
        loss = (self.peak_equity - equity) / self.peak_equity if self.peak_equity > 0 else 0.0
        self.depth_factor = 1.0 / ((1.0 + cfg.volatility_pull * stress) * (1.0 + cfg.loss_pull * loss))
        depth = cfg.depth * self.depth_factor
        return reference, min(depth, max(capacity - inventory, 0.0)), min(depth, max(capacity + inventory, 0.0))


def refresh_makers(makers: list[MarketMaker], mid: float) -> None:
    """Every maker replaces its quotes around ``mid``: standings read in one pass, each maker's
    reference and depth from its own state (``plan``), then all levels as arrays, one row per maker:
    prices at the reference's offsets, lots a side's units over the levels by the depth profile, in
    whole lots. A maker that must quote nothing cancels."""
    if not makers:
        return
    model = makers[0].model
    exchange, book = model.exchange, model.book
    accounts = np.array([maker.account for maker in makers], dtype=np.int64)
    plans = [maker.plan(mid, *standing) for maker, standing in zip(makers, zip(*standings(exchange, accounts)))]
    quoting = [(maker, plan) for maker, plan in zip(makers, plans) if plan is not None]
    for maker, plan in zip(makers, plans):
        if plan is None:
            book.cancel(maker.account)
    if not quoting:
        return
    reference, bid_units, ask_units = (np.array(column)[:, None] for column in zip(*(plan for _, plan in quoting)))
    offsets = np.array([maker.offsets for maker, _ in quoting])
    profile = np.array([maker.profile for maker, _ in quoting])
    lot = exchange.rules.lot_size
    bid_prices, ask_prices = reference * (1.0 - offsets), reference * (1.0 + offsets)
    bid_lots = np.floor(bid_units * profile / lot).astype(np.int64)
    ask_lots = np.floor(ask_units * profile / lot).astype(np.int64)
    for row, (maker, _) in enumerate(quoting):
        book.set_quotes(maker.account, bid_prices[row], bid_lots[row], ask_prices[row], ask_lots[row])


def standings(exchange: Exchange, accounts: np.ndarray) -> tuple[list[float], list[bool], list[float]]:
    """Per maker account: equity, whether it is liquidatable, and the inventory (units) the maker
    lets itself carry, half what its margin allows. One vectorised pass for all makers."""
    equity = exchange.equity(accounts)
    capacity = 0.5 * exchange.schedule.max_notional(equity, exchange.open_interest_notional()) / exchange.mark
    return equity.tolist(), exchange.below_maintenance(accounts).tolist(), capacity.tolist()
