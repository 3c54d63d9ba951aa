"""The traders: each decides; the exchange enforces. No agent writes another's account."""

from agents.liquidator import Liquidator
from agents.market_maker import MarketMaker
from agents.retail import RetailPopulation, RetailTrader
from agents.whale import Whale

__all__ = ["Liquidator", "MarketMaker", "RetailPopulation", "RetailTrader", "Whale"]
