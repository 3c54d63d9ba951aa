"""The table views: the cascades so far, and the settings the running model was built with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.ui.window import CASCADE_ROWS, clock

if TYPE_CHECKING:
    from sim.market import MarketModel
    from sim.ui.watch import RunWatch


CASCADE_HEADER = ("#", "start", "liquidations", "notional (M USD)", "drawdown", "amplification")


def cascade_rows(model: MarketModel, watch: RunWatch) -> tuple[list[tuple[str, ...]], int]:
    """The latest cascades as table rows (newest first), and how many there have been."""
    rows = watch.cascades.rows(model)
    shown = []
    for row in reversed(rows[-CASCADE_ROWS:]):
        amplification = row["amplification"]
        if np.isnan(amplification):
            amp = "–"
        elif np.isinf(amplification):
            amp = "∞ (index flat)"
        else:
            amp = f"{amplification:.2f}×"
        drawdown = row["mark_move"]
        shown.append((
            str(int(row["cascade"]) + 1),
            f"{int(row['start_step']):,} ({clock(int(row['start_step']), model.config.dt_minutes)})",
            f"{int(row['count']):,}",
            f"{row['notional'] / 1e6:,.2f}",
            "–" if np.isnan(drawdown) else f"{100 * drawdown:.2f} %",
            amp,
        ))
    return shown, len(rows)


# --------------------------------------------------------------------------------------------
# The run's settings
# --------------------------------------------------------------------------------------------


def settings_rows(model: MarketModel) -> list[tuple[str, str]]:
    """What the running model was built with: the sliders show no numbers, so the views say them."""
    cfg = model.config
    shocks = ", ".join(f"{100 * s.size:+g} % at step {s.step:,} over {s.duration} steps" for s in cfg.fundamental.shocks)
    accounts = f", {cfg.whales.split_accounts} accounts each" if cfg.whales.split_accounts > 1 else ", one account each"
    return [
        ("schedule", model.exchange.schedule.name),
        ("steepness", f"{cfg.steepness:g} × every margin rate"),
        ("retail traders", f"{cfg.retail.count:,} (+{cfg.retail.arrival_per_day:.0%} a day)"),
        ("retail preferred leverage", f"{cfg.retail.leverage_min:g}× to {cfg.retail.leverage_max:g}×"),
        ("whales", f"{cfg.whales.count}, capital {cfg.whales.capital / 1e6:,.0f} M to {cfg.whales.capital_max / 1e6:,.0f} M"
                   f" USD (Pareto, tail {cfg.whales.capital_tail:g}), {cfg.whales.leverage_min:g}× to "
                   f"{cfg.whales.leverage_max:g}×{accounts}"),
        ("market makers", f"{cfg.market_makers.count} × {cfg.market_makers.depth:g} units a side"),
        ("shocks", shocks or "none"),
        ("seed", str(model.seed)),
        ("run length", f"{cfg.steps:,} steps ({clock(cfg.steps, cfg.dt_minutes)} at the end)"),
    ]
