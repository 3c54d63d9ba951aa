"""Model speed: the baseline day, a day of 100,000 and of 1,000,000 traders, seconds per step as the
population grows, and Mesa's own loop.

Each measurement runs in a fresh process (so its peak memory is its own) and is repeated; the
median is reported. Times count building the model (setup) and stepping it, not Python's imports
(numba loads the compiled functions when the package is imported; the cost of compiling them, once
per machine, is measured apart: an import with an empty cache against one with it). The 100,000-trader day and
Mesa's empty ``shuffle_do("step")`` loop over 100,000 agents for as many steps run in the same
process, and their ratio is reported. Results are printed and appended to benchmarks/results.md,
with the load average, since other work on the machine slows every figure.

    python benchmarks/model_bench.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results.md")
BASELINE = "configs/baseline.yaml"
DAY = 1440

CHILD = r"""
import json, resource, sys, time
import mesa
from sim.config import load_config
from sim.market import MarketModel

retail, steps, mesa_loop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
config = load_config("configs/baseline.yaml", [f"retail.count={retail}", f"steps={steps}"])
started = time.perf_counter()
model = MarketModel(config)
built = time.perf_counter()
model.run()
finished = time.perf_counter()
result = {"setup": built - started, "run": finished - built, "total": finished - started,
          "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

class Idle(mesa.Agent):
    def step(self):
        pass

if mesa_loop:
    empty = mesa.Model(rng=0)
    for _ in range(retail):
        Idle(empty)
    started = time.perf_counter()
    for _ in range(steps):
        empty.agents.shuffle_do("step")
    result["mesa_loop"] = time.perf_counter() - started
print(json.dumps(result))
"""


def measure(retail: int, steps: int, mesa_loop: bool = False) -> dict[str, float]:
    """One run in a fresh interpreter; its timings and peak resident memory."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(retail), str(steps), "1" if mesa_loop else "0"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_seconds(cache: str) -> float:
    """Wall seconds to import the model (``sim.market``: every compiled loop, from the schedules' to
    the record's) in a fresh interpreter whose numba cache is ``cache``."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim.market"], check=True,
                   env={**os.environ, "NUMBA_CACHE_DIR": cache})
    return time.perf_counter() - started


def compile_seconds() -> tuple[float, float]:
    """The import of the model with an empty numba cache (compiling its loops) and then with the
    cache it left (loading them): what numba costs a fresh machine once, and every process after."""
    with tempfile.TemporaryDirectory() as cache:
        return import_seconds(cache), import_seconds(cache)


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 and 1,000,000 traders for 144 steps, not a day")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    big_steps = 144 if args.quick else DAY
    label = "one day" if big_steps == DAY else f"{big_steps} steps (--quick)"
    rows: list[tuple[str, str, str]] = []

    baseline = [measure(1_000, DAY) for _ in range(args.repeat)]
    rows.append(("baseline day (1,000 traders, 1,440 steps)", f"{median_of(baseline, 'total'):.2f} s",
                 "target <= 0.5 s"))
    ten = [measure(10_000, 288) for _ in range(args.repeat)]
    big = [measure(100_000, big_steps, mesa_loop=True) for _ in range(args.repeat)]
    million = [measure(1_000_000, big_steps) for _ in range(args.repeat)]
    rows.append((f"100,000 traders, {label}", f"{median_of(big, 'total'):.1f} s", "target <= 8 s for a day"))
    rows.append(("peak memory, 100,000 traders", f"{median_of(big, 'peak_mb'):,.0f} MB", "target <= 1 GB"))
    rows.append((f"1,000,000 traders, {label}", f"{median_of(million, 'total'):.1f} s",
                 f"of which setup {median_of(million, 'setup'):.1f} s; target <= 90 s for a day"))
    rows.append(("peak memory, 1,000,000 traders", f"{median_of(million, 'peak_mb'):,.0f} MB", "target <= 4 GB"))
    per_step = {1_000: (baseline, DAY), 10_000: (ten, 288), 100_000: (big, big_steps), 1_000_000: (million, big_steps)}
    previous = None
    for retail, (runs, steps) in per_step.items():
        seconds = median_of(runs, "run") / steps
        growth = "" if previous is None else f"x{seconds / previous:.1f} for x10 traders"
        rows.append((f"seconds per step, {retail:,} traders", f"{seconds * 1000:.2f} ms", growth))
        previous = seconds
    mesa_loop = median_of(big, "mesa_loop")
    rows.append((f"Mesa empty shuffle_do over 100,000 agents, {big_steps} steps", f"{mesa_loop:.1f} s", ""))
    rows.append(("ratio: 100,000-trader run / Mesa empty loop", f"{median_of(big, 'run') / mesa_loop:.3f}",
                 "target <= 0.08"))

    cold, warm = zip(*(compile_seconds() for _ in range(args.repeat)))
    rows.append(("import of the model, empty numba cache (compiles)", f"{statistics.median(cold):.2f} s",
                 f"then {statistics.median(warm):.2f} s from the cache: compiling costs "
                 f"{statistics.median(cold) - statistics.median(warm):.2f} s once"))

    width = max(len(r[0]) for r in rows)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    header = (f"## model benchmark {stamp} (median of {args.repeat}; Python {platform.python_version()}, "
              f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.2f} at start)")
    lines = [header, "", "| measure | value | note |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {note} |" for name, value, note in rows]
    print(header)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    with RESULTS.open("a") as results:
        results.write("\n".join(lines) + "\n\n")
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
