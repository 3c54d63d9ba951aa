"""Visual runs: a Mesa SolaraViz app for watching schedules, whales and cascades as the market steps.

Start it with ``tierlab ui [CONFIG]`` (or ``solara run sim/ui.py``; the config then comes from
$TIERLAB_UI_CONFIG, default configs/baseline.yaml). The sidebar's controls override the config;
Reset builds a new model from them. What each view draws is computed in ``sim.ui_views``.

reacton's default renderer walks and updates the whole page on every step; its fast renderer
(REACTON_FAST=1, set here unless the environment says otherwise) touches only the views that
changed, which more than doubles the steps a second the UI keeps up with. Solara's telemetry is
off; run directly with solara, add ``--production --no-check-version`` so nothing leaves localhost.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import solara
import solara.server.settings
from mesa.visualization import Slider, SolaraViz

from sim.config import RunConfig, load_config
from sim.model import MarketModel
from sim.ui_serve import CONFIG_ENV
from sim.ui_vega import VegaView, to_json
from sim.ui_views import (
    CASCADE_HEADER,
    FUEL_SPAN,
    NEAR,
    RECENT,
    WINDOW,
    RunWatch,
    cascade_rows,
    clock,
    concentration_chart,
    concentration_data,
    fund_chart,
    fund_data,
    liquidation_map_chart,
    liquidation_map_data,
    network_data,
    network_spec,
    price_chart,
    price_data,
    schedule_chart,
    schedule_data,
    settings_rows,
    tier_chart,
    tier_data,
    trader_network,
)

os.environ.setdefault("REACTON_FAST", "1")
solara.server.settings.telemetry.mixpanel_enable = False

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "configs" / "baseline.yaml"
SCHEDULES = ROOT / "configs" / "schedules"
AS_IN_CONFIG = "as in config"
MIN_DAYS = 5
SPLIT_ACCOUNTS = 4
# Play's pause between steps: at 10 ms, on a loaded machine, a render started by a click (Pause)
# could meet a new step on every pass, and reacton then gives up rendering the page.
PLAY_INTERVAL_MS = 50

type Draw = Callable[["VisualMarket"], tuple[str, ...]]


def config_path() -> Path:
    """The config the UI opens on: $TIERLAB_UI_CONFIG, else configs/baseline.yaml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def schedule_names() -> list[str]:
    """The schedules the UI offers: the files in configs/schedules/, by name."""
    return sorted(path.stem for path in SCHEDULES.glob("*.yaml"))


def config_schedule(config: RunConfig) -> str:
    """The name of the config's own schedule among ``schedule_names()``, else AS_IN_CONFIG."""
    if isinstance(config.schedule, str):
        path = config.resolve(config.schedule).resolve()
        if path.parent == SCHEDULES.resolve() and path.stem in schedule_names():
            return path.stem
    return AS_IN_CONFIG


def parse_seed(seed: int | str) -> int:
    """A seed from the UI's text box: an integer as typed, any other text hashed to one."""
    text = str(seed).strip()
    return int(text) if text.isdecimal() else zlib.crc32(text.encode())


def ui_config(path: Path, *, schedule: str | None = None, steepness: float | None = None,
              retail_traders: int | None = None, whales: int | None = None, whale_capital: float | None = None,
              split_accounts: bool | None = None, retail_leverage: float | None = None,
              maker_depth: float | None = None, shock_size: float | None = None, shock_step: int | None = None,
              seed: int | str | None = None) -> RunConfig:
    """The config at ``path`` with the UI's controls laid over it (None keeps the config's value).

    A visual run lasts at least MIN_DAYS days, so Play does not stop after the config's day.
    ``whale_capital`` is in millions of USD, ``shock_size`` in percent; a zero shock removes it.
    """
    base = load_config(path)
    values: dict[str, object] = {}
    if schedule is not None and schedule != AS_IN_CONFIG:
        values["schedule"] = str(SCHEDULES / f"{schedule}.yaml")
    if steepness is not None:
        values["steepness"] = float(steepness)
    if retail_traders is not None:
        values["retail.count"] = int(retail_traders)
    if whales is not None:
        values["whales.count"] = int(whales)
    if whale_capital is not None:
        values["whales.capital"] = float(whale_capital) * 1e6
    if split_accounts is not None:
        split = base.whales.split_accounts if base.whales.split_accounts > 1 else SPLIT_ACCOUNTS
        values["whales.split_accounts"] = split if split_accounts else 1
    if retail_leverage is not None:
        values["retail.leverage_max"] = float(retail_leverage)
        values["retail.leverage_min"] = min(base.retail.leverage_min, float(retail_leverage))
    if maker_depth is not None:
        values["market_makers.depth"] = float(maker_depth)
    if shock_size is not None or shock_step is not None:
        shocks = [shock.model_dump() for shock in base.oracle.shocks]
        first = shocks.pop(0) if shocks else {"step": base.steps // 2, "size": 0.0, "duration": 10}
        if shock_size is not None:
            first["size"] = float(shock_size) / 100
        if shock_step is not None:
            first["step"] = int(shock_step)
        values["oracle.shocks"] = ([first] if first["size"] != 0 else []) + shocks
    if seed is not None:
        values["seed"] = parse_seed(seed)
    values["steps"] = max(base.steps, math.ceil(MIN_DAYS * 1440 / base.dt_minutes))
    return load_config(path, [f"{key}={json.dumps(value)}" for key, value in values.items()])


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
            if self.measures["step"] == self.steps:
                self.watch.record(self)


def model_params(config: RunConfig) -> dict[str, object]:
    """SolaraViz's controls, starting at the config's values."""
    shock = config.oracle.shocks[0] if config.oracle.shocks else None
    schedules = schedule_names()
    current = config_schedule(config)
    return {
        "schedule": {"type": "Select", "label": "Schedule", "value": current,
                     "values": schedules if current in schedules else [AS_IN_CONFIG, *schedules]},
        "steepness": Slider("Schedule steepness (× every rate)", config.steepness, 0.25, max(4.0, config.steepness),
                            0.25),
        "retail_traders": Slider("Retail traders", config.retail.count, 100, max(10_000, config.retail.count), 100),
        "whales": Slider("Whales", config.whales.count, 0, max(8, config.whales.count), 1),
        "whale_capital": Slider("Whale capital (M USD)", config.whales.capital / 1e6, 1.0,
                                max(100.0, config.whales.capital / 1e6), 1.0),
        "split_accounts": {"type": "Checkbox", "label": "Whales split across accounts",
                           "value": config.whales.split_accounts > 1},
        "retail_leverage": Slider("Retail max preferred leverage (×)", config.retail.leverage_max, 2.0,
                                  max(125.0, config.retail.leverage_max), 1.0),
        "maker_depth": Slider("Market-maker depth (units a side)", config.market_makers.depth, 1.0,
                              max(100.0, config.market_makers.depth), 1.0),
        "shock_size": Slider("Shock size (%)", round(100 * shock.size, 2) if shock else 0.0, -30.0, 30.0, 1.0),
        "shock_step": Slider("Shock at step", shock.step if shock else config.steps // 2, 0,
                             config.steps, 10),
        "seed": {"type": "InputText", "label": "Seed", "value": str(config.seed)},
    }


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

            return card(*solara.use_memo(drawing, dependencies=[model, model.measures["step"]]))

        return view

    return decorate


@once_per_step(ChartCard)
def PriceView(model: VisualMarket) -> tuple[str, ...]:
    """Index and mark over the last hours; liquidations as circles sized by notional, coloured by side."""
    step = model.measures["step"]
    caption = (f"step {step:,} ({clock(step, model.config.dt_minutes)}) · mark {model.exchange.mark:,.0f}"
               f" · index {model.exchange.index:,.0f} · last {WINDOW // 60} h · circle area: notional")
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
    m = model.measures
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
    m = model.measures
    caption = (f"fund {m['insurance_fund'] / 1e6:,.2f} M USD · bad debt {m['bad_debt'] / 1e6:,.3f} M USD"
               f" · ADL closes {int(m['adl_count'])}")
    return "Insurance fund, bad debt, ADL", to_json(fund_chart()), to_json(fund_data(model)), caption


@once_per_step(ChartCard)
def ScheduleView(model: VisualMarket) -> tuple[str, ...]:
    """The margin schedule's rates against notional, each whale account's position marked on it."""
    datasets, flat = schedule_data(model, model.watch)
    cfg = model.config
    split = f", {cfg.whales.split_accounts} accounts each" if cfg.whales.split_accounts > 1 else ""
    caption = (f"schedule {model.exchange.schedule.name} · "
               f"whales {cfg.whales.count} × {cfg.whales.capital / 1e6:,.0f} M USD{split}"
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
