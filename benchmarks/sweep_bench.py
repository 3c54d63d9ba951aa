"""Sweep throughput: runs per second of the baseline config on 1 and on 2 local worker processes,
and the time of a whole study (experiments/tier_schedules.yaml, 210 runs) on 2 workers.

The runs are a one-arm sweep of the baseline day (configs/baseline.yaml, all 1,440 steps, so the
crash at step 900 is inside) over distinct seeds, run through the sweep's own machinery
(``run_pending``: submit, run, record a Parquet part and the index per run). Worker start-up is
not timed: the pool is warmed up first. The targets are 2 workers >= 1.9 x 1 worker and the study
in <= 90 s; the process exits 1 below either. Other load on the machine lowers both, so the load
average is recorded. Results are printed and dated lines are appended to benchmarks/results.md.

    python benchmarks/sweep_bench.py [--runs 12] [--steps 1440] [--study experiments/tier_schedules.yaml | --no-study]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import Executor
from pathlib import Path

from sim.study.sweep import SweepFolder, Tally, sweep_file
from sim.study.sweep.executors import local_executor
from sim.study.sweep.sweep import run_pending

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results.md")
TARGET = 1.9
STUDY_TARGET = 90.0


def ready(_: int) -> int:
    """A worker's warm-up task: hold it long enough that every worker gets one."""
    time.sleep(0.5)
    return os.getpid()


def warm_up(executor: Executor, workers: int) -> None:
    """Start every worker process (and its imports) before the clock starts."""
    pids = set(executor.map(ready, range(2 * workers)))
    if len(pids) < workers:
        sys.exit(f"only {len(pids)} of {workers} workers started")


def timed_sweep(spec: Path, workers: int, out: Path) -> tuple[int, float]:
    """Run every run of the sweep file ``spec`` on ``workers`` local processes (recording included,
    worker start-up not): the number of runs and the seconds they took."""
    plan = sweep_file(spec)
    folder = SweepFolder(out)
    folder.begin(plan, "local", workers)
    tally = Tally(len(plan.runs))
    with local_executor(workers) as executor:
        warm_up(executor, workers)
        started = time.perf_counter()
        run_pending(plan, folder, executor, plan.runs, tally, window=workers, progress=False)
        elapsed = time.perf_counter() - started
    if tally.ok != len(plan.runs):
        sys.exit(f"{len(plan.runs) - tally.ok} benchmark runs failed")
    return len(plan.runs), elapsed


def runs_per_second(workers: int, runs: int, steps: int, scratch: Path) -> float:
    """Throughput of ``runs`` baseline runs on ``workers`` local processes, recording included."""
    spec = scratch / f"bench_{workers}.yaml"
    spec.write_text(f"name: sweep_bench\nbase: {ROOT / 'configs' / 'baseline.yaml'}\n"
                    f"seeds: {runs}\nroot_seed: 1\nsteps: {steps}\n")
    done, elapsed = timed_sweep(spec, workers, scratch / f"out_{workers}")
    return done / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="runs per measurement (default 12)")
    parser.add_argument("--steps", type=int, default=1440, help="steps per run (default 1,440: the whole day)")
    parser.add_argument("--study", type=Path, default=ROOT / "experiments" / "tier_schedules.yaml",
                        help="a sweep file timed whole on 2 workers (default experiments/tier_schedules.yaml)")
    parser.add_argument("--no-study", action="store_true", help="only the 1- and 2-worker throughput")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        one = runs_per_second(1, args.runs, args.steps, Path(scratch))
        two = runs_per_second(2, args.runs, args.steps, Path(scratch))
        study_load = os.getloadavg()[0]
        study = None if args.no_study else timed_sweep(args.study, 2, Path(scratch) / "study")
    ratio = two / one
    verdict = "meets" if ratio >= TARGET else "BELOW"
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"- {stamp} sweep benchmark: baseline config, {args.steps:,} steps, {args.runs} runs each: "
             f"1 worker {one:.3f} runs/s, 2 workers {two:.3f} runs/s, ratio {ratio:.2f} ({verdict} the "
             f"{TARGET}x target); {os.cpu_count()} CPUs, load average {load:.2f} at start, "
             f"Python {platform.python_version()}"]
    print(f"1 worker : {one:.3f} runs/s ({1 / one:.2f} s per run)")
    print(f"2 workers: {two:.3f} runs/s ({1 / two:.2f} s per run)")
    print(f"ratio    : {ratio:.2f} (target >= {TARGET}); load average {load:.2f} at start")
    met = ratio >= TARGET
    if study is not None:
        runs, seconds = study
        met &= seconds <= STUDY_TARGET
        name = args.study.relative_to(ROOT) if args.study.is_relative_to(ROOT) else args.study
        lines.append(f"- {stamp} study benchmark: {name}, {runs} runs on 2 workers in {seconds:.1f} s "
                     f"({'meets' if seconds <= STUDY_TARGET else 'ABOVE'} the {STUDY_TARGET:.0f} s target); "
                     f"load average {study_load:.2f} at start")
        print(f"study    : {name}, {runs} runs on 2 workers in {seconds:.1f} s (target <= {STUDY_TARGET:.0f} s)")
    with RESULTS.open("a") as results:
        results.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
