"""The public API a notebook uses: ``import sim`` and its run, sweep, report, loaders and model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"


def test_run_returns_the_summary_and_every_table():
    result = sim.run(BASELINE, seed=3, steps=120)
    assert result.seed == 3 and result.config.steps == 120 and result.out is None
    assert list(result.timeseries["step"]) == list(range(121))
    for table in (result.timeseries, result.liquidations, result.cascades, result.tiers):
        assert isinstance(table, pd.DataFrame)
    assert result.summary["steps"] == 121


def test_run_with_a_folder_writes_what_the_command_writes(tmp_path):
    config = sim.load_config(BASELINE, ["retail.count=100"])
    result = sim.run(config, seed=5, steps=60, out=tmp_path / "run")
    assert result.out == tmp_path / "run"
    written = pd.read_parquet(tmp_path / "run" / "timeseries.parquet")
    pd.testing.assert_frame_equal(written, result.timeseries)
    again = sim.run(config, seed=5, steps=60)
    pd.testing.assert_frame_equal(again.liquidations, result.liquidations)


def test_model_steps_by_hand_like_run():
    config = sim.load_config(BASELINE, ["retail.count=100", "steps=30"])
    model = sim.MarketModel(config, seed=2)
    for _ in range(30):
        model.step()
    pd.testing.assert_frame_equal(model.timeseries(), sim.run(config, seed=2).timeseries)


def test_sweep_and_report_wrap_the_commands(tmp_path):
    runs = sim.sweep(ROOT / "experiments" / "smoke.yaml", out=tmp_path / "smoke", workers=2)
    assert len(runs) == 4 and set(runs["status"]) == {"ok"}
    written = sim.report(tmp_path / "smoke")
    assert written.markdown.exists() and written.html.exists()


def test_load_schedule_is_the_schedules_maths():
    schedule = sim.load_schedule(ROOT / "configs" / "schedules" / "binance_btcusdt.yaml")
    assert schedule.maintenance_margin(1_000_000.0) == pytest.approx(1_000_000 * 0.0065 - 1_500)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sim.nothing  # noqa: B018


def test_importing_sim_loads_nothing_heavy():
    code = "import sys, sim; print([m for m in ('mesa', 'pandas', 'sim.market') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
