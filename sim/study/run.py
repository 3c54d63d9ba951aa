"""One run: a config and a seed in, an output folder of Parquet tables, a summary and a figure out."""

from __future__ import annotations

import hashlib
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.config import ConfigError, RunConfig, load_config
from sim.market import MarketModel
from sim.market.record import RunTables
from sim.study.figures import run_figure
from sim.study.outputs import write_json
from sim.study.progress import Progress
from sim.study.provenance import code_digest, git_state, now, package_versions

OUTPUT_FILES = ("config.yaml", "timeseries.parquet", "liquidations.parquet", "cascades.parquet",
                "tiers.parquet", "summary.json", "run.json", "run.png")


@dataclass
class RunResult(RunTables):
    """A finished run: its summary and tables, the config and seed it ran, and its folder if written."""

    config: RunConfig
    seed: int
    out: Path | None = None


def resolved_text(config: RunConfig, seed: int) -> str:
    """The run's config.yaml: the resolved config (schedule inlined) with the seed that runs."""
    resolved = config.resolved()
    resolved["seed"] = seed
    return yaml.safe_dump(resolved, sort_keys=False)


def default_out(config: RunConfig, seed: int) -> Path:
    """Where a run goes when no --out is given: runs/<name>-seed<seed>-<8 hex of its config.yaml's hash>,
    so the same config and seed always go to one folder and any override to another."""
    digest = hashlib.sha256(resolved_text(config, seed).encode()).hexdigest()[:8]
    return Path("runs") / f"{config.name}-seed{seed}-{digest}"


def claim_out(out: Path, config_text: str, overwrite: bool = False) -> None:
    """Make sure writing a run into ``out`` replaces no other run's outputs: a folder holding a run of
    another config or seed is refused (ConfigError) unless ``overwrite``, which deletes those outputs."""
    held = [out / name for name in OUTPUT_FILES if (out / name).exists()]
    record = out / "config.yaml"
    if not held or (record.is_file() and record.read_text() == config_text):
        return
    if not overwrite:
        raise ConfigError(f"{out}: holds the outputs of another run (another config or seed); "
                          "choose another --out, or add --overwrite to replace them")
    for path in held:
        path.unlink()


def simulate(config: RunConfig, seed: int | None = None, progress: bool = False) -> MarketModel:
    """Build the model and run it for the config's steps (showing progress if asked)."""
    model = MarketModel.from_config(config, seed=seed)
    with Progress(config.steps, config.name, "step", enabled=progress, leave=False) as shown:
        model.run(progress=lambda _step: shown.advance())
    return model


def run(config: RunConfig | str | Path, seed: int | None = None, steps: int | None = None,
        out: str | Path | None = None, progress: bool = False, figure: bool = True,
        overwrite: bool = False) -> RunResult:
    """Simulate a config (a RunConfig, or the path of a run file) and return its summary and tables.

    ``seed`` and ``steps`` override the config's. With ``out``, the run's folder is written too:
    the resolved config, the Parquet tables, summary.json, run.json and (with ``figure``) run.png.
    A folder holding another run's outputs is refused (ConfigError) unless ``overwrite``.
    """
    if not isinstance(config, RunConfig):
        config = load_config(config)
    if steps is not None:
        config = config.model_copy(deep=True)
        config.steps = steps
    seed = config.seed if seed is None else int(seed)
    if out is not None:
        claim_out(Path(out), resolved_text(config, seed), overwrite)
    started = time.perf_counter()
    tables = simulate(config, seed, progress).tables()
    result = RunResult(**vars(tables), config=config, seed=seed)
    if out is not None:
        write_run(result, Path(out), time.perf_counter() - started, figure)
    return result


def run_provenance(config: RunConfig, seed: int, wall_seconds: float) -> dict[str, Any]:
    """run.json: what ran (config file, overrides, seed, steps) and with what (versions, commit, code)."""
    config_file, overrides = config.origin.get("config_file"), config.origin.get("overrides")
    command = None
    if config_file is not None:
        words = ["tierlab", "run", config_file, *(w for o in overrides for w in ("--set", o)),
                 "--seed", str(seed), "--steps", str(config.steps)]
        command = shlex.join(words)
    return {"config": config.name, "seed": seed, "steps": config.steps, "config_file": config_file,
            "overrides": overrides, "command": command, "wall_seconds": wall_seconds, "finished": now(),
            "versions": package_versions(), "git": git_state(), "code": code_digest()}


def write_run(result: RunResult, out: Path, wall_seconds: float, figure: bool = True) -> None:
    """A run's folder: resolved config, Parquet tables, summary, provenance and figure."""
    config, seed = result.config, result.seed
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(resolved_text(config, seed))
    for name in ("timeseries", "liquidations", "cascades", "tiers"):
        getattr(result, name).to_parquet(out / f"{name}.parquet", index=False)
    write_json(out / "summary.json", dict(sorted(result.summary.items())))
    write_json(out / "run.json", run_provenance(config, seed, wall_seconds))
    if figure:
        run_figure(result.timeseries, result.liquidations, out / "run.png", title=f"{config.name} (seed {seed})")
    result.out = out
