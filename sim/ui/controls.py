"""The UI's sidebar: the controls SolaraViz shows, and the run config they make from the opened one."""

from __future__ import annotations

import json
import math
import os
import zlib
from pathlib import Path

from mesa.visualization import Slider

from sim.config import RunConfig, load_config
from sim.ui.serve import CONFIG_ENV

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "configs" / "baseline.yaml"
SCHEDULES = ROOT / "configs" / "schedules"
AS_IN_CONFIG = "as in config"
MIN_DAYS = 5
SPLIT_ACCOUNTS = 4


def config_path() -> Path:
    """The config the UI opens on: $TIERLAB_UI_CONFIG, else configs/baseline.yaml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def schedule_names() -> list[str]:
    """The schedules the UI offers: the files in configs/schedules/, by name."""
    return sorted(path.stem for path in SCHEDULES.glob("*.yaml"))


def config_schedule(config: RunConfig) -> str:
    """The name of the config's own schedule among ``schedule_names()``, else AS_IN_CONFIG."""
    if isinstance(config.schedule, str):
        path = config.resolve(config.schedule).resolve()
        if path.parent == SCHEDULES.resolve() and path.stem in schedule_names():
            return path.stem
    return AS_IN_CONFIG


def parse_seed(seed: int | str) -> int:
    """A seed from the UI's text box: an integer as typed, any other text hashed to one."""
    text = str(seed).strip()
    return int(text) if text.isdecimal() else zlib.crc32(text.encode())


def ui_config(path: Path, *, schedule: str | None = None, steepness: float | None = None,
              retail_traders: int | None = None, whales: int | None = None, whale_capital: float | None = None,
              split_accounts: bool | None = None, retail_leverage: float | None = None,
              maker_depth: float | None = None, shock_size: float | None = None, shock_step: int | None = None,
              seed: int | str | None = None) -> RunConfig:
    """The config at ``path`` with the UI's controls laid over it (None keeps the config's value).

    A visual run lasts at least MIN_DAYS days, so Play does not stop after the config's day.
    ``whale_capital`` (the smallest whale's, in millions of USD; the largest is at least as much) and
    ``shock_size`` in percent; a zero shock removes it.
    """
    base = load_config(path)
    values: dict[str, object] = {}
    if schedule is not None and schedule != AS_IN_CONFIG:
        values["schedule"] = str(SCHEDULES / f"{schedule}.yaml")
    if steepness is not None:
        values["steepness"] = float(steepness)
    if retail_traders is not None:
        values["retail.count"] = int(retail_traders)
    if whales is not None:
        values["whales.count"] = int(whales)
    if whale_capital is not None:
        values["whales.capital"] = float(whale_capital) * 1e6
        values["whales.capital_max"] = max(base.whales.capital_max, float(whale_capital) * 1e6)
    if split_accounts is not None:
        split = base.whales.split_accounts if base.whales.split_accounts > 1 else SPLIT_ACCOUNTS
        values["whales.split_accounts"] = split if split_accounts else 1
    if retail_leverage is not None:
        values["retail.leverage_max"] = float(retail_leverage)
        values["retail.leverage_min"] = min(base.retail.leverage_min, float(retail_leverage))
    if maker_depth is not None:
        values["market_makers.depth"] = float(maker_depth)
    if shock_size is not None or shock_step is not None:
        shocks = [shock.model_dump() for shock in base.fundamental.shocks]
        first = shocks.pop(0) if shocks else {"step": base.steps // 2, "size": 0.0, "duration": 10}
        if shock_size is not None:
            first["size"] = float(shock_size) / 100
        if shock_step is not None:
            first["step"] = int(shock_step)
        values["fundamental.shocks"] = ([first] if first["size"] != 0 else []) + shocks
    if seed is not None:
        values["seed"] = parse_seed(seed)
    values["steps"] = max(base.steps, math.ceil(MIN_DAYS * 1440 / base.dt_minutes))
    return load_config(path, [f"{key}={json.dumps(value)}" for key, value in values.items()])


def model_params(config: RunConfig) -> dict[str, object]:
    """SolaraViz's controls, starting at the config's values."""
    shock = config.fundamental.shocks[0] if config.fundamental.shocks else None
    schedules = schedule_names()
    current = config_schedule(config)
    return {
        "schedule": {"type": "Select", "label": "Schedule", "value": current,
                     "values": schedules if current in schedules else [AS_IN_CONFIG, *schedules]},
        "steepness": Slider("Schedule steepness (× every rate)", config.steepness, 0.25, max(4.0, config.steepness),
                            0.25),
        "retail_traders": Slider("Retail traders", config.retail.count, 100, max(10_000, config.retail.count), 100),
        "whales": Slider("Whales", config.whales.count, 0, max(8, config.whales.count), 1),
        "whale_capital": Slider("Smallest whale capital (M USD)", config.whales.capital / 1e6, 1.0,
                                max(100.0, config.whales.capital / 1e6), 1.0),
        "split_accounts": {"type": "Checkbox", "label": "Whales split across accounts",
                           "value": config.whales.split_accounts > 1},
        "retail_leverage": Slider("Retail max preferred leverage (×)", config.retail.leverage_max, 2.0,
                                  max(125.0, config.retail.leverage_max), 1.0),
        "maker_depth": Slider("Market-maker depth (units a side)", config.market_makers.depth, 1.0,
                              max(100.0, config.market_makers.depth), 1.0),
        "shock_size": Slider("Shock size (%)", round(100 * shock.size, 2) if shock else 0.0, -30.0, 30.0, 1.0),
        "shock_step": Slider("Shock at step", shock.step if shock else config.steps // 2, 0,
                             config.steps, 10),
        "seed": {"type": "InputText", "label": "Seed", "value": str(config.seed)},
    }
