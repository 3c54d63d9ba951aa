"""The browser UI without a browser: controls onto config, each view's data and drawing, the app.

Views are checked against the model's own records (snapshot, cascades, measures) and rendered with
solara in this process; every Vega-Lite spec must name only datasets the view sends.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import socket
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara

from sim import cli
from sim.config import load_config
from sim.ui import app, charts, controls, network, schedule_chart, tables, window
from sim.ui.assets import Asset, install, missing_assets, required_assets
from sim.ui.vega import VegaView, records, thin, to_json

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"
CRASH = {"shock_step": 40, "shock_size": -12.0, "retail_traders": 600, "seed": "7"}


@pytest.fixture(scope="module")
def crashed() -> app.VisualMarket:
    """A small market run through a -12 % shock at step 40: liquidations, cascades, tiers in use."""
    model = app.VisualMarket(**CRASH)
    for _ in range(160):
        model.step()
    return model


def render(element):
    """Render a solara element in this process (AppLayout writes its app bar to stdout outside a kernel)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return solara.render(element, handle_error=False)


@solara.component
def Show(view, model):
    return view(model)


def dataset_names(spec: dict) -> set[str]:
    """Every ``{"name": ...}`` data source a Vega-Lite spec refers to, at any depth."""
    found: set[str] = set()
    if isinstance(spec, dict):
        data = spec.get("data")
        if isinstance(data, dict) and "name" in data:
            found.add(data["name"])
        for value in spec.values():
            found |= dataset_names(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= dataset_names(value)
    return found


# --------------------------------------------------------------------------------------------
# Controls onto the config
# --------------------------------------------------------------------------------------------


def test_controls_override_the_config():
    config = controls.ui_config(BASELINE, schedule="flat_20x", steepness=2.0, retail_traders=300, whales=3,
                          whale_capital=25.0, split_accounts=True, retail_leverage=50.0, maker_depth=7.0,
                          shock_size=-5.0, shock_step=300, seed="11")
    assert Path(config.schedule).name == "flat_20x.yaml"
    assert config.build_schedule().name == "flat_20x x2"
    assert config.steepness == 2.0
    assert config.retail.count == 300
    assert (config.whales.count, config.whales.capital, config.whales.split_accounts) == (3, 25e6, controls.SPLIT_ACCOUNTS)
    assert (config.retail.leverage_min, config.retail.leverage_max) == (5.0, 50.0)
    assert config.market_makers.depth == 7.0
    assert [(s.step, s.size, s.duration) for s in config.fundamental.shocks] == [(300, -0.05, 10)]
    assert config.seed == 11


def test_no_control_keeps_the_config_but_runs_several_days():
    base = load_config(BASELINE)
    config = controls.ui_config(BASELINE)
    assert config.steps == max(base.steps, controls.MIN_DAYS * 1440)
    assert config.model_dump(exclude={"steps"}) == base.model_dump(exclude={"steps"})


def test_zero_shock_removes_it_and_low_leverage_lowers_the_minimum():
    config = controls.ui_config(BASELINE, shock_size=0.0, retail_leverage=3.0, split_accounts=False)
    assert config.fundamental.shocks == []
    assert (config.retail.leverage_min, config.retail.leverage_max) == (3.0, 3.0)
    assert config.whales.split_accounts == 1


@pytest.mark.parametrize("text, seed", [("42", 42), (" 7 ", 7)])
def test_seed_text_as_typed(text, seed):
    assert controls.parse_seed(text) == seed


def test_seed_any_other_text_is_hashed_the_same_each_time():
    assert controls.parse_seed("crash day") == controls.parse_seed("crash day") != controls.parse_seed("calm day")
    assert controls.parse_seed("²") == controls.parse_seed("²")             # a digit to str.isdigit, not to int()


def test_controls_are_the_models_parameters_with_the_configs_values():
    params = controls.model_params(load_config(BASELINE))
    signature = inspect.signature(app.VisualMarket.__init__).parameters
    assert set(params) == set(signature) - {"self"}
    values = {name: p.value if hasattr(p, "value") else p["value"] for name, p in params.items()}
    assert values["schedule"] == "binance_btcusdt"
    assert set(controls.schedule_names()) <= set(params["schedule"]["values"])
    model = app.VisualMarket(**values)
    assert model.config.resolved() == controls.ui_config(BASELINE).resolved()
    assert model.seed == 42


def test_a_config_with_its_own_schedule_is_offered_as_it_is(tmp_path):
    own = tmp_path / "own.yaml"
    own.write_text(f"extends: {BASELINE}\nschedule: {{kind: flat, max_leverage: 10, maintenance_rate: 0.05}}\n")
    params = controls.model_params(load_config(own))
    assert params["schedule"]["value"] == controls.AS_IN_CONFIG
    assert params["schedule"]["values"][0] == controls.AS_IN_CONFIG


def test_the_ui_opens_the_config_named_in_the_environment(tmp_path, monkeypatch):
    small = tmp_path / "small.yaml"
    small.write_text(f"extends: {BASELINE}\nretail: {{count: 123}}\nwhales: {{count: 1}}\n")
    monkeypatch.setenv(controls.CONFIG_ENV, str(small))
    model = app.VisualMarket()
    assert len(model.retail) == 123 and len(model.whales) == 1


# --------------------------------------------------------------------------------------------
# What each view shows
# --------------------------------------------------------------------------------------------


def test_cascade_log_equals_the_models_cascades(crashed):
    logged = crashed.watch.cascades.rows(crashed)
    reference = crashed.cascades()
    assert len(logged) == len(reference) > 0
    columns = ["start_step", "end_step", "count", "notional", "mark_move", "amplification"]
    got = np.array([[row[c] for c in columns] for row in logged], dtype=float)
    np.testing.assert_allclose(got, reference[columns].to_numpy(dtype=float), equal_nan=True)


def test_cascade_rows_newest_first_with_the_total(crashed):
    rows, total = tables.cascade_rows(crashed, crashed.watch)
    assert total == len(crashed.cascades())
    assert len(rows) == min(total, window.CASCADE_ROWS)
    assert [int(r[0]) for r in rows] == list(range(total, total - len(rows), -1))
    assert all(len(row) == len(tables.CASCADE_HEADER) for row in rows)


def test_price_view_marks_every_liquidation_in_its_window(crashed):
    data = charts.price_data(crashed, crashed.watch)
    assert data["prices"][-1]["step"] == crashed.steps
    assert data["prices"][-1]["mark"] == pytest.approx(crashed.exchange.mark)
    liquidations = crashed.liquidations()
    shown = liquidations[liquidations["step"] > crashed.steps - window.WINDOW]
    assert sum(m["notional"] for m in data["liquidations"]) == pytest.approx(shown["notional"].sum() / 1e6)
    assert sum(m["count"] for m in data["liquidations"]) == len(shown)
    assert {m["side"] for m in data["liquidations"]} <= {window.LONG, window.SHORT}


def test_liquidation_map_holds_the_open_interest_near_the_mark(crashed):
    data, fuel = charts.liquidation_map_data(crashed)
    mark = crashed.exchange.mark
    snap = crashed.exchange.snapshot()
    held = snap[(snap["position"] != 0) & ~snap["kind"].isin(["insurance", "exchange"])]
    near = held[np.abs(held["liquidation_price"] / mark - 1) <= window.MAP_SPAN]
    for side, sign in ((window.LONG, 1), (window.SHORT, -1)):
        rows = [r for r in data["bins"] if r["side"] == side]
        expected = near[np.sign(near["position"]) == sign]["notional"].sum() / 1e6
        assert sum(r["notional"] for r in rows) == pytest.approx(expected)
        centres = [(r["lo"] + r["hi"]) / 2 for r in rows]
        assert all(c < mark for c in centres) if side == window.LONG else all(c > mark for c in centres)
    assert fuel[window.LONG] > 0 and fuel[window.SHORT] > 0
    assert data["mark"] == [{"price": mark}]


def test_concentration_view_reads_the_measures(crashed):
    data = charts.concentration_data(crashed)
    last = data["series"][-1]
    assert last["HHI accounts"] == pytest.approx(crashed.record.measures["hhi_accounts"])
    assert last["HHI entities"] == pytest.approx(crashed.record.measures["hhi_entities"])
    assert last["top-10 share"] == pytest.approx(crashed.record.measures["top10_share"])
    lorenz = data["lorenz"]
    assert (lorenz[0]["accounts"], lorenz[0]["open_interest"]) == (0.0, 0.0)
    assert (lorenz[-1]["accounts"], lorenz[-1]["open_interest"]) == (1.0, 1.0)
    shares = [p["open_interest"] for p in lorenz]
    assert shares == sorted(shares) and len(lorenz) <= window.LORENZ_POINTS


def test_tier_view_now_is_the_models_last_tier_row(crashed):
    data = charts.tier_data(crashed)
    k = crashed.exchange.schedule.n_tiers
    last = crashed.record.tier_rows[-1]
    assert sum(r["notional"] for r in data["now"]) == pytest.approx(last[1: 1 + k].sum() / 1e6)
    assert sum(r["accounts"] for r in data["now"]) == last[1 + k:].sum()
    assert data["over_time"][-1]["step"] == crashed.steps


def test_tier_view_pools_the_highest_of_many_tiers():
    model = app.VisualMarket(schedule="dydx_incremental", retail_traders=300, whales=4, seed="1")
    for _ in range(80):
        model.step()
    data = charts.tier_data(model)
    assert len(data["now"]) <= window.MAX_TIERS
    k = model.exchange.schedule.n_tiers
    assert sum(r["notional"] for r in data["now"]) == pytest.approx(model.record.tier_rows[-1][1: 1 + k].sum() / 1e6)


def test_fund_view_reads_fund_debt_and_adl(crashed):
    last = charts.fund_data(crashed)["fund"][-1]
    fund, debt, adl = charts.FUND_SERIES
    assert last[fund] == pytest.approx(crashed.record.measures["insurance_fund"] / 1e6)
    assert last[debt] == pytest.approx(crashed.record.measures["bad_debt"] / 1e6)
    assert last[adl] == crashed.record.measures["adl_count"]


def test_schedule_view_puts_each_whale_account_on_the_curve():
    model = app.VisualMarket(split_accounts=True, retail_traders=200, seed="3")
    while not any(model.exchange.lots[w.accounts].any() for w in model.whales) and model.steps < 1_000:
        model.step()                                   # until the first whale has built something
    model.step()
    data, flat = schedule_chart.schedule_data(model, model.watch)
    schedule = model.exchange.schedule
    assert len(data["whales"]) + len(flat) == sum(len(w.accounts) for w in model.whales)
    assert data["whales"], "a whale holds a position"
    for point in data["whales"]:
        assert point["rate"] == pytest.approx(schedule.initial_rate(point["notional"]))
        assert point["label"].startswith("W") and "." in point["label"]
    labelled = ", ".join(label["label"] for label in data["labels"]).split(", ")
    assert sorted(labelled) == sorted(point["label"] for point in data["whales"])
    curve = data["curve"]
    assert {r["margin"] for r in curve} == {"initial", "maintenance"}
    assert all(r["rate"] > 0 for r in curve)


def test_network_is_a_bounded_mesa_network_with_the_whales_apart():
    from mesa.discrete_space import Network

    model = app.VisualMarket(retail_traders=2_000, whales=3, seed="5")
    sample = model.sample
    assert isinstance(model.grid, Network)
    assert sum(not w for w in sample.whale) == window.NETWORK_SAMPLE
    assert sum(sample.whale) == 3
    slots = [k for k in sample.keys if not isinstance(k, str)]
    for a, b in model.grid.G.edges:
        if not isinstance(a, str) and not isinstance(b, str):
            assert model.network.graph.has_edge(a, b)
    assert len(set(slots)) == len(slots)


def test_network_colours_liquidated_and_near_traders(crashed):
    data, counts = network.network_data(crashed, crashed.watch, crashed.sample)
    nodes = data["nodes"]
    assert {n["state"] for n in nodes} <= set(window.STATES)
    assert sum(counts.values()) == len(nodes)
    ex = crashed.exchange
    for node, accounts in zip(nodes, crashed.sample.accounts):
        liquidated = crashed.watch.last_liquidated[accounts].max() >= crashed.steps - window.RECENT
        assert (node["state"] == "liquidated") == bool(liquidated)
        if not liquidated and (ex.lots[accounts] == 0).all():
            assert node["state"] == "no position"
    whales = [n for n in nodes if n["whale"]]
    assert whales and all(n["size"] > max(m["size"] for m in nodes if not m["whale"]) for n in whales)


def test_network_view_shows_a_recent_liquidation_as_liquidated(crashed):
    liquidated = crashed.liquidations()
    recent = liquidated[(liquidated["step"] >= crashed.steps - window.RECENT) & (liquidated["kind"] == "retail")]
    sampled = {int(a[0]): i for i, a in enumerate(crashed.sample.accounts) if not crashed.sample.whale[i]}
    hits = [sampled[a] for a in recent["account"] if a in sampled]
    data, _ = network.network_data(crashed, crashed.watch, crashed.sample)
    for i in hits:
        assert data["nodes"][i]["state"] == "liquidated"


def test_views_stay_bounded_in_a_long_run():
    model = app.VisualMarket(retail_traders=200, seed="9")
    for _ in range(window.WINDOW + 300):
        model.step()
    prices = charts.price_data(model, model.watch)["prices"]
    assert len(prices) <= window.MAX_POINTS + 1
    assert prices[0]["step"] >= model.steps - window.WINDOW
    assert len(charts.concentration_data(model)["series"]) <= window.MAX_POINTS + 1
    assert len(charts.fund_data(model)["fund"]) <= window.MAX_POINTS + 1
    assert len(model.watch.event_marks) == window.WINDOW + 1


def test_settings_rows_say_what_the_model_was_built_with():
    model = app.VisualMarket(schedule="steep", steepness=1.5, whales=3, whale_capital=20.0, seed="8")
    settings = dict(tables.settings_rows(model))
    assert settings["schedule"] == "steep x1.5"
    assert settings["steepness"].startswith("1.5 ")
    assert settings["whales"].startswith("3, capital 20 M to 30 M USD")
    assert settings["seed"] == "8"


# --------------------------------------------------------------------------------------------
# Drawing: each view rendered by solara
# --------------------------------------------------------------------------------------------

TITLES = {
    app.PriceView: "Price and liquidations",
    app.LiquidationMapView: "Liquidation map",
    app.ConcentrationView: "Concentration of open interest",
    app.TierView: "Open interest by tier",
    app.FundView: "Insurance fund, bad debt, ADL",
    app.ScheduleView: "Margin schedule and whales",
    app.NetworkView: "Traders' social graph",
}


def test_every_view_is_on_the_page():
    assert set(TITLES) | {app.CascadeView, app.SettingsView} == set(app.VIEWS)


@pytest.mark.parametrize("view", list(TITLES), ids=lambda f: f.__name__)
def test_chart_view_renders_its_spec_with_its_data(view, crashed):
    _, rc = render(Show(view, crashed))
    assert rc.find(v.CardTitle, children=[TITLES[view]]).widget is not None
    chart = rc.find(VegaView).widget
    spec = json.loads(chart.spec_json)
    datasets = json.loads(chart.datasets_json)
    assert "$schema" not in spec
    assert dataset_names(spec) == set(datasets) | set(spec.get("datasets", {}))
    assert any(rows for rows in datasets.values())
    caption = rc.find(v.Html, class_="tierlab-caption").widget.children[0]
    assert caption


def test_a_view_drawn_while_mesa_counts_the_next_step_names_the_last_measured_one(crashed):
    """Mesa adds one to ``steps`` before it runs a step, outside the model's lock: a view drawn in
    between shows, and is remembered for, the step its data come from."""
    measured = crashed.record.measures["step"]
    crashed.steps += 1
    try:
        _, rc = render(Show(app.PriceView, crashed))
        caption = rc.find(v.Html, class_="tierlab-caption").widget.children[0]
    finally:
        crashed.steps -= 1
    assert caption.startswith(f"step {measured:,} ")


def test_chart_specs_compile_in_altair():
    import altair as alt

    for chart in (charts.price_chart, charts.liquidation_map_chart, charts.concentration_chart, charts.tier_chart,
                  charts.fund_chart, schedule_chart.schedule_chart, network.network_chart):
        alt.Chart.from_dict({**chart(), "$schema": "https://vega.github.io/schema/vega-lite/v6.json"})


@pytest.mark.parametrize("view, title", [(app.CascadeView, "Cascades so far"), (app.SettingsView, "This run")])
def test_table_views_render(view, title, crashed):
    _, rc = render(Show(view, crashed))
    assert rc.find(v.CardTitle, children=[title]).widget is not None
    table = rc.find(tag="table").widget.unsafe_innerHTML
    assert table.count("<tr>") >= 2
    if view is app.CascadeView:
        assert f"<td>{len(crashed.cascades())}</td>" in table


def test_app_steps_and_views_follow():
    _, rc = render(solara.AppLayout(children=[app.page]))
    charts = rc.find(VegaView).widgets
    assert len(charts) == len(TITLES)
    before = [c.datasets_json for c in charts]
    specs = [c.spec_json for c in charts]
    step = rc.find(v.Btn, children=["Step"]).widget
    start = rc.find(v.Html, children=[f"Time: {float(app.model.time)}"]).widget
    for _ in range(3):
        step.click()
    assert start.children == [f"Time: {float(app.model.time)}"]
    after = [c.datasets_json for c in charts]
    changed = {title: a != b for title, a, b in zip(TITLES.values(), after, before)}
    whales_hold = any(app.model.exchange.lots[w.accounts].any() for w in app.model.whales)
    if not whales_hold:                                # with every whale still waiting, its view is still
        assert not changed.pop(TITLES[app.ScheduleView])
    assert all(changed.values()), changed
    assert [c.spec_json for c in charts] == specs


def test_app_reset_builds_the_model_from_the_changed_controls():
    _, rc = render(solara.AppLayout(children=[app.page]))
    rc.find(v.Select, label="Schedule").widget.v_model = "hyperliquid_btc"
    rc.find(v.Slider, label="Whales").widget.v_model = 4
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert rc.find(v.Html, children=["Time: 0.0"]).widget is not None
    settings = rc.find(tag="table").widgets[-1].unsafe_innerHTML
    assert "<td>hyperliquid_btc</td>" in settings
    assert "<td>4, capital " in settings


# --------------------------------------------------------------------------------------------
# Browser data and assets
# --------------------------------------------------------------------------------------------


def test_records_turn_nan_and_infinity_into_null():
    rows = records(a=np.array([1.0, np.nan, np.inf]), b=np.array([1, 2, 3]), c=np.array(["x", "y", "z"]))
    assert rows == [{"a": 1.0, "b": 1, "c": "x"}, {"a": None, "b": 2, "c": "y"}, {"a": None, "b": 3, "c": "z"}]
    assert json.loads(to_json(rows)) == rows
    with pytest.raises(ValueError):
        to_json({"a": float("nan")})


@pytest.mark.parametrize("n, most", [(0, 5), (3, 5), (5, 5), (6, 5), (721, 360), (1000, 7)])
def test_thin_keeps_at_most_most_points_and_the_last(n, most):
    kept = thin(n, most)
    assert len(kept) <= most
    assert len(kept) == min(n, len(kept))
    if n:
        assert kept[-1] == n - 1
        assert list(kept) == sorted(set(kept.tolist()))


def test_required_assets_follow_the_installed_solara():
    assets = {a.package: a for a in required_assets()}
    assert set(assets) == {"@widgetti/solara-vuetify-app", "requirejs", "font-awesome", "vega", "vega-lite",
                           "vega-embed", "katex"}
    assert (assets["vega"].version, assets["vega-lite"].version, assets["vega-embed"].version) == ("5", "5", "6")


def test_the_chart_view_loads_the_vega_files_the_installer_fetches():
    vega = [a for a in required_assets() if a.package.startswith("vega")]
    assert len(vega) == 3
    for asset in vega:
        assert f"${{cdn}}/{asset.folder}/{asset.files[0]}`" in VegaView.template.default_value


def test_missing_assets_lists_each_absent_file(tmp_path):
    assets = [Asset("vega", "5", ("build/vega.min.js",)), Asset("@scope/pkg", "1.2.3", ("a.js", "b/c.css"))]
    assert missing_assets(tmp_path, assets) == ["vega@5/build/vega.min.js", "@scope/pkg@1.2.3/a.js",
                                                "@scope/pkg@1.2.3/b/c.css"]
    (tmp_path / "@scope/pkg@1.2.3/b").mkdir(parents=True)
    (tmp_path / "@scope/pkg@1.2.3/a.js").write_text("")
    (tmp_path / "@scope/pkg@1.2.3/b/c.css").write_text("")
    assert missing_assets(tmp_path, assets) == ["vega@5/build/vega.min.js"]


def test_install_does_nothing_when_every_asset_is_there(tmp_path):
    for asset in required_assets():
        for name in asset.files:
            path = tmp_path / asset.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
    assert install(tmp_path, log=pytest.fail) == []


# --------------------------------------------------------------------------------------------
# tierlab ui: bad input is one line and exit 2
# --------------------------------------------------------------------------------------------


def test_ui_command_with_a_missing_config_says_so_in_one_line(tmp_path, capsys):
    assert cli.main(["ui", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("tierlab: error: ") and "nope.yaml: file not found" in err


def test_ui_command_with_a_port_in_use_says_so_in_one_line(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["ui", str(BASELINE), "--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"tierlab: error: port {port} on 127.0.0.1 is in use; choose another with --port"


def test_ui_command_refuses_a_port_out_of_range(capsys):
    assert cli.main(["ui", str(BASELINE), "--port", "70000"]) == 2
    assert "--port 70000: not a port number" in capsys.readouterr().err
