"""Pinned runs: a fixed config and seed give exactly the summary and tables recorded in tests/pinned/.

Refactors and speed work must leave these runs bit for bit as they were. A change meant to alter the
model's behaviour re-pins, on purpose and with the reason in its commit:
``python tests/test_pinned.py --write``.

Each pin records its tables' columns and a digest of their contents as read back from the Parquet
files (names, dtypes and every value's bytes); a later version may add columns and summary keys, and
the pin still holds for the ones it recorded. (The files' raw bytes also record the pyarrow and pandas
versions that wrote them, which a fresh install may change without changing a value.)

The ``*_exogenous`` pins run with the settings that switch price formation off (the mark the book's mid
in its band, no arbitrageurs: the index is the fundamental). When price formation came in, these pins
were the pre-price-formation model's, reproduced bit for bit: the old model is a special case of the new
one. The calibration of the traders (whale population, book depth, retail leverage) re-pinned all four.
The per-step concentration and leverage measures, since computed from whole lots in one compiled pass
whose sums run in a fixed order (no BLAS dot, whose result depended on its thread count), re-pinned the
timeseries digests and the summary values read from them (they moved in the last digits only; the
liquidations, cascades and tiers of all four runs stayed bit for bit).
None of those four reaches auto-deleveraging; the ``crowded`` pin does (twenty thousand traders against
the book, liquidators and insurance fund sized for a thousand: some five thousand ADL closes). It was
written by the code as it stood before the second round of speed work, which then had to match it.
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
EXOGENOUS = ["market.mark=book_mid", "arbitrageurs.count=0"]
STRESS = ["steps=960", "schedule=schedules/flat_100x.yaml", "whales.hunt=true", "whales.split_accounts=3",
          "retail.count=400", "debug=true"]
CROWDED = ["retail.count=20000", "steps=960"]        # the book, liquidators and fund of 1,000 traders: ADL acts
PINNED_RUNS = {
    "baseline": ("configs/baseline.yaml", []),
    "stress": ("configs/scenarios/flash_crash.yaml", STRESS),
    "baseline_exogenous": ("configs/baseline.yaml", EXOGENOUS),
    "stress_exogenous": ("configs/scenarios/flash_crash.yaml", [*STRESS, *EXOGENOUS]),
    "crowded": ("configs/baseline.yaml", CROWDED),
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


def run_pinned(name: str, out: Path, columns: dict[str, list[str]] | None = None) -> dict:
    """Run one pinned config into ``out``: its summary, and its tables' columns and digests (over
    ``columns`` where given, else all)."""
    from sim.config import load_config
    from sim.study.run import run

    path, overrides = PINNED_RUNS[name]
    config = load_config(ROOT / path, overrides)
    run(config, out=out, figure=False)
    tables = {}
    for table in TABLES:
        frame = pd.read_parquet(out / f"{table}.parquet")
        kept = columns[table] if columns else list(frame.columns)
        missing = [column for column in kept if column not in frame.columns]
        assert not missing, f"{table} lost columns {missing}"
        tables[table] = {"columns": kept, "digest": table_digest(frame[kept])}
    summary = json.loads((out / "summary.json").read_text())
    return {"config": path, "overrides": overrides, "seed": config.seed, "summary": summary, "tables": tables}


def same(a: object, b: object) -> bool:
    """Equal, with NaN (or null) equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("name", list(PINNED_RUNS))
def test_run_matches_its_pin(name, tmp_path):
    pinned = json.loads((PINS / f"{name}.json").read_text())
    got = run_pinned(name, tmp_path, {table: entry["columns"] for table, entry in pinned["tables"].items()})
    missing = pinned["summary"].keys() - got["summary"].keys()
    assert not missing, f"summary lost {missing}"
    changed = [key for key, value in pinned["summary"].items() if not same(got["summary"][key], value)]
    assert not changed, {key: (pinned["summary"][key], got["summary"][key]) for key in changed}
    assert got["tables"] == pinned["tables"]


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python tests/test_pinned.py --write [NAME ...]   (re-pins the named runs, default all)")
    import tempfile

    PINS.mkdir(exist_ok=True)
    for run_name in sys.argv[2:] or PINNED_RUNS:
        with tempfile.TemporaryDirectory() as folder:
            record = run_pinned(run_name, Path(folder))
        (PINS / f"{run_name}.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"pinned {run_name}: {', '.join(f'{k} {v['digest'][:12]}' for k, v in record['tables'].items())}")
