"""Sweep files: a base run config, the parameters varied across arms, the seeds, what to keep."""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.config.run import RunConfig
from sim.config.section import ConfigError, Section
from sim.schedules import describe_validation_error, param, read_yaml

SWEEP_FIXED_KEYS = {
    "seed": "each run's seed comes from the sweep's seeds and root_seed",
    "steps": "the run length is the sweep's steps, the same in every arm",
    "name": "the sweep names its runs",
}


def _unwrap_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def check_config_key(key: str) -> None:
    """Refuse, with ValueError naming it, a dotted key that names no field of a run config.

    Integer parts index lists of sections (``fundamental.shocks.0.size``); parts below a free mapping
    (an inline ``schedule``, ``retail.strategy_mix``) are checked when each arm is validated.
    """
    parts = key.split(".")
    if any(not part for part in parts):
        raise ValueError(f"{key}: empty part in a dotted key")
    if parts[0] in SWEEP_FIXED_KEYS:
        raise ValueError(f"{key}: not a sweep parameter; {SWEEP_FIXED_KEYS[parts[0]]}")
    model: type[BaseModel] = RunConfig
    i = 0
    while i < len(parts):
        where = ".".join(parts[: i + 1])
        field = model.model_fields.get(parts[i])
        if field is None or field.exclude:
            raise ValueError(f"{where}: no such config field")
        annotation = _unwrap_optional(field.annotation)
        i += 1
        if i == len(parts):
            return
        if get_origin(annotation) is list:
            if not parts[i].isdigit():
                raise ValueError(f"{where}.{parts[i]}: {where} is a list; index it with a number")
            annotation = get_args(annotation)[0]
            i += 1
            if i == len(parts):
                return
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif get_origin(annotation) in (dict, Union, UnionType):
            return
        else:
            raise ValueError(f"{'.'.join(parts[: i + 1])}: {where} is a value, not a section")


class SampleConfig(Section):
    """Points over numeric bounds drawn with SALib: ``sobol`` (Saltelli's scheme, so the report can
    estimate Sobol indices) or ``latin`` (a Latin hypercube)."""

    method: Literal["sobol", "latin"] = param(..., "-", "sobol: Saltelli's scheme, so the report estimates Sobol "
                                              "indices; latin: a Latin hypercube")
    n: PositiveInt = param(..., "-", "sobol: base size N, a power of 2, giving N x (D + 2) points "
                           "(N x (2D + 2) with second_order); latin: the number of points")
    seed: NonNegativeInt = param(0, "-", "seed SALib draws the points with")
    second_order: bool = param(False, "-", "sobol: also second-order indices (more points)")
    bounds: dict[str, tuple[float, float]] = param(..., "-", "dotted key of a numeric field -> [low, high]")

    @model_validator(mode="after")
    def _usable(self) -> SampleConfig:
        if not self.bounds:
            raise ValueError("bounds: no parameters to sample")
        for key, (low, high) in self.bounds.items():
            if not low < high:
                raise ValueError(f"bounds.{key}: low {low:g} is not below high {high:g}")
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n: {self.n} is not a power of 2 (Sobol sequences need one)")
        if self.second_order and self.method != "sobol":
            raise ValueError("second_order: only for method sobol")
        return self


class SweepConfig(Section):
    """A sweep file: a base run config, the parameters varied across arms, the seeds, what to keep.

    ``grid`` crosses every value of every key with every other (3 x 4 values -> 12 arms); ``zip``
    varies its lists together, position by position (two lists of 3 -> 3 arms). Both together cross
    the grid with the zipped rows; ``sample`` crosses them with its points.
    """

    name: str = param(..., "-", "the sweep's name: its default folder runs/<name> and its runs' names")
    description: str = param("", "-", "one line on what the sweep asks")
    base: Path = param(..., "-", "run config the arms start from, relative to the sweep file")
    set: dict[str, Any] = param({}, "-", "dotted key -> value, the same in every arm")
    grid: dict[str, list[Any]] | None = param(None, "-", "dotted key -> values; every value of every key is "
                                              "crossed with every other")
    zip: dict[str, list[Any]] | None = param(None, "-", "dotted key -> values, lists of one length varied "
                                             "together, position by position")
    sample: SampleConfig | None = param(None, "-", "points drawn over numeric bounds by SALib (none by default)")
    seeds: PositiveInt | list[NonNegativeInt] = param(
        10, "-", "how many seeds (children of root_seed by SeedSequence), or the seeds themselves")
    root_seed: NonNegativeInt = param(0, "-", "root of the seeds every arm runs with")
    steps: PositiveInt | None = param(None, "steps", "run length of every arm (default: the base config's)")
    control: dict[str, Any] = param({}, "-", "dotted key -> the value that makes an arm the control")
    keep: list[Literal["timeseries", "events"]] = param(
        [], "-", "kept per run besides the summary row: timeseries, events (liquidations and cascades)")
    source: Path = param(Path("sweep.yaml"), "-", "the sweep file", exclude=True)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds_form(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | list):
            raise ValueError("expected a number of seeds or a list of seeds")  # noqa: TRY004 - pydantic reports ValueError
        if isinstance(value, list) and len(set(map(str, value))) != len(value):
            raise ValueError("a seed appears twice")
        return value

    @model_validator(mode="after")
    def _parameters(self) -> SweepConfig:
        for section in ("grid", "zip"):
            values = getattr(self, section)
            if section in self.model_fields_set and not values:
                raise ValueError(f"{section}: empty; give each key a list of values, or leave {section} out")
            for key, listed in (values or {}).items():
                if not listed:
                    raise ValueError(f"{section}.{key}: an empty list of values")
        lengths = {key: len(listed) for key, listed in (self.zip or {}).items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
            raise ValueError(f"zip: lists of unequal length ({shown}); zip varies them together, "
                             "so each needs one value per arm")
        seen: dict[str, str] = {}
        for section, keys in (("set", self.set), ("grid", self.grid or {}), ("zip", self.zip or {}),
                              ("sample.bounds", self.sample.bounds if self.sample else {})):
            for key in keys:
                try:
                    check_config_key(key)
                except ValueError as err:
                    raise ValueError(f"{section}.{err}") from None
                if section != "set" and key in seen:
                    raise ValueError(f"{section}.{key}: already in {seen[key]} (a key is set or varied in one place)")
                seen[key] = section
        for key in self.control:
            if seen.get(key) not in ("grid", "zip"):
                raise ValueError(f"control.{key}: not a key of grid or zip")
            listed = (self.grid or {}).get(key, (self.zip or {}).get(key, []))
            if self.control[key] not in listed:
                raise ValueError(f"control.{key}: {self.control[key]!r} is not one of its values {listed}")
        return self


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file's own schema (each arm's run config is checked when planned)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        raise ConfigError(f"{path}: expected a mapping of sweep settings, got {kind}")
    try:
        return SweepConfig.model_validate({**data, "source": path})
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, str(path))) from None
