"""What the views remember between steps, in bounded memory: liquidation steps per account, the
window's liquidation events, and the cascade log."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import measures
from sim.exchange import LIQUIDATION_COLUMNS
from sim.ui.schedule_chart import schedule_curve
from sim.ui.window import EVENT_ACCOUNT, WINDOW

if TYPE_CHECKING:
    from sim.market import MarketModel


class CascadeLog:
    """Cascades so far, kept step by step: closed cascades are measured once, the open one on demand.

    Grouping and measures are ``measures.detect_cascades`` over one cascade's liquidations, so the
    rows equal ``MarketModel.cascades()`` without re-reading the whole history each step.
    """

    def __init__(self, gap: int):
        self.gap = gap
        self.closed: list[dict[str, Any]] = []
        self._first_event: int | None = None
        self._end_event = 0
        self._first_step = 0
        self._last_step = 0
        self._open_row: dict[str, Any] | None = None

    def record(self, model: MarketModel) -> None:
        """Take in the step just run."""
        step = model.steps
        if self._first_event is not None:
            quiet = step - self._last_step
            if quiet > self.gap + 1 or (not model.step_events and quiet >= self.gap + 1):
                self._close(model)
        if model.step_events:
            self._open_row = None
            if self._first_event is None:
                self._first_event = len(model.exchange.events) - len(model.step_events)
                self._first_step = step
            self._last_step = step
            self._end_event = len(model.exchange.events)

    def _measure(self, model: MarketModel) -> dict[str, Any]:
        count = self._end_event - self._first_event
        events = model.exchange.events.since(self._first_event)[:count]
        liquidations = pd.DataFrame.from_records(events, columns=LIQUIDATION_COLUMNS)
        vars_ = model.datacollector.model_vars
        lo, hi = max(self._first_step - 1, 0), self._last_step + 1
        timeseries = pd.DataFrame({name: vars_[name][lo:hi] for name in ("step", "mark", "index", "fundamental")})
        row = measures.detect_cascades(liquidations, timeseries, self.gap).iloc[0].to_dict()
        row["cascade"] = len(self.closed)
        return row

    def _close(self, model: MarketModel) -> None:
        self.closed.append(self._measure(model))
        self._first_event = None
        self._open_row = None

    def rows(self, model: MarketModel) -> list[dict[str, Any]]:
        """Every cascade so far, oldest first; the last may still be growing."""
        if self._first_event is None:
            return list(self.closed)
        if self._open_row is None:
            self._open_row = self._measure(model)
        return [*self.closed, self._open_row]


class RunWatch:
    """Per-step records the views need beyond the model's latest state, in bounded memory."""

    def __init__(self, model: MarketModel):
        self.event_marks: deque[int] = deque([len(model.exchange.events)], maxlen=WINDOW + 1)
        self.last_liquidated = np.full(model.exchange.n_accounts, -(10**9), dtype=np.int64)
        self.cascades = CascadeLog(model.config.metrics.cascade_gap)
        self.schedule_curve = schedule_curve(model.exchange.schedule, model.exchange.open_interest_notional())

    def record(self, model: MarketModel) -> None:
        """Take in the step just run (call after each ``model.step()``)."""
        self.event_marks.append(len(model.exchange.events))
        n = model.exchange.n_accounts
        if n > len(self.last_liquidated):
            grown = np.full(max(n, 2 * len(self.last_liquidated)), -(10**9), dtype=np.int64)
            grown[: len(self.last_liquidated)] = self.last_liquidated
            self.last_liquidated = grown
        if model.step_events:
            accounts = np.array([event[EVENT_ACCOUNT] for event in model.step_events], dtype=np.int64)
            self.last_liquidated[accounts] = model.steps
        self.cascades.record(model)

    def window_events(self, model: MarketModel) -> list[tuple]:
        """Liquidation events of the steps the over-time views show."""
        return model.exchange.events.since(self.event_marks[0])
