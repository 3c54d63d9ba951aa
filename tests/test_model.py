"""MarketModel: invariants over whole runs, reproducibility, the cascade mechanism, the step order.

Most runs are small (a few hundred traders, a few hundred steps) so that the file stays fast; the
full-day run is marked ``slow``. The mechanism tests average over several seeds so that they say
something about the model rather than about one path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.market.trading
from agents import RetailTrader
from sim.config import load_config
from sim.exchange import KIND_CODE
from sim.market import MarketModel
from sim.market.record import SortedLots
from sim.study.run import run as run_config

BASELINE = "configs/baseline.yaml"
SHOCK_STEP, SHOCK_LENGTH = 200, 10
SHOCK = f"fundamental.shocks=[{{step: {SHOCK_STEP}, size: -0.08, duration: {SHOCK_LENGTH}}}]"
SMALL = ["retail.count=200", "steps=300", SHOCK]
NO_LEVERAGE = "schedule={kind: flat, max_leverage: 1, maintenance_rate: 0.005}"
MECHANISM_SEEDS = (1, 2, 3, 4, 5, 6)


def small(*overrides: str):
    return load_config(BASELINE, [*SMALL, *overrides])


def run(config, seed: int | None = None) -> MarketModel:
    model = MarketModel.from_config(config, seed=seed)
    model.run()
    return model


def assert_same_summary(a: dict, b: dict) -> None:
    """Equal keys and values; NaN equals NaN (a summary may hold NaN for 'no cascade')."""
    assert a.keys() == b.keys()
    for key, x in a.items():
        y = b[key]
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), key
        else:
            assert x == y, key


def assert_closed_system(model: MarketModel) -> None:
    """Positions sum to zero and equity to deposits, computed here from the account snapshot."""
    snap = model.exchange.snapshot()
    lots = model.exchange.lots[: model.exchange.n_accounts]
    assert int(lots.sum()) == 0
    assert abs(snap["position"].sum()) < 1e-9
    deposits = snap["deposits"].sum()
    assert snap["equity"].sum() == pytest.approx(deposits, rel=1e-9)
    long_oi = snap.loc[snap["position"] > 0, "position"].sum()
    short_oi = -snap.loc[snap["position"] < 0, "position"].sum()
    assert long_oi == pytest.approx(short_oi, rel=1e-12, abs=1e-9)


# -------------------------------------------------------------------------------------- invariants
@pytest.mark.slow
def test_full_baseline_day_keeps_the_exchange_invariants():
    config = load_config(BASELINE, ["debug=true"])
    assert config.steps == 1_440 and config.retail.count == 1_000
    model = run(config)          # debug: the model asserts the invariants after every step
    model.exchange.check_invariants(after_liquidation=True)
    assert_closed_system(model)
    # the day exercised the liquidation engine, including the afternoon crash
    liquidations = model.liquidations()
    assert len(liquidations) > 0
    assert liquidations["step"].between(900, 920).any()
    assert model.exchange.open_interest() > 0
    assert len(model.timeseries()) == 1_441


@pytest.mark.parametrize("schedule", [
    "schedules/steep.yaml", "schedules/flat_100x.yaml", "schedules/dydx_incremental.yaml",
    "schedules/size_premium.yaml", "schedules/open_interest.yaml", "schedules/hyperliquid_btc.yaml",
])
def test_invariants_hold_under_every_schedule_kind(schedule):
    model = run(small("debug=true", f"schedule={schedule}", "fundamental.shocks=[{step: 150, size: -0.12, duration: 5}]"))
    model.exchange.check_invariants(after_liquidation=True)
    assert_closed_system(model)


# -------------------------------------------------------------------------------------- reproducibility
def test_same_config_and_seed_reproduce_the_run():
    config = small()
    a, b = run(config, seed=11), run(config, seed=11)
    assert_same_summary(a.summary(), b.summary())
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    pd.testing.assert_frame_equal(a.liquidations(), b.liquidations())
    pd.testing.assert_frame_equal(a.tables().tiers, b.tables().tiers)
    assert len(a.liquidations()) > 0
    pd.testing.assert_frame_equal(a.exchange.snapshot(), b.exchange.snapshot())


def test_another_seed_gives_another_run():
    config = small()
    a, b = run(config, seed=11), run(config, seed=12)
    assert not np.array_equal(a.spot.fundamental, b.spot.fundamental)
    assert not a.timeseries()["mark"].equals(b.timeseries()["mark"])
    key = "mean_open_interest_notional"                 # finite in every run
    assert a.summary()[key] != b.summary()[key]


def test_execute_twice_writes_identical_parquet_files(tmp_path: Path):
    config = small()
    first = run_config(config, out=tmp_path / "a", seed=5, figure=False)
    second = run_config(config, out=tmp_path / "b", seed=5, figure=False)
    other = run_config(config, out=tmp_path / "c", seed=6, figure=False)
    for name in ("timeseries", "liquidations", "cascades", "tiers"):
        bytes_a = (tmp_path / "a" / f"{name}.parquet").read_bytes()
        assert bytes_a == (tmp_path / "b" / f"{name}.parquet").read_bytes(), name
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "b" / f"{name}.parquet"))
    assert (tmp_path / "a" / "summary.json").read_text() == (tmp_path / "b" / "summary.json").read_text()
    assert_same_summary(first.summary, second.summary)
    assert (tmp_path / "a" / "timeseries.parquet").read_bytes() != (tmp_path / "c" / "timeseries.parquet").read_bytes()
    assert first.summary["mean_open_interest_notional"] != other.summary["mean_open_interest_notional"]


def test_schedules_share_prices_and_traders_on_one_seed():
    """Common random numbers: arms that differ only in schedule see the same fundamental and traders."""
    arrivals = "retail.arrival_per_day=2"           # about 80 newcomers in 300 steps
    tiered = MarketModel.from_config(small(arrivals), seed=21)
    steep = MarketModel.from_config(small(arrivals, "schedule=schedules/steep.yaml"), seed=21)
    flat = MarketModel.from_config(small(arrivals, NO_LEVERAGE), seed=21)
    for other in (steep, flat):
        np.testing.assert_array_equal(tiered.spot.fundamental, other.spot.fundamental)
        np.testing.assert_array_equal(tiered.retail.capital, other.retail.capital)
        np.testing.assert_array_equal(tiered.retail.leverage, other.retail.leverage)
        np.testing.assert_array_equal(tiered.retail.strategy, other.retail.strategy)
    # ... and the fundamental each step is the same whatever the traders did
    tiered.run()
    steep.run()
    np.testing.assert_array_equal(tiered.timeseries()["fundamental"], steep.timeseries()["fundamental"])
    assert not tiered.timeseries()["mark"].equals(steep.timeseries()["mark"])
    # the arrivals come from the population's own stream too
    n = min(len(tiered.retail), len(steep.retail))
    assert n > 200
    np.testing.assert_array_equal(tiered.retail.capital[:n], steep.retail.capital[:n])
    # a different seed draws another population
    other_seed = MarketModel.from_config(small(arrivals), seed=22)
    assert not np.array_equal(tiered.retail.capital[:200], other_seed.retail.capital[:200])


# -------------------------------------------------------------------------------------- mechanism
def largest_cascade(cascades: pd.DataFrame) -> pd.Series | None:
    if len(cascades) == 0:
        return None
    return cascades.loc[cascades["count"].idxmax()]


def overlaps_shock(cascade: pd.Series) -> bool:
    return cascade["start_step"] <= SHOCK_STEP + SHOCK_LENGTH and cascade["end_step"] >= SHOCK_STEP


@pytest.fixture(scope="module")
def mechanism_runs() -> dict[str, list[MarketModel]]:
    """The same seeds with the shock, without it, and with the shock but no leverage allowed.

    The baseline's 1,000 traders (over 300 steps): with a few hundred, the liquidations of an 8 %
    fall are small beside 80 BTC of depth a side and the mark barely leaves the index.
    """
    crowd = "retail.count=1000"
    arms = {"shock": small(crowd), "calm": small(crowd, "fundamental.shocks=[]"),
            "no_leverage": small(crowd, NO_LEVERAGE)}
    return {name: [run(config, seed=seed) for seed in MECHANISM_SEEDS] for name, config in arms.items()}


def test_a_shock_sets_off_the_largest_cascade(mechanism_runs):
    calm_largest = max(
        (int(c["count"]) for m in mechanism_runs["calm"] if (c := largest_cascade(m.cascades())) is not None),
        default=0,
    )
    for model in mechanism_runs["shock"]:
        cascade = largest_cascade(model.cascades())
        assert cascade is not None
        assert overlaps_shock(cascade), (cascade["start_step"], cascade["end_step"])
        assert cascade["count"] > calm_largest
        assert cascade["rounds"] >= 1
    # and the shock runs liquidate more in all than the same seeds without it
    shock_total = sum(m.summary()["liquidation_count"] for m in mechanism_runs["shock"])
    calm_total = sum(m.summary()["liquidation_count"] for m in mechanism_runs["calm"])
    assert shock_total > calm_total


def test_liquidations_amplify_the_shock(mechanism_runs):
    """In the shock's cascade, the mark falls further than the fundamental over the same steps."""
    amplification = []
    for model in mechanism_runs["shock"]:
        cascade = largest_cascade(model.cascades())
        assert overlaps_shock(cascade)
        assert cascade["fundamental_move"] > 0.03          # the shock itself is in the window
        amplification.append(cascade["mark_move"] / cascade["fundamental_move"])
        assert cascade["amplification"] == pytest.approx(amplification[-1])
    assert np.mean(amplification) > 1.0, np.round(amplification, 3)


def test_without_leverage_the_shock_liquidates_no_one(mechanism_runs):
    for shocked, unlevered in zip(mechanism_runs["shock"], mechanism_runs["no_leverage"]):
        assert len(shocked.liquidations()) > 0
        assert len(unlevered.liquidations()) == 0
        assert len(unlevered.cascades()) == 0
        assert unlevered.summary()["liquidation_count"] == 0
        # the shock was there all the same
        np.testing.assert_array_equal(shocked.spot.fundamental, unlevered.spot.fundamental)
        assert unlevered.exchange.open_interest() > 0 or unlevered.summary()["mean_open_interest_notional"] > 0


# -------------------------------------------------------------------------------------- model API
def test_from_config_seed_overrides_the_configs():
    config = small("steps=40")
    assert config.seed == 42
    model = MarketModel.from_config(config, seed=7)
    assert model.seed == 7
    model.run()
    same = run(load_config(BASELINE, [*SMALL, "steps=40", "seed=7"]))
    default = run(config)
    assert same.seed == 7 and default.seed == 42
    pd.testing.assert_frame_equal(model.timeseries(), same.timeseries())
    assert not model.timeseries()["mark"].equals(default.timeseries()["mark"])


def test_run_steps_and_collects_one_row_per_step():
    model = MarketModel.from_config(small("steps=60"))
    assert model.running
    model.run(25)
    assert model.steps == 25
    ts = model.timeseries()
    assert len(ts) == 26
    assert ts["step"].tolist() == list(range(26))
    np.testing.assert_array_equal(ts["index"].to_numpy(), model.spot.fundamental[:26])
    assert ts["mark"].iloc[-1] == model.exchange.mark
    assert model.running
    model.run()                                   # the rest of the configured steps, then stops
    assert model.steps == 60 and not model.running
    assert len(model.timeseries()) == 61
    model.run(10)                                 # a finished model does not step on
    assert model.steps == 60 and len(model.timeseries()) == 61


def test_snapshot_has_one_row_per_account():
    model = MarketModel.from_config(small("steps=30", "whales.split_accounts=3"))
    model.run()
    ex = model.exchange
    snap = ex.snapshot()
    assert len(snap) == ex.n_accounts
    assert snap["account"].tolist() == list(range(ex.n_accounts))
    cfg = model.config
    counts = snap["kind"].value_counts()
    assert counts["market_maker"] == cfg.market_makers.count
    assert counts["liquidator"] == cfg.liquidators.count
    assert counts["whale"] == cfg.whales.count * 3
    assert counts["retail"] == len(model.retail)
    assert counts["insurance"] == 1
    assert len(snap) == sum(counts)


@pytest.mark.slow
def test_retail_arrivals_add_traders_over_a_day():
    model = run(load_config(BASELINE, ["retail.count=200", "fundamental.shocks=[]", "retail.arrival_per_day=0.5"]))
    ts = model.timeseries()
    # 0.5 x 200 = 100 expected over the day (Poisson): well above 50, well below 150
    arrived = len(model.retail) - 200
    assert 50 < arrived < 150
    assert ts["retail_traders"].iloc[0] == 200
    assert ts["retail_traders"].iloc[-1] == len(model.retail)
    assert ts["retail_traders"].is_monotonic_increasing
    kinds = model.exchange.kind[: model.exchange.n_accounts]
    assert int((kinds == KIND_CODE["retail"]).sum()) == len(model.retail)
    # newcomers are linked into the social graph
    assert len(model.network) == len(model.retail)
    assert len(model.network.neighbours(len(model.retail) - 1)) > 0
    # and without arrivals the population stays as it was
    none = run(load_config(BASELINE, ["retail.count=200", "steps=300", "retail.arrival_per_day=0"]))
    assert len(none.retail) == 200


def test_step_order(monkeypatch):
    """Index, quotes, funding, traders, liquidation, liquidators' unwind, data collection."""
    model = MarketModel.from_config(small("steps=5", "whales.count=1", "funding.interval_steps=1"))
    calls: list[str] = []

    def spy(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls.append(label)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    spy(model.exchange, "set_index", "index")
    for maker in model.makers:
        spy(maker, "plan", "quotes")
    spy(model.exchange, "apply_funding", "funding")
    for whale in model.whales:
        spy(whale, "step", "traders")
    spy(model.exchange.liquidation, "run", "liquidation")
    for liquidator in model.liquidators:
        spy(liquidator, "unwind", "unwind")
    spy(model.datacollector, "collect", "collect")
    model.step()
    order = [label for i, label in enumerate(calls) if i == 0 or calls[i - 1] != label]
    assert order == ["index", "quotes", "funding", "traders", "liquidation", "unwind", "collect"]
    assert calls.count("quotes") == model.config.market_makers.count
    assert calls.count("unwind") == model.config.liquidators.count


def test_a_steps_cost_follows_the_active_traders(monkeypatch):
    """Structural: inactive retail traders are not visited, neither as agents nor as decisions."""
    stepped = []
    decided: list[int] = []
    original_decide = sim.market.trading.decide

    def count_decide(model, slots):
        decided.append(len(slots))
        return original_decide(model, slots)

    monkeypatch.setattr(RetailTrader, "step", lambda self: stepped.append(self.slot))
    monkeypatch.setattr(sim.market.trading, "decide", count_decide)

    idle = run(small("steps=40", "retail.activity=0", "whales.count=0", "retail.arrival_per_day=0"))
    assert stepped == []
    assert len(decided) == 40 and sum(decided) == 0
    assert idle.exchange.open_interest() == 0    # with no one active, nobody traded

    decided.clear()
    busy = run(small("steps=40", "retail.count=1000", "retail.activity=0.02", "whales.count=0",
                     "retail.arrival_per_day=0"))
    assert len(decided) == 40
    # about 2 % of 1,000 a step (plus any exits), never the whole population
    assert 5 < np.mean(decided) < 60
    assert max(decided) < 200
    assert busy.exchange.open_interest() > 0


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_sorted_lots_kept_from_step_to_step_equal_sorting_afresh(seed):
    """The record keeps open positions sorted across steps by taking out and putting back only the
    accounts that changed (ties, sign changes, closings and new accounts included)."""
    rng = np.random.default_rng(seed)
    kept = SortedLots()
    lots = np.zeros(0, dtype=np.int64)
    for _ in range(int(rng.integers(1, 12))):
        lots = np.concatenate([lots, np.zeros(int(rng.integers(0, 5)), dtype=np.int64)])
        moved = rng.random(len(lots)) < rng.uniform(0.0, 1.0)
        lots[moved] = rng.integers(-4, 5, int(moved.sum()))
        assert kept.update(lots).tolist() == np.sort(lots[lots != 0]).tolist()


@pytest.mark.parametrize("n, k, p, seed", [(7, 6, 0.1, 1), (12, 4, 0.5, 2), (50, 6, 0.1, 3), (300, 8, 1.0, 4),
                                           (1000, 6, 0.1, 5), (9, 2, 0.0, 6)])
def test_small_world_ties_are_networkx_watts_strogatz_in_its_order(n, k, p, seed):
    """The neighbour table's small world is networkx's, tie for tie and in networkx's order (the
    de-risking draws follow that order), and the graph networkx builds later is the same one."""
    import networkx as nx

    from sim.market.network import SocialGraph, small_world

    expected = nx.watts_strogatz_graph(n, k, p, seed=seed)
    assert small_world(n, k, p, seed) == [list(expected.adj[u]) for u in range(n)]
    graph = SocialGraph(n, k, p, np.random.default_rng(seed))
    graph.add(3)
    for node in range(n + 3):
        assert graph.neighbours(node).tolist() == list(graph.graph.adj[node])


def test_neighbour_sentiment_on_a_ring_worked_by_hand():
    """A ring of five (each trader linked to the one either side, no rewiring): the sign of the two
    neighbours' summed positions."""
    from sim.market.network import SocialGraph

    graph = SocialGraph(5, 2, 0.0, np.random.default_rng(0))
    assert [sorted(graph.neighbours(node).tolist()) for node in range(5)] == [[1, 4], [0, 2], [1, 3], [2, 4], [0, 3]]
    lots = np.array([5, -2, 7, -10, 2])
    # node 0: -2 + 2 = 0; node 1: 5 + 7; node 2: -2 - 10; node 3: 7 + 2; node 4: -10 + 5
    assert graph.sentiment(np.array([0, 1, 2, 3, 4]), lots).tolist() == [0, 1, -1, 1, -1]
    assert graph.sentiment(np.array([3, 3]), lots).tolist() == [1, 1]
