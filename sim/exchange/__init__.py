"""The exchange: accounts and orders, the order book, the liquidation engine (takeover, close into
the book, insurance fund, ADL) and its log. It enforces rules and knows no strategy: it imports no
agent, no model and not Mesa."""

from sim.exchange.accounts import KIND_CODE, KINDS, AccountBook
from sim.exchange.book import LinearImpact, OrderBook
from sim.exchange.events import LIQUIDATION_COLUMNS, Counters, LiquidationLog
from sim.exchange.exchange import Exchange, Rules
from sim.exchange.liquidation import Bid, BidSource, LiquidationEngine, LiquidationOffer
from sim.exchange.orders import Fill, Fills, Liquidity, OrderBatch, OrderResult

__all__ = [
    "KINDS", "KIND_CODE", "LIQUIDATION_COLUMNS", "AccountBook", "Bid", "BidSource", "Counters", "Exchange",
    "Fill", "Fills", "LinearImpact", "LiquidationEngine", "LiquidationLog", "LiquidationOffer", "Liquidity",
    "OrderBatch", "OrderBook", "OrderResult", "Rules",
]
