"""``tierlab schedule show|check``: output, the PNG, and the one-line error path (exit code 2)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sim import cli
from sim.config import ConfigError
from sim.schedules import load_schedule

ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = ROOT / "configs" / "schedules"
SHIPPED = sorted(SCHEDULES.glob("*.yaml"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TWO = (
    "kind: tiered\nbrackets:\n"
    "  - {cap: 1000000, max_leverage: 50, maintenance_rate: 0.01}\n"
    "  - {cap: 5000000, max_leverage: 20, maintenance_rate: 0.02}\n"
)
FLAT = "kind: flat\nmax_leverage: 20\nmaintenance_rate: 0.025\n"

BAD_INPUTS = [
    ("caps not increasing", TWO.replace("cap: 5000000", "cap: 1000000"), "brackets.1.cap: "),
    (
        "leverage rising",
        TWO.replace(
            "max_leverage: 20, maintenance_rate: 0.02", "max_leverage: 75, maintenance_rate: 0.011"
        ),
        "brackets.1.max_leverage: ",
    ),
    ("maintenance falling", TWO.replace("0.02}", "0.005}"), "brackets.1.maintenance_rate: "),
    ("maintenance >= initial", TWO.replace("0.01}", "0.02}"), "brackets.0.maintenance_rate: "),
    ("non-positive number", FLAT.replace("20", "-20"), "max_leverage: "),
    ("missing number", "kind: flat\nmaintenance_rate: 0.01\n", "max_leverage: "),
    ("unknown key", FLAT + "colour: blue\n", "colour: "),
    ("unknown kind", "kind: ladder\n", "kind: "),
    ("list not mapping", "- kind: flat\n", "expected a mapping"),
    ("invalid YAML", "kind: flat\nmax_leverage: [20\n", "not valid YAML at line 3"),
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main() in-process: exit code, stdout, stderr."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out: str) -> list[list[str]]:
    """The printed table's data rows, split on whitespace (rows start with the tier number)."""
    return [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]


def assert_one_error_line(err: str, *parts: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tierlab: error: ")
    for part in parts:
        assert part in lines[0]
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------
# show
# ------------------------------------------------------------------------------------------


def test_show_prints_table_and_writes_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "binance.png"
    code, out, err = run(
        ["schedule", "show", str(SCHEDULES / "binance_btcusdt.yaml"), "--out", str(png)], capsys
    )
    assert code == 0 and err == ""
    assert "binance_btcusdt: tiered, 12 tiers" in out
    for text in (
        "300,000",
        "1,800,000,000",
        "150x",
        "0.40 %",
        "0.65 %",
        "50.00 %",
        "421,482,000",
        "2,982,000",
    ):
        assert text in out
    rows = table_rows(out)
    assert [row[0] for row in rows] == [str(tier) for tier in range(1, 13)]
    assert rows[2][1:4] == ["800,000", "3,000,000", "75x"]
    assert f"wrote {png}" in out
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_show_default_png_is_file_stem_in_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["schedule", "show", str(SCHEDULES / "hyperliquid_btc.yaml")], capsys)
    assert code == 0
    assert "unlimited" in out and "1,875,000" in out
    assert (tmp_path / "hyperliquid_btc.png").read_bytes().startswith(PNG_MAGIC)
    assert "wrote hyperliquid_btc.png" in out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_show_every_shipped_schedule(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / f"{path.stem}.png"
    code, out, _ = run(["schedule", "show", str(path), "--out", str(png)], capsys)
    assert code == 0
    assert out.startswith(f"{path.stem}: {load_schedule(path).kind}")
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_show_applies_set_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = str(tmp_path / "x.png")
    code, out, _ = run(
        [
            "schedule",
            "show",
            str(SCHEDULES / "flat_20x.yaml"),
            "--set",
            "max_leverage=50",
            "--set",
            "maintenance_rate=0.01",
            "--out",
            png,
        ],
        capsys,
    )
    assert code == 0
    assert "50x" in out and "2.00 %" in out and "1.00 %" in out
    code, out, _ = run(
        [
            "schedule",
            "show",
            str(SCHEDULES / "binance_btcusdt.yaml"),
            "--set",
            "brackets.0.max_leverage=125",
            "--out",
            png,
        ],
        capsys,
    )
    assert code == 0
    assert table_rows(out)[0] == ["1", "0", "300,000", "125x", "0.80", "%", "0.40", "%", "0"]


def test_show_refuses_bad_override_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = SCHEDULES / "binance_btcusdt.yaml"
    code, out, err = run(
        [
            "schedule",
            "show",
            str(path),
            "--set",
            "brackets.1.maintenance_rate=0.001",
            "--out",
            str(tmp_path / "x.png"),
        ],
        capsys,
    )
    assert code == 2 and out == ""
    assert_one_error_line(err, f"{path}: brackets.1.maintenance_rate: ")
    code, _, err = run(["schedule", "show", str(path), "--set", "brackets.40.cap=1"], capsys)
    assert code == 2
    assert_one_error_line(err, "--set brackets.40.cap=1", "brackets.40")
    assert not (tmp_path / "x.png").exists()


def test_show_unwritable_png_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "missing-dir" / "x.png"
    code, _, err = run(
        ["schedule", "show", str(SCHEDULES / "flat_20x.yaml"), "--out", str(out_path)], capsys
    )
    assert code == 2
    assert_one_error_line(err, str(out_path))


# ------------------------------------------------------------------------------------------
# check
# ------------------------------------------------------------------------------------------


def test_check_every_shipped_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["schedule", "check", *map(str, SHIPPED)], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(SHIPPED) >= 8
    for path, line in zip(SHIPPED, lines):
        assert line.startswith(f"ok {path} ({load_schedule(path).kind}, ")
    assert f"ok {SCHEDULES / 'binance_btcusdt.yaml'} (tiered, 12 tiers)" in lines
    assert f"ok {SCHEDULES / 'hyperliquid_btc.yaml'} (tiered, 2 tiers)" in lines
    assert f"ok {SCHEDULES / 'flat_20x.yaml'} (flat, 1 tier)" in lines


def test_check_stops_at_first_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(FLAT + "colour: blue\n")
    good, later = SCHEDULES / "flat_20x.yaml", SCHEDULES / "steep.yaml"
    code, out, err = run(["schedule", "check", str(good), str(bad), str(later)], capsys)
    assert code == 2
    assert out.splitlines() == [f"ok {good} (flat, 1 tier)"]
    assert_one_error_line(err, f"{bad}: colour: unknown key")


@pytest.mark.parametrize("text, field", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_check_bad_input_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_text(text)
    code, out, err = run(["schedule", "check", str(path)], capsys)
    assert code == 2 and out == ""
    assert_one_error_line(err, f"tierlab: error: {path}: {field}")


@pytest.mark.parametrize(
    "name, expected", [("absent.yaml", "file not found"), (".", "is a directory")]
)
def test_check_missing_or_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    path = tmp_path / name
    code, _, err = run(["schedule", "check", str(path)], capsys)
    assert code == 2
    assert_one_error_line(err, f"{path}: {expected}")


def test_check_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plot.png"
    path.write_bytes(PNG_MAGIC + b"\x00\xff")
    code, _, err = run(["schedule", "check", str(path)], capsys)
    assert code == 2
    assert_one_error_line(err, f"{path}: not a text file")


# ------------------------------------------------------------------------------------------
# The parser and the error path
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [[], ["bogus"], ["schedule"], ["schedule", "check"], ["schedule", "show"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tierlab") and ": error: " in lines[0], lines
    assert lines[0].endswith(" -h)")


def test_registered_command_errors_take_the_same_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command added later by registration gets the same one-line ConfigError handling."""

    def fail(args: argparse.Namespace) -> int:
        raise ConfigError(
            f"{args.config}: retail.count: Input should be greater than or equal to 0"
        )

    def add_failing(subparsers: cli.Subparsers) -> None:
        parser = subparsers.add_parser("failing")
        parser.add_argument("config")
        parser.set_defaults(handler=fail)

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, add_failing])
    code, _, err = run(["failing", "base.yaml"], capsys)
    assert code == 2
    assert_one_error_line(err, "tierlab: error: base.yaml: retail.count: ")


def test_subprocess_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TWO.replace("0.02}", "0.005}"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "schedule",
            "check",
            str(SCHEDULES / "flat_100x.yaml"),
            str(bad),
        ],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout.splitlines() == [f"ok {SCHEDULES / 'flat_100x.yaml'} (flat, 1 tier)"]
    assert_one_error_line(result.stderr, f"tierlab: error: {bad}: brackets.1.maintenance_rate: ")


def test_subprocess_console_script_shows(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "tierlab"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]
    result = subprocess.run(
        [*command, "schedule", "show", str(SCHEDULES / "steep.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "steep: tiered, 7 tiers" in result.stdout
    assert (tmp_path / "steep.png").read_bytes().startswith(PNG_MAGIC)
