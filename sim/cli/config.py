"""``tierlab config docs | schema``: the parameter tables and the JSON Schemas, generated from the models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import Subparsers
from sim.schedules import SpecError


def emit(text: str, out: Path | None, what: str) -> None:
    """``text`` to stdout, or into the file ``out``; an unwritable ``out`` is one SpecError line."""
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        raise SpecError(f"{out}: cannot write the {what} ({exc.strerror or exc})") from None
    print(f"wrote {out}")


def config_docs(args: argparse.Namespace) -> int:
    """Write the parameter tables (docs/parameters.md) as Markdown."""
    from sim.config.reference import parameters_markdown

    emit(parameters_markdown(), args.out, "parameter tables")
    return 0


def config_schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema of a run config, or of a sweep file with ``--sweep``."""
    from sim.config import RunConfig, SweepConfig
    from sim.config.reference import json_schema
    from sim.study.outputs import json_text

    emit(json_text(json_schema(SweepConfig if args.sweep else RunConfig)), args.out, "schema")
    return 0


def add_config_command(subparsers: Subparsers) -> None:
    """``tierlab config docs [--out FILE]`` and ``tierlab config schema [--sweep] [--out FILE]``."""
    parser = subparsers.add_parser("config", help="the parameter tables and JSON Schemas of config files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    docs = actions.add_parser("docs", help="every parameter as Markdown tables (docs/parameters.md)")
    docs.add_argument("--out", type=Path, default=None, metavar="FILE", help="file to write (default: stdout)")
    docs.set_defaults(handler=config_docs)

    schema = actions.add_parser("schema", help="the JSON Schema of run configs (docs/schema/run.schema.json)")
    schema.add_argument("--sweep", action="store_true",
                        help="the schema of sweep files instead (docs/schema/sweep.schema.json)")
    schema.add_argument("--out", type=Path, default=None, metavar="FILE", help="file to write (default: stdout)")
    schema.set_defaults(handler=config_schema)
