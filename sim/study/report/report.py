"""A sweep's report: per arm, the mean of every summary measure with its 95 % interval; paired
differences to the control arm over the same seeds; sensitivity indices where the sweep sampled;
figures; and report.md beside a self-contained report.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.study.labels import format_interval, measure_label
from sim.study.report.document import Block, Figure, Heading, Table, Text, to_html, to_markdown
from sim.study.report.figures import (
    cascade_figure,
    cascade_sizes,
    concentration_figure,
    differences_figure,
    measures_figure,
    sample_figure,
    sensitivity_figure,
)
from sim.study.report.results import (
    FIGURE_MEASURES,
    LEVEL,
    MAX_ARM_ROWS,
    MAX_LINES,
    SweepResults,
    read_results,
)
from sim.study.report.statistics import arm_statistics, paired_differences, sensitivity_indices


def wide_table(stats: pd.DataFrame, measures: list[str], value: str = "mean") -> pd.DataFrame:
    """Measures as rows, arms as columns, cells ``mean [low, high]``."""
    cells = {}
    for label, chosen in stats.groupby("label", sort=False):
        chosen = chosen.set_index("measure")
        cells[label] = [format_interval(m, chosen.at[m, value], chosen.at[m, "low"], chosen.at[m, "high"])
                        for m in measures]
    return pd.DataFrame({"measure": [measure_label(m) for m in measures], **cells})


def arms_table(results: SweepResults) -> pd.DataFrame:
    """The arms: id, label, parameter values, control, runs done and failed."""
    ok = results.runs["arm"].value_counts()
    failed = results.failed["arm"].value_counts() if len(results.failed) else pd.Series(dtype=int)
    labels = dict(zip(results.arms["arm"], results.arms["label"]))
    return pd.DataFrame({
        "arm": results.arms["arm"],
        "label": results.arms["label"],
        "parameters": [", ".join(f"{k}={v}" for k, v in params.items()) or "(base)" for params in results.arms["params"]],
        "control": [labels.get(c, "") if isinstance(c, str) else "" for c in results.arms["control"]],
        "runs ok": [int(ok.get(arm, 0)) for arm in results.arms["arm"]],
        "failed": [int(failed.get(arm, 0)) for arm in results.arms["arm"]],
    })


def provenance_text(results: SweepResults) -> str:
    """Where the numbers come from: sweep file and hash, seeds, commit, versions, time."""
    m = results.manifest
    git = m.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (with uncommitted changes)" if git.get("dirty") else "")
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items() if v)
    return (f"Sweep file {m.get('sweep_file')} (sha256 {str(m.get('sweep_sha256'))[:12]}), root seed "
            f"{m.get('root_seed')}, {len(m.get('seeds', []))} seeds per arm (the same in every arm), "
            f"{m.get('runs_planned')} runs planned; source commit {commit}; {versions}; "
            f"run from {m.get('started')} to {m.get('ended')}.")


@dataclass
class SweepReport:
    """What ``write_report`` wrote."""

    markdown: Path
    html: Path
    figures: list[Path]
    tables: dict[str, Path]
    notes: list[str]


def sensitivity_blocks(results: SweepResults, indices: pd.DataFrame, figures_dir: Path) -> list[Block]:
    """The sampled sweep's sections: measures against parameters, and the sensitivity indices."""
    blocks: list[Block] = [Heading("Sampled parameters"),
                           Figure(sample_figure(results, figures_dir / "sample.png"),
                                  "Measures against the sampled parameters (mean over seeds per point).")]
    if indices.empty:
        return blocks
    shown = indices.copy()
    for column in [c for c in shown.columns if c.startswith("S")]:
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    shown["measure"] = shown["measure"].map(measure_label)
    if shown["group"].nunique() == 1:
        shown = shown.drop(columns="group")
    method = ("Sobol indices (SALib sobol.analyze)" if results.manifest["sample"]["method"] == "sobol"
              else "first-order indices (SALib rbd_fast)")
    return blocks + [Heading("Sensitivity"),
                     Text(f"{method}; each sample point's output is its mean over seeds; conf: half-width of "
                          "the 95 % bootstrap interval."),
                     Table(shown),
                     Figure(sensitivity_figure(indices, figures_dir / "sensitivity.png"),
                            "Sensitivity indices by parameter.")]


def write_report(root: str | Path) -> SweepReport:
    """Tables, figures, report.md and a self-contained report.html for the sweep folder ``root``.

    Per-arm tables and figures are drawn for up to 40 arms (12 for the line figures); a sampled
    sweep has hundreds, and is summarised by its sensitivity indices instead.
    """
    results = read_results(root)
    out, m = results.root, results.manifest
    figures_dir = out / "figures"
    figures_dir.mkdir(exist_ok=True)
    notes: list[str] = []
    held = len(results.runs) + len(results.failed)
    if held < m["runs_planned"]:
        notes.append(f"{m['runs_planned'] - held} of {m['runs_planned']} planned runs are missing; "
                     "run the sweep again to finish it")
    if len(results.failed):
        notes.append(f"{len(results.failed)} runs failed and are left out (errors in runs.parquet)")
    codes = {s.get("code") for s in m.get("sessions", []) if s.get("runs_done")}
    if len(codes) > 1:
        notes.append(f"the runs come from {len(codes)} versions of the model code (see the sessions in "
                     "manifest.json); rerun into a new folder for results from one version")

    stats = arm_statistics(results)
    differences = paired_differences(results)
    indices, sensitivity_notes = sensitivity_indices(results)
    notes += sensitivity_notes
    tables = {"arm_statistics": out / "arm_statistics.csv", "differences": out / "differences.csv",
              "sensitivity": out / "sensitivity.csv"}
    for name, frame in (("arm_statistics", stats), ("differences", differences), ("sensitivity", indices)):
        if frame.empty:
            tables.pop(name)
        else:
            frame.to_csv(tables[name], index=False)

    few_arms = len(results.arms) <= MAX_ARM_ROWS
    headline = [measure for measure in FIGURE_MEASURES if measure in results.measures]
    arms = arms_table(results)
    blocks: list[Block] = [Heading(f"{m['name']}: sweep report", 1)]
    blocks += [Text(m["description"])] if m.get("description") else []
    blocks += [Text(provenance_text(results)), Heading("Arms"),
               Table(arms.head(MAX_ARM_ROWS), "" if few_arms else f"first {MAX_ARM_ROWS} of {len(arms)} arms")]
    if few_arms:
        blocks += [Heading("Headline measures by arm"),
                   Text(f"Mean over seeds and its {LEVEL:.0%} confidence interval (Student t) per arm."),
                   Table(wide_table(stats, headline)),
                   Figure(measures_figure(results, stats, figures_dir / "measures_by_arm.png"),
                          f"Headline measures by arm: each run (grey) and the mean with its {LEVEL:.0%} "
                          "interval (blue).")]
    if few_arms and len(differences):
        blocks += [Heading("Paired differences to the control"),
                   Text("Arm minus control on the same seed (same fundamental path, same traders), averaged over "
                        f"seeds, with its {LEVEL:.0%} interval: pairing removes the variation the arms share."),
                   Table(wide_table(differences.rename(columns={"difference": "mean"}), headline)),
                   Figure(differences_figure(results, differences, figures_dir / "differences.png"),
                          "Paired differences to the control arm; red where the interval excludes 0.")]
    sizes = cascade_sizes(results)
    if sizes is None:
        notes.append("the sweep kept no cascades (keep: [events]); no cascade-size figure")
    elif len(sizes) > MAX_LINES:
        notes.append(f"{len(sizes)} arms are too many lines for the cascade-size figure; skipped")
    else:
        blocks += [Heading("Cascade sizes"),
                   Figure(cascade_figure(results, sizes, figures_dir / "cascade_sizes.png"),
                          "Share of cascades at least a given notional, by arm, all seeds pooled "
                          "(log-log: a straight tail is a power law).")]
    if len(results.arms) <= MAX_LINES:
        blocks += [Heading("Concentration"),
                   Figure(concentration_figure(results, figures_dir / "concentration.png"),
                          "Concentration of open interest by arm.")]
    if results.sampled:
        blocks += sensitivity_blocks(results, indices, figures_dir)
    if few_arms:
        blocks += [Heading("All measures by arm"), Table(wide_table(stats, results.measures))]
    if few_arms and len(differences):
        blocks += [Heading("All paired differences to the control"),
                   Table(wide_table(differences.rename(columns={"difference": "mean"}), results.measures))]
    blocks += [Heading("Notes"), *[Text(note) for note in notes]] if notes else []
    blocks.append(Text("Tables as CSV: " + ", ".join(path.name for path in tables.values())
                       + "; one row per run in runs.parquet."))
    markdown, page = out / "report.md", out / "report.html"
    markdown.write_text(to_markdown(blocks, out))
    page.write_text(to_html(blocks, f"{m['name']}: sweep report"))
    figures = [block.path for block in blocks if isinstance(block, Figure)]
    return SweepReport(markdown, page, figures, tables, notes)
