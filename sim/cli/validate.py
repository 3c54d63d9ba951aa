"""``tierlab validate``: the model against the stylised facts and market figures, over many seeds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import Subparsers, positive_int
from sim.schedules import SpecError

DEFAULT_OUT = Path("runs") / "validation"
DEFAULT_SEEDS = 10


def validate_command(args: argparse.Namespace) -> int:
    """Run the validation's experiments and write its report; exit 1 when some run failed."""
    from sim.study.validate.report import write_validation

    try:
        report = write_validation(args.out, args.seeds, args.workers, args.steps, progress=not args.quiet)
    except OSError as exc:
        raise SpecError(f"{exc.filename or args.out}: cannot write the validation ({exc.strerror or exc})") from None
    verdicts = report.table["verdict"].value_counts()
    print(f"{verdicts.get('within', 0)} rows within their reference, {verdicts.get('outside', 0)} outside, "
          f"{verdicts.get('n/a', 0)} without a value; wrote {report.markdown} and {report.html} "
          f"({len(report.figures)} figures, {', '.join(path.name for path in report.tables.values())})")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 1 if report.failed else 0


def add_validate_command(subparsers: Subparsers) -> None:
    """``tierlab validate [--seeds N] [--out DIR] [--workers N] [--steps N]``."""
    parser = subparsers.add_parser(
        "validate", help="the model against stylised facts and market figures, over many seeds",
        description="Run the calm day, the calm day with retail leverage capped at 1x, and an "
                    "October-2025-shaped stress day on the same seeds in local worker processes, and write "
                    "validation.md, a self-contained validation.html, figures/*.png, validation.csv (the table) "
                    "and per_seed.csv (every statistic of every run) into DIR. Each figure is set beside its "
                    "reference and source; within when the mean over seeds lies in the reference range.")
    parser.add_argument("--seeds", type=positive_int, default=DEFAULT_SEEDS, metavar="N",
                        help=f"seeds per experiment (default {DEFAULT_SEEDS}); the first N children of a fixed "
                             "root seed, so more seeds keep the first ones")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="worker processes (default: one per CPU); the results do not depend on it")
    parser.add_argument("--steps", type=positive_int, default=None, metavar="N",
                        help="cut every run to N steps, for quick checks only: the references are for whole days")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=validate_command)
