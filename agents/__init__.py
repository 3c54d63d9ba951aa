"""The traders: each decides; the exchange enforces. No agent writes another's account."""

from agents.arbitrageur import Arbitrageur
from agents.liquidator import Liquidator
from agents.market_maker import MarketMaker
from agents.retail import RetailPopulation, RetailTrader
from agents.whale import Whale

__all__ = ["Arbitrageur", "Liquidator", "MarketMaker", "RetailPopulation", "RetailTrader", "Whale"]
