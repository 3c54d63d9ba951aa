"""tierlab: an agent-based simulation of a perpetual-futures market under margin requirement scaling.

The public API for notebooks and scripts::

    import sim
    result = sim.run("configs/baseline.yaml", seed=7)       # summary and tables as DataFrames
    result.summary["liquidation_notional"], result.timeseries, result.liquidations
    plan = sim.sweep("experiments/smoke.yaml", out="runs/smoke")
    sim.report("runs/smoke")

Names load on first use, so importing one part (``sim.schedules``, ``sim.exchange``) does not pull in
the model, Mesa or the plotting stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config import RunConfig, SweepConfig, load_config, load_sweep
    from sim.market import MarketModel
    from sim.schedules import Schedule, load_schedule
    from sim.study.api import report, sweep
    from sim.study.run import RunResult, run

_WHERE = {
    "load_config": "sim.config", "load_sweep": "sim.config", "RunConfig": "sim.config", "SweepConfig": "sim.config",
    "load_schedule": "sim.schedules", "Schedule": "sim.schedules",
    "MarketModel": "sim.market",
    "run": "sim.study.run", "RunResult": "sim.study.run",
    "sweep": "sim.study.api", "report": "sim.study.api",
}
__all__ = ["MarketModel", "RunConfig", "RunResult", "Schedule", "SweepConfig", "load_config", "load_schedule",
           "load_sweep", "report", "run", "sweep"]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
