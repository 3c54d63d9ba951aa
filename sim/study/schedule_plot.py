"""Figures that are not tied to a run: margin schedules drawn as rate against notional.

Uses matplotlib's object API on the Agg canvas, so it never needs a display or pyplot's global state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

from sim.schedules import Schedule

SMALLEST_NOTIONAL = 1_000.0
UNLIMITED_SPAN = 10.0


def schedule_axis(schedule: Schedule) -> np.ndarray:
    """Notionals to draw at: log-spaced, plus each cap and a point just past it so steps stay sharp."""
    caps = schedule.table()["notional_cap"].to_numpy(dtype=float)
    edges = caps[np.isfinite(caps)]
    if np.isfinite(schedule.notional_limit):
        high = schedule.notional_limit
    else:
        high = UNLIMITED_SPAN * max(edges.max(initial=0.0), 1e8)
    low = min(SMALLEST_NOTIONAL, high / 1e3)
    points = np.concatenate([np.geomspace(low, high, 2_000), edges, edges * (1 + 1e-9)])
    return np.unique(points[(points >= low) & (points <= high)])


def plot_schedule(schedule: Schedule, path: str | Path, open_interest: float = 0.0) -> Path:
    """Draw initial and maintenance margin rates against notional (log axes) to a PNG at ``path``.

    An ``open_interest`` schedule's rates depend on the market's open notional, not the position's,
    so for that kind the x axis is the market's open notional instead.
    """
    path = Path(path)
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if schedule.kind == "open_interest":
        spec = schedule.spec
        low = spec.open_interest_lower_cap / 10 if spec.open_interest_lower_cap > 0 else 1e6
        caps = [spec.open_interest_lower_cap, spec.open_interest_upper_cap]
        x = np.unique(
            np.concatenate([np.geomspace(low, spec.open_interest_upper_cap * 3, 2_000), caps])
        )
        x = x[x >= low]
        initial = np.array([schedule.initial_rate(1.0, oi) for oi in x])
        maintenance = np.array([schedule.maintenance_rate(1.0, oi) for oi in x])
        ax.set_xlabel("market open notional (USD)")
    else:
        x = schedule_axis(schedule)
        initial = np.asarray(schedule.initial_rate(x, open_interest))
        maintenance = np.asarray(schedule.maintenance_rate(x, open_interest))
        ax.set_xlabel("position notional (USD)")
    ax.plot(x, initial, label="initial margin rate (1 / max leverage)")
    ax.plot(x, maintenance, label="maintenance margin rate (MM / notional)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("margin rate")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title(f"{schedule.name} ({schedule.kind})")
    fig.savefig(path, dpi=110)
    return path
