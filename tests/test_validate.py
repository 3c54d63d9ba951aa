"""``tierlab validate``: the references and their sources, one run's statistics by hand, the table's
means and paired differences, and the command on a tiny setting (few seeds, short runs): the files
it writes, their rows and columns, and the same numbers whatever the worker count.

Whether the model meets the references is not tested here: that is what the command reports."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.study.validate.experiments import EXPERIMENTS, validation_seeds
from sim.study.validate.references import ROWS, SECTIONS, Reference, Row
from sim.study.validate.report import write_validation
from sim.study.validate.statistics import crash_window, market_statistics
from sim.study.validate.table import DISPLAY_COLUMNS, display_table, validation_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SEEDS, STEPS = 2, 150
TABLE_COLUMNS = ["section", "experiment", "versus", "figure", "statistic", "seeds", "mean", "low", "high",
                 "fundamental_mean", "fundamental_low", "fundamental_high", "reference", "reference_low",
                 "reference_high", "source", "verdict", "interval"]


# ------------------------------------------------------------------------------------------ references
def test_every_reference_names_a_source_and_every_row_a_known_experiment() -> None:
    experiments = {e.name for e in EXPERIMENTS}
    for row in ROWS:
        assert row.reference.source.strip() and row.reference.text.strip(), row.figure
        assert row.experiment in experiments and (row.versus is None or row.versus in experiments)
        assert row.section in SECTIONS
        if row.reference.low is not None and row.reference.high is not None:
            assert row.reference.low < row.reference.high, row.figure
    assert len({(row.section, row.figure) for row in ROWS}) == len(ROWS)


def test_every_statistic_of_returns_has_the_fundamental_beside_it() -> None:
    for row in ROWS:
        if row.statistic.startswith("mark_"):
            assert row.fundamental == "fundamental_" + row.statistic.removeprefix("mark_"), row.figure


def test_verdict_rule() -> None:
    closed = Reference("1 to 2", "somewhere", 1.0, 2.0)
    assert [closed.verdict(v) for v in (0.99, 1.0, 1.5, 2.0, 2.01)] == \
        ["outside", "within", "within", "within", "outside"]
    above = Reference("above 0", "somewhere", low=0.0, strict=True)
    assert [above.verdict(v) for v in (-1.0, 0.0, 1e-9, 1e9)] == ["outside", "outside", "within", "within"]
    below = Reference("below 0", "somewhere", high=0.0, strict=True)
    assert [below.verdict(v) for v in (-0.5, 0.0)] == ["within", "outside"]
    assert closed.verdict(math.nan) == "n/a"
    assert Reference("context", "somewhere").verdict(1.0) == "-"


def test_where_the_interval_lies() -> None:
    closed = Reference("1 to 2", "somewhere", 1.0, 2.0)
    assert closed.interval_verdict(1.0, 2.0) == "all inside"
    assert closed.interval_verdict(0.5, 1.5) == "across a bound"
    assert closed.interval_verdict(0.5, 2.5) == "across a bound"
    assert closed.interval_verdict(2.1, 3.0) == "all outside"
    assert closed.interval_verdict(math.nan, math.nan) == "n/a"
    above = Reference("above 0", "somewhere", low=0.0, strict=True)
    assert above.interval_verdict(-7.0, 7.0) == "across a bound"          # a mean above 0 that the seeds do not settle
    assert above.interval_verdict(0.0, 3.0) == "across a bound"
    assert above.interval_verdict(-3.0, 0.0) == "all outside"
    assert above.interval_verdict(0.1, 3.0) == "all inside"
    assert Reference("context", "somewhere").interval_verdict(0.0, 1.0) == "-"


# ------------------------------------------------------------------------------------------ statistics
def test_market_statistics_by_hand() -> None:
    # 720 one-minute steps (half a day); open interest 100 then 300: mean 200
    steps = np.arange(721)
    timeseries = pd.DataFrame({"step": steps, "retail_leverage": np.where(steps < 360, 0.0, 20.0)})
    timeseries.loc[timeseries["step"] >= 600, "retail_leverage"] = 40.0
    liquidations = pd.DataFrame({
        "step": [10, 100, 105, 700], "kind": ["retail", "retail", "whale", "retail"],
        "side": ["long", "long", "short", "long"], "notional": [1.0, 3.0, 4.0, 2.0],
        "entry_leverage": [50.0, 90.0, np.nan, 20.0]})
    summary = {"liquidation_notional": 10.0, "mean_open_interest_notional": 200.0, "liquidated_long_notional": 6.0,
               "max_drawdown": 0.1, "fundamental_max_drawdown": 0.08, "drawdown_amplification": 1.25}
    found = market_statistics(timeseries, liquidations, summary, window=(100, 145), minutes_per_step=1.0)
    assert found["liquidation_share"] == pytest.approx(10 / 200 * 2)          # half a day: twice a day
    open_leverage = (240 * 20 + 121 * 40) / 361                               # the steps with positions
    assert found["open_retail_leverage"] == pytest.approx(open_leverage)
    assert found["liquidated_retail_leverage"] == pytest.approx((1 * 50 + 3 * 90 + 2 * 20) / 6)
    assert found["leverage_ratio"] == pytest.approx(60 / open_leverage)
    assert found["long_share"] == pytest.approx(0.6)
    assert found["window_share"] == pytest.approx(0.7)                        # steps 100 and 105
    assert found["drawdown_amplification"] == 1.25
    beyond = market_statistics(timeseries, liquidations, summary, window=(900, 945), minutes_per_step=1.0)
    assert math.isnan(beyond["window_share"])
    none = market_statistics(timeseries, liquidations.iloc[0:0], {**summary, "liquidation_notional": 0.0,
                                                                 "liquidated_long_notional": 0.0}, None, 1.0)
    assert none["liquidation_share"] == 0.0
    assert math.isnan(none["long_share"]) and math.isnan(none["liquidated_retail_leverage"])


def test_crash_window_is_forty_minutes_and_a_few_from_the_first_fall() -> None:
    assert crash_window([1275, 1250, 1265], 1.0) == (1250, 1295)
    assert crash_window([100], 5.0) == (100, 109)
    assert crash_window([], 1.0) is None


def test_seeds_are_children_of_the_root_and_more_keep_the_first() -> None:
    assert validation_seeds(5)[:3] == validation_seeds(3)
    assert len(set(validation_seeds(10))) == 10


# ------------------------------------------------------------------------------------------ the table
def test_table_means_and_paired_differences_by_seed() -> None:
    rng = np.random.default_rng(0)
    level = rng.normal(10.0, 3.0, size=6)
    base = pd.DataFrame({"experiment": "a", "seed": np.arange(6), "mark_k": level, "fundamental_k": level / 2})
    other = pd.DataFrame({"experiment": "b", "seed": np.arange(6)[::-1], "mark_k": level[::-1] - 2.0,
                          "fundamental_k": level[::-1] / 2})
    per_seed = pd.concat([base, other], ignore_index=True)
    reference = Reference("above 0", "test", low=0.0, strict=True)
    rows = (Row("calm", "a", "k of a", "mark_k", reference, fundamental="fundamental_k"),
            Row("calm", "a", "k, a minus b", "mark_k", reference, fundamental="fundamental_k", versus="b"))
    table = validation_table(per_seed, rows)
    assert list(table.columns) == TABLE_COLUMNS
    assert table.loc[0, "mean"] == pytest.approx(level.mean()) and table.loc[0, "seeds"] == 6
    assert table.loc[0, "fundamental_mean"] == pytest.approx(level.mean() / 2)
    assert table.loc[1, "mean"] == pytest.approx(2.0)
    assert table.loc[1, "high"] - table.loc[1, "low"] == pytest.approx(0.0, abs=1e-9)   # pairing removes the level
    assert table.loc[1, "fundamental_mean"] == pytest.approx(0.0)
    assert list(table["verdict"]) == ["within", "within"]
    shown = display_table(table, "calm", rows)
    assert list(shown.columns) == list(DISPLAY_COLUMNS)
    assert shown.loc[1, "verdict"] == "within" and shown.loc[1, DISPLAY_COLUMNS[1]].startswith("2 [")


# ------------------------------------------------------------------------------------------ the command
@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tierlab validate`` with 2 seeds and runs cut to 150 steps, on 2 workers."""
    out = tmp_path_factory.mktemp("validation") / "out"
    code = cli.main(["validate", "--seeds", str(SEEDS), "--steps", str(STEPS), "--workers", "2", "--out", str(out),
                     "--quiet"])
    assert code == 0
    return out


def test_validate_writes_the_report_the_figures_and_the_tables(validated: Path) -> None:
    names = {path.name for path in validated.iterdir()}
    assert {"validation.md", "validation.html", "validation.csv", "per_seed.csv", "figures"} <= names
    figures = sorted(validated.joinpath("figures").glob("*.png"))
    assert {path.name for path in figures} == {"abs_return_autocorrelation.png", "return_tail.png",
                                               "retail_leverage.png", "crash_window.png"}
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in figures)

    table = pd.read_csv(validated / "validation.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["figure"]) == [row.figure for row in ROWS]
    assert set(table["verdict"]) <= {"within", "outside", "n/a", "-"}
    assert set(table["interval"]) <= {"all inside", "across a bound", "all outside", "n/a", "-"}
    assert table["seeds"].between(0, SEEDS).all()                 # seeds with a value (a short run has no tail)
    assert (table.loc[table["statistic"] == "mark_kurtosis_1", "seeds"] == SEEDS).all()
    assert table["source"].str.strip().ne("").all()

    per_seed = pd.read_csv(validated / "per_seed.csv")
    assert len(per_seed) == SEEDS * len(EXPERIMENTS)
    assert list(per_seed["seed"].unique()) == validation_seeds(SEEDS)
    statistics = {row.statistic for row in ROWS} | {row.fundamental for row in ROWS if row.fundamental}
    assert statistics <= set(per_seed.columns)
    assert {f"mark_hill_{p}pct" for p in range(1, 6)} <= set(per_seed.columns)


def test_validate_markdown_has_a_table_per_section_with_every_row(validated: Path) -> None:
    text = (validated / "validation.md").read_text()
    for title in SECTIONS.values():
        assert f"## {title}" in text
    header = "| " + " | ".join(DISPLAY_COLUMNS) + " |"
    assert text.count(header) == len(SECTIONS)
    for row in ROWS:
        assert row.figure.replace("|", "\\|") in text
    assert f"cut to {STEPS} steps" in text
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (validated / link).is_file()


def test_validate_html_is_self_contained(validated: Path) -> None:
    page = (validated / "validation.html").read_text()
    assert page.count("<table") == len(SECTIONS) + 1          # with the Hill exponent by tail share
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r"""(?:src|href)=['"](?!data:)""", page)


def test_validate_gives_the_same_numbers_on_one_worker(validated: Path, tmp_path: Path) -> None:
    report = write_validation(tmp_path, SEEDS, workers=1, steps=STEPS, progress=False)
    for name in ("validation.csv", "per_seed.csv", "validation.md"):
        assert (tmp_path / name).read_bytes() == (validated / name).read_bytes(), name
    assert report.failed == 0


def test_validate_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--seeds", "0"], ["--workers", "two"], ["--steps", "-5"]):
        with pytest.raises(SystemExit) as stopped:
            cli.main(["validate", *argv])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("tierlab validate: error: argument") and err.count("\n") == 1, err
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    code = cli.main(["validate", "--seeds", "1", "--steps", "5", "--out", str(blocked / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tierlab: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(blocked) in err
