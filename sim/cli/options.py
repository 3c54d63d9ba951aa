"""What the commands share: the sub-parser type, ``--set`` overrides, and whole-number arguments."""

from __future__ import annotations

import argparse
from collections.abc import Callable

type Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
type Handler = Callable[[argparse.Namespace], int]


def add_overrides_option(parser: argparse.ArgumentParser) -> None:
    """``--set dotted.key=value``, repeatable: the same option on every command that reads a config."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. retail.count=5000 (repeatable)")



def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
