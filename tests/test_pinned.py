"""Pinned runs: a fixed config and seed give exactly the summary and tables recorded in tests/pinned/.

Refactors and speed work must leave these runs bit for bit as they were. A change that is meant to
alter the model's behaviour re-pins, on purpose and with the reason in its commit:
``python tests/test_pinned.py --write``.

Tables are compared by a digest of their contents as read back from the Parquet files (column
names, dtypes and every value's bytes), not of the files' raw bytes: those also record the pyarrow
and pandas versions that wrote them, which a fresh install may change without changing a value.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PINS = Path(__file__).resolve().parent / "pinned"
TABLES = ("timeseries", "liquidations", "cascades", "tiers")
PINNED_RUNS = {
    "baseline": ("configs/baseline.yaml", []),
    "stress": ("configs/scenarios/flash_crash.yaml",
               ["steps=960", "schedule=schedules/flat_100x.yaml", "whales.hunt=true",
                "whales.split_accounts=3", "retail.count=400", "debug=true"]),
}


def table_digest(frame: pd.DataFrame) -> str:
    """sha256 over the column names, dtypes and values of a table, in order."""
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        digest.update(f"{name}\0{column.dtype}\0".encode())
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            digest.update(column.to_numpy().tobytes())
        else:
            digest.update("\0".join(map(str, column.tolist())).encode())
    return digest.hexdigest()


def run_pinned(name: str, out: Path) -> dict:
    """Run one pinned config into ``out``; its summary and the digests of its tables as written."""
    from sim.config import load_config
    from sim.study.run import run

    path, overrides = PINNED_RUNS[name]
    config = load_config(ROOT / path, overrides)
    run(config, out=out, figure=False)
    tables = {table: table_digest(pd.read_parquet(out / f"{table}.parquet")) for table in TABLES}
    summary = json.loads((out / "summary.json").read_text())
    return {"config": path, "overrides": overrides, "seed": config.seed, "summary": summary, "tables": tables}


def same(a: object, b: object) -> bool:
    """Equal, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("name", list(PINNED_RUNS))
def test_run_matches_its_pin(name, tmp_path):
    pinned = json.loads((PINS / f"{name}.json").read_text())
    got = run_pinned(name, tmp_path)
    assert got["summary"].keys() == pinned["summary"].keys()
    changed = [key for key, value in pinned["summary"].items() if not same(got["summary"][key], value)]
    assert not changed, {key: (pinned["summary"][key], got["summary"][key]) for key in changed}
    assert got["tables"] == pinned["tables"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_pinned.py --write   (re-pins every pinned run)")
    import tempfile

    PINS.mkdir(exist_ok=True)
    for run_name in PINNED_RUNS:
        with tempfile.TemporaryDirectory() as folder:
            record = run_pinned(run_name, Path(folder))
        (PINS / f"{run_name}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"pinned {run_name}: {record['tables']}")
