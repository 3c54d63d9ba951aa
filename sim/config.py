"""Run configs: pydantic models of a run file, loaded from YAML with ``--set dotted.key=value`` overrides.

Every section is a model with ``extra="forbid"``, so a misspelt key is an error naming it. Errors
reach the user as one line (``ConfigError``) naming the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.margin import (
    Schedule,
    SpecError,
    describe_validation_error,
    load_schedule,
    parse_schedule_spec,
    read_yaml,
    scaled,
)

ConfigError = SpecError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MarketConfig(Section):
    initial_price: PositiveFloat = 100_000.0
    lot_size: PositiveFloat = 0.001
    mark_band: NonNegativeFloat = Field(default=0.005, description="mark held within index x (1 +- band)")


class FeeConfig(Section):
    taker: float = Field(default=0.0005, ge=0.0, lt=0.1)
    maker: float = Field(default=0.0002, gt=-0.01, lt=0.1)

    @model_validator(mode="after")
    def _no_free_money(self) -> FeeConfig:
        if self.maker + self.taker < 0:
            raise ValueError("maker: a rebate larger than the taker fee would create money")
        return self


class LiquidationConfig(Section):
    penalty_rate: NonNegativeFloat = Field(default=0.005, lt=0.5)
    partial: bool = True
    partial_buffer: NonNegativeFloat = Field(default=0.1, lt=1.0)
    max_rounds: PositiveInt = 50


class InsuranceConfig(Section):
    initial: NonNegativeFloat = 2_000_000.0
    unwind_rate: float = Field(default=0.1, gt=0.0, le=1.0, description="share of taken-over positions closed each step")


class FundingConfig(Section):
    interval_steps: PositiveInt = 480
    cap: NonNegativeFloat = 0.0075
    interest_rate: float = 0.0001


class JumpConfig(Section):
    intensity_per_day: NonNegativeFloat = 0.0
    mean: float = 0.0
    std: NonNegativeFloat = 0.01


class ShockConfig(Section):
    step: NonNegativeInt
    size: float = Field(gt=-1.0, description="total relative move, -0.08 for -8 %")
    duration: PositiveInt = 10


class CsvReplayConfig(Section):
    path: Path
    column: str = "price"
    time_column: str | None = None


class OracleConfig(Section):
    drift: float = Field(default=0.0, description="annualised drift of log price")
    volatility: NonNegativeFloat = Field(default=0.6, description="annualised volatility")
    jumps: JumpConfig = JumpConfig()
    shocks: list[ShockConfig] = []
    csv: CsvReplayConfig | None = None


class MarketMakerConfig(Section):
    count: NonNegativeInt = 4
    capital: PositiveFloat = 5_000_000.0
    depth: PositiveFloat = Field(default=20.0, description="units quoted per side by each maker")
    levels: PositiveInt = 20
    spread: PositiveFloat = Field(default=0.0002, description="half-spread as a fraction of price")
    level_spacing: PositiveFloat = Field(default=0.0005, description="gap between levels, fraction of price")
    resilience: float = Field(default=0.2, gt=0.0, le=1.0)
    inventory_lean: NonNegativeFloat = 0.5
    volatility_pull: NonNegativeFloat = Field(default=0.5, description="depth / (1 + pull x excess volatility ratio)")
    loss_pull: NonNegativeFloat = Field(default=5.0, description="depth / (1 + pull x drawdown of maker equity)")


class RetailConfig(Section):
    count: NonNegativeInt = 1_000
    capital_median: PositiveFloat = 2_000.0
    capital_sigma: NonNegativeFloat = 1.0
    leverage_min: float = Field(default=5.0, ge=1.0)
    leverage_max: float = Field(default=100.0, ge=1.0)
    activity: float = Field(default=0.02, ge=0.0, le=1.0, description="chance a trader acts in a step")
    strategy_mix: dict[Literal["momentum", "mean_reversion", "noise"], NonNegativeFloat] = {
        "momentum": 0.4, "mean_reversion": 0.3, "noise": 0.3}
    lookback: PositiveInt = 30
    stop_loss: float = Field(default=0.5, gt=0.0, le=1.0, description="loss fraction of margin")
    stop_loss_share: float = Field(default=0.5, ge=0.0, le=1.0, description="share of traders using stops")
    take_profit: float = Field(default=1.0, gt=0.0)
    herding: float = Field(default=0.3, ge=0.0, le=1.0)
    derisk_on_neighbour_liquidation: float = Field(default=0.5, ge=0.0, le=1.0)
    arrival_per_day: NonNegativeFloat = Field(default=0.1, description="new traders per day, fraction of count")

    @model_validator(mode="after")
    def _leverage_range(self) -> RetailConfig:
        if self.leverage_max < self.leverage_min:
            raise ValueError("leverage_max: below leverage_min")
        return self


class WhaleConfig(Section):
    count: NonNegativeInt = 2
    capital: PositiveFloat = 10_000_000.0
    leverage_use: float = Field(default=0.9, gt=0.0, le=1.0, description="share of max_notional targeted")
    build_steps: PositiveInt = 60
    hunt: bool = False
    split_accounts: PositiveInt = 1
    hold_steps: PositiveInt = 240


class LiquidatorConfig(Section):
    count: NonNegativeInt = 3
    capital: PositiveFloat = 2_000_000.0
    discount: float = Field(default=0.01, gt=0.0, lt=0.5)
    unwind_rate: float = Field(default=0.1, gt=0.0, le=1.0)


class NetworkConfig(Section):
    degree: PositiveInt = 6
    rewire: float = Field(default=0.1, ge=0.0, le=1.0)


class MetricsConfig(Section):
    cascade_gap: NonNegativeInt = Field(default=2, description="quiet steps allowed inside a cascade")
    top_k: PositiveInt = 10


class RunConfig(Section):
    """A whole run: the market, its schedule, its populations and the measures."""

    name: str = "run"
    description: str = ""
    seed: NonNegativeInt = 0
    steps: PositiveInt = 1_440
    dt_minutes: PositiveFloat = 1.0
    debug: bool = False
    market: MarketConfig = MarketConfig()
    schedule: dict[str, Any] | str = "schedules/binance_btcusdt.yaml"
    steepness: PositiveFloat = 1.0
    fees: FeeConfig = FeeConfig()
    liquidation: LiquidationConfig = LiquidationConfig()
    insurance_fund: InsuranceConfig = InsuranceConfig()
    funding: FundingConfig = FundingConfig()
    oracle: OracleConfig = OracleConfig()
    market_makers: MarketMakerConfig = MarketMakerConfig()
    retail: RetailConfig = RetailConfig()
    whales: WhaleConfig = WhaleConfig()
    liquidators: LiquidatorConfig = LiquidatorConfig()
    network: NetworkConfig = NetworkConfig()
    metrics: MetricsConfig = MetricsConfig()
    base_dirs: list[Path] = Field(default=[Path(".")], exclude=True,
                                  description="folders relative paths resolve against, in order")

    @field_validator("schedule")
    @classmethod
    def _inline_schedule_valid(cls, value: dict[str, Any] | str) -> dict[str, Any] | str:
        if isinstance(value, dict):
            try:
                parse_schedule_spec(value, "schedule")
            except SpecError as err:
                raise ValueError(str(err).removeprefix("schedule: ")) from None
        return value

    def resolve(self, path: str | Path) -> Path:
        """A path from the config: relative to the config file's folder, then to the files it
        extends, then to the working directory."""
        p = Path(path)
        if p.is_absolute():
            return p
        for root in (*self.base_dirs, Path(".")):
            if (root / p).exists():
                return root / p
        return self.base_dirs[0] / p

    def build_schedule(self) -> Schedule:
        """The margin schedule this run uses, with its steepness applied."""
        source = self.schedule if isinstance(self.schedule, dict) else self.resolve(self.schedule)
        return scaled(load_schedule(source), self.steepness)

    def resolved(self) -> dict[str, Any]:
        """The config as plain data with the schedule inlined: a run folder's record of what ran."""
        data = self.model_dump(mode="json")
        data["schedule"] = self.build_schedule().spec.model_dump(mode="json")
        data["steepness"] = 1.0
        if self.oracle.csv is not None:
            data["oracle"]["csv"]["path"] = str(self.resolve(self.oracle.csv.path).resolve())
        return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML); ConfigError on a bad form."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected dotted.key=value")
    parts = key.strip().split(".")
    if any(not p for p in parts):
        raise ConfigError(f"--set {text}: empty part in key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_override(data: dict[str, Any], parts: list[str], value: Any, source: str = "--set") -> None:
    """Set ``data[parts[0]][parts[1]]... = value`` in place: integer parts index lists, missing
    mappings are created on the way; ConfigError (naming ``source`` and the key) otherwise."""
    key = ".".join(parts)
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{source}: {where}: no such item (the list has {len(node)})")
            slot: Any = int(part)
        elif isinstance(node, dict):
            slot = part
        elif i == 1 and parts[0] == "schedule":
            raise ConfigError(f"{source}: {key}: schedule is a file path here; set 'schedule' itself "
                              "to a path or an inline mapping")
        else:
            raise ConfigError(f"{source}: {key}: {'.'.join(parts[:i])} is a value, not a section")
        if i == len(parts) - 1:
            node[slot] = value
        else:
            if isinstance(node, dict) and node.get(slot) is None:
                node[slot] = {}
            node = node[slot]


def config_from_data(data: Any, source: str, base_dirs: list[Path] | None = None,
                     overrides: tuple[str, ...] | list[str] = ()) -> RunConfig:
    """Validate a mapping (with overrides applied) as a RunConfig; ConfigError names the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of config sections, got {type(data).__name__}")
    data = dict(data)
    for text in overrides:
        parts, value = parse_override(text)
        apply_override(data, parts, value, f"--set {text}")
    try:
        config = RunConfig.model_validate({**data, "base_dirs": base_dirs or [Path(".")]})
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, source)) from None
    try:
        config.build_schedule()
    except SpecError as err:
        inline = isinstance(config.schedule, dict)
        raise ConfigError(f"{source}: {err}" if inline else str(err)) from None
    return config


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_config_data(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """A config file's mapping with its ``extends`` chain merged in, and the folders of the chain."""
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections, got {type(data).__name__}")
    folders = [path.parent]
    parent = data.pop("extends", None)
    if parent is None:
        return data, folders
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a path to another config file")
    parent_path = (path.parent / parent)
    if parent_path.resolve() in seen:
        raise ConfigError(f"{path}: extends: {parent} extends this file again (a cycle)")
    base, base_folders = read_config_data(parent_path, (*seen, path.resolve()))
    return deep_merge(base, data), folders + base_folders


def load_config(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> RunConfig:
    """Read a run config file (and any file it ``extends``) and apply ``dotted.key=value`` overrides."""
    path = Path(path)
    data, folders = read_config_data(path)
    return config_from_data(data, str(path), base_dirs=folders, overrides=overrides)


# ------------------------------------------------------------------------------------------
# Sweep files
# ------------------------------------------------------------------------------------------

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

    Integer parts index lists of sections (``oracle.shocks.0.size``); parts below a free mapping
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

    method: Literal["sobol", "latin"]
    n: PositiveInt = Field(description="sobol: base size N, a power of 2, giving N x (D + 2) points "
                                       "(N x (2D + 2) with second_order); latin: the number of points")
    seed: NonNegativeInt = 0
    second_order: bool = False
    bounds: dict[str, tuple[float, float]] = Field(description="dotted key -> [low, high]")

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

    name: str
    description: str = ""
    base: Path = Field(description="run config, relative to the sweep file")
    set: dict[str, Any] = Field(default={}, description="dotted key -> value, for every arm")
    grid: dict[str, list[Any]] | None = None
    zip: dict[str, list[Any]] | None = None
    sample: SampleConfig | None = None
    seeds: PositiveInt | list[NonNegativeInt] = Field(
        default=10, description="how many seeds (drawn from root_seed), or the seeds themselves")
    root_seed: NonNegativeInt = 0
    steps: PositiveInt | None = None
    control: dict[str, Any] = Field(default={}, description="the values that make an arm the control")
    keep: list[Literal["timeseries", "events"]] = Field(
        default=[], description="besides the summary row: per-run time series and liquidation/cascade logs")
    source: Path = Field(default=Path("sweep.yaml"), exclude=True)

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
