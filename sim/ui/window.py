"""What the browser UI's views share: the window of steps they show, their sizes and colours, and
reading the latest steps of a running model.

Over-time views read a bounded window of the latest steps (``WINDOW``), thinned to at most
``MAX_POINTS`` points, so a view costs the same on the first day of a run as on the fifth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np

from sim.exchange import KIND_CODE, LIQUIDATION_COLUMNS

if TYPE_CHECKING:
    from sim.market import MarketModel

WINDOW = 720
MAX_POINTS = 360
MAP_SPAN = 0.15
MAP_BINS = 60
FUEL_SPAN = 0.05
NEAR = 0.02
RECENT = 60
NETWORK_SAMPLE = 150
MAX_TIERS = 10
CASCADE_ROWS = 8
LORENZ_POINTS = 200
SCHEDULE_POINTS = 240

LONG, SHORT = "long", "short"
SIDE_COLOURS = alt.Scale(domain=[LONG, SHORT], range=["#2a9d8f", "#e76f51"])
STATES = ("no position", "healthy", "near liquidation", "liquidated")
STATE_COLOURS = alt.Scale(domain=list(STATES), range=["#c8c8c8", "#57a773", "#f4a259", "#d62828"])
CHART_WIDTH = 470
CHART_HEIGHT = 210
HALF_WIDTH = 215

EVENT_STEP = LIQUIDATION_COLUMNS.index("step")
EVENT_ACCOUNT = LIQUIDATION_COLUMNS.index("account")
EVENT_SIDE = LIQUIDATION_COLUMNS.index("side")
EVENT_NOTIONAL = LIQUIDATION_COLUMNS.index("notional")
EVENT_MARK_AFTER = LIQUIDATION_COLUMNS.index("mark_after")


def clock(step: int, dt_minutes: float) -> str:
    """A step as simulated wall time: ``day 1 15:02``."""
    minutes = round(step * dt_minutes)
    return f"day {minutes // 1440 + 1} {minutes % 1440 // 60:02d}:{minutes % 60:02d}"


def window_column(model: MarketModel, name: str, rows: int = WINDOW + 1) -> np.ndarray:
    """The last ``rows`` values of one collected measure (row i of the collector is step i)."""
    return np.asarray(model.datacollector.model_vars[name][-rows:], dtype=float)


def open_accounts(model: MarketModel) -> np.ndarray:
    """Accounts holding a position, the insurance fund and the exchange's fee account left out."""
    ex = model.exchange
    n = ex.n_accounts
    traded = (ex.kind[:n] != KIND_CODE["insurance"]) & (ex.kind[:n] != KIND_CODE["exchange"])
    return np.flatnonzero((ex.lots[:n] != 0) & traded)
