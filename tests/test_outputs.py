"""Outputs other tools read and that say where they came from: strict JSON everywhere, run.json
with versions, commit, config file and overrides; and no run silently replacing another's folder."""

from __future__ import annotations

import json
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

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


def config(folder: Path) -> dict:
    return yaml.safe_load((folder / "config.yaml").read_text())


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name not in ("run.json", "run.png")}


def test_runs_that_differ_only_in_an_override_keep_both_folders(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(["run", BASELINE, *SHORT], capsys)[0] == 0
    assert run_cli(["run", BASELINE, *SHORT, "--set", "retail.count=500"], capsys)[0] == 0
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    assert all(re.fullmatch(r"baseline-seed42-[0-9a-f]{8}", f.name) for f in folders), folders
    assert {config(f)["retail"]["count"] for f in folders} == {1000, 500}


def test_the_same_config_and_seed_rerun_into_the_same_folder_with_the_same_bytes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, out, _ = run_cli(["run", BASELINE, *SHORT, "--seed", "5"], capsys)
    folder = tmp_path / re.search(r"outputs in (\S+)/", out)[1]
    before = folder_bytes(folder)
    _, out, _ = run_cli(["run", BASELINE, *SHORT, "--seed", "5"], capsys)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [folder.name]
    assert folder_bytes(folder) == before


def test_an_out_holding_another_run_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "mine"
    assert run_cli(["run", BASELINE, *SHORT, "--out", str(out)], capsys)[0] == 0
    before = folder_bytes(out)
    code, _, err = run_cli(["run", BASELINE, *SHORT, "--set", "whales.count=0", "--out", str(out)], capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"tierlab: error: {out}: holds the outputs of another run (another config "
                                        "or seed); choose another --out, or add --overwrite to replace them"]
    assert folder_bytes(out) == before
    assert run_cli(["run", BASELINE, *SHORT, "--out", str(out)], capsys)[0] == 0     # the same run: rewritten
    code, _, _ = run_cli(["run", BASELINE, *SHORT, "--set", "whales.count=0", "--out", str(out), "--overwrite"],
                         capsys)
    assert code == 0
    assert config(out)["whales"]["count"] == 0
