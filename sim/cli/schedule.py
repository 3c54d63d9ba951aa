"""``tierlab schedule show | check``: inspect and validate margin schedule files."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.cli.options import Subparsers
from sim.config import apply_override, parse_override
from sim.schedules import Schedule, SpecError, build_schedule, parse_schedule_spec, read_yaml


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
    from sim.study.schedule_plot import plot_schedule

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
