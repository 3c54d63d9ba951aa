"""``tierlab sweep`` and ``tierlab report``: a sweep file's runs, and the report of a sweep folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import Subparsers, positive_int
from sim.schedules import SpecError


def sweep_command(args: argparse.Namespace) -> int:
    """Plan a sweep file (refusing a bad one before any run), then run what the folder lacks."""
    from sim.study.sweep import run_sweep, sweep_file

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
    parser.add_argument("--quiet", action="store_true", help="no progress bar or lines")
    parser.set_defaults(handler=sweep_command)


def report_command(args: argparse.Namespace) -> int:
    """Write a sweep folder's report: tables, figures, report.md and a self-contained report.html."""
    from sim.study.report import write_report

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
