"""The market: MarketModel and its step, the fundamental path, spot and the index, the traders' social graph."""

from sim.market.model import MarketModel
from sim.market.record import RunTables

__all__ = ["MarketModel", "RunTables"]
