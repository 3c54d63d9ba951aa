"""Margin schedules: initial and maintenance margin as functions of a position's notional.

Pure: the package imports nothing else of the project, so it is read, tested and reused alone.
One module per family: ``tiered`` (Binance's continuous brackets, Bybit's ``whole`` step form, and
``flat``), ``incremental`` (dYdX v3), ``size_premium`` (Drift) and ``open_interest`` (dYdX v4).
"""

from sim.schedules.fields import param, unit_of
from sim.schedules.files import SpecError, describe_validation_error, read_yaml
from sim.schedules.incremental import Incremental, IncrementalSpec
from sim.schedules.loading import (
    SPEC_BY_KIND,
    build_schedule,
    load_schedule,
    parse_schedule_spec,
    scaled,
)
from sim.schedules.open_interest import OpenInterestScaled, OpenInterestSpec
from sim.schedules.schedule import Schedule, SpecBase
from sim.schedules.size_premium import SizePremium, SizePremiumSpec
from sim.schedules.tiered import Bracket, FlatSpec, Tiered, TieredSpec

__all__ = [
    "SPEC_BY_KIND", "Bracket", "FlatSpec", "Incremental", "IncrementalSpec", "OpenInterestScaled",
    "OpenInterestSpec", "Schedule", "SizePremium", "SizePremiumSpec", "SpecBase", "SpecError", "Tiered",
    "TieredSpec", "build_schedule", "describe_validation_error", "load_schedule", "parse_schedule_spec",
    "param", "read_yaml", "scaled", "unit_of",
]
