"""Running a sweep: submit what the folder lacks to an executor and record each run as it finishes.

Each run is ``run_one(config, seed)``; the executor decides only where it runs. Ctrl-C stops
submitting and waits for the runs in flight (a second Ctrl-C abandons them); a rerun resumes.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    as_completed,
    wait,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sim.config import ConfigError
from sim.study.progress import Progress
from sim.study.sweep.attempt import Attempt, attempt, one_line, result_row
from sim.study.sweep.executors import Backend, open_executor
from sim.study.sweep.plan import Plan, PlannedRun
from sim.study.sweep.resume import SweepFolder, folder_lock, pending_runs


@dataclass
class Tally:
    """What a call of ``run_sweep`` did, and what the folder now holds."""

    planned: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    outcome: Literal["complete", "interrupted", "stopped"] = "complete"
    message: str = ""
    failed_held: int = 0
    warning: str = ""

    @property
    def missing(self) -> int:
        """Planned runs still without a row."""
        return self.planned - self.skipped - self.ok - self.failed


def run_pending(plan: Plan, folder: SweepFolder, executor: Executor, runs: list[PlannedRun], tally: Tally,
                window: int | None = None, progress: bool = True) -> None:
    """Submit ``runs`` (at most ``window`` at a time, all at once without one) and record each as it
    finishes.

    The first Ctrl-C submits nothing more and waits for the runs in flight (local workers ignore
    Ctrl-C, so with a window of one run per worker that is at most one run's time); a second Ctrl-C
    abandons them. A broken executor stops the sweep.
    """
    keep = tuple(plan.sweep.keep)
    queue = iter(runs)
    futures: dict[Future[Attempt], PlannedRun] = {}

    def submit(count: int) -> None:
        for run in itertools.islice(queue, count):
            futures[executor.submit(attempt, run.run_id, run.config, run.seed, keep)] = run

    def record(future: Future[Attempt]) -> None:
        run = futures.pop(future)
        try:
            result = future.result()
        except CancelledError:
            return
        except BrokenExecutor:
            raise
        except Exception as err:  # noqa: BLE001 - e.g. Dask's KilledWorker: the run's failure
            result = Attempt(run.run_id, None, one_line(err), math.nan)
        folder.record(result_row(run, result), result.output.tables if result.output else {})
        if result.output is None:
            tally.failed += 1
        else:
            tally.ok += 1
        shown.advance(failed=result.output is None)

    with Progress(len(plan.runs), plan.sweep.name, "run", initial=tally.skipped, enabled=progress,
                  failures=True) as shown:
        try:
            submit(window or len(runs))
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    record(future)
                    submit(1 if window else 0)
        except KeyboardInterrupt:
            tally.outcome = "interrupted"
            in_flight = [future for future in list(futures) if not future.cancel()]
            if in_flight:
                shown.note(f"interrupted: finishing the {len(in_flight)} runs in flight (Ctrl-C again to abandon them)")
            for future in as_completed(in_flight):
                record(future)
        except BrokenExecutor as err:
            tally.outcome, tally.message = "stopped", f"a worker process died ({one_line(err)})"


def run_sweep(plan: Plan, out: str | Path, backend: Backend = "local", workers: int | None = None,
              scheduler: str | None = None, scheduler_file: Path | None = None, retry_failed: bool = False,
              progress: bool = True) -> Tally:
    """Run what ``out`` does not hold yet of ``plan``; the folder is consistent however this ends.

    Ctrl-C stops submitting and waits for the runs in flight (a second Ctrl-C abandons them); the
    tally is then ``interrupted`` and calling again resumes.
    """
    if backend != "dask" and (scheduler is not None or scheduler_file is not None):
        raise ConfigError("--scheduler and --scheduler-file need --backend dask")
    workers = workers or os.cpu_count() or 1
    with folder_lock(Path(out)):
        folder = SweepFolder(Path(out))
        warning = folder.begin(plan, backend, None if scheduler or scheduler_file else workers)
        runs = pending_runs(plan, folder, retry_failed)
        tally = Tally(len(plan.runs), skipped=len(plan.runs) - len(runs), warning=warning)
        try:
            if runs:
                with open_executor(backend, workers, scheduler, scheduler_file) as executor:
                    window = workers if backend == "local" else None
                    run_pending(plan, folder, executor, runs, tally, window, progress)
        except KeyboardInterrupt:
            tally.outcome = "interrupted"
        except BaseException as err:
            tally.outcome, tally.message = "stopped", one_line(err)
            raise
        finally:
            folder.write_runs()
            folder.end(tally.outcome, tally.ok + tally.failed, tally.message)
        tally.failed_held = sum(status == "failed" for status in folder.finished.values())
    return tally
