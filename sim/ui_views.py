"""What each view of the browser UI shows, computed from a running MarketModel, and how it is drawn.

Every function here reads the model's public state and returns rows for a Vega-Lite template; none
needs solara, so tests and the benchmark call them directly. Over-time views read a bounded window
of the latest steps (``WINDOW``), thinned to at most ``MAX_POINTS`` points, so a view costs the same
on the first day of a run as on the fifth. ``RunWatch`` keeps the little the views need beyond the
model's latest state (liquidation steps per account, the cascade log), also in bounded memory.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import altair as alt
import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import Network

from sim import metrics
from sim.exchange import KIND_CODE, LIQUIDATION_COLUMNS
from sim.margin import Schedule
from sim.plots import schedule_axis
from sim.ui_vega import records, thin, vega_spec

if TYPE_CHECKING:
    from sim.model import MarketModel

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

_STEP = LIQUIDATION_COLUMNS.index("step")
_ACCOUNT = LIQUIDATION_COLUMNS.index("account")
_SIDE = LIQUIDATION_COLUMNS.index("side")
_NOTIONAL = LIQUIDATION_COLUMNS.index("notional")
_MARK_AFTER = LIQUIDATION_COLUMNS.index("mark_after")


def clock(step: int, dt_minutes: float) -> str:
    """A step as simulated wall time: ``day 1 15:02``."""
    minutes = round(step * dt_minutes)
    return f"day {minutes // 1440 + 1} {minutes % 1440 // 60:02d}:{minutes % 60:02d}"


def _column(model: MarketModel, name: str, rows: int = WINDOW + 1) -> np.ndarray:
    """The last ``rows`` values of one collected measure (row i of the collector is step i)."""
    return np.asarray(model.datacollector.model_vars[name][-rows:], dtype=float)


def _open_accounts(model: MarketModel) -> np.ndarray:
    """Accounts holding a position, the insurance fund and the exchange's fee account left out."""
    ex = model.exchange
    n = ex.n_accounts
    traded = (ex.kind[:n] != KIND_CODE["insurance"]) & (ex.kind[:n] != KIND_CODE["exchange"])
    return np.flatnonzero((ex.lots[:n] != 0) & traded)


# --------------------------------------------------------------------------------------------
# What the views remember between steps
# --------------------------------------------------------------------------------------------


class CascadeLog:
    """Cascades so far, kept step by step: closed cascades are measured once, the open one on demand.

    Grouping and measures are ``metrics.detect_cascades`` over one cascade's liquidations, so the
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
                self._first_event = model.exchange.event_count - len(model.step_events)
                self._first_step = step
            self._last_step = step
            self._end_event = model.exchange.event_count

    def _measure(self, model: MarketModel) -> dict[str, Any]:
        count = self._end_event - self._first_event
        events = model.exchange.events_since(self._first_event)[:count]
        liquidations = pd.DataFrame.from_records(events, columns=LIQUIDATION_COLUMNS)
        vars_ = model.datacollector.model_vars
        lo, hi = max(self._first_step - 1, 0), self._last_step + 1
        timeseries = pd.DataFrame({name: vars_[name][lo:hi] for name in ("step", "mark", "index")})
        row = metrics.detect_cascades(liquidations, timeseries, self.gap).iloc[0].to_dict()
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
        self.event_marks: deque[int] = deque([model.exchange.event_count], maxlen=WINDOW + 1)
        self.last_liquidated = np.full(model.exchange.n_accounts, -(10**9), dtype=np.int64)
        self.cascades = CascadeLog(model.config.metrics.cascade_gap)
        self.schedule_curve = schedule_curve(model.exchange.schedule, model.exchange.open_interest_notional())

    def record(self, model: MarketModel) -> None:
        """Take in the step just run (call after each ``model.step()``)."""
        self.event_marks.append(model.exchange.event_count)
        n = model.exchange.n_accounts
        if n > len(self.last_liquidated):
            grown = np.full(max(n, 2 * len(self.last_liquidated)), -(10**9), dtype=np.int64)
            grown[: len(self.last_liquidated)] = self.last_liquidated
            self.last_liquidated = grown
        if model.step_events:
            accounts = np.array([event[_ACCOUNT] for event in model.step_events], dtype=np.int64)
            self.last_liquidated[accounts] = model.steps
        self.cascades.record(model)

    def window_events(self, model: MarketModel) -> list[tuple]:
        """Liquidation events of the steps the over-time views show."""
        return model.exchange.events_since(self.event_marks[0])


# --------------------------------------------------------------------------------------------
# The traders' social graph as Mesa's network space
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSample:
    """The drawn part of the social graph: Mesa ``Network`` plus arrays aligned with its nodes."""

    space: Network
    keys: list[Any]
    x: np.ndarray
    y: np.ndarray
    accounts: list[np.ndarray]
    whale: np.ndarray
    edges: list[dict[str, float]]
    population: int


def sample_nodes(graph: nx.Graph, size: int, rng: np.random.Generator) -> list[int]:
    """Up to ``size`` nodes grown breadth-first from random starts: a connected slice of the graph."""
    nodes = list(graph.nodes)
    if len(nodes) <= size:
        return nodes
    chosen: dict[int, None] = {}
    while len(chosen) < size:
        start = int(nodes[rng.integers(len(nodes))])
        if start in chosen:
            continue
        chosen[start] = None
        for _, node in nx.bfs_edges(graph, start):
            if len(chosen) >= size:
                break
            chosen.setdefault(node, None)
    return list(chosen)


def trader_network(model: MarketModel, size: int = NETWORK_SAMPLE) -> NetworkSample:
    """A Mesa ``Network`` of a bounded sample of retail traders (with their ties) and the whales.

    Whales are not in the social graph; they are drawn apart, in a row above it. The sample and
    layout use their own random stream, so drawing never changes the model's.
    """
    rng = np.random.default_rng([model.seed, 7])
    social = model.network.graph
    slots = sample_nodes(social, size, rng)
    graph = social.subgraph(slots).copy()
    layout = nx.spring_layout(graph, seed=int(rng.integers(2**31)), iterations=40) if len(graph) else {}
    xs = np.array([p[0] for p in layout.values()]) if layout else np.array([0.0])
    ys = np.array([p[1] for p in layout.values()]) if layout else np.array([0.0])
    top = ys.max() + 0.3 * max(np.ptp(ys), 0.5)
    count = len(model.whales)
    for i in range(count):
        key = f"whale {i + 1}"
        graph.add_node(key)
        layout[key] = (xs.min() + (i + 1) * np.ptp(xs) / (count + 1), top)
    space = Network(graph, capacity=1, random=random.Random(int(rng.integers(2**31))), layout=layout)
    keys, x, y, accounts, whale = [], [], [], [], []
    for cell in space.all_cells:
        keys.append(cell.coordinate)
        x.append(float(cell.position[0]))
        y.append(float(cell.position[1]))
        is_whale = isinstance(cell.coordinate, str)
        whale.append(is_whale)
        if is_whale:
            accounts.append(np.asarray(model.whales[int(cell.coordinate.split()[1]) - 1].accounts))
        else:
            accounts.append(np.asarray([model.retail.account[cell.coordinate]]))
    edges = [{"x": layout[a][0], "y": layout[a][1], "x2": layout[b][0], "y2": layout[b][1]}
             for a, b in graph.edges]
    return NetworkSample(space, keys, np.array(x), np.array(y), accounts, np.array(whale), edges,
                         len(model.retail))


# --------------------------------------------------------------------------------------------
# 1. Index and mark, with liquidations
# --------------------------------------------------------------------------------------------


def price_data(model: MarketModel, watch: RunWatch) -> dict[str, list]:
    """Index and mark over the window; liquidations summed per step and side, at the mark after."""
    step = _column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    prices = records(step=step[keep].astype(int), index=_column(model, "index")[keep],
                     mark=_column(model, "mark")[keep])
    events = watch.window_events(model)
    if events:
        step = np.array([e[_STEP] for e in events], dtype=np.int64)
        short = np.array([e[_SIDE] == SHORT for e in events])
        keys, group = np.unique(2 * step + short, return_inverse=True)
        last = np.zeros(len(keys), dtype=np.int64)
        np.maximum.at(last, group, np.arange(len(events)))
        notional = np.bincount(group, weights=[e[_NOTIONAL] for e in events]) / 1e6
        liquidations = records(step=keys // 2, side=np.where(keys % 2 == 1, SHORT, LONG), notional=notional,
                               price=np.array([events[i][_MARK_AFTER] for i in last]),
                               count=np.bincount(group))
    else:
        liquidations = []
    return {"prices": prices, "liquidations": liquidations}


@cache
def price_chart() -> dict[str, Any]:
    base = alt.Chart(alt.NamedData("prices")).transform_fold(["index", "mark"], as_=["series", "price"])
    lines = base.mark_line(strokeWidth=1.5).encode(
        x=alt.X("step:Q", title="step (minutes)"),
        y=alt.Y("price:Q", title="price (USD)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=["index", "mark"], range=["#9a9a9a", "#1d3557"]),
                        legend=alt.Legend(title=None, orient="bottom", direction="horizontal")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["index", "mark"], range=[[4, 3], [1, 0]]),
                                  legend=None))
    dots = alt.Chart(alt.NamedData("liquidations")).mark_circle(opacity=0.75, stroke="white", strokeWidth=0.5).encode(
        x="step:Q", y="price:Q",
        size=alt.Size("notional:Q", scale=alt.Scale(range=[15, 500]), legend=None),
        color=alt.Color("side:N", scale=SIDE_COLOURS, title="liquidated",
                        legend=alt.Legend(orient="bottom", direction="horizontal")),
        tooltip=["step:Q", "side:N", "count:Q", alt.Tooltip("notional:Q", format=".2f", title="M USD")])
    chart = alt.layer(lines, dots).resolve_scale(color="independent", size="independent")
    return vega_spec(chart.properties(width=CHART_WIDTH - 20, height=CHART_HEIGHT - 20))


# --------------------------------------------------------------------------------------------
# 2. The liquidation map
# --------------------------------------------------------------------------------------------


def liquidation_map_data(model: MarketModel) -> tuple[dict[str, list], dict[str, float]]:
    """Open notional by liquidation price within ±MAP_SPAN of the mark (longs below, shorts above),
    and the fuel within ±FUEL_SPAN: what a move of that size would liquidate."""
    ex = model.exchange
    mark = ex.mark
    accounts = _open_accounts(model)
    price = ex.liquidation_price(accounts)
    position = ex.lots[accounts]
    notional = ex.notional(accounts)
    edges = mark * (1.0 + np.linspace(-MAP_SPAN, MAP_SPAN, MAP_BINS + 1))
    rows: list[dict] = []
    fuel = {}
    for side, held in ((LONG, position > 0), (SHORT, position < 0)):
        known = held & np.isfinite(price)
        sums, _ = np.histogram(price[known], bins=edges, weights=notional[known])
        filled = np.flatnonzero(sums > 0)
        rows += records(lo=edges[filled], hi=edges[filled + 1], notional=sums[filled] / 1e6,
                        side=np.full(len(filled), side))
        near = known & (np.abs(price / mark - 1.0) <= FUEL_SPAN)
        fuel[side] = float(notional[near].sum())
    return {"bins": rows, "mark": [{"price": mark}]}, fuel


@cache
def liquidation_map_chart() -> dict[str, Any]:
    bars = alt.Chart(alt.NamedData("bins")).mark_rect(opacity=0.85).encode(
        x=alt.X("lo:Q", title="liquidation price (USD)", scale=alt.Scale(zero=False)), x2="hi:Q",
        y=alt.Y("notional:Q", title="open interest (M USD)", stack=True), y2=alt.datum(0),
        color=alt.Color("side:N", scale=SIDE_COLOURS, title="position",
                        legend=alt.Legend(orient="top-right")),
        tooltip=[alt.Tooltip("lo:Q", format=",.0f", title="from"), alt.Tooltip("hi:Q", format=",.0f", title="to"),
                 "side:N", alt.Tooltip("notional:Q", format=".2f", title="M USD")])
    mark = alt.Chart(alt.NamedData("mark")).mark_rule(color="#1d3557", strokeWidth=2).encode(x="price:Q")
    return vega_spec(alt.layer(bars, mark).properties(width=CHART_WIDTH - 40, height=CHART_HEIGHT))


# --------------------------------------------------------------------------------------------
# 3. Concentration
# --------------------------------------------------------------------------------------------


def concentration_data(model: MarketModel) -> dict[str, list]:
    """HHI over accounts and entities and the top-10 share over the window; the Lorenz curve now."""
    step = _column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    series = records(step=step[keep].astype(int), **{
        "HHI accounts": _column(model, "hhi_accounts")[keep],
        "HHI entities": _column(model, "hhi_entities")[keep],
        "top-10 share": _column(model, "top10_share")[keep]})
    accounts = _open_accounts(model)
    ex = model.exchange
    population, share = metrics.lorenz_curve(ex.notional(accounts))
    keep = thin(len(population), LORENZ_POINTS)
    return {"series": series, "lorenz": records(accounts=population[keep], open_interest=share[keep])}


@cache
def concentration_chart() -> dict[str, Any]:
    names = ["HHI accounts", "HHI entities", "top-10 share"]
    over_time = alt.Chart(alt.NamedData("series")).transform_fold(names, as_=["measure", "value"]).mark_line().encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("value:Q", title="share of open interest", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", scale=alt.Scale(domain=names), legend=alt.Legend(title=None, orient="bottom",
                                                                                      columns=3)),
        strokeDash=alt.StrokeDash("measure:N", scale=alt.Scale(domain=names, range=[[1, 0], [5, 3], [1, 0]]),
                                  legend=None),
    ).properties(width=HALF_WIDTH, height=CHART_HEIGHT - 30, title="over time")
    lorenz = alt.Chart(alt.NamedData("lorenz")).mark_line(color="#1d3557", interpolate="step-after").encode(
        x=alt.X("accounts:Q", title="share of open accounts", axis=alt.Axis(format="%")),
        y=alt.Y("open_interest:Q", title="share of open interest", axis=alt.Axis(format="%")))
    equality = alt.Chart(alt.Data(values=[{"a": 0}, {"a": 1}])).mark_line(color="#bbbbbb", strokeDash=[3, 3]).encode(
        x="a:Q", y="a:Q")
    now = alt.layer(equality, lorenz).properties(width=HALF_WIDTH - 40, height=CHART_HEIGHT - 30,
                                                 title="Lorenz curve now")
    return vega_spec(alt.hconcat(over_time, now).resolve_scale(color="independent"))


# --------------------------------------------------------------------------------------------
# 4. Tiers
# --------------------------------------------------------------------------------------------


def tier_data(model: MarketModel) -> dict[str, list]:
    """Open interest and accounts per tier now, and open interest per tier over the window.

    Tiers count both sides (notionals sum to twice the open interest). Past ``MAX_TIERS`` occupied
    tiers the highest are pooled into one group, numbered by its lowest tier ("n and above").
    """
    k = model.exchange.schedule.n_tiers
    window = model.tier_rows[-(WINDOW + 1):]
    rows = np.asarray([window[i] for i in thin(len(window), MAX_POINTS // 2)])
    step, notional, accounts = rows[:, 0].astype(int), rows[:, 1: 1 + k], rows[:, 1 + k:]
    occupied = np.flatnonzero((notional > 0).any(axis=0))
    if len(occupied) > MAX_TIERS:
        head, tail = occupied[: MAX_TIERS - 1], occupied[MAX_TIERS - 1:]
        notional = np.column_stack([notional[:, head], notional[:, tail].sum(axis=1)])
        accounts = np.column_stack([accounts[:, head], accounts[:, tail].sum(axis=1)])
        tiers = np.append(head, tail[0]) + 1
        labels = [str(t) for t in tiers[:-1]] + [f"{tiers[-1]} and above"]
    else:
        notional, accounts = notional[:, occupied], accounts[:, occupied]
        tiers = occupied + 1
        labels = [str(t) for t in tiers]
    labels = np.array(labels, dtype=object)
    now = records(tier=tiers, label=labels, notional=notional[-1] / 1e6, accounts=accounts[-1].astype(int))
    over_time = records(step=np.repeat(step, len(tiers)), tier=np.tile(tiers, len(step)),
                        label=np.tile(labels, len(step)), notional=notional.ravel() / 1e6)
    return {"now": now, "over_time": over_time}


@cache
def tier_chart() -> dict[str, Any]:
    colour = alt.Color("tier:O", title="tier", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(orient="right"))
    bars = alt.Chart(alt.NamedData("now")).mark_bar().encode(
        x=alt.X("tier:O", title="tier", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("notional:Q", title="open interest (M USD)"), color=colour,
        tooltip=[alt.Tooltip("label:N", title="tier"), alt.Tooltip("notional:Q", format=".2f", title="M USD"),
                 "accounts:Q"])
    counts = bars.mark_text(dy=-6, fontSize=10).encode(text="accounts:Q", color=alt.value("#333333"))
    now = alt.layer(bars, counts).properties(width=HALF_WIDTH - 95, height=CHART_HEIGHT - 30,
                                             title="now (labels: accounts)")
    area = alt.Chart(alt.NamedData("over_time")).mark_area().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("notional:Q", title="open interest (M USD)", stack=True),
        color=colour, order=alt.Order("tier:Q"),
        tooltip=["step:Q", alt.Tooltip("label:N", title="tier"), alt.Tooltip("notional:Q", format=".2f", title="M USD")])
    chart = alt.hconcat(now, area.properties(width=HALF_WIDTH - 65, height=CHART_HEIGHT - 30, title="over time"))
    return vega_spec(chart.properties(padding={"left": 5, "top": 5, "right": 30, "bottom": 5}))


# --------------------------------------------------------------------------------------------
# 5. Insurance fund, bad debt, ADL
# --------------------------------------------------------------------------------------------

FUND_SERIES = ("insurance fund (M USD)", "bad debt (M USD)", "ADL closes")


def fund_data(model: MarketModel) -> dict[str, list]:
    """Insurance fund, cumulative bad debt and cumulative auto-deleveraging closes over the window."""
    step = _column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    fund, debt, adl = FUND_SERIES
    return {"fund": records(step=step[keep].astype(int), **{
        fund: _column(model, "insurance_fund")[keep] / 1e6,
        debt: _column(model, "bad_debt")[keep] / 1e6,
        adl: _column(model, "adl_count")[keep]})}


@cache
def fund_chart() -> dict[str, Any]:
    chart = alt.Chart(alt.NamedData("fund")).transform_fold(list(FUND_SERIES), as_=["series", "value"]).mark_line(
        interpolate="step-after").encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=list(FUND_SERIES),
                                                    range=["#1d3557", "#d62828", "#f4a259"]), legend=None),
    ).properties(width=CHART_WIDTH - 70, height=CHART_HEIGHT // 3 - 8).facet(
        row=alt.Row("series:N", sort=list(FUND_SERIES), title=None,
                    header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top")),
    ).resolve_scale(y="independent").properties(padding={"left": 30, "top": 5, "right": 5, "bottom": 5})
    return vega_spec(chart.configure_facet(spacing=4))


# --------------------------------------------------------------------------------------------
# 6. The schedule, with the whales on it
# --------------------------------------------------------------------------------------------


def schedule_curve(schedule: Schedule, open_interest: float) -> list[dict]:
    """Initial and maintenance margin rates against position notional (rates at ``open_interest``)."""
    axis = schedule_axis(schedule)
    caps = schedule.table(open_interest)["notional_cap"].to_numpy(dtype=float)
    caps = caps[np.isfinite(caps) & (caps >= axis[0]) & (caps <= axis[-1])]
    x = np.unique(np.concatenate([np.geomspace(axis[0], axis[-1], SCHEDULE_POINTS), caps, caps * (1 + 1e-9)]))
    x = x[x <= axis[-1]]
    rows = []
    for name, rate in (("initial", schedule.initial_rate), ("maintenance", schedule.maintenance_rate)):
        rates = np.asarray(rate(x, open_interest), dtype=float)
        drawn = np.isfinite(rates)
        rows += records(notional=x[drawn], rate=rates[drawn], margin=np.full(int(drawn.sum()), name))
    return rows


def schedule_data(model: MarketModel, watch: RunWatch) -> tuple[dict[str, list], list[str]]:
    """The schedule's rates and each whale account's position on them; names of flat whales apart."""
    ex = model.exchange
    oi = ex.open_interest_notional()
    curve = schedule_curve(ex.schedule, oi) if ex.schedule.uses_open_interest else watch.schedule_curve
    whales: list[dict] = []
    flat: list[str] = []
    for i, whale in enumerate(model.whales):
        for j, account in enumerate(whale.accounts):
            label = f"W{i + 1}" + (f".{j + 1}" if len(whale.accounts) > 1 else "")
            lots = int(ex.lots[account])
            if lots == 0:
                flat.append(label)
                continue
            notional = abs(lots) * ex.rules.lot_size * ex.mark
            whales.append({"notional": notional, "label": label, "side": LONG if lots > 0 else SHORT,
                           "rate": float(ex.schedule.initial_rate(notional, oi)),
                           "maintenance": float(ex.schedule.maintenance_rate(notional, oi)),
                           "tier": int(ex.schedule.tier(notional, oi))})
    return {"curve": curve, "whales": whales, "labels": _whale_labels(whales)}, flat


def _whale_labels(whales: list[dict]) -> list[dict]:
    """One label per spot on the curve: whales of about the same size (within 5 %) share it."""
    labels: list[dict] = []
    for point in sorted(whales, key=lambda p: p["notional"]):
        if labels and point["notional"] <= labels[-1]["notional"] * 1.05 and point["rate"] == labels[-1]["rate"]:
            labels[-1]["label"] += f", {point['label']}"
        else:
            labels.append({"notional": point["notional"], "rate": point["rate"], "label": point["label"]})
    return labels


@cache
def schedule_chart() -> dict[str, Any]:
    x = alt.X("notional:Q", title="position notional (USD)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~s"))
    curve = alt.Chart(alt.NamedData("curve")).mark_line().encode(
        x=x, y=alt.Y("rate:Q", title="margin rate (log)", scale=alt.Scale(type="log"), axis=alt.Axis(format="~%")),
        color=alt.Color("margin:N", scale=alt.Scale(domain=["initial", "maintenance"], range=["#1d3557", "#9a9a9a"]),
                        legend=alt.Legend(title=None, orient="top-left")))
    whales = alt.Chart(alt.NamedData("whales"))
    points = whales.mark_point(shape="diamond", size=140, filled=True, stroke="black", strokeWidth=0.8).encode(
        x=x, y="rate:Q", color=alt.Color("side:N", scale=SIDE_COLOURS, title="whale side"),
        tooltip=["label:N", "side:N", alt.Tooltip("notional:Q", format=",.0f"), "tier:Q",
                 alt.Tooltip("rate:Q", format=".2%", title="initial rate"),
                 alt.Tooltip("maintenance:Q", format=".2%", title="maint. rate")])
    labels = alt.Chart(alt.NamedData("labels")).mark_text(dy=-12, fontSize=11, fontWeight="bold").encode(
        x=x, y="rate:Q", text="label:N")
    chart = alt.layer(curve, points, labels).resolve_scale(color="independent")
    return vega_spec(chart.properties(width=CHART_WIDTH - 90, height=CHART_HEIGHT))


# --------------------------------------------------------------------------------------------
# 7. The social graph
# --------------------------------------------------------------------------------------------


def network_data(model: MarketModel, watch: RunWatch, sample: NetworkSample) -> tuple[dict[str, list], dict[str, int]]:
    """Each drawn node's state: no position, healthy, near liquidation (within NEAR of the mark),
    or liquidated within the last RECENT steps; a whale takes its worst account's state."""
    ex = model.exchange
    flat_accounts = np.concatenate(sample.accounts)
    owner = np.repeat(np.arange(len(sample.accounts)), [len(a) for a in sample.accounts])
    lots = ex.lots[flat_accounts]
    price = ex.liquidation_price(flat_accounts)
    with np.errstate(invalid="ignore"):
        near = (lots != 0) & (np.abs(price / ex.mark - 1.0) <= NEAR)
    liquidated = watch.last_liquidated[flat_accounts] >= model.measures["step"] - RECENT
    code = np.where(liquidated, 3, np.where(near, 2, np.where(lots != 0, 1, 0)))
    state = np.zeros(len(sample.accounts), dtype=np.int64)
    np.maximum.at(state, owner, code)
    names = np.array(STATES, dtype=object)[state]
    nodes = records(x=sample.x, y=sample.y, state=names, whale=sample.whale, size=np.where(sample.whale, 420, 45),
                    node=np.array([str(k) for k in sample.keys], dtype=object))
    counts = {name: int((state == i).sum()) for i, name in enumerate(STATES)}
    return {"nodes": nodes}, counts


@cache
def network_chart() -> dict[str, Any]:
    axis = alt.Axis(title=None, labels=False, ticks=False, grid=False, domain=False)
    edges = alt.Chart(alt.NamedData("edges")).mark_rule(color="#b0b0b0", opacity=0.6, strokeWidth=0.7).encode(
        x=alt.X("x:Q", axis=axis, scale=alt.Scale(zero=False, nice=False)), y=alt.Y("y:Q", axis=axis,
                                                                                   scale=alt.Scale(zero=False, nice=False)),
        x2="x2:Q", y2="y2:Q")
    nodes = alt.Chart(alt.NamedData("nodes")).mark_point(filled=True, opacity=0.95, stroke="#333333",
                                                          strokeWidth=0.4).encode(
        x="x:Q", y="y:Q",
        color=alt.Color("state:N", scale=STATE_COLOURS, title=None, legend=alt.Legend(orient="right")),
        size=alt.Size("size:Q", scale=None, legend=None),
        shape=alt.Shape("whale:N", scale=alt.Scale(domain=[False, True], range=["circle", "diamond"]), legend=None),
        tooltip=["node:N", "state:N"])
    return vega_spec(alt.layer(edges, nodes).properties(width=CHART_WIDTH - 120, height=CHART_HEIGHT + 10)
                     .configure_view(stroke=None))


def network_spec(sample: NetworkSample) -> dict[str, Any]:
    """The network chart with this sample's edges built in: they do not change while the model runs."""
    return {**network_chart(), "datasets": {"edges": sample.edges}}


# --------------------------------------------------------------------------------------------
# 8. Cascades
# --------------------------------------------------------------------------------------------

CASCADE_HEADER = ("#", "start", "liquidations", "notional (M USD)", "drawdown", "amplification")


def cascade_rows(model: MarketModel, watch: RunWatch) -> tuple[list[tuple[str, ...]], int]:
    """The latest cascades as table rows (newest first), and how many there have been."""
    rows = watch.cascades.rows(model)
    shown = []
    for row in reversed(rows[-CASCADE_ROWS:]):
        amplification = row["amplification"]
        if np.isnan(amplification):
            amp = "–"
        elif np.isinf(amplification):
            amp = "∞ (index flat)"
        else:
            amp = f"{amplification:.2f}×"
        drawdown = row["mark_move"]
        shown.append((
            str(int(row["cascade"]) + 1),
            f"{int(row['start_step']):,} ({clock(int(row['start_step']), model.config.dt_minutes)})",
            f"{int(row['count']):,}",
            f"{row['notional'] / 1e6:,.2f}",
            "–" if np.isnan(drawdown) else f"{100 * drawdown:.2f} %",
            amp,
        ))
    return shown, len(rows)


# --------------------------------------------------------------------------------------------
# The run's settings
# --------------------------------------------------------------------------------------------


def settings_rows(model: MarketModel) -> list[tuple[str, str]]:
    """What the running model was built with: the sliders show no numbers, so the views say them."""
    cfg = model.config
    shocks = ", ".join(f"{100 * s.size:+g} % at step {s.step:,} over {s.duration} steps" for s in cfg.oracle.shocks)
    accounts = f", {cfg.whales.split_accounts} accounts each" if cfg.whales.split_accounts > 1 else ", one account each"
    return [
        ("schedule", model.exchange.schedule.name),
        ("steepness", f"{cfg.steepness:g} × every margin rate"),
        ("retail traders", f"{cfg.retail.count:,} (+{cfg.retail.arrival_per_day:.0%} a day)"),
        ("retail preferred leverage", f"{cfg.retail.leverage_min:g}× to {cfg.retail.leverage_max:g}×"),
        ("whales", f"{cfg.whales.count} × {cfg.whales.capital / 1e6:,.0f} M USD{accounts}"),
        ("market makers", f"{cfg.market_makers.count} × {cfg.market_makers.depth:g} units a side"),
        ("shocks", shocks or "none"),
        ("seed", str(model.seed)),
        ("run length", f"{cfg.steps:,} steps ({clock(cfg.steps, cfg.dt_minutes)} at the end)"),
    ]
