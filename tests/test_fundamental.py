"""The index price: GBM statistics, jumps, scheduled shocks, CSV replay and its errors."""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import CsvReplayConfig, FundamentalConfig, JumpConfig, ShockConfig
from sim.market.fundamental import index_path
from sim.schedules import SpecError

PRICE = 100_000.0
DAY = 1_440
DATA = Path(__file__).resolve().parents[1] / "configs" / "scenarios" / "data"


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def calm(**kwargs) -> FundamentalConfig:
    """No noise, no jumps: only what the test adds."""
    return FundamentalConfig(volatility=0.0, **kwargs)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def replay(csv: Path, steps: int, dt_minutes: float = 1.0, **kwargs) -> np.ndarray:
    fundamental = FundamentalConfig(
        csv=CsvReplayConfig(path=csv, **{k: v for k, v in kwargs.items() if k != "shocks"}),
        shocks=kwargs.get("shocks", []),
    )
    return index_path(fundamental, PRICE, steps, dt_minutes, rng(), csv_path=csv)


# --- GBM, jumps, determinism -------------------------------------------------------------------


def test_length_and_start() -> None:
    path = index_path(FundamentalConfig(), PRICE, DAY, 1.0, rng())
    assert path.shape == (DAY + 1,)
    assert path.dtype == np.float64
    assert path[0] == PRICE
    assert np.all(np.isfinite(path)) and np.all(path > 0)


def test_same_seed_same_path() -> None:
    fundamental = FundamentalConfig(
        jumps=JumpConfig(intensity_per_day=20.0, mean=-0.01, std=0.02),
        shocks=[ShockConfig(step=100, size=-0.05)],
    )
    a = index_path(fundamental, PRICE, DAY, 1.0, rng(42))
    b = index_path(fundamental, PRICE, DAY, 1.0, rng(42))
    assert np.array_equal(a, b)


def test_different_seed_different_path() -> None:
    a = index_path(FundamentalConfig(), PRICE, DAY, 1.0, rng(1))
    b = index_path(FundamentalConfig(), PRICE, DAY, 1.0, rng(2))
    assert not np.allclose(a[1:], b[1:])


def test_only_the_generator_passed_in_is_used() -> None:
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    index_path(FundamentalConfig(jumps=JumpConfig(intensity_per_day=50.0)), PRICE, DAY, 1.0, rng())
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state


def test_zero_volatility_without_jumps_or_shocks_is_constant() -> None:
    path = index_path(calm(), PRICE, DAY, 1.0, rng())
    assert np.all(path == PRICE)


def test_drift_is_annualised_over_365_days() -> None:
    path = index_path(calm(drift=0.365), PRICE, DAY, 1.0, rng())
    assert path[-1] == pytest.approx(PRICE * math.exp(0.001), rel=1e-12)
    assert path[DAY // 2] == pytest.approx(PRICE * math.exp(0.0005), rel=1e-12)


def test_log_return_std_matches_volatility() -> None:
    sigma, steps = 0.6, 200_000
    for dt_minutes in (1.0, 5.0):
        path = index_path(FundamentalConfig(volatility=sigma), PRICE, steps, dt_minutes, rng(7))
        expected = sigma * math.sqrt(dt_minutes / 525_600)
        assert np.diff(np.log(path)).std() == pytest.approx(expected, rel=0.02)


def test_mean_log_return_has_ito_correction() -> None:
    mu, sigma, steps = 0.125, 0.5, 20_000
    path = index_path(FundamentalConfig(drift=mu, volatility=sigma), PRICE, steps, 525_600.0, rng(11))
    returns = np.diff(np.log(path))
    assert returns.mean() == pytest.approx(mu - sigma**2 / 2, abs=0.02)
    assert returns.std() == pytest.approx(sigma, rel=0.03)


@pytest.mark.parametrize("dt_minutes", [1.0, 60.0])
def test_jump_count_matches_intensity(dt_minutes: float) -> None:
    intensity, days = 24.0, 100
    steps = int(days * DAY / dt_minutes)
    fundamental = calm(jumps=JumpConfig(intensity_per_day=intensity, mean=-0.01, std=0.0))
    path = index_path(fundamental, PRICE, steps, dt_minutes, rng(3))
    count = round(math.log(path[-1] / PRICE) / -0.01)
    expected = intensity * days
    assert abs(count - expected) < 5 * math.sqrt(expected)


def test_jump_sizes_are_normal_with_mean_and_std() -> None:
    fundamental = calm(jumps=JumpConfig(intensity_per_day=1.0, mean=-0.02, std=0.005))
    path = index_path(fundamental, PRICE, 2_000 * DAY, 1.0, rng(5))
    jumps = np.diff(np.log(path))
    jumps = jumps[jumps != 0]
    assert abs(len(jumps) - 2_000) < 5 * math.sqrt(2_000)
    assert jumps.mean() == pytest.approx(-0.02, abs=0.0005)
    assert jumps.std() == pytest.approx(0.005, rel=0.1)


def test_jumps_are_drawn_after_the_diffusion_normals() -> None:
    plain = index_path(FundamentalConfig(), PRICE, DAY, 1.0, rng(9))
    jumpy = index_path(
        FundamentalConfig(jumps=JumpConfig(intensity_per_day=5.0, std=0.03)), PRICE, DAY, 1.0, rng(9)
    )
    extra = np.diff(np.log(jumpy)) - np.diff(np.log(plain))
    moved = np.abs(extra) > 1e-12
    assert 0 < moved.sum() < 30


# --- scheduled shocks --------------------------------------------------------------------------


def test_shock_reaches_its_size_geometrically() -> None:
    path = index_path(
        calm(shocks=[ShockConfig(step=600, size=-0.08, duration=10)]), PRICE, DAY, 1.0, rng()
    )
    assert np.all(path[:601] == PRICE)
    assert path[610] == pytest.approx(PRICE * 0.92, rel=1e-12)
    assert np.all(path[610:] == path[610])
    expected = PRICE * 0.92 ** (np.arange(11) / 10)
    np.testing.assert_allclose(path[600:611], expected, rtol=1e-12)
    ratios = path[601:611] / path[600:610]
    np.testing.assert_allclose(ratios, 0.92**0.1, rtol=1e-12)


def test_shock_past_the_end_is_cut() -> None:
    late = index_path(
        calm(shocks=[ShockConfig(step=DAY - 4, size=-0.08, duration=10)]), PRICE, DAY, 1.0, rng()
    )
    assert late.shape == (DAY + 1,)
    assert late[-1] == pytest.approx(PRICE * 0.92**0.4, rel=1e-12)
    beyond = index_path(calm(shocks=[ShockConfig(step=DAY + 50, size=0.5)]), PRICE, DAY, 1.0, rng())
    assert np.all(beyond == PRICE)


def test_overlapping_shocks_add() -> None:
    shocks = [
        ShockConfig(step=100, size=-0.1, duration=20),
        ShockConfig(step=110, size=0.05, duration=5),
    ]
    path = index_path(calm(shocks=shocks), PRICE, 300, 1.0, rng())
    assert path[-1] == pytest.approx(PRICE * 0.9 * 1.05, rel=1e-12)
    assert path[112] / path[111] == pytest.approx(0.9 ** (1 / 20) * 1.05 ** (1 / 5), rel=1e-12)


def test_shock_applies_on_top_of_noise() -> None:
    shock = ShockConfig(step=600, size=-0.08, duration=10)
    plain = index_path(FundamentalConfig(), PRICE, DAY, 1.0, rng(4))
    shocked = index_path(FundamentalConfig(shocks=[shock]), PRICE, DAY, 1.0, rng(4))
    np.testing.assert_allclose(shocked[610:] / plain[610:], 0.92, rtol=1e-12)
    assert np.array_equal(shocked[:601], plain[:601])


@settings(max_examples=60, deadline=None)
@given(
    step=st.integers(0, 200),
    duration=st.integers(1, 60),
    size=st.floats(-0.9, 2.0),
    steps=st.integers(1, 250),
)
def test_any_shock_moves_by_its_share_of_size(
    step: int, duration: int, size: float, steps: int
) -> None:
    path = index_path(
        calm(shocks=[ShockConfig(step=step, size=size, duration=duration)]),
        PRICE,
        steps,
        1.0,
        rng(),
    )
    assert path.shape == (steps + 1,)
    done = min(max(steps - step, 0), duration)
    assert path[-1] == pytest.approx(PRICE * (1 + size) ** (done / duration), rel=1e-9)
    assert np.all(path[: min(step, steps) + 1] == PRICE)


# --- CSV replay --------------------------------------------------------------------------------


def test_csv_one_row_per_step_is_replayed_exactly(tmp_path: Path) -> None:
    prices = [100.0, 101.5, 99.25, 98.0, 102.0, 103.0, 104.0]
    csv = write_csv(tmp_path / "p.csv", "price\n" + "\n".join(map(str, prices)) + "\n")
    path = replay(csv, 5)
    assert np.array_equal(path, prices[:6])


def test_csv_ignores_initial_price_and_seed(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "close\n10\n11\n12\n")
    fundamental = FundamentalConfig(csv=CsvReplayConfig(path=csv, column="close"))
    a = index_path(fundamental, PRICE, 2, 1.0, rng(1), csv_path=csv)
    b = index_path(fundamental, 5.0, 2, 1.0, rng(2), csv_path=csv)
    assert np.array_equal(a, [10.0, 11.0, 12.0]) and np.array_equal(a, b)


def test_csv_path_defaults_to_the_configs_path(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "price\n10\n11\n12\n")
    path = index_path(FundamentalConfig(csv=CsvReplayConfig(path=csv)), PRICE, 2, 1.0, rng())
    assert np.array_equal(path, [10.0, 11.0, 12.0])


def test_csv_with_shock_multiplies(tmp_path: Path) -> None:
    prices = np.linspace(100, 120, 21)
    csv = write_csv(tmp_path / "p.csv", "price\n" + "\n".join(map(str, prices)) + "\n")
    path = replay(csv, 20, shocks=[ShockConfig(step=5, size=-0.1, duration=5)])
    assert np.array_equal(path[:6], prices[:6])
    np.testing.assert_allclose(path[10:], prices[10:] * 0.9, rtol=1e-12)


def test_csv_time_column_is_resampled_last_and_forward_filled(tmp_path: Path) -> None:
    rows = [
        "2025-10-10T00:00:00,100",
        "2025-10-10T00:01:00,101",
        "2025-10-10T00:01:40,102",
        "2025-10-10T00:02:00,103",
        "2025-10-10T00:05:30,104",
        "2025-10-10T00:07:00,105",
    ]
    csv = write_csv(tmp_path / "t.csv", "ts,price\n" + "\n".join(rows) + "\n")
    path = replay(csv, 7, time_column="ts")
    assert np.array_equal(path, [100, 101, 103, 103, 103, 103, 104, 105])


def test_csv_time_column_coarser_step_and_row_order(tmp_path: Path) -> None:
    times = [f"2025-10-10 00:{m:02d}" for m in range(11)]
    lines = [f"{t},{100 + i}" for i, t in enumerate(times)]
    csv = write_csv(tmp_path / "t.csv", "time,price\n" + "\n".join(reversed(lines)) + "\n")
    path = replay(csv, 2, dt_minutes=5.0, time_column="time")
    assert np.array_equal(path, [100, 105, 110])


def test_example_replay_csv_covers_a_day_with_a_crash() -> None:
    csv = DATA / "replay_example.csv"
    path = replay(csv, DAY, time_column="timestamp")
    assert path[0] == 112_000.0
    assert np.array_equal(path, replay(csv, DAY))
    evening = path[1_200:1_320]
    fall = evening.min() / evening[: evening.argmin()].max() - 1
    assert -0.15 < fall < -0.10
    assert path[-1] > evening.min() * 1.02


def test_example_replay_csv_is_what_the_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_replay_csv", DATA / "make_replay_csv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == (DATA / "replay_example.csv").read_bytes()


# --- CSV errors: one SpecError line naming the file --------------------------------------------


def assert_spec_error(csv: Path, match: str, steps: int = 3, **kwargs) -> None:
    with pytest.raises(SpecError, match=match) as err:
        replay(csv, steps, **kwargs)
    message = str(err.value)
    assert str(csv) in message
    assert "\n" not in message


def test_csv_missing_file(tmp_path: Path) -> None:
    assert_spec_error(tmp_path / "absent.csv", "file not found")


def test_csv_missing_column_lists_the_columns(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "time,close\n1,10\n2,11\n3,12\n4,13\n")
    assert_spec_error(csv, r"no column 'price' \(columns: 'time', 'close'\)")


def test_csv_missing_time_column(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "price\n10\n11\n12\n13\n")
    assert_spec_error(csv, r"no column 'ts' \(columns: 'price'\)", time_column="ts")


@pytest.mark.parametrize("cell", ["abc", "", "nan", "inf"])
def test_csv_non_numeric_price(tmp_path: Path, cell: str) -> None:
    csv = write_csv(tmp_path / "p.csv", f"price\n10\n11\n{cell}\n13\n")
    assert_spec_error(csv, "column 'price', line 4: .* is not a price")


@pytest.mark.parametrize("cell", ["0", "-5.5"])
def test_csv_non_positive_price(tmp_path: Path, cell: str) -> None:
    csv = write_csv(tmp_path / "p.csv", f"price\n10\n{cell}\n12\n13\n")
    assert_spec_error(csv, f"column 'price', line 3: price {cell} is not positive")


def test_csv_too_few_rows(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "price\n" + "\n".join(["100"] * 500) + "\n")
    assert_spec_error(csv, "has 500 prices, the run needs 1441", steps=1_440)


def test_csv_too_short_in_time(tmp_path: Path) -> None:
    rows = [f"2025-10-10T00:{m:02d}:00,100" for m in range(10)]
    csv = write_csv(tmp_path / "t.csv", "ts,price\n" + "\n".join(rows) + "\n")
    assert_spec_error(
        csv, "has 2 prices at 5-minute spacing, the run needs 4", dt_minutes=5.0, time_column="ts"
    )


def test_csv_header_only(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "ts,price\n")
    assert_spec_error(csv, "has 0 prices", time_column="ts")


def test_csv_bad_time(tmp_path: Path) -> None:
    csv = write_csv(
        tmp_path / "t.csv",
        "ts,price\n2025-10-10T00:00,1\nsoon,2\n2025-10-10T00:02,3\n2025-10-10T00:03,4\n",
    )
    assert_spec_error(csv, "column 'ts', line 3: 'soon' is not a date/time", time_column="ts")


def test_csv_empty_file(tmp_path: Path) -> None:
    assert_spec_error(write_csv(tmp_path / "p.csv", ""), "cannot be read as CSV")


def test_csv_path_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert_spec_error(folder, "is a directory, not a file")


def test_csv_trailing_blank_lines_are_ignored(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "price\n10\n11\n12\n13\n\n\n")
    assert np.array_equal(replay(csv, 3), [10.0, 11.0, 12.0, 13.0])


def test_csv_inner_blank_line_is_not_skipped(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "p.csv", "ts,price\n2025-10-10T00:00,10\n\n2025-10-10T00:01,11\n")
    assert_spec_error(csv, "column 'price', line 3: '' is not a price", steps=1, time_column="ts")
