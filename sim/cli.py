"""The ``tierlab`` command line: one argparse parser, one sub-command per registered function.

Each command is ``add_<name>_command(subparsers)``, listed in ``COMMANDS``; it builds its parser and
sets ``handler`` to a function ``(args) -> exit code``. ``main`` handles errors in one place: a
``SpecError`` (``ConfigError`` is the same class) becomes one stderr line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sim.config import apply_override, parse_override
from sim.margin import Schedule, SpecError, build_schedule, parse_schedule_spec, read_yaml

type Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
type Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------------------------------
# tierlab schedule show | check
# ------------------------------------------------------------------------------------------


def load_schedule_file(path: Path, overrides: Sequence[str] = ()) -> Schedule:
    """A schedule from a YAML file with ``--set`` overrides applied; SpecError names file and field."""
    data = read_yaml(path)
    if overrides and not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    for text in overrides:
        parts, value = parse_override(text)
        apply_override(data, parts, value, f"--set {text}")
    return build_schedule(parse_schedule_spec(data, str(path)))


def format_table(table: pd.DataFrame) -> str:
    """The bracket table for people: notionals with thousands separators, rates in percent."""

    def notional(value: float) -> str:
        return "unlimited" if value == float("inf") else f"{value:,.0f}"

    def percent(value: float) -> str:
        return f"{100 * value:.2f} %"

    shown = pd.DataFrame(
        {
            "tier": table["tier"].map(str),
            "notional floor": table["notional_floor"].map(notional),
            "notional cap": table["notional_cap"].map(notional),
            "max leverage": table["max_leverage"].map(lambda v: f"{v:.4g}x"),
            "initial rate": table["initial_rate"].map(percent),
            "maint. rate": table["maintenance_rate"].map(percent),
            "maint. amount": table["maintenance_amount"].map(lambda v: f"{v:,.0f}"),
        }
    )
    return shown.to_string(index=False)


def tiers_phrase(count: int) -> str:
    """``1 tier`` / ``12 tiers``."""
    return f"{count} tier" if count == 1 else f"{count} tiers"


def schedule_show(args: argparse.Namespace) -> int:
    """Print a schedule's bracket table and write a PNG of its margin rates against notional."""
    from sim.plots import plot_schedule

    schedule = load_schedule_file(args.file, args.overrides)
    spec = schedule.spec
    print(f"{schedule.name}: {schedule.kind}, {tiers_phrase(schedule.n_tiers)}")
    for label, text in (("description", spec.description), ("source", spec.source)):
        if text:
            print(f"  {label}: {text}")
    print()
    print(format_table(schedule.table()))
    out = args.out if args.out is not None else Path(f"{args.file.stem}.png")
    try:
        plot_schedule(schedule, out)
    except OSError as exc:
        raise SpecError(f"{out}: cannot write the plot ({exc.strerror or exc})") from None
    print(f"\nwrote {out}")
    return 0


def schedule_check(args: argparse.Namespace) -> int:
    """Validate each schedule file in turn; the first invalid one stops the check with its error."""
    for path in args.files:
        schedule = load_schedule_file(path)
        print(f"ok {path} ({schedule.kind}, {tiers_phrase(schedule.n_tiers)})")
    return 0


def add_schedule_command(subparsers: Subparsers) -> None:
    """``tierlab schedule show FILE`` and ``tierlab schedule check FILE...``."""
    parser = subparsers.add_parser("schedule", help="inspect and validate margin schedule files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = actions.add_parser("show", help="print the bracket table and plot the margin rates")
    show.add_argument("file", type=Path, help="schedule YAML file")
    show.add_argument(
        "--out", type=Path, default=None, help="PNG to write (default: ./<FILE stem>.png)"
    )
    show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. brackets.0.max_leverage=125 (repeatable)",
    )
    show.set_defaults(handler=schedule_show)

    check = actions.add_parser("check", help="validate schedule files")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE", help="schedule YAML files")
    check.set_defaults(handler=schedule_check)


# ------------------------------------------------------------------------------------------
# tierlab run
# ------------------------------------------------------------------------------------------


def add_overrides_option(parser: argparse.ArgumentParser) -> None:
    """``--set dotted.key=value``, repeatable: the same option on every command that reads a config."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. retail.count=5000 (repeatable)")


def run_command(args: argparse.Namespace) -> int:
    """Run one config and write its output folder; print a short summary and where it went."""
    from sim.config import load_config
    from sim.runner import execute, format_summary

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.steps is not None:
        overrides.append(f"steps={args.steps}")
    config = load_config(args.config, overrides)
    try:
        result = execute(config, out=args.out, progress=not args.quiet)
    except OSError as exc:
        target = exc.filename or args.out
        raise SpecError(f"{target}: cannot write the run's outputs ({exc.strerror or exc})") from None
    print(f"{config.name}: {config.steps:,} steps, seed {config.seed}, schedule {config.build_schedule().name}")
    print(format_summary(result.summary))
    print(f"outputs in {result.out}/")
    return 0


def add_run_command(subparsers: Subparsers) -> None:
    """``tierlab run CONFIG [--set k=v ...] [--seed N] [--steps N] [--out DIR]``."""
    parser = subparsers.add_parser("run", help="simulate one config and write its outputs")
    parser.add_argument("config", type=Path, help="run config YAML (e.g. configs/baseline.yaml)")
    add_overrides_option(parser)
    parser.add_argument("--seed", type=int, default=None, help="seed (overrides the config's)")
    parser.add_argument("--steps", type=int, default=None, help="steps to run (overrides the config's)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default runs/<name>-seed<seed>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_command)


# ------------------------------------------------------------------------------------------
# tierlab sweep | report
# ------------------------------------------------------------------------------------------


def sweep_command(args: argparse.Namespace) -> int:
    """Plan a sweep file (refusing a bad one before any run), then run what the folder lacks."""
    from sim.sweep import run_sweep, sweep_file

    plan = sweep_file(args.file)
    out = args.out if args.out is not None else Path("runs") / plan.sweep.name
    print(f"{plan.sweep.name}: {len(plan.arms)} arms x {len(plan.seeds)} seeds = {len(plan.runs)} runs -> {out}/")
    if args.check:
        shown = 40
        for arm in plan.arms[:shown]:
            control = f"  (control {arm.control})" if arm.control and arm.control != arm.arm else ""
            print(f"  {arm.arm}  {arm.label}{control}")
        if len(plan.arms) > shown:
            print(f"  ... and {len(plan.arms) - shown} more")
        return 0
    backend = args.backend or ("dask" if args.scheduler or args.scheduler_file else "local")
    try:
        tally = run_sweep(plan, out, backend, args.workers, args.scheduler, args.scheduler_file,
                          retry_failed=args.retry_failed, progress=not args.quiet)
    except OSError as exc:
        raise SpecError(f"{exc.filename or out}: cannot write the sweep's outputs ({exc.strerror or exc})") from None
    if tally.warning:
        print(f"tierlab: warning: {tally.warning}", file=sys.stderr)
    held = tally.skipped + tally.ok + tally.failed
    print(f"{tally.ok} runs done now, {tally.skipped} already done, {tally.failed} failed; "
          f"{held} of {tally.planned} in {out}/runs.parquet")
    if tally.outcome != "complete":
        reason = "interrupted" if tally.outcome == "interrupted" else f"stopped: {tally.message}"
        print(f"tierlab: {reason}; {tally.missing} runs missing, run the same command again to resume",
              file=sys.stderr)
        return 130 if tally.outcome == "interrupted" else 1
    if tally.failed_held:
        print(f"tierlab: {tally.failed_held} runs failed; their errors are in the error column of {out}/runs.parquet "
              "(--retry-failed runs them again)", file=sys.stderr)
        return 1
    return 0


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_sweep_command(subparsers: Subparsers) -> None:
    """``tierlab sweep FILE [--workers N] [--backend local|dask] [--scheduler ADDR | --scheduler-file F] [--out DIR]``."""
    parser = subparsers.add_parser("sweep", help="run a sweep file's arms x seeds; a second call resumes")
    parser.add_argument("file", type=Path, help="sweep YAML file (e.g. experiments/tier_schedules.yaml)")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="worker processes (default: one per CPU; ignored with --scheduler)")
    parser.add_argument("--backend", choices=("local", "dask"), default=None,
                        help="local processes (default) or Dask distributed (pip install 'tierlab[dask]')")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", default=None, metavar="ADDR",
                         help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (implies --backend dask)")
    cluster.add_argument("--scheduler-file", type=Path, default=None, metavar="F",
                         help="Dask scheduler file, as dask-jobqueue or dask-mpi write it (implies --backend dask)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default runs/<sweep name>)")
    parser.add_argument("--retry-failed", action="store_true", help="run the failed runs again")
    parser.add_argument("--check", action="store_true", help="validate the file and list its arms; run nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=sweep_command)


def report_command(args: argparse.Namespace) -> int:
    """Write a sweep folder's report: tables, figures, report.md and a self-contained report.html."""
    from sim.report import write_report

    try:
        report = write_report(args.dir)
    except OSError as exc:
        raise SpecError(f"{exc.filename or args.dir}: cannot write the report ({exc.strerror or exc})") from None
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {report.markdown} and {report.html} ({len(report.figures)} figures in {report.markdown.parent / 'figures'}/)")
    return 0


def add_report_command(subparsers: Subparsers) -> None:
    """``tierlab report DIR``."""
    parser = subparsers.add_parser("report", help="tables and figures from a sweep folder")
    parser.add_argument("dir", type=Path, help="sweep output folder (e.g. runs/tier_schedules)")
    parser.set_defaults(handler=report_command)


# ------------------------------------------------------------------------------------------
# tierlab ui
# ------------------------------------------------------------------------------------------


def ui_command(args: argparse.Namespace) -> int:
    """Serve the browser UI on a config; a bad config or a port in use is one line and exit 2."""
    from sim.ui_serve import serve

    return serve(args.config, host=args.host, port=args.port)


def add_ui_command(subparsers: Subparsers) -> None:
    """``tierlab ui [CONFIG] [--port N] [--host H]``."""
    from sim.ui_serve import DEFAULT_HOST, DEFAULT_PORT

    parser = subparsers.add_parser("ui", help="watch a run in the browser (Mesa SolaraViz)")
    parser.add_argument("config", type=Path, nargs="?", default=Path("configs/baseline.yaml"),
                        help="run config YAML the UI opens on (default configs/baseline.yaml)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.set_defaults(handler=ui_command)


# ------------------------------------------------------------------------------------------
# The parser and the entry point
# ------------------------------------------------------------------------------------------

COMMANDS: list[Callable[[Subparsers], None]] = [
    add_run_command, add_sweep_command, add_report_command, add_ui_command, add_schedule_command,
]


def build_parser() -> argparse.ArgumentParser:
    """The full ``tierlab`` parser, with every command in ``COMMANDS`` registered."""
    parser = argparse.ArgumentParser(
        prog="tierlab",
        description="Agent-based simulation of a perpetual-futures market under margin requirement scaling.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a SpecError becomes ``tierlab: error: ...`` on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SpecError as err:
        message = " ".join(str(err).split("\n"))
        print(f"tierlab: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
