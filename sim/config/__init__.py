"""Run and sweep configs: pydantic models of the files, loaded from YAML with ``--set`` overrides."""

from sim.config.fundamental import (
    CsvReplayConfig,
    FundamentalConfig,
    JumpConfig,
    ShockConfig,
    StochasticVolatilityConfig,
)
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
from sim.config.run import RunConfig, config_from_data, deep_merge, load_config, read_config_data
from sim.config.section import ConfigError, Section
from sim.config.spot import SpotConfig
from sim.config.sweep import SampleConfig, SweepConfig, check_config_key, load_sweep

__all__ = [
    "ArbitrageurConfig", "ConfigError", "CsvReplayConfig", "FeeConfig", "FundingConfig", "InsuranceConfig",
    "JumpConfig", "LiquidationConfig", "LiquidatorConfig", "MarketConfig", "MarketMakerConfig", "MetricsConfig",
    "NetworkConfig", "FundamentalConfig", "RetailConfig", "RunConfig", "SampleConfig", "Section", "ShockConfig",
    "SpotConfig", "StochasticVolatilityConfig", "SweepConfig", "WhaleConfig", "apply_override",
    "check_config_key", "config_from_data", "deep_merge", "load_config", "load_sweep", "parse_override",
    "read_config_data",
]
