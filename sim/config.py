"""Run configs: pydantic models of a run file, loaded from YAML with ``--set dotted.key=value`` overrides.

Every section is a model with ``extra="forbid"``, so a misspelt key is an error naming it. Errors
reach the user as one line (``ConfigError``) naming the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from pydantic import ValidationError, field_validator, model_validator

from sim.margin import Schedule, SpecError, build_schedule, describe_validation_error, parse_schedule_spec
from sim.margin import read_yaml, scaled

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
        if isinstance(self.schedule, dict):
            schedule = build_schedule(parse_schedule_spec(self.schedule, "schedule"))
        else:
            path = self.resolve(self.schedule)
            schedule = build_schedule(parse_schedule_spec(read_yaml(path), str(path)))
        return scaled(schedule, self.steepness)

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
    """Set ``data[parts[0]][parts[1]]... = value`` in place, creating mappings on the way."""
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            if i == 0 and part == "schedule" and isinstance(child, str):
                raise ConfigError(f"{source} {'.'.join(parts)}: schedule is a file path; set 'schedule' to a path or inline mapping")
            raise ConfigError(f"{source} {'.'.join(parts)}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


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
        apply_override(data, parts, value)
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
