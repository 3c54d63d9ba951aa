"""Outputs other tools read and that say where they came from: strict JSON everywhere, run.json
with versions, commit, config file and overrides; and no run silently replacing another's folder."""

from __future__ import annotations

import json
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import pytest

from sim import cli
from sim.study.provenance import git_state

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "configs" / "baseline.yaml")
SHORT = ["--steps", "30", "--quiet"]


def refuse_constants(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def strict(path: Path) -> object:
    return json.loads(path.read_text(), parse_constant=refuse_constants)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_json_file_of_a_run_a_sweep_and_its_report_is_strict(tmp_path, capsys):
    code, _, err = run_cli(["run", BASELINE, "--seed", "1", *SHORT, "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    summary = strict(tmp_path / "run" / "summary.json")
    assert summary["cascade_tail_exponent"] is None          # too few cascades: NaN in the run, null here
    code, _, err = run_cli(["sweep", str(ROOT / "experiments" / "smoke.yaml"), "--workers", "1", "--quiet",
                            "--out", str(tmp_path / "sweep")], capsys)
    assert code == 0, err
    assert run_cli(["report", str(tmp_path / "sweep")], capsys)[0] == 0
    written = sorted(tmp_path.rglob("*.json"))
    assert {p.name for p in written} >= {"summary.json", "run.json", "manifest.json", "index.json"}
    for path in written:
        strict(path)


def test_run_json_says_enough_to_reproduce_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = ["run", "configs/baseline.yaml", "--set", "retail.count=100", "--seed", "3", *SHORT]
    assert run_cli([*argv, "--out", str(tmp_path / "first")], capsys)[0] == 0
    info = strict(tmp_path / "first" / "run.json")
    assert info["config_file"] == "configs/baseline.yaml"
    assert info["overrides"] == ["retail.count=100", "seed=3", "steps=30"]
    assert info["versions"]["tierlab"] == version("tierlab") and info["versions"]["mesa"] == version("mesa")
    assert info["git"] == git_state()
    if (ROOT / ".git").exists():                             # a checkout, not an unpacked archive
        assert re.fullmatch(r"[0-9a-f]{40}", info["git"]["commit"]) and isinstance(info["git"]["dirty"], bool)
    assert re.fullmatch(r"[0-9a-f]{64}", info["code"])
    again = shlex.split(info["command"])
    assert again[:2] == ["tierlab", "run"]
    assert run_cli([*again[1:], "--quiet", "--out", str(tmp_path / "again")], capsys)[0] == 0
    for name in ("config.yaml", "summary.json", "timeseries.parquet", "liquidations.parquet"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes(), name
