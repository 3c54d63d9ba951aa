"""The over-time views' data and Vega-Lite charts: index and mark with liquidations, the liquidation
map, concentration, open interest by tier, and the insurance fund with bad debt and ADL.

Every function reads the model's public state and returns rows for a Vega-Lite template; none needs
solara, so tests and the benchmark call them directly.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np

from sim import measures
from sim.ui.vega import records, thin, vega_spec
from sim.ui.window import (
    CHART_HEIGHT,
    CHART_WIDTH,
    EVENT_MARK_AFTER,
    EVENT_NOTIONAL,
    EVENT_SIDE,
    EVENT_STEP,
    FUEL_SPAN,
    HALF_WIDTH,
    LONG,
    LORENZ_POINTS,
    MAP_BINS,
    MAP_SPAN,
    MAX_POINTS,
    MAX_TIERS,
    SHORT,
    SIDE_COLOURS,
    WINDOW,
    open_accounts,
    window_column,
)

if TYPE_CHECKING:
    from sim.market import MarketModel
    from sim.ui.watch import RunWatch


# 1. Index and mark, with liquidations
# --------------------------------------------------------------------------------------------


def price_data(model: MarketModel, watch: RunWatch) -> dict[str, list]:
    """Fundamental, index (spot) and mark over the window; liquidations summed per step and side, at
    the mark after."""
    step = window_column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    prices = records(step=step[keep].astype(int), **{name: window_column(model, name)[keep] for name in PRICE_SERIES})
    events = watch.window_events(model)
    if events:
        step = np.array([e[EVENT_STEP] for e in events], dtype=np.int64)
        short = np.array([e[EVENT_SIDE] == SHORT for e in events])
        keys, group = np.unique(2 * step + short, return_inverse=True)
        last = np.zeros(len(keys), dtype=np.int64)
        np.maximum.at(last, group, np.arange(len(events)))
        notional = np.bincount(group, weights=[e[EVENT_NOTIONAL] for e in events]) / 1e6
        liquidations = records(step=keys // 2, side=np.where(keys % 2 == 1, SHORT, LONG), notional=notional,
                               price=np.array([events[i][EVENT_MARK_AFTER] for i in last]),
                               count=np.bincount(group))
    else:
        liquidations = []
    return {"prices": prices, "liquidations": liquidations}


PRICE_SERIES = ("fundamental", "index", "mark")


@cache
def price_chart() -> dict[str, Any]:
    base = alt.Chart(alt.NamedData("prices")).transform_fold(list(PRICE_SERIES), as_=["series", "price"])
    lines = base.mark_line(strokeWidth=1.5).encode(
        x=alt.X("step:Q", title="step (minutes)"),
        y=alt.Y("price:Q", title="price (USD)", scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", scale=alt.Scale(domain=list(PRICE_SERIES),
                                                    range=["#b5b5b5", "#e09f3e", "#1d3557"]),
                        legend=alt.Legend(title=None, orient="bottom", direction="horizontal")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=list(PRICE_SERIES),
                                                              range=[[2, 2], [4, 3], [1, 0]]), legend=None))
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
    accounts = open_accounts(model)
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
    step = window_column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    series = records(step=step[keep].astype(int), **{
        "HHI accounts": window_column(model, "hhi_accounts")[keep],
        "HHI entities": window_column(model, "hhi_entities")[keep],
        "top-10 share": window_column(model, "top10_share")[keep]})
    accounts = open_accounts(model)
    ex = model.exchange
    population, share = measures.lorenz_curve(ex.notional(accounts))
    keep = np.union1d([0], thin(len(population), LORENZ_POINTS - 1))
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
    window = model.record.tier_rows[-(WINDOW + 1):]
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
    step = window_column(model, "step")
    keep = thin(len(step), MAX_POINTS)
    fund, debt, adl = FUND_SERIES
    return {"fund": records(step=step[keep].astype(int), **{
        fund: window_column(model, "insurance_fund")[keep] / 1e6,
        debt: window_column(model, "bad_debt")[keep] / 1e6,
        adl: window_column(model, "adl_count")[keep]})}


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
