"""The ``tierlab`` command line: one argparse parser, one sub-command per module.

Each command is ``add_<name>_command(subparsers)``, listed in ``COMMANDS``; it builds its parser and
sets ``handler`` to a function ``(args) -> exit code``. ``main`` handles errors in one place: a
``SpecError`` (``ConfigError`` is the same class) becomes one stderr line and exit code 2, and so does
a bad argument (``OneLineParser``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from sim.cli.config import add_config_command
from sim.cli.options import Handler, Subparsers
from sim.cli.run import add_run_command
from sim.cli.schedule import add_schedule_command
from sim.cli.sweep import add_report_command, add_sweep_command
from sim.cli.ui import add_ui_command
from sim.cli.validate import add_validate_command
from sim.schedules import SpecError

COMMANDS: list[Callable[[Subparsers], None]] = [
    add_run_command, add_sweep_command, add_report_command, add_ui_command, add_schedule_command,
    add_config_command, add_validate_command,
]


class OneLineParser(argparse.ArgumentParser):
    """argparse with a bad argument reported as one stderr line naming the command, and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``tierlab`` parser, with every command in ``COMMANDS`` registered."""
    parser = OneLineParser(
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

