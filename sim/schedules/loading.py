"""Schedules from files and mappings: the spec validated for its ``kind``, built, and made steeper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.schedules.files import SpecError, describe_validation_error, read_yaml
from sim.schedules.incremental import Incremental, IncrementalSpec
from sim.schedules.open_interest import OpenInterestScaled, OpenInterestSpec
from sim.schedules.schedule import Schedule, SpecBase
from sim.schedules.size_premium import SizePremium, SizePremiumSpec
from sim.schedules.tiered import FlatSpec, Tiered, TieredSpec

SPEC_BY_KIND: dict[str, type[SpecBase]] = {
    "tiered": TieredSpec,
    "flat": FlatSpec,
    "incremental": IncrementalSpec,
    "size_premium": SizePremiumSpec,
    "open_interest": OpenInterestSpec,
}

_KINDS = {
    "tiered": Tiered,
    "flat": Tiered,
    "incremental": Incremental,
    "size_premium": SizePremium,
    "open_interest": OpenInterestScaled,
}


def build_schedule(spec: Any) -> Schedule:
    """The schedule for a validated spec."""
    return _KINDS[spec.kind](spec)


def parse_schedule_spec(data: Any, source: str = "schedule") -> Any:
    """Validate a mapping as a schedule spec, raising SpecError with one line naming the field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    kind = data.get("kind")
    if kind is None:
        raise SpecError(f"{source}: kind: missing required value (one of {', '.join(SPEC_BY_KIND)})")
    if kind not in SPEC_BY_KIND:
        raise SpecError(f"{source}: kind: unknown schedule kind {kind!r} (one of {', '.join(SPEC_BY_KIND)})")
    try:
        return SPEC_BY_KIND[kind].model_validate(data)
    except ValidationError as err:
        raise SpecError(describe_validation_error(err, source)) from None


def load_schedule(path_or_dict: str | Path | dict) -> Schedule:
    """A schedule from a YAML file or a mapping; SpecError (one line) if it is not valid."""
    if isinstance(path_or_dict, dict):
        return build_schedule(parse_schedule_spec(path_or_dict))
    return build_schedule(parse_schedule_spec(read_yaml(path_or_dict), str(path_or_dict)))


def scaled(schedule: Schedule, steepness: float) -> Schedule:
    """The schedule made steeper (> 1) or gentler (< 1): every margin rate times ``steepness``.

    Leverage is divided by the same factor; where that would fall below 1 it is floored at 1 and
    the maintenance rate capped at 50 % (never below a smaller bracket's), so the result passes
    the same validation as a file would.
    """
    if steepness <= 0:
        raise SpecError(f"steepness: must be positive, got {steepness:g}")
    if steepness == 1.0:
        return schedule
    spec = schedule.spec
    data = spec.model_dump()

    def bracket(lev: float, mmr: float) -> tuple[float, float]:
        if lev / steepness >= 1.0:
            return lev / steepness, mmr * steepness
        return 1.0, min(mmr * steepness, 0.5)

    if isinstance(spec, TieredSpec):
        floor = 0.0
        for b in data["brackets"]:
            b["max_leverage"], mmr = bracket(b["max_leverage"], b["maintenance_rate"])
            b["maintenance_rate"] = floor = max(mmr, floor)
    elif isinstance(spec, FlatSpec):
        data["max_leverage"], data["maintenance_rate"] = bracket(spec.max_leverage, spec.maintenance_rate)
    elif isinstance(spec, OpenInterestSpec):
        data["base_initial_rate"] = min(spec.base_initial_rate * steepness, 0.99)
    else:
        rate_keys = [k for k in data if k.endswith("_rate") or k == "imf_factor"]
        for key in rate_keys:
            data[key] = data[key] * steepness
    data["name"] = f"{schedule.name} x{steepness:g}"
    return build_schedule(parse_schedule_spec(data, f"{schedule.name} x{steepness:g}"))
