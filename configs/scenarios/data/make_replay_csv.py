"""Write ``replay_example.csv`` beside this script: a stylised day of BTC prices for CSV replay.

Columns ``timestamp`` (ISO 8601, one row a minute, 1,441 rows from 2025-10-10T00:00 to the next
midnight) and ``price`` (USD). The day opens at 112,000, drifts down about 1.5 % by the evening,
then falls about 12 % over 40 minutes from 20:50 (like the crash of 10 October 2025) and wins back
a little under half of that by midnight. Noise is a mean-reverting wiggle around that shape, louder
in the crash, from ``numpy.random.default_rng(20251010)``, so every run writes the same file.

Rerun from the repository root: ``.venv/bin/python configs/scenarios/data/make_replay_csv.py``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20251010
START = "2025-10-10T00:00:00"
ROWS = 1_441
OPEN_PRICE = 112_000.0
DAY_DRIFT = -0.015
CRASH_START, CRASH_MINUTES, CRASH_SIZE = 1_250, 40, -0.12
RECOVERED_SHARE, RECOVERY_MINUTES = 0.45, 40.0
NOISE_STEP, NOISE_PERSISTENCE, CRASH_NOISE = 0.0006, 0.98, 3.0
OUT = Path(__file__).with_name("replay_example.csv")


def shape(minutes: np.ndarray) -> np.ndarray:
    """Log move from the open without noise: drift, crash (smooth cosine ramp), partial recovery."""
    crash_end = CRASH_START + CRASH_MINUTES
    drift = DAY_DRIFT * np.minimum(minutes, CRASH_START) / CRASH_START
    ramp = np.clip((minutes - CRASH_START) / CRASH_MINUTES, 0.0, 1.0)
    crash = np.log1p(CRASH_SIZE) * 0.5 * (1.0 - np.cos(np.pi * ramp))
    after = np.maximum(minutes - crash_end, 0.0)
    span = minutes[-1] - crash_end
    recovery = (
        -np.log1p(CRASH_SIZE)
        * RECOVERED_SHARE
        * (1.0 - np.exp(-after / RECOVERY_MINUTES))
        / (1.0 - np.exp(-span / RECOVERY_MINUTES))
    )
    return drift + crash + recovery


def noise(minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """AR(1) log noise around the shape, starting at zero and three times louder in the crash."""
    loud = (minutes >= CRASH_START) & (minutes < CRASH_START + CRASH_MINUTES + 30)
    shocks = rng.standard_normal(len(minutes)) * NOISE_STEP * np.where(loud, CRASH_NOISE, 1.0)
    shocks[0] = 0.0
    out = np.empty(len(minutes))
    level = 0.0
    for i, shock in enumerate(shocks):
        level = NOISE_PERSISTENCE * level + shock
        out[i] = level
    return out


def make(path: Path = OUT) -> pd.DataFrame:
    """Build the day and write it to ``path``; returns the frame written."""
    rng = np.random.default_rng(SEED)
    minutes = np.arange(ROWS, dtype=float)
    prices = OPEN_PRICE * np.exp(shape(minutes) + noise(minutes, rng))
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range(START, periods=ROWS, freq="1min").strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "price": np.round(prices, 2),
        }
    )
    frame.to_csv(path, index=False, float_format="%.2f", lineterminator="\n")
    return frame


if __name__ == "__main__":
    written = make()
    print(f"wrote {OUT} ({len(written)} rows)")
