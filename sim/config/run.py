"""The run config: every section of a run file, loaded from YAML (with ``extends``) and overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from sim.config.fundamental import FundamentalConfig
from sim.config.market import (
    FeeConfig,
    FundingConfig,
    InsuranceConfig,
    LiquidationConfig,
    MarketConfig,
    MetricsConfig,
)
from sim.config.overrides import apply_override, parse_override
from sim.config.populations import (
    ArbitrageurConfig,
    LiquidatorConfig,
    MarketMakerConfig,
    NetworkConfig,
    RetailConfig,
    WhaleConfig,
)
from sim.config.section import ConfigError, Section
from sim.config.spot import SpotConfig
from sim.schedules import (
    Schedule,
    SpecError,
    describe_validation_error,
    load_schedule,
    param,
    parse_schedule_spec,
    read_yaml,
    scaled,
)


class RunConfig(Section):
    """A whole run: the market, its schedule, its populations and the measures."""

    name: str = param("run", "-", "the run's name: in output folder names and figure titles")
    description: str = param("", "-", "one line on what the run is about")
    seed: NonNegativeInt = param(0, "-", "seed of every random stream: fundamental path, population, whales, behaviour")
    steps: PositiveInt = param(1_440, "steps", "run length")
    dt_minutes: PositiveFloat = param(1.0, "minutes", "length of one step")
    debug: bool = param(False, "-", "assert the exchange's invariants every step (slower)")
    market: MarketConfig = param(MarketConfig(), "-", "the contract (initial price, lot size) and the band that holds the mark")
    schedule: dict[str, Any] | str = param(
        "schedules/binance_btcusdt.yaml", "-", "the margin schedule: a schedule file (relative to this file's "
        "folder, then to the files it extends) or a schedule written inline")
    steepness: PositiveFloat = param(1.0, "-", "multiplies every margin rate and divides max leverage; "
                                     "1 = as published")
    fees: FeeConfig = param(FeeConfig(), "-", "trading fees, as fractions of notional")
    liquidation: LiquidationConfig = param(LiquidationConfig(), "-", "the liquidation engine")
    insurance_fund: InsuranceConfig = param(InsuranceConfig(), "-", "the insurance fund")
    funding: FundingConfig = param(FundingConfig(), "-", "funding payments between longs and shorts")
    fundamental: FundamentalConfig = param(FundamentalConfig(), "-", "the fundamental price path (a diffusion with "
                                           "jumps and scheduled shocks, or a CSV replay)")
    spot: SpotConfig = param(SpotConfig(), "-", "the spot market whose price is the index: impact of the flow "
                             "reaching it")
    market_makers: MarketMakerConfig = param(MarketMakerConfig(), "-", "the market makers who quote the book")
    retail: RetailConfig = param(RetailConfig(), "-", "the retail traders")
    whales: WhaleConfig = param(WhaleConfig(), "-", "the whales: a population of large traders on their own clocks")
    liquidators: LiquidatorConfig = param(LiquidatorConfig(), "-", "the liquidators who take over liquidated "
                                          "positions")
    arbitrageurs: ArbitrageurConfig = param(ArbitrageurConfig(), "-", "the arbitrageurs who trade the basis and "
                                            "move spot")
    network: NetworkConfig = param(NetworkConfig(), "-", "the retail traders' social graph")
    metrics: MetricsConfig = param(MetricsConfig(), "-", "how the measures are taken")
    base_dirs: list[Path] = param([Path(".")], "-", "folders relative paths resolve against, in order",
                                  exclude=True)
    _origin: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def origin(self) -> dict[str, Any]:
        """Where the config was read from, when ``load_config`` read it: the file and the overrides."""
        return self._origin

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
        if self.fundamental.csv is not None:
            data["fundamental"]["csv"]["path"] = str(self.resolve(self.fundamental.csv.path).resolve())
        return data


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
    config = config_from_data(data, str(path), base_dirs=folders, overrides=overrides)
    config._origin = {"config_file": str(path), "overrides": list(overrides)}
    return config

