"""The margin schedule's rates against notional, with each whale account's position marked on it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np

from sim.schedules import Schedule
from sim.study.schedule_plot import schedule_axis
from sim.ui.vega import records, vega_spec
from sim.ui.window import CHART_HEIGHT, CHART_WIDTH, LONG, SCHEDULE_POINTS, SHORT, SIDE_COLOURS

if TYPE_CHECKING:
    from sim.market import MarketModel
    from sim.ui.watch import RunWatch


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
