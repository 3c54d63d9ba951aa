"""``tierlab run``: one config, one seed, one output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import Subparsers, add_overrides_option
from sim.schedules import SpecError


def run_command(args: argparse.Namespace) -> int:
    """Run one config and write its output folder; print a short summary and where it went."""
    from sim.config import load_config
    from sim.study.labels import format_summary
    from sim.study.run import default_out, run

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.steps is not None:
        overrides.append(f"steps={args.steps}")
    config = load_config(args.config, overrides)
    try:
        result = run(config, out=args.out or default_out(config, config.seed), progress=not args.quiet,
                     overwrite=args.overwrite)
    except OSError as exc:
        target = exc.filename or args.out
        raise SpecError(f"{target}: cannot write the run's outputs ({exc.strerror or exc})") from None
    print(f"{config.name}: {config.steps:,} steps, seed {config.seed}, schedule {config.build_schedule().name}")
    print(format_summary(result.summary))
    print(f"outputs in {result.out}/")
    return 0


def add_run_command(subparsers: Subparsers) -> None:
    """``tierlab run CONFIG [--set k=v ...] [--seed N] [--steps N] [--out DIR] [--overwrite]``."""
    parser = subparsers.add_parser("run", help="simulate one config and write its outputs")
    parser.add_argument("config", type=Path, help="run config YAML (e.g. configs/baseline.yaml)")
    add_overrides_option(parser)
    parser.add_argument("--seed", type=int, default=None, help="seed (overrides the config's)")
    parser.add_argument("--steps", type=int, default=None, help="steps to run (overrides the config's)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default runs/<name>-seed<seed>-<hash of the resolved config>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the outputs of another run that --out holds (refused without it)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or lines")
    parser.set_defaults(handler=run_command)
