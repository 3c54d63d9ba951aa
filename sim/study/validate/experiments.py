"""The validation's experiments: which configs run, on which seeds, in local worker processes, each
run reduced to its statistics where it ran so that little travels back.

Every experiment runs the same seeds (children of a fixed root seed), so the leverage effect is a
difference on the same price path and the same traders; results are put back in plan order, so
they do not depend on the worker count or on which run finishes first.
"""

from __future__ import annotations

import os
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.config import RunConfig, load_config
from sim.study.progress import Progress
from sim.study.sweep.attempt import attempt
from sim.study.sweep.executors import local_executor
from sim.study.sweep.plan import child_seeds
from sim.study.validate.statistics import crash_window, run_series, run_statistics

REPOSITORY = Path(__file__).resolve().parents[3]
SCENARIOS = REPOSITORY / "configs" / "scenarios"
ROOT_SEED = 20251010
KEEP = ("timeseries", "events")


@dataclass(frozen=True)
class Experiment:
    """A config the validation runs on every seed, with the overrides that make it this experiment."""

    name: str
    title: str
    config: Path
    overrides: tuple[str, ...] = ()


EXPERIMENTS = (
    Experiment("calm_day", "calm day (the config as it is)", SCENARIOS / "calm_day.yaml"),
    Experiment("calm_day_100x", "calm day, retail leverage up to 100x", SCENARIOS / "calm_day.yaml",
               ("retail.leverage_max=100",)),
    Experiment("calm_day_1x", "calm day, retail leverage capped at 1x", SCENARIOS / "calm_day.yaml",
               ("retail.leverage_min=1", "retail.leverage_max=1")),
    Experiment("october_2025", "October-2025-shaped stress day", SCENARIOS / "october_2025.yaml"),
)


@dataclass(frozen=True)
class Measured:
    """One run reduced where it ran: its statistics and the series the figures need, or its error."""

    experiment: str
    seed: int
    statistics: dict[str, float] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None


def validation_seeds(count: int) -> list[int]:
    """The seeds every experiment runs: the first ``count`` children of the fixed root seed."""
    return child_seeds(ROOT_SEED, count)


def experiment_configs(steps: int | None = None) -> dict[str, RunConfig]:
    """Each experiment's run config, validated before anything runs; ``steps`` shortens every run."""
    shorter = [f"steps={steps}"] if steps is not None else []
    return {e.name: load_config(e.config, [*e.overrides, *shorter]) for e in EXPERIMENTS}


def experiment_window(config: RunConfig) -> tuple[int, int] | None:
    """The crash window of a config's day: from its first falling shock (None without one)."""
    return crash_window([shock.step for shock in config.fundamental.shocks if shock.size < 0], config.dt_minutes)


def measure(experiment: str, config: RunConfig, seed: int) -> Measured:
    """Run ``config`` with ``seed`` (as a sweep's worker does) and reduce it to its statistics."""
    done = attempt(f"{experiment}-{seed}", config, seed, KEEP)
    if done.output is None:
        return Measured(experiment, seed, error=done.error)
    tables, summary = done.output.tables, done.output.summary
    statistics = run_statistics(tables["timeseries"], tables["liquidations"], summary, experiment_window(config),
                                config.dt_minutes)
    return Measured(experiment, seed, statistics, run_series(tables["timeseries"], tables["liquidations"]))


def run_experiments(configs: dict[str, RunConfig], seeds: list[int], workers: int | None = None,
                    progress: bool = True) -> list[Measured]:
    """Every experiment (``experiment_configs``) on every seed in local worker processes; results in
    plan order (experiment, then seed), whatever the order they finish in."""
    jobs = [(name, seed) for name in configs for seed in seeds]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    with local_executor(workers) as executor:
        futures = {executor.submit(measure, name, configs[name], seed): (name, seed) for name, seed in jobs}
        with Progress(len(jobs), "validate", "run", enabled=progress, failures=True) as shown:
            for future in as_completed(futures):
                shown.advance(failed=future.exception() is not None or future.result().error is not None)
    found = {job: future.result() for future, job in futures.items()}
    return [found[job] for job in jobs]
