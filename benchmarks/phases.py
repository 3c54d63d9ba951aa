"""Where a step's time goes: CPU seconds per phase of ``MarketModel.step`` over a run.

Each phase's calls are wrapped with ``time.process_time`` (CPU time of this process, so other load
on the machine barely moves it); setup is timed the same way. Prints one table: phase, seconds,
milliseconds a step, share of the step.

    python benchmarks/phases.py [--retail 1000] [--steps 1440] [--config configs/baseline.yaml] [--set k=v ...]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import sim.market.model as model_module
from sim.config import load_config
from sim.market import MarketModel

PHASES = ("index/spot", "makers", "funding", "trading", "liquidation", "unwinds", "measures", "collection")


def timed(totals: dict[str, float], phase: str, call: Callable) -> Callable:
    """``call``, adding its CPU time to ``totals[phase]``."""

    @functools.wraps(call)
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            totals[phase] += time.process_time() - started

    return wrapper


def instrument(model: MarketModel, totals: dict[str, float]) -> None:
    """Wrap every call ``MarketModel.step`` makes with the timer of its phase."""
    ex = model.exchange
    hooks: list[tuple[object, str, str]] = [
        (model.spot, "advance", "index/spot"), (ex, "set_index", "index/spot"),
        (model, "_refresh_quotes", "makers"),
        (ex.funding, "settle", "funding"),
        (model, "_arrivals", "trading"),
        (ex.liquidation, "run", "liquidation"), (model, "_after_liquidations", "liquidation"),
        (ex.fund, "unwind", "unwinds"),
        (ex, "sample_basis", "measures"), (model.record, "measure", "measures"),
        (model.datacollector, "collect", "collection"),
    ]
    hooks += [(liquidator, "unwind", "unwinds") for liquidator in model.liquidators]
    for owner, name, phase in hooks:
        setattr(owner, name, timed(totals, phase, getattr(owner, name)))
    model_module.trade = timed(totals, "trading", model_module.trade)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retail", type=int, default=1_000)
    parser.add_argument("--steps", type=int, default=1_440)
    parser.add_argument("--config", default="configs/baseline.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    config = load_config(args.config, [f"retail.count={args.retail}", f"steps={args.steps}", *args.set])
    started = time.process_time()
    model = MarketModel(config)
    setup = time.process_time() - started
    totals = dict.fromkeys(PHASES, 0.0)
    instrument(model, totals)
    started = time.process_time()
    model.run()
    run = time.process_time() - started
    totals["other"] = run - sum(totals.values())
    print(f"{config.name}: {args.retail:,} retail, {args.steps:,} steps; setup {setup:.2f} s, "
          f"run {run:.2f} s CPU ({run / args.steps * 1e3:.3f} ms a step)")
    print("| phase | s | ms/step | share |")
    print("|---|---|---|---|")
    for phase, seconds in totals.items():
        print(f"| {phase} | {seconds:.3f} | {seconds / args.steps * 1e3:.3f} | {seconds / run:.0%} |")


if __name__ == "__main__":
    main()
