"""Visual runs: a Mesa SolaraViz app for watching schedules, whales and cascades as the market steps.

Start it with ``tierlab ui [CONFIG]`` (or ``solara run sim/ui/app.py``; the config then comes from
$TIERLAB_UI_CONFIG, default configs/baseline.yaml). The sidebar's controls override the config;
Reset builds a new model from them. What each view draws is computed in the modules beside this one.

reacton's default renderer walks and updates the whole page on every step; its fast renderer
(REACTON_FAST=1, set here unless the environment says otherwise) touches only the views that
changed, which more than doubles the steps a second the UI keeps up with. Solara's telemetry is
off; run directly with solara, add ``--production --no-check-version`` so nothing leaves localhost.
"""


from __future__ import annotations

import functools
import html
import os
import threading
from collections.abc import Callable

import solara
import solara.server.settings
from mesa.visualization import SolaraViz

from sim.market import MarketModel
from sim.ui.charts import (
    concentration_chart,
    concentration_data,
    fund_chart,
    fund_data,
    liquidation_map_chart,
    liquidation_map_data,
    price_chart,
    price_data,
    tier_chart,
    tier_data,
)
from sim.ui.controls import config_path, model_params, ui_config
from sim.ui.network import network_data, network_spec, trader_network
from sim.ui.schedule_chart import schedule_chart, schedule_data
from sim.ui.tables import CASCADE_HEADER, cascade_rows, settings_rows
from sim.ui.vega import VegaView, to_json
from sim.ui.watch import RunWatch
from sim.ui.window import FUEL_SPAN, NEAR, RECENT, WINDOW, clock

os.environ.setdefault("REACTON_FAST", "1")
solara.server.settings.telemetry.mixpanel_enable = False

# Play's pause between steps: at 10 ms, on a loaded machine, a render started by a click (Pause)
# could meet a new step on every pass, and reacton then gives up rendering the page.
PLAY_INTERVAL_MS = 50

type Draw = Callable[["VisualMarket"], tuple[str, ...]]


class VisualMarket(MarketModel):
    """The market built from the UI's controls, remembering what its views draw between steps.

    Mesa's Play steps the model in a thread of its own while a click may render the views in
    another, so a step and a view's drawing take turns on ``lock``: a view never reads half a step.
    """

    def __init__(self, schedule: str | None = None, steepness: float | None = None,
                 retail_traders: int | None = None, whales: int | None = None, whale_capital: float | None = None,
                 split_accounts: bool | None = None, retail_leverage: float | None = None,
                 maker_depth: float | None = None, shock_size: float | None = None, shock_step: int | None = None,
                 seed: int | str | None = None):
        config = ui_config(config_path(), schedule=schedule, steepness=steepness, retail_traders=retail_traders,
                           whales=whales, whale_capital=whale_capital, split_accounts=split_accounts,
                           retail_leverage=retail_leverage, maker_depth=maker_depth, shock_size=shock_size,
                           shock_step=shock_step, seed=seed)
        super().__init__(config)
        self.lock = threading.RLock()
        self.watch = RunWatch(self)
        self.sample = trader_network(self)
        self.grid = self.sample.space

    def step(self) -> None:
        with self.lock:
            super().step()
            if self.record.measures["step"] == self.steps:
                self.watch.record(self)




@solara.component
def ChartCard(title: str, spec: str, datasets: str, caption: str):
    """One view: a titled card holding a Vega-Lite chart (spec and data as JSON) and a line on what it shows."""
    with solara.Card(title, classes=["tierlab-view"], style={"height": "100%", "overflow": "hidden"}):
        VegaView.element(spec_json=spec, datasets_json=datasets)
        solara.Text(caption, classes=["tierlab-caption"], style={"font-size": "12px", "color": "#555"})


@solara.component
def TableCard(title: str, table: str, caption: str, align: str = "right"):
    """One view: a titled card holding an HTML table and a line on what it shows."""
    with solara.Card(title, classes=["tierlab-view"], style={"height": "100%", "overflow": "auto"}):
        solara.HTML(tag="table", unsafe_innerHTML=table, classes=["tierlab-table"],
                    style={"width": "100%", "font-size": "13px", "text-align": align})
        solara.Text(caption, classes=["tierlab-caption"], style={"font-size": "12px", "color": "#555"})


def table_html(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A table's head and body rows as HTML, every cell escaped."""
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"


def once_per_step(card: Callable[..., solara.Element]) -> Callable[[Draw], Callable[[VisualMarket], solara.Element]]:
    """Make ``draw(model) -> card arguments`` a view drawn once per step of its model.

    Renders within a step (Pause pressed while Play runs, a control moved) reuse the drawing, so
    they stay quick: a slow one would meet the next step's update and reacton gives up rendering.
    The step is the last one measured: Mesa counts a step before running it, outside ``lock``.
    """

    def decorate(draw: Draw) -> Callable[[VisualMarket], solara.Element]:
        @functools.wraps(draw)
        def view(model: VisualMarket) -> solara.Element:
            def drawing() -> tuple[str, ...]:
                with model.lock:
                    return draw(model)

            return card(*solara.use_memo(drawing, dependencies=[model, model.record.measures["step"]]))

        return view

    return decorate


@once_per_step(ChartCard)
def PriceView(model: VisualMarket) -> tuple[str, ...]:
    """Fundamental, index and mark over the last hours; liquidations as circles sized by notional,
    coloured by side."""
    m = model.record.measures
    step = m["step"]
    caption = (f"step {step:,} ({clock(step, model.config.dt_minutes)}) · mark {m['mark']:,.0f}"
               f" · index {m['index']:,.0f} · fundamental {m['fundamental']:,.0f} · basis {m['basis']:+.2%}"
               f" · last {WINDOW // 60} h · circle area: notional")
    return "Price and liquidations", to_json(price_chart()), to_json(price_data(model, model.watch)), caption


@once_per_step(ChartCard)
def LiquidationMapView(model: VisualMarket) -> tuple[str, ...]:
    """Open interest by liquidation price around the mark: the fuel a cascade burns."""
    datasets, fuel = liquidation_map_data(model)
    caption = (f"within {FUEL_SPAN:.0%} of the mark: {fuel['long'] / 1e6:,.1f} M USD of longs below,"
               f" {fuel['short'] / 1e6:,.1f} M USD of shorts above")
    return "Liquidation map", to_json(liquidation_map_chart()), to_json(datasets), caption


@once_per_step(ChartCard)
def ConcentrationView(model: VisualMarket) -> tuple[str, ...]:
    """HHI over accounts and entities and top-10 share over time; the Lorenz curve of open interest now."""
    m = model.record.measures
    caption = (f"now: HHI accounts {m['hhi_accounts']:.3f}, entities {m['hhi_entities']:.3f},"
               f" top-10 share {m['top10_share']:.0%}, whale share {m['whale_share']:.0%}")
    return ("Concentration of open interest", to_json(concentration_chart()), to_json(concentration_data(model)),
            caption)


@once_per_step(ChartCard)
def TierView(model: VisualMarket) -> tuple[str, ...]:
    """Open interest and accounts per tier of the schedule, now and over time."""
    schedule = model.exchange.schedule
    caption = f"{schedule.name}: {schedule.n_tiers} tiers; both sides counted"
    return "Open interest by tier", to_json(tier_chart()), to_json(tier_data(model)), caption


@once_per_step(ChartCard)
def FundView(model: VisualMarket) -> tuple[str, ...]:
    """Insurance fund, bad debt and auto-deleveraging over time."""
    m = model.record.measures
    caption = (f"fund {m['insurance_fund'] / 1e6:,.2f} M USD · bad debt {m['bad_debt'] / 1e6:,.3f} M USD"
               f" · ADL closes {int(m['adl_count'])}")
    return "Insurance fund, bad debt, ADL", to_json(fund_chart()), to_json(fund_data(model)), caption


@once_per_step(ChartCard)
def ScheduleView(model: VisualMarket) -> tuple[str, ...]:
    """The margin schedule's rates against notional, each whale account's position marked on it."""
    datasets, flat = schedule_data(model, model.watch)
    cfg = model.config
    split = f", {cfg.whales.split_accounts} accounts each" if cfg.whales.split_accounts > 1 else ""
    capital = ", ".join(f"{whale.traits.capital / 1e6:,.1f}" for whale in model.whales)
    caption = (f"schedule {model.exchange.schedule.name} · whales' capital (M USD): {capital or 'none'}{split}"
               + (f" · flat: {', '.join(flat)}" if flat else ""))
    return "Margin schedule and whales", to_json(schedule_chart()), to_json(datasets), caption


@once_per_step(ChartCard)
def NetworkView(model: VisualMarket) -> tuple[str, ...]:
    """The traders' social graph (Mesa Network of a bounded sample), nodes coloured by margin health."""
    sample = model.sample
    datasets, counts = network_data(model, model.watch, sample)
    retail = len(sample.keys) - int(sample.whale.sum())
    caption = (f"{retail} of {sample.population:,} traders at the start (a connected sample); whales (diamonds)"
               f" are not in the graph · near: liquidation price within {NEAR:.0%} · liquidated: last"
               f" {RECENT} steps · now {counts['near liquidation']} near, {counts['liquidated']} liquidated")
    return "Traders' social graph", to_json(network_spec(sample)), to_json(datasets), caption


@once_per_step(TableCard)
def CascadeView(model: VisualMarket) -> tuple[str, ...]:
    """A table of the cascades so far, newest first."""
    rows, total = cascade_rows(model, model.watch)
    shown = f"the latest {len(rows)} of {total}" if total > len(rows) else f"{total}"
    caption = f"{shown} cascades · drawdown: the mark's largest move; amplification: mark move / index move"
    return "Cascades so far", table_html(CASCADE_HEADER, rows), caption


@once_per_step(TableCard)
def SettingsView(model: VisualMarket) -> tuple[str, ...]:
    """The settings the running model was built with (Reset applies the sidebar's)."""
    caption = f"config {config_path()} with the sidebar's values as of the last Reset"
    return "This run", table_html(("setting", "value"), settings_rows(model)), caption, "left"


VIEWS = [PriceView, LiquidationMapView, ConcentrationView, TierView, FundView, ScheduleView, NetworkView,
         CascadeView, SettingsView]

model = VisualMarket()
page = SolaraViz(model, components=VIEWS, model_params=model_params(model.config), name="tierlab",
                 play_interval=PLAY_INTERVAL_MS)
page  # noqa: B018
