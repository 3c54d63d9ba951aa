"""Reports: intervals, paired differences, sensitivity indices, the files a sweep report writes, and
the run figure."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.study.figures import run_figure
from sim.study.report import SweepResults
from sim.study.report.statistics import mean_interval, paired_differences, sensitivity_indices
from sim.study.sweep import run_sweep, sweep_file

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "configs" / "baseline.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SMALL = f"""name: small
description: two schedules, tiny market
base: {BASE}
set:
  retail.count: 60
  fundamental.shocks.0.step: 30
  whales.wait: 1.0
  whales.capital_max: 50000000.0
steps: 60
root_seed: 9
"""


def synthetic(runs: pd.DataFrame, arms: list[dict], sample: dict | None = None) -> SweepResults:
    """SweepResults built in memory, as read_results would build them from a folder."""
    manifest = {"name": "synthetic", "arms": arms, "sample": sample, "runs_planned": len(runs)}
    measures = [c for c in runs.columns if c not in {"run_id", "arm", "arm_label", "seed", "sample_index"}
                and not any(c in arm["params"] for arm in arms)]
    return SweepResults(Path("."), manifest, pd.DataFrame(arms), runs, runs.iloc[0:0], measures)


def test_mean_interval_is_the_student_t_interval() -> None:
    mean, low, high, n = mean_interval(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (mean, n) == (2.0, 3)
    half = 4.302652729911275 * 1.0 / np.sqrt(3)
    assert low == pytest.approx(2.0 - half) and high == pytest.approx(2.0 + half)
    single = mean_interval(np.array([5.0]))
    assert single[0] == 5.0 and np.isnan(single[1]) and single[3] == 1
    assert mean_interval(np.array([4.0, 4.0]))[1:3] == (4.0, 4.0)


def test_paired_differences_pair_by_seed_and_remove_shared_variation() -> None:
    rng = np.random.default_rng(0)
    seeds = np.arange(10)
    level = rng.normal(100.0, 30.0, size=10)
    control = pd.DataFrame({"run_id": [f"a000-{s}" for s in seeds], "arm": "a000", "arm_label": "flat",
                            "seed": seeds, "liquidations": level})
    shuffled = rng.permutation(10)
    arm = pd.DataFrame({"run_id": [f"a001-{s}" for s in seeds[shuffled]], "arm": "a001", "arm_label": "tiered",
                        "seed": seeds[shuffled], "liquidations": level[shuffled] - 7.0})
    arms = [{"arm": "a000", "label": "flat", "params": {}, "sample_index": None, "control": "a000"},
            {"arm": "a001", "label": "tiered", "params": {}, "sample_index": None, "control": "a000"}]
    found = paired_differences(synthetic(pd.concat([control, arm], ignore_index=True), arms))
    row = found.set_index("measure").loc["liquidations"]
    assert row["arm"] == "a001" and row["control"] == "flat" and row["pairs"] == 10
    assert row["difference"] == pytest.approx(-7.0)
    assert row["high"] - row["low"] == pytest.approx(0.0, abs=1e-9)
    assert mean_interval(arm["liquidations"].to_numpy())[2] - mean_interval(arm["liquidations"].to_numpy())[1] > 10


def test_sobol_indices_find_the_parameter_that_matters() -> None:
    from SALib.sample import sobol

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}
    x = sobol.sample(problem, 256, calc_second_order=False, seed=1)
    y = 5.0 * x[:, 1] + 0.1 * np.sin(x[:, 0])
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(len(x))], "arm": [f"a{i}" for i in range(len(x))],
                         "arm_label": "", "seed": 0, "sample_index": np.arange(len(x)),
                         "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "cascade_count": y})
    arms = [{"arm": f"a{i}", "label": f"sample {i}", "params": {"a": x[i, 0], "b": x[i, 1], "c": x[i, 2]},
             "sample_index": i, "control": None} for i in range(len(x))]
    sample = {"method": "sobol", "second_order": False, "bounds": {"a": [0, 1], "b": [0, 1], "c": [0, 1]},
              "problem": problem}
    indices, notes = sensitivity_indices(synthetic(runs, arms, sample), ("cascade_count",))
    by_name = indices.set_index("parameter")
    assert notes == []
    assert by_name.loc["b", "ST"] > 0.95 and by_name.loc["b", "S1"] > 0.9
    assert by_name.loc["c", "ST"] < 0.02 and by_name.loc["a", "ST"] < 0.05


def test_run_figure_still_draws_a_run(tmp_path: Path) -> None:
    steps = np.arange(50)
    timeseries = pd.DataFrame({"step": steps, "fundamental": 100 + steps * 0.09, "index": 100 + steps * 0.1,
                               "mark": 100 + steps * 0.11,
                               "hhi_accounts": 0.2, "hhi_entities": 0.3, "top10_share": 0.5, "whale_share": 0.4,
                               "insurance_fund": 1e6, "bad_debt": 0.0})
    liquidations = pd.DataFrame({"step": [10, 10, 20], "side": ["long", "long", "short"],
                                 "notional": [1e5, 2e5, 5e4], "mark_after": [99.0, 98.5, 101.0]})
    path = run_figure(timeseries, liquidations, tmp_path / "run.png", title="t")
    assert path.read_bytes().startswith(PNG_MAGIC)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sweep (3 schedules x 3 seeds, events and time series kept) run and reported."""
    folder = tmp_path_factory.mktemp("report")
    sweep = folder / "sweep.yaml"
    sweep.write_text(SMALL + """grid:
  schedule: [schedules/flat_100x.yaml, schedules/binance_btcusdt.yaml, schedules/steep.yaml]
control:
  schedule: schedules/flat_100x.yaml
seeds: 3
keep: [timeseries, events]
""")
    run_sweep(sweep_file(sweep), folder / "out", "local", 2, progress=False)
    assert cli.main(["report", str(folder / "out")]) == 0
    return folder / "out"


def test_report_writes_figures_tables_markdown_and_html(reported: Path) -> None:
    for name in ("measures_by_arm", "differences", "cascade_sizes", "concentration"):
        assert (reported / "figures" / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
    markdown = (reported / "report.md").read_text()
    for label in ("flat_100x", "binance_btcusdt", "steep"):
        assert label in markdown
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (reported / link).is_file()
    stats = pd.read_csv(reported / "arm_statistics.csv")
    runs = pd.read_parquet(reported / "runs.parquet")
    assert set(stats["measure"]) >= {"liquidation_count", "peak_hhi_entities", "largest_cascade_notional"}
    steep = stats[(stats["label"] == "steep") & (stats["measure"] == "peak_hhi_accounts")].iloc[0]
    values = runs.loc[runs["arm_label"] == "steep", "peak_hhi_accounts"]
    assert steep["mean"] == pytest.approx(values.mean()) and steep["n"] == 3
    assert steep["low"] <= steep["mean"] <= steep["high"]
    differences = pd.read_csv(reported / "differences.csv")
    assert set(differences["label"]) == {"binance_btcusdt", "steep"}
    assert set(differences["control"]) == {"flat_100x"}
    counts = differences[differences["measure"] == "liquidation_count"].set_index("label")
    assert set(counts["pairs"]) == {3}
    paired = runs.pivot(index="seed", columns="arm_label", values="liquidation_count")
    assert counts.at["steep", "difference"] == pytest.approx((paired["steep"] - paired["flat_100x"]).mean())


def test_report_html_is_self_contained(reported: Path) -> None:
    page = (reported / "report.html").read_text()
    sources = re.findall(r"src='([^']*)'", page)
    assert len(sources) == 4
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert "<link" not in page and "http" not in page
    assert "<table" in page and "binance_btcusdt" in page


def test_report_without_kept_events_notes_the_missing_cascade_figure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SMALL + "sample:\n  method: latin\n  n: 4\n  bounds: {whales.capital: [1000000.0, 40000000.0]}\n"
                             "seeds: 1\n")
    run_sweep(sweep_file(sweep), tmp_path / "out", "local", 2, progress=False)
    assert cli.main(["report", str(tmp_path / "out")]) == 0
    _, err = capsys.readouterr()
    assert "kept no cascades" in err
    assert not (tmp_path / "out" / "figures" / "cascade_sizes.png").exists()
    assert (tmp_path / "out" / "figures" / "sample.png").is_file()
    assert "## Sensitivity" in (tmp_path / "out" / "report.md").read_text()


def test_report_on_a_folder_that_is_not_a_sweep_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert err == f"tierlab: error: {tmp_path}: not a sweep folder (no index.json and manifest.json); " \
                  "run tierlab sweep first\n"
