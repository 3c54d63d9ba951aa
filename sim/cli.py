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
from typing import Any

import pandas as pd

from sim.config import parse_override
from sim.margin import Schedule, SpecError, build_schedule, parse_schedule_spec, read_yaml

type Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
type Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------------------------------
# tierlab schedule show | check
# ------------------------------------------------------------------------------------------


def apply_schedule_override(data: Any, text: str) -> None:
    """Apply one ``--set a.0.b=value`` to schedule data in place; integer parts index lists."""
    parts, value = parse_override(text)
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(f"--set {text}: {where}: no such item (the list has {len(node)})")
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
        else:
            raise SpecError(f"--set {text}: {'.'.join(parts[:depth])}: is a value, not a section")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
            node = node[key]


def load_schedule_file(path: Path, overrides: Sequence[str] = ()) -> Schedule:
    """A schedule from a YAML file with ``--set`` overrides applied; SpecError names file and field."""
    data = read_yaml(path)
    if overrides and not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    for text in overrides:
        apply_schedule_override(data, text)
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
# The parser and the entry point
# ------------------------------------------------------------------------------------------

COMMANDS: list[Callable[[Subparsers], None]] = [add_schedule_command, add_run_command]


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
