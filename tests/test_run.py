"""One run into one folder: what ``sim.study.run.run`` writes, and that the record reproduces the run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import measures
from sim.config import config_from_data, load_config
from sim.exchange import LIQUIDATION_COLUMNS
from sim.study.run import OUTPUT_FILES, run

BASELINE = "configs/baseline.yaml"
SMALL = ["retail.count=200", "steps=300", "fundamental.shocks=[{step: 200, size: -0.08, duration: 10}]"]
EXPECTED_FILES = {"config.yaml", "timeseries.parquet", "liquidations.parquet", "cascades.parquet",
                  "tiers.parquet", "summary.json", "run.json", "run.png"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def same_values(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        x, y = (math.nan if v is None else float(v) for v in (value, b[key]))   # JSON writes NaN as null
        assert (math.isnan(x) and math.isnan(y)) or x == y, key


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("run") / "baseline-small"
    result = run(load_config(BASELINE, SMALL), seed=9, out=out)
    return out, result


def test_execute_writes_every_output(run_folder):
    out, result = run_folder
    assert result.out == out
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    assert set(OUTPUT_FILES) == EXPECTED_FILES
    for name in EXPECTED_FILES:
        assert (out / name).stat().st_size > 0, name
    assert (out / "run.png").read_bytes()[:8] == PNG_MAGIC


def test_tables_have_their_rows_and_columns(run_folder):
    out, result = run_folder
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert len(timeseries) == 301
    assert timeseries["step"].tolist() == list(range(301))
    assert set(measures.SUMMARY_TIMESERIES_COLUMNS) <= set(timeseries.columns)
    liquidations = pd.read_parquet(out / "liquidations.parquet")
    assert list(liquidations.columns) == [*LIQUIDATION_COLUMNS, "entry_leverage"]
    assert len(liquidations) > 0                        # the shock liquidated someone
    cascades = pd.read_parquet(out / "cascades.parquet")
    assert list(cascades.columns) == list(measures.CASCADE_COLUMNS)
    assert len(cascades) > 0
    tiers = pd.read_parquet(out / "tiers.parquet")
    assert {"step", "tier", "notional", "accounts"} <= set(tiers.columns)
    assert tiers["step"].between(0, 300).all() and (tiers["accounts"] > 0).all()
    # the files are the tables the run returned
    pd.testing.assert_frame_equal(timeseries, result.timeseries)
    pd.testing.assert_frame_equal(liquidations, result.liquidations)
    pd.testing.assert_frame_equal(cascades, result.cascades)
    pd.testing.assert_frame_equal(tiers, result.tiers)


def test_summary_json_is_the_summary_of_the_written_tables(run_folder):
    out, result = run_folder
    summary = json.loads((out / "summary.json").read_text())
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in ("timeseries", "liquidations", "cascades")}
    recomputed = measures.summarize(tables["timeseries"], tables["liquidations"], tables["cascades"])
    assert set(summary) == set(recomputed)
    same_values(summary, recomputed)
    same_values(summary, result.summary)
    assert summary["liquidation_count"] > 0
    assert summary["steps"] == 301


def test_run_json_records_the_run(run_folder):
    out, _ = run_folder
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 9
    assert info["steps"] == 300
    assert info["config"] == "baseline"
    assert info["wall_seconds"] > 0


def test_resolved_config_reloads_and_reproduces_the_summary(run_folder, tmp_path):
    out, result = run_folder
    data = yaml.safe_load((out / "config.yaml").read_text())
    assert data["seed"] == 9                            # the seed that ran, not the file's 42
    assert isinstance(data["schedule"], dict)           # the schedule inlined: no file needed
    assert data["steps"] == 300 and data["retail"]["count"] == 200
    config = config_from_data(data, str(out / "config.yaml"))
    again = run(config, out=tmp_path / "again", figure=False)
    same_values(again.summary, result.summary)
    pd.testing.assert_frame_equal(again.timeseries, result.timeseries)
    # the record of the record is the same record
    assert yaml.safe_load((tmp_path / "again" / "config.yaml").read_text()) == data


def test_resolved_config_of_a_csv_replay_runs_from_anywhere(tmp_path, monkeypatch):
    config = load_config("configs/scenarios/csv_replay.yaml", ["retail.count=100", "steps=120"])
    first = run(config, out=tmp_path / "first", seed=3, figure=False)
    data = yaml.safe_load((tmp_path / "first" / "config.yaml").read_text())
    assert Path(data["fundamental"]["csv"]["path"]).is_absolute()
    monkeypatch.chdir(tmp_path)                         # relative paths would no longer resolve
    again = run(config_from_data(data, "config.yaml"), out=tmp_path / "again", figure=False)
    same_values(again.summary, first.summary)
    pd.testing.assert_frame_equal(again.timeseries, first.timeseries)


def test_overrides_reach_the_run(tmp_path):
    config = load_config(BASELINE, [*SMALL, "steps=50", "whales.count=0"])
    result = run(config, out=tmp_path / "out", seed=1, figure=False)
    assert not (tmp_path / "out" / "run.png").exists()
    assert len(result.timeseries) == 51
    assert (result.timeseries["whale_share"] == 0).all()
    data = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert data["whales"]["count"] == 0 and data["steps"] == 50
