"""One run: a config and a seed in, an output folder of Parquet tables, a summary and a figure out."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import yaml
from tqdm import tqdm

from sim.config import RunConfig
from sim.model import MarketModel

OUTPUT_FILES = ("config.yaml", "timeseries.parquet", "liquidations.parquet", "cascades.parquet",
                "tiers.parquet", "summary.json", "run.json", "run.png")


@dataclass
class RunResult:
    """What a run produced: its folder, summary row and tables."""

    out: Path
    summary: dict[str, float]
    timeseries: pd.DataFrame
    liquidations: pd.DataFrame
    cascades: pd.DataFrame
    tiers: pd.DataFrame


def default_out(config: RunConfig, seed: int) -> Path:
    """Where a run goes when no --out is given: runs/<config name>-seed<seed>."""
    return Path("runs") / f"{config.name}-seed{seed}"


def simulate(config: RunConfig, seed: int | None = None, progress: bool = False) -> MarketModel:
    """Build the model and run it for the config's steps (with a progress bar if asked)."""
    model = MarketModel.from_config(config, seed=seed)
    with tqdm(total=config.steps, disable=not progress, unit="step", desc=config.name, leave=False) as bar:
        model.run(progress=lambda _step: bar.update(1))
    return model


def execute(config: RunConfig, out: Path | None = None, seed: int | None = None, progress: bool = False,
            figure: bool = True) -> RunResult:
    """Run ``config`` and write its folder: resolved config, Parquet tables, summary, figure."""
    seed = config.seed if seed is None else seed
    out = default_out(config, seed) if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = simulate(config, seed, progress)
    wall = time.perf_counter() - started
    summary, timeseries, liquidations, cascades = model.summary_and_tables()
    tiers = model.tier_timeseries()
    resolved = config.resolved()
    resolved["seed"] = seed
    (out / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    for name, frame in (("timeseries", timeseries), ("liquidations", liquidations),
                        ("cascades", cascades), ("tiers", tiers)):
        frame.to_parquet(out / f"{name}.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=float) + "\n")
    info = {"config": config.name, "seed": seed, "steps": config.steps, "wall_seconds": wall,
            "python": platform.python_version(), "mesa": version("mesa"), "numpy": version("numpy")}
    (out / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    if figure:
        from sim.report import run_figure

        run_figure(timeseries, liquidations, out / "run.png", title=f"{config.name} (seed {seed})")
    return RunResult(out, summary, timeseries, liquidations, cascades, tiers)


SUMMARY_LINES = (
    ("liquidations", "liquidation_count", "{:,.0f}"),
    ("liquidated notional (USD)", "liquidation_notional", "{:,.0f}"),
    ("cascades", "cascade_count", "{:,.0f}"),
    ("largest cascade (USD)", "largest_cascade_notional", "{:,.0f}"),
    ("mean amplification", "mean_amplification", "{:.2f}"),
    ("max drawdown of mark", "max_drawdown", "{:.2%}"),
    ("max drawdown of index", "index_max_drawdown", "{:.2%}"),
    ("peak HHI (accounts)", "peak_hhi_accounts", "{:.3f}"),
    ("peak HHI (entities)", "peak_hhi_entities", "{:.3f}"),
    ("mean whale share", "mean_whale_share", "{:.1%}"),
    ("bad debt (USD)", "bad_debt", "{:,.0f}"),
    ("insurance fund low (USD)", "insurance_fund_low", "{:,.0f}"),
    ("ADL events", "adl_count", "{:,.0f}"),
)


def format_summary(summary: dict[str, float]) -> str:
    """The terminal table: a short, aligned list of the headline measures."""
    width = max(len(label) for label, _, _ in SUMMARY_LINES)
    lines = []
    for label, key, fmt in SUMMARY_LINES:
        value = summary.get(key, float("nan"))
        lines.append(f"  {label:<{width}}  {fmt.format(value)}")
    return "\n".join(lines)
