"""Run configs: loading, ``extends``, ``--set`` overrides, and one-line errors from ``tierlab run``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.config import ConfigError, config_from_data, load_config

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "baseline.yaml"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def assert_one_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tierlab: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_baseline_loads_with_its_schedule() -> None:
    config = load_config(BASELINE)
    assert config.name == "baseline"
    assert config.steps == 1440
    assert config.build_schedule().n_tiers == 12
    assert config.fundamental.shocks[0].step == 900


def test_overrides_parse_values_as_yaml() -> None:
    config = load_config(BASELINE, ["retail.count=50", "fundamental.shocks.0.size=-0.1", "whales.hunt=true",
                                    "schedule=schedules/flat_20x.yaml"])
    assert config.retail.count == 50
    assert config.fundamental.shocks[0].size == -0.1
    assert config.whales.hunt is True
    assert config.build_schedule().name == "flat_20x"


def test_scenario_extends_baseline_and_changes_only_its_keys() -> None:
    base = load_config(BASELINE)
    scenario = load_config(ROOT / "configs" / "scenarios" / "flash_crash.yaml")
    assert scenario.name == "flash_crash"
    assert [s.size for s in scenario.fundamental.shocks] == [-0.12, 0.05]
    assert scenario.market_makers.volatility_pull == 1.0
    assert scenario.market_makers.depth == base.market_makers.depth
    assert scenario.retail == base.retail


def test_extends_cycle_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match=r"extends: a.yaml extends this file again"):
        load_config(tmp_path / "a.yaml")


def test_inline_schedule_and_steepness() -> None:
    config = config_from_data({"schedule": {"kind": "flat", "max_leverage": 20, "maintenance_rate": 0.02},
                               "steepness": 2.0}, "inline.yaml")
    schedule = config.build_schedule()
    assert schedule.max_leverage(1_000.0) == pytest.approx(10.0)
    assert schedule.maintenance_rate(1_000.0) == pytest.approx(0.04)


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["retail.cout=3"], ["baseline.yaml", "retail.cout", "unknown key"]),
        (["retail.count=-3"], ["baseline.yaml", "retail.count", "greater than or equal to 0"]),
        (["retail.activity=abc"], ["baseline.yaml", "retail.activity", "valid number"]),
        (["retail.leverage_max=2"], ["baseline.yaml", "leverage_max", "below leverage_min"]),
        (["fees.maker=-0.002"], ["baseline.yaml", "fees", "rebate"]),
        (["schedule=schedules/missing.yaml"], ["missing.yaml", "file not found"]),
        (["schedule={kind: flat, max_leverage: 10, maintenance_rate: 0.2}"],
         ["baseline.yaml", "schedule", "maintenance_rate", "not below the initial rate"]),
        (["retailcount"], ["--set retailcount", "dotted.key=value"]),
        (["schedule.kind=flat"], ["schedule.kind", "schedule is a file path"]),
        (["fundamental.shocks.3.size=0.1"], ["fundamental.shocks.3", "no such item"]),
    ],
)
def test_run_refuses_bad_config_in_one_line(overrides: list[str], fragments: list[str],
                                            capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["run", str(BASELINE), "--steps", "5", "--out", str(tmp_path / "out"), "--quiet"]
    for text in overrides:
        argv += ["--set", text]
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert_one_line(err, *fragments)
    assert not (tmp_path / "out").exists()


def test_run_refuses_missing_and_broken_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run_cli(["run", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert_one_line(err, "nope.yaml", "file not found")
    broken = write(tmp_path / "broken.yaml", "retail: [1, 2\n")
    code, err = run_cli(["run", str(broken)], capsys)
    assert code == 2
    assert_one_line(err, "broken.yaml", "not valid YAML")
    listing = write(tmp_path / "list.yaml", "- 1\n- 2\n")
    code, err = run_cli(["run", str(listing)], capsys)
    assert code == 2
    assert_one_line(err, "list.yaml", "expected a mapping")


def test_run_refuses_an_unwritable_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = write(tmp_path / "file", "not a folder")
    code, err = run_cli(["run", str(BASELINE), "--steps", "2", "--set", "retail.count=10",
                         "--out", str(blocker / "run"), "--quiet"], capsys)
    assert code == 2
    assert_one_line(err, str(blocker), "cannot write")


def test_run_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "extends: " + str(BASELINE) + "\nwhales: {capital: -1}\n")
    result = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(bad)], capture_output=True,
                            text=True, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert_one_line(result.stderr, "bad.yaml", "whales.capital", "greater than 0")


def test_bad_cli_argument_exits_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(BASELINE), "--steps", "many"],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--steps: invalid" in result.stderr
