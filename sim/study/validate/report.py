"""``write_validation``: run the experiments on every seed, then write validation.md, a
self-contained validation.html, the figures as PNG and the statistics as CSV into one folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.config import ConfigError
from sim.study.provenance import git_state, package_versions
from sim.study.report.document import Block, Figure, Heading, Table, Text, to_html, to_markdown
from sim.study.report.results import LEVEL
from sim.study.validate.experiments import (
    EXPERIMENTS,
    REPOSITORY,
    ROOT_SEED,
    Measured,
    experiment_configs,
    experiment_window,
    run_experiments,
    validation_seeds,
)
from sim.study.validate.figures import acf_figure, crash_figure, leverage_figure, tail_figure
from sim.study.validate.references import RULE, SECTIONS
from sim.study.validate.table import display_table, hill_table, per_seed_frame, validation_table

TITLE = "tierlab validation: the model against the stylised facts and market figures"


@dataclass
class ValidationReport:
    """What ``write_validation`` wrote, and the table in numbers."""

    markdown: Path
    html: Path
    figures: list[Path]
    tables: dict[str, Path]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    failed: int = 0


def provenance_text(seeds: list[int], steps: int | None) -> str:
    """Where the numbers come from: experiments, seeds, source commit and versions."""
    git = git_state()
    commit = (git.get("commit") or "unknown")[:12] + (" (with uncommitted changes)" if git.get("dirty") else "")
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items() if v)
    experiments = "; ".join(f"{e.name}: {e.title} ({e.config.relative_to(REPOSITORY).as_posix()}"
                            + (", " + ", ".join(e.overrides) if e.overrides else "") + ")" for e in EXPERIMENTS)
    length = f"every run cut to {steps} steps (--steps)" if steps is not None else "whole runs as configured"
    return (f"Experiments: {experiments}. {len(seeds)} seeds, the first children of SeedSequence({ROOT_SEED}), "
            f"the same in every experiment; {length}. Source commit {commit}; {versions}.")


def reading_text() -> str:
    """How to read the table."""
    return (f"Model: the statistic of the mark price (or of the market), mean over seeds with its {LEVEL:.0%} "
            "Student-t interval. Fundamental: the same statistic computed the same way from the exogenous "
            "fundamental price path of the same runs, so the difference is what the market itself adds. Seeds: the "
            "runs that give the statistic a value. "
            "Returns are one-minute log returns unless the row says otherwise. " + RULE)


def sections(per_seed: pd.DataFrame, by_experiment: dict[str, list[Measured]], table: pd.DataFrame,
             windows: dict[str, tuple[int, int] | None], figures_dir: Path, notes: list[str]) -> list[Block]:
    """The three sections: calm day, leverage effect, stress day, each with its table and figures."""
    calm, stress = by_experiment["calm_day"], by_experiment["october_2025"]
    window = windows["october_2025"]
    titles = {e.name: e.title for e in EXPERIMENTS}
    blocks: list[Block] = [Heading(SECTIONS["calm"]), Text(f"Experiment: {titles['calm_day']}."),
                           Table(display_table(table, "calm"))]
    if calm:
        blocks += [Text("The Hill exponent over tail shares of 1 % to 5 % (mean over seeds and interval): a stable "
                        "estimate changes little from one share to the next."),
                   Table(hill_table(per_seed)),
                   Figure(acf_figure(calm, figures_dir / "abs_return_autocorrelation.png"),
                          "Autocorrelation of |1-minute returns| against lag (log-log), mark and fundamental, mean "
                          "over seeds; shaded: the reference slopes."),
                   Figure(tail_figure(calm, figures_dir / "return_tail.png"),
                          "Complementary CDF of |1-minute returns| over their standard deviation (log-log), mark and "
                          "fundamental, seeds pooled; dashed: slope -3.")]
    else:
        notes.append("no calm-day run succeeded: no autocorrelation or tail figure")
    blocks.append(Figure(leverage_figure(per_seed, {"calm_day": "calm day", "october_2025": "stress day"},
                                         figures_dir / "retail_leverage.png"),
                         "Leverage of open retail positions (contract-weighted, mean over the steps with some open) and of "
                         "liquidated ones (notional-weighted), each run and the mean, on the reference ranges."))
    blocks += [Heading(SECTIONS["leverage"]),
               Text(f"Experiments: {titles['calm_day']}, against {titles['calm_day_1x']}; everything else equal "
                    "and the same seeds, so the differences are paired by seed. The fundamental is the same path in "
                    "both, so its difference is zero: the whole effect is the market's."),
               Table(display_table(table, "leverage")),
               Heading(SECTIONS["stress"]),
               Text(f"Experiment: {titles['october_2025']} (configs/scenarios/october_2025.yaml)."
                    + (" The crash window: steps {} to {} (minutes from 00:00).".format(*window) if window else "")),
               Table(display_table(table, "stress"))]
    if stress:
        blocks.append(Figure(crash_figure(stress, window, figures_dir / "crash_window.png"),
                             "Stress day: mark and fundamental over their start, and the notional liquidated each "
                             "minute (longs, shorts), mean over seeds; shaded: the crash window."))
    else:
        notes.append("no stress-day run succeeded: no crash-window figure")
    return blocks


def write_validation(out: str | Path, seeds: int, workers: int | None = None,
                     steps: int | None = None, progress: bool = True) -> ValidationReport:
    """Run every experiment on ``seeds`` seeds (``workers`` local processes) and write the folder
    ``out``: validation.md, validation.html, figures/*.png, validation.csv and per_seed.csv."""
    configs = experiment_configs(steps)
    root = Path(out)
    figures_dir = root / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    chosen = validation_seeds(seeds)
    measured = run_experiments(configs, chosen, workers, progress)
    failed = [m for m in measured if m.error is not None]
    if len(failed) == len(measured):
        raise ConfigError(f"every run failed; the first ({failed[0].experiment}, seed {failed[0].seed}): "
                          f"{failed[0].error}")
    notes = [f"{m.experiment}, seed {m.seed}: the run failed ({m.error}); left out" for m in failed]
    by_experiment = {e.name: [m for m in measured if m.experiment == e.name and m.error is None]
                     for e in EXPERIMENTS}
    windows = {name: experiment_window(config) for name, config in configs.items()}
    per_seed = per_seed_frame(measured)
    table = validation_table(per_seed)

    blocks: list[Block] = [Heading(TITLE, 1), Text(provenance_text(chosen, steps)), Text(reading_text())]
    if steps is not None:
        blocks.append(Text(f"Runs cut to {steps} steps: for quick checks only. The references are for whole days; "
                           "do not read the verdicts of a shortened run."))
    blocks += sections(per_seed, by_experiment, table, windows, figures_dir, notes)
    tables = {"validation": root / "validation.csv", "per_seed": root / "per_seed.csv"}
    table.to_csv(tables["validation"], index=False)
    per_seed.to_csv(tables["per_seed"], index=False)
    blocks += [Heading("Notes"), *[Text(note) for note in notes]] if notes else []
    blocks.append(Text("The table in numbers: validation.csv; every statistic of every run: per_seed.csv."))
    markdown, page = root / "validation.md", root / "validation.html"
    markdown.write_text(to_markdown(blocks, root))
    page.write_text(to_html(blocks, TITLE))
    figures = [block.path for block in blocks if isinstance(block, Figure)]
    return ValidationReport(markdown, page, figures, tables, table, notes, len(failed))
