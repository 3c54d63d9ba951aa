"""Sweeps: planning and refusals, common seeds, the folder's records, failure, interruption and
resumption, and identical rows from any number of workers and from Dask."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.config import ConfigError, load_sweep
from sim.study.sweep import plan_sweep, run_sweep, sweep_file

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "configs" / "baseline.yaml"
TIERLAB = Path(sys.executable).with_name("tierlab")

SMALL = f"""name: small
base: {BASE}
set:
  retail.count: 60
  fundamental.shocks.0.step: 30
steps: 60
root_seed: 5
"""
TWO_SCHEDULES = SMALL + """grid:
  schedule: [schedules/flat_100x.yaml, schedules/binance_btcusdt.yaml]
control:
  schedule: schedules/flat_100x.yaml
"""


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main() in-process: exit code, stdout, stderr."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "runs.parquet")


def indexed(out: Path) -> dict[str, str]:
    return json.loads((out / "index.json").read_text())["runs"]


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------


def test_every_arm_runs_the_same_seeds_drawn_from_the_root_seed(tmp_path: Path) -> None:
    plan = sweep_file(write(tmp_path, TWO_SCHEDULES + "seeds: 3\n"))
    by_arm = {arm.arm: [run.seed for run in plan.runs if run.arm is arm] for arm in plan.arms}
    assert len(plan.runs) == 6
    assert by_arm["a000"] == by_arm["a001"] == plan.seeds
    expected = [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(5).spawn(3)]
    assert plan.seeds == expected
    more = sweep_file(write(tmp_path, TWO_SCHEDULES + "seeds: 5\n"))
    assert more.seeds[:3] == plan.seeds
    listed = sweep_file(write(tmp_path, TWO_SCHEDULES + "seeds: [11, 7]\n"))
    assert listed.seeds == [11, 7]


def test_arms_whose_values_print_alike_get_distinct_labels(tmp_path: Path) -> None:
    """Labels round floats to 4 digits and name schedules by file stem; arms that would share a
    label (and be merged in the report's tables and figures) carry their arm id as well."""
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "steep.yaml").write_text((ROOT / "configs" / "schedules" / "steep.yaml").read_text())
    text = SMALL + f"""grid:
  steepness: [1.00001, 1.00002, 2.0]
  schedule: [schedules/steep.yaml, {tmp_path / "other" / "steep.yaml"}]
seeds: 1
"""
    labels = [arm.label for arm in sweep_file(write(tmp_path, text)).arms]
    assert len(set(labels)) == len(labels) == 6
    assert labels[0] == "steepness=1, schedule=steep (a000)"
    assert "steepness=2, schedule=steep (a004)" in labels
    alone = sweep_file(write(tmp_path, TWO_SCHEDULES + "seeds: 1\n"))
    assert [arm.label for arm in alone.arms] == ["flat_100x", "binance_btcusdt"]


def test_grid_crosses_zip_pairs_and_control_matches_the_other_values(tmp_path: Path) -> None:
    text = SMALL + """grid:
  schedule: [schedules/flat_100x.yaml, schedules/steep.yaml]
zip:
  whales.count: [1, 2, 3]
  whales.capital: [1000000.0, 2000000.0, 3000000.0]
control:
  schedule: schedules/flat_100x.yaml
seeds: 1
"""
    plan = sweep_file(write(tmp_path, text))
    assert len(plan.arms) == 6
    pairs = {(arm.params["whales.count"], arm.params["whales.capital"]) for arm in plan.arms}
    assert pairs == {(1, 1e6), (2, 2e6), (3, 3e6)}
    for arm in plan.arms:
        control = next(a for a in plan.arms if a.arm == arm.control)
        assert control.params["schedule"] == "schedules/flat_100x.yaml"
        assert control.params["whales.count"] == arm.params["whales.count"]
    run = next(r for r in plan.runs if r.arm.params["whales.count"] == 3)
    assert run.config.whales.count == 3 and run.config.whales.capital == 3e6
    assert run.config.retail.count == 60 and run.config.steps == 60


def test_latin_sample_stays_in_bounds_and_rounds_integer_fields(tmp_path: Path) -> None:
    text = SMALL + """sample:
  method: latin
  n: 6
  seed: 3
  bounds:
    steepness: [0.5, 2.0]
    whales.count: [1, 4]
seeds: 1
"""
    plan = sweep_file(write(tmp_path, text))
    assert [arm.sample_index for arm in plan.arms] == list(range(6))
    for run in plan.runs:
        assert 0.5 <= run.config.steepness <= 2.0
        assert isinstance(run.arm.params["whales.count"], int)
        assert 1 <= run.config.whales.count <= 4
    assert len({run.config.steepness for run in plan.runs}) == 6
    assert plan_sweep(load_sweep(write(tmp_path, text))).digest == plan.digest


def test_sobol_sample_has_saltelli_size(tmp_path: Path) -> None:
    text = SMALL + """sample:
  method: sobol
  n: 4
  bounds:
    steepness: [0.5, 2.0]
    whales.capital: [1000000.0, 20000000.0]
seeds: 1
"""
    plan = sweep_file(write(tmp_path, text))
    assert len(plan.arms) == 4 * (2 + 2)


BAD_SWEEPS = [
    ("unknown key", SMALL + "grdi: {schedule: [schedules/steep.yaml]}\n", "grdi: unknown key"),
    ("dotted key names no field", SMALL + "grid: {retail.cuont: [1, 2]}\n",
     "grid.retail.cuont: no such config field"),
    ("key below a value", SMALL + "grid: {steepness.x: [1, 2]}\n", "grid.steepness.x:"),
    ("empty grid", SMALL + "grid: {}\n", "grid: empty"),
    ("grid with no values", SMALL + "grid:\n", "grid: empty"),
    ("empty value list", SMALL + "grid: {whales.count: []}\n", "grid.whales.count: an empty list"),
    ("zip unequal", SMALL + "zip: {whales.capital: [1.0e6, 2.0e6], whales.count: [1]}\n",
     "zip: lists of unequal length (whales.capital: 2, whales.count: 1)"),
    ("wrong type", SMALL + "grid: {whales.count: [1, abc]}\n", "grid.whales.count='abc': whales.count:"),
    ("wrong type in zip", SMALL + "zip: {whales.hunt: [true, maybe]}\n", "zip.whales.hunt='maybe': whales.hunt:"),
    ("missing schedule file", SMALL + "grid: {schedule: [schedules/nope.yaml]}\n", "grid.schedule='schedules/nope.yaml':"),
    ("combination invalid", SMALL + "grid: {retail.leverage_min: [5, 50], retail.leverage_max: [20, 100]}\n",
     "retail.leverage_max: below leverage_min"),
    ("bad set value", SMALL.replace("retail.count: 60", "retail.count: -1"), "set: retail.count:"),
    ("set and varied", SMALL + "grid: {retail.count: [10, 20]}\n", "grid.retail.count: already in set"),
    ("seed is the sweep's", SMALL + "grid: {seed: [1, 2]}\n", "grid.seed: not a sweep parameter"),
    ("list index out of range", SMALL + "grid: {fundamental.shocks.4.size: [-0.1]}\n", "fundamental.shocks.4: no such item"),
    ("control not a value", TWO_SCHEDULES.replace("control:\n  schedule: schedules/flat_100x.yaml\n",
                                                  "control: {schedule: schedules/steep.yaml}\n"), "control.schedule:"),
    ("control not varied", SMALL + "grid: {whales.count: [1, 2]}\ncontrol: {retail.count: 60}\n",
     "control.retail.count: not a key of grid or zip"),
    ("sobol n", SMALL + "sample: {method: sobol, n: 3, bounds: {steepness: [0.5, 2]}}\n", "sample.n: 3 is not a power of 2"),
    ("sample bound invalid", SMALL + "sample: {method: latin, n: 3, bounds: {steepness: [0, 2]}}\n",
     "sample.bounds.steepness=0: steepness:"),
    ("seeds", SMALL + "seeds: many\n", "seeds: expected a number of seeds"),
    ("keep", SMALL + "keep: [everything]\n", "keep.0:"),
    ("missing base", SMALL.replace(str(BASE), "nope.yaml"), "base: "),
]


@pytest.mark.parametrize("text,expected", [case[1:] for case in BAD_SWEEPS], ids=[case[0] for case in BAD_SWEEPS])
def test_bad_sweep_is_refused_naming_the_key_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str) -> None:
    sweep = write(tmp_path, text)
    out = tmp_path / "out"
    code, _, err = run_cli(["sweep", str(sweep), "--out", str(out), "--workers", "1"], capsys)
    assert code == 2
    assert err.startswith(f"tierlab: error: {sweep}: ")
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_sweep_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["sweep", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert err == f"tierlab: error: {tmp_path / 'nope.yaml'}: file not found\n"


def test_scheduler_needs_the_dask_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write(tmp_path, TWO_SCHEDULES + "seeds: 1\n")
    code, _, err = run_cli(["sweep", str(sweep), "--backend", "local", "--scheduler", "tcp://127.0.0.1:1",
                            "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "--backend dask" in err


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small sweep (2 arms x 3 seeds, tables kept) run on 2 local workers: (sweep file, folder)."""
    folder = tmp_path_factory.mktemp("two_workers")
    sweep = write(folder, TWO_SCHEDULES + "seeds: 3\nkeep: [timeseries, events]\n")
    tally = run_sweep(sweep_file(sweep), folder / "out", "local", 2, progress=False)
    assert tally.outcome == "complete" and tally.ok == 6
    return sweep, folder / "out"


def test_folder_holds_one_row_per_run_with_parameters_seed_and_summary(two_workers: tuple[Path, Path]) -> None:
    sweep, out = two_workers
    frame = rows(out)
    plan = sweep_file(sweep)
    assert sorted(frame["run_id"]) == sorted(run.run_id for run in plan.runs)
    assert set(frame["status"]) == {"ok"} and frame["error"].isna().all()
    for column in ("arm", "arm_label", "replicate", "seed", "schedule", "wall_seconds", "liquidation_count",
                   "peak_hhi_entities", "largest_cascade_notional"):
        assert column in frame
    assert set(frame["arm_label"]) == {"flat_100x", "binance_btcusdt"}
    assert (frame.groupby("arm")["seed"].apply(sorted).map(tuple).nunique()) == 1
    for run_id in frame["run_id"]:
        for table in ("timeseries", "liquidations", "cascades"):
            assert (out / "tables" / run_id / f"{table}.parquet").is_file()
    series = pd.read_parquet(out / "tables" / frame["run_id"].iloc[0] / "timeseries.parquet")
    assert len(series) == 61


def test_manifest_records_file_hash_seed_versions_and_times(two_workers: tuple[Path, Path]) -> None:
    sweep, out = two_workers
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep_sha256"] == hashlib.sha256(sweep.read_bytes()).hexdigest()
    assert manifest["sweep"] == sweep.read_text()
    assert manifest["root_seed"] == 5
    assert manifest["versions"]["mesa"] and manifest["versions"]["numpy"]
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert manifest["started"] <= manifest["ended"]
    assert manifest["sessions"][-1]["outcome"] == "complete"
    assert manifest["runs_ok"] == 6 and manifest["runs_failed"] == 0


def test_second_call_runs_nothing_and_adds_no_row(two_workers: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sweep, out = two_workers
    before = rows(out)
    code, stdout, _ = run_cli(["sweep", str(sweep), "--out", str(out), "--workers", "2", "--quiet"], capsys)
    assert code == 0
    assert "0 runs done now, 6 already done" in stdout
    pd.testing.assert_frame_equal(rows(out), before)


def test_a_changed_sweep_is_refused_in_the_old_folder(two_workers: tuple[Path, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sweep, out = two_workers
    changed = write(tmp_path, sweep.read_text().replace("retail.count: 60", "retail.count: 70"))
    code, _, err = run_cli(["sweep", str(changed), "--out", str(out), "--quiet"], capsys)
    assert code == 2 and f"{out}: holds runs of a different sweep" in err


def test_rows_are_identical_on_one_worker_two_workers_and_dask(two_workers: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    sweep, out = two_workers
    plan = sweep_file(sweep)
    run_sweep(plan, tmp_path / "one", "local", 1, progress=False)
    run_sweep(plan, tmp_path / "dask", "dask", 2, progress=False)
    two = rows(out).drop(columns="wall_seconds")
    for other in ("one", "dask"):
        pd.testing.assert_frame_equal(rows(tmp_path / other).drop(columns="wall_seconds"), two)
        assert json.loads((tmp_path / other / "manifest.json").read_text())["sessions"][0]["backend"] == \
            ("dask" if other == "dask" else "local")


def test_a_failing_run_is_recorded_with_its_error_and_the_rest_complete(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SMALL + f"""grid:
  fundamental.csv: [null, {{path: {tmp_path / 'missing.csv'}}}]
seeds: 2
"""
    sweep, out = write(tmp_path, text), tmp_path / "out"
    code, _, err = run_cli(["sweep", str(sweep), "--out", str(out), "--workers", "2", "--quiet"], capsys)
    assert code == 1 and "2 runs failed" in err
    frame = rows(out).set_index("run_id")
    assert len(frame) == 4
    failed = frame[frame["status"] == "failed"]
    assert sorted(failed.index) == ["a001-000", "a001-001"]
    assert failed["error"].str.contains(f"{tmp_path / 'missing.csv'}: file not found", regex=False).all()
    assert failed["liquidation_count"].isna().all()
    done = frame[frame["status"] == "ok"]
    assert len(done) == 2 and done["error"].isna().all() and done["steps"].eq(61).all()

    code, stdout, _ = run_cli(["sweep", str(sweep), "--out", str(out), "--quiet"], capsys)
    assert code == 1 and "0 runs done now, 4 already done" in stdout
    code, stdout, _ = run_cli(["sweep", str(sweep), "--out", str(out), "--retry-failed", "--workers", "1",
                               "--quiet"], capsys)
    assert code == 1 and "2 already done, 2 failed" in stdout
    assert len(rows(out)) == 4 and rows(out)["run_id"].is_unique


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_killed_sweep_resumes_and_holds_every_run_exactly_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str) -> None:
    sweep = write(tmp_path, TWO_SCHEDULES.replace("steps: 60", "steps: 150") + "seeds: 8\nkeep: [events]\n")
    out = tmp_path / "out"
    planned = {run.run_id for run in sweep_file(sweep).runs}
    process = subprocess.Popen([str(TIERLAB), "sweep", str(sweep), "--out", str(out), "--workers", "2", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    while process.poll() is None and not ((out / "index.json").exists() and indexed(out)):
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()
    if how == "SIGINT":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    held = indexed(out)
    assert 1 <= len(held) < len(planned)
    if how == "SIGINT":
        assert process.returncode == 130 and "run the same command again to resume" in err
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["sessions"][-1]["outcome"] == "interrupted"
        assert sorted(rows(out)["run_id"]) == sorted(held)

    code, stdout, _ = run_cli(["sweep", str(sweep), "--out", str(out), "--workers", "2", "--quiet"], capsys)
    assert code == 0
    assert f"{len(planned) - len(held)} runs done now, {len(held)} already done" in stdout
    frame = rows(out)
    assert sorted(frame["run_id"]) == sorted(planned)
    assert frame["run_id"].is_unique and set(frame["status"]) == {"ok"}
    assert sorted(p.stem for p in (out / "parts").glob("*.parquet")) == sorted(planned)
    assert set(indexed(out)) == planned


def test_a_folder_in_use_by_another_sweep_is_refused(tmp_path: Path) -> None:
    from sim.study.sweep.resume import folder_lock

    out = tmp_path / "out"
    with folder_lock(out), pytest.raises(ConfigError, match="another tierlab sweep is writing"), folder_lock(out):
        pass


def test_resuming_with_changed_model_code_warns_and_the_report_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.study.sweep.resume
    from sim.study.report import write_report

    plan = sweep_file(write(tmp_path, SMALL + "seeds: 2\n"))
    out = tmp_path / "out"
    assert run_sweep(plan, out, "local", 1, progress=False).warning == ""
    index = indexed(out)
    del index["a000-001"]
    (out / "index.json").write_text(json.dumps({"runs": index}))
    monkeypatch.setattr(sim.study.sweep.resume, "code_digest", lambda: "edited")
    tally = run_sweep(plan, out, "local", 1, progress=False)
    assert tally.ok == 1 and "model code changed" in tally.warning
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["runs_done"] for s in sessions] == [2, 1] and sessions[1]["code"] == "edited"
    assert any("2 versions of the model code" in note for note in write_report(out).notes)
