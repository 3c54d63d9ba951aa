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

    def refresh(self, mid: float, standing: tuple[float, bool, float] | None = None) -> None:
        """Replace this maker's quotes around ``mid`` (the book's mid before this step's refresh).

        The index's move since the last refresh passes straight into the reference (makers hedge on
        spot, whose price is the index), while the book's own displacement from it, what trading did
        to the mid, decays at the resilience rate; then the quotes lean against inventory and depth
        scales with stress.
        ``standing`` is this maker's row of ``standings`` when the model computed all makers' at once.
        """
        model = self.model
        exchange = model.exchange
        cfg = self.config
        if standing is None:
            (equity,), (liquidatable,), (capacity,) = standings(exchange, np.array([self.account]))
        else:
            equity, liquidatable, capacity = standing
        displacement = mid / self.last_index - 1.0
        self.last_index = exchange.index
        self.peak_equity = max(self.peak_equity, equity)
        if liquidatable or equity <= 0:
            model.book.cancel(self.account)
            return
        reference = exchange.index * (1.0 + (1.0 - cfg.resilience) * displacement)
        inventory = exchange.position(self.account)
        fill_ratio = min(max(inventory / capacity, -1.0), 1.0) if capacity > 0 else 0.0
        reference *= 1.0 - cfg.inventory_lean * fill_ratio * cfg.level_spacing * cfg.levels / 4.0
        stress = max(0.0, model.recent_volatility() / self.normal_volatility - 1.0) if self.normal_volatility > 0 else 0.0
        loss = (self.peak_equity - equity) / self.peak_equity if self.peak_equity > 0 else 0.0
        self.depth_factor = 1.0 / ((1.0 + cfg.volatility_pull * stress) * (1.0 + cfg.loss_pull * loss))
        depth = cfg.depth * self.depth_factor
        lot = exchange.rules.lot_size
        offsets = self.offsets
        bid_room = max(capacity - inventory, 0.0)
        ask_room = max(capacity + inventory, 0.0)
        model.book.set_quotes(
            self.account,
            reference * (1.0 - offsets), self._level_lots(min(depth, bid_room), lot),
            reference * (1.0 + offsets), self._level_lots(min(depth, ask_room), lot),
        )

    def _level_lots(self, side_total: float, lot: float) -> np.ndarray:
        """A side's ``side_total`` units over its levels by the depth profile, in whole lots."""
        return np.floor(side_total * self.profile / lot).astype(np.int64)


def standings(exchange: Exchange, accounts: np.ndarray) -> tuple[list[float], list[bool], list[float]]:
    """Per maker account: equity, whether it is liquidatable, and the inventory (units) the maker
    lets itself carry, half what its margin allows. One vectorised pass for all makers."""
    equity = exchange.equity(accounts)
    capacity = 0.5 * exchange.schedule.max_notional(equity, exchange.open_interest_notional()) / exchange.mark
    return equity.tolist(), exchange.below_maintenance(accounts).tolist(), capacity.tolist()
