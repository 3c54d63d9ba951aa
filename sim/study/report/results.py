"""A sweep folder read for a report: the manifest, the arms in plan order, the successful runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import ConfigError
from sim.study.sweep import open_folder

LEVEL = 0.95
FIGURE_MEASURES = ("liquidation_notional", "largest_cascade_notional", "cascade_count", "max_drawdown",
                   "drawdown_amplification", "max_abs_basis", "peak_hhi_entities", "mean_whale_share", "bad_debt",
                   "mean_amplification")
CONCENTRATION_MEASURES = ("peak_hhi_entities", "mean_hhi_entities", "mean_top10_share", "mean_whale_share")
CONCENTRATION_SERIES = (("hhi_entities", "HHI of open interest over entities"), ("whale_share", "whale share of open interest"))
NOT_MEASURES = frozenset({"run_id", "arm", "arm_label", "replicate", "seed", "sample_index", "status", "error",
                          "wall_seconds", "steps"})
MAX_LINES = 12
MAX_ARM_ROWS = 40


@dataclass
class SweepResults:
    """A sweep folder read for a report: manifest, arms in plan order, and the successful runs."""

    root: Path
    manifest: dict[str, Any]
    arms: pd.DataFrame
    runs: pd.DataFrame
    failed: pd.DataFrame
    measures: list[str]

    @property
    def sampled(self) -> list[str]:
        sample = self.manifest.get("sample")
        return list(sample["bounds"]) if sample else []

    def table(self, run_id: str, name: str) -> pd.DataFrame | None:
        """A kept per-run table (timeseries, liquidations, cascades), or None if it was not kept."""
        path = self.root / "tables" / run_id / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None


def read_results(root: str | Path) -> SweepResults:
    """Read a sweep folder: ConfigError (one line) if it is not one or holds no successful run."""
    folder = open_folder(root)
    manifest = folder.manifest()
    runs = folder.runs()
    arms = pd.DataFrame(manifest["arms"])
    params = {key for arm in manifest["arms"] for key in arm["params"]}
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        raise ConfigError(f"{folder.root}: no successful runs to report ({len(runs)} failed)")
    measures = [column for column in ok.columns if column not in NOT_MEASURES and column not in params
                and pd.api.types.is_numeric_dtype(ok[column])]
    return SweepResults(folder.root, manifest, arms, ok, runs[runs["status"] != "ok"], measures)
