"""Sweeps: a sweep file -> many seeded runs on local processes or a Dask cluster, resumable.

A sweep is planned in full, every arm's run config validated, before any run starts. Each run is
``run_one(config, seed)``; the executor decides only where it runs, and every seed comes from the
sweep file, the same seeds in every arm (common random numbers), so results do not depend on the
worker count, the order of completion or the backend. Only the process that runs the sweep writes
its folder: per finished run, the kept tables, then a one-row Parquet part, then the index, each
written to a temporary file and moved into place, so a killed sweep loses at most its runs in flight
and the next call runs only what is missing.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    as_completed,
    wait,
)
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.config import (
    ConfigError,
    RunConfig,
    SweepConfig,
    apply_override,
    config_from_data,
    load_sweep,
    read_config_data,
)
from sim.runner import simulate

type Backend = Literal["local", "dask"]

KEPT_TABLES: dict[str, tuple[str, ...]] = {"timeseries": ("timeseries",), "events": ("liquidations", "cascades")}
VERSIONED_PACKAGES = ("tierlab", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "salib", "scipy",
                      "dask", "distributed")
RUN_COLUMNS = ("run_id", "arm", "arm_label", "replicate", "seed")
PRESENTATION_MODULES = ("cli.py", "report.py", "plots.py", "ui")
STATUS_COLUMNS = ("status", "error", "wall_seconds")


# ------------------------------------------------------------------------------------------
# The plan: arms x seeds, every config validated
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One combination of parameter values, run once per seed."""

    arm: str
    label: str
    params: dict[str, Any]
    sample_index: int | None = None
    control: str | None = None


@dataclass(frozen=True)
class PlannedRun:
    """One arm with one seed: the unit a worker runs."""

    run_id: str
    arm: Arm
    replicate: int
    seed: int
    config: RunConfig


@dataclass(frozen=True)
class Plan:
    """Everything a sweep will run, in a fixed order, with a digest that identifies it."""

    sweep: SweepConfig
    arms: list[Arm]
    seeds: list[int]
    runs: list[PlannedRun]
    digest: str
    problem: dict[str, Any] | None = None


def run_seeds(sweep: SweepConfig) -> list[int]:
    """The seeds every arm runs with: the listed ones, or children of ``SeedSequence(root_seed)``.

    A child depends only on its position, so raising ``seeds`` from 30 to 50 keeps the first 30.
    """
    if isinstance(sweep.seeds, list):
        return list(sweep.seeds)
    children = np.random.SeedSequence(sweep.root_seed).spawn(sweep.seeds)
    return [int(child.generate_state(1)[0]) for child in children]


def sample_problem(sweep: SweepConfig) -> dict[str, Any] | None:
    """SALib's description of the sampled parameters, or None when the sweep does not sample."""
    if sweep.sample is None:
        return None
    bounds = sweep.sample.bounds
    return {"num_vars": len(bounds), "names": list(bounds), "bounds": [list(b) for b in bounds.values()]}


def sample_points(sweep: SweepConfig) -> np.ndarray:
    """The sample's points, one row per point, columns in the order of ``sample.bounds``."""
    sample, problem = sweep.sample, sample_problem(sweep)
    if sample is None or problem is None:
        return np.zeros((0, 0))
    if sample.method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, sample.n, calc_second_order=sample.second_order, seed=sample.seed)
    from SALib.sample import latin

    return latin.sample(problem, sample.n, seed=sample.seed)


def config_value(config: RunConfig, key: str) -> Any:
    """The value at a dotted key of a validated config (integer parts index lists)."""
    node: Any = config
    for part in key.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = getattr(node, part, None)
    return node


def value_label(value: Any) -> str:
    """A short name for a parameter value: a YAML file's stem, 4 significant digits, a schedule's name."""
    if isinstance(value, str) and value.endswith((".yaml", ".yml")):
        return Path(value).stem
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def arm_label(params: dict[str, Any], sample_index: int | None, sampled: Sequence[str]) -> str:
    """What figures and tables call an arm: the value alone when one key varies, else key=value pairs."""
    fixed = {key: value for key, value in params.items() if key not in sampled}
    if len(fixed) == 1 and sample_index is None:
        return value_label(next(iter(fixed.values())))
    parts = [f"{key.split('.')[-1]}={value_label(value)}" for key, value in fixed.items()]
    if sample_index is not None:
        parts.insert(0, f"sample {sample_index}")
    return ", ".join(parts) or "base"


def zipped_rows(sweep: SweepConfig) -> list[dict[str, Any]]:
    """The ``zip`` section as rows: one mapping of key to value per position in the lists."""
    zipped = sweep.zip or {}
    return [dict(zip(zipped, values)) for values in zip(*zipped.values())]


def whole_number_key(config: RunConfig, key: str) -> bool:
    """Whether the config field at ``key`` holds an integer (not a bool): sampled values are rounded."""
    value = config_value(config, key)
    return isinstance(value, int) and not isinstance(value, bool)


def arm_settings(sweep: SweepConfig, base: RunConfig) -> list[tuple[dict[str, Any], int | None]]:
    """Each arm's parameter values (and sample point): the grid crossed with the zipped rows and the
    sample's points, in that nesting order."""
    grid = sweep.grid or {}
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    rows = zipped_rows(sweep) if sweep.zip else [{}]
    points: list[tuple[dict[str, Any], int | None]] = [({}, None)]
    if sweep.sample is not None:
        keys = list(sweep.sample.bounds)
        integer = [whole_number_key(base, key) for key in keys]
        points = [({key: round(x) if whole else float(x) for key, x, whole in zip(keys, point, integer)}, i)
                  for i, point in enumerate(sample_points(sweep))]
    return [({**combo, **row, **point}, index) for combo in combos for row in rows for point, index in points]


def control_arms(sweep: SweepConfig, arms: list[Arm]) -> list[str | None]:
    """Each arm's control: the arm with the control's values and otherwise the same values.

    When ``control`` names a zipped key, the whole zipped row it belongs to is replaced.
    """
    if not sweep.control:
        return [None] * len(arms)
    listed = {**(sweep.grid or {}), **(sweep.zip or {})}
    wanted = {key: next(v for v in listed[key] if v == value) for key, value in sweep.control.items()}
    zipped = sweep.zip or {}
    if any(key in zipped for key in wanted):
        matching = [row for row in zipped_rows(sweep) if all(row[k] == v for k, v in wanted.items() if k in zipped)]
        wanted.update(matching[0])
    by_values = {(json.dumps(arm.params, sort_keys=True, default=str), arm.sample_index): arm.arm for arm in arms}
    return [by_values.get((json.dumps({**arm.params, **wanted}, sort_keys=True, default=str), arm.sample_index))
            for arm in arms]


def short_repr(value: Any, width: int = 60) -> str:
    """``repr`` cut to ``width`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def plan_sweep(sweep: SweepConfig) -> Plan:
    """Expand a sweep into its runs, validating every arm's run config before anything runs.

    A wrong value is reported against its key (``grid.retail.count=...``) before the arms are
    crossed; a combination that fails only together is reported against its arm.
    """
    source = str(sweep.source)
    base_path = sweep.source.parent / sweep.base
    try:
        base_data, folders = read_config_data(base_path)
    except ConfigError as err:
        raise ConfigError(f"{source}: base: {err}") from None
    base_dirs = [folder.resolve() for folder in folders] + [sweep.source.parent.resolve()]
    marker = "<sweep>"

    def validated(params: dict[str, Any], where: str) -> RunConfig:
        data = copy.deepcopy(base_data)
        for key, value in sweep.set.items():
            apply_override(data, key.split("."), value, f"{source}: set")
        if sweep.steps is not None:
            data["steps"] = sweep.steps
        for key, value in params.items():
            apply_override(data, key.split("."), value, f"{source}: {where}")
        try:
            return config_from_data(data, marker, base_dirs=base_dirs)
        except ConfigError as err:
            detail = str(err).removeprefix(f"{marker}: ")
            raise ConfigError(f"{source}: {where}: {detail}") from None

    base = validated({}, "set" if sweep.set else "base")
    for section, values in (("grid", sweep.grid or {}), ("zip", sweep.zip or {})):
        for key, listed in values.items():
            for value in listed:
                validated({key: value}, f"{section}.{key}={short_repr(value)}")
    if sweep.sample is not None:
        for key, bounds in sweep.sample.bounds.items():
            for value in bounds:
                as_int = whole_number_key(base, key)
                validated({key: round(value) if as_int else value}, f"sample.bounds.{key}={value:g}")

    sampled = list(sweep.sample.bounds) if sweep.sample else []
    settings = arm_settings(sweep, base)
    width = max(3, len(str(len(settings) - 1)))
    arms = [Arm(f"a{i:0{width}d}", arm_label(params, index, sampled), params, index)
            for i, (params, index) in enumerate(settings)]
    shared = {label for label, count in Counter(arm.label for arm in arms).items() if count > 1}
    arms = [replace(arm, label=f"{arm.label} ({arm.arm})") if arm.label in shared else arm for arm in arms]
    arms = [replace(arm, control=control) for arm, control in zip(arms, control_arms(sweep, arms))]
    configs = {arm.arm: validated(arm.params, f"arm {arm.label}") for arm in arms}
    seeds = run_seeds(sweep)
    runs = [PlannedRun(f"{arm.arm}-{replicate:03d}", arm, replicate, seed, configs[arm.arm])
            for arm in arms for replicate, seed in enumerate(seeds)]
    digest = hashlib.sha256(json.dumps(
        {"seeds": seeds, "arms": {arm.arm: configs[arm.arm].resolved() for arm in arms}},
        sort_keys=True, default=str).encode()).hexdigest()
    return Plan(sweep, arms, seeds, runs, digest, sample_problem(sweep))


# ------------------------------------------------------------------------------------------
# One run
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutput:
    """A run's summary row and the tables the sweep keeps."""

    summary: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Attempt:
    """What a worker sends back: the output, or the error that stopped the run, and the wall time."""

    run_id: str
    output: RunOutput | None
    error: str | None
    wall_seconds: float


def run_one(config: RunConfig, seed: int, keep: Sequence[str] = ()) -> RunOutput:
    """Simulate ``config`` with ``seed``: its summary row, and the tables ``keep`` names
    (``timeseries``; ``events`` = liquidations and cascades). Pure: the seed is its only randomness."""
    summary, timeseries, liquidations, cascades = simulate(config, seed).summary_and_tables()
    tables = {"timeseries": timeseries, "liquidations": liquidations, "cascades": cascades}
    return RunOutput(summary, {name: tables[name] for part in keep for name in KEPT_TABLES[part]})


def one_line(err: BaseException) -> str:
    """An exception as one line: its type and message."""
    message = " ".join(str(err).split())
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def attempt(run_id: str, config: RunConfig, seed: int, keep: Sequence[str]) -> Attempt:
    """``run_one`` as a worker runs it: timed, and an exception recorded rather than raised, so one
    bad run never stops a sweep."""
    started = time.perf_counter()
    try:
        output = run_one(config, seed, keep)
    except Exception as err:  # noqa: BLE001 - any failure of a run is data for the sweep
        return Attempt(run_id, None, one_line(err), time.perf_counter() - started)
    return Attempt(run_id, output, None, time.perf_counter() - started)


def param_value(value: Any) -> Any:
    """A parameter as a Parquet cell: scalars as they are, mappings and lists as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def result_row(run: PlannedRun, result: Attempt) -> dict[str, Any]:
    """The run's row of runs.parquet: identity, parameters, status, wall time and summary."""
    arm = run.arm
    row: dict[str, Any] = {"run_id": run.run_id, "arm": arm.arm, "arm_label": arm.label,
                           "replicate": run.replicate, "seed": run.seed}
    if arm.sample_index is not None:
        row["sample_index"] = arm.sample_index
    row.update({key: param_value(value) for key, value in arm.params.items()})
    row.update({"status": "ok" if result.output is not None else "failed", "error": result.error,
                "wall_seconds": result.wall_seconds})
    if result.output is not None:
        row.update(result.output.summary)
    return row


# ------------------------------------------------------------------------------------------
# The sweep's folder
# ------------------------------------------------------------------------------------------


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through ``write(temporary path)``, then move it over ``path``: readers see old or new, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON at ``path``, atomically."""
    write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, default=str) + "\n"))


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a result depends on (None for one not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def git_state() -> dict[str, Any]:
    """The commit of the source tree and whether it differs from it (untracked files count)."""
    where = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], check=False, cwd=where, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {"commit": commit.strip() if commit else None,
            "dirty": None if status is None else bool(status.strip())}


def code_digest() -> str:
    """A hash of the source the results depend on (sim and agents, less the presentation modules),
    so a folder can tell when its runs were made by different code, committed or not."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*(root / "sim").glob("*.py"), *(root / "agents").glob("*.py")]):
        if not path.name.startswith(PRESENTATION_MODULES):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class SweepFolder:
    """A sweep's output folder: manifest.json, index.json, parts/, tables/, runs.parquet.

    index.json maps each finished run to its status; it is the record of what is done. A part or
    table written before a kill but not yet indexed is overwritten when the run is done again.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.index_path = self.root / "index.json"
        self.manifest_path = self.root / "manifest.json"
        self.parts = self.root / "parts"
        self.tables = self.root / "tables"
        self.runs_path = self.root / "runs.parquet"
        self.finished: dict[str, str] = self._read_index()

    def _read_index(self) -> dict[str, str]:
        if not self.index_path.exists():
            return {}
        return dict(json.loads(self.index_path.read_text())["runs"])

    def manifest(self) -> dict[str, Any]:
        """The manifest as written so far (empty before the first call)."""
        if not self.manifest_path.exists():
            return {}
        return json.loads(self.manifest_path.read_text())

    def begin(self, plan: Plan, backend: str, workers: int | None) -> str:
        """Create the folder, refuse one made for another plan, and record this session's start.

        Returns a warning when earlier sessions ran different model code (empty if none).
        """
        sweep = plan.sweep
        manifest = self.manifest()
        if manifest and manifest.get("plan_digest") != plan.digest:
            raise ConfigError(
                f"{self.root}: holds runs of a different sweep (its file, base config or schedules "
                f"changed since); use another --out, or delete the folder to start again")
        self.root.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        text = sweep.source.read_bytes()
        manifest.update({
            "name": sweep.name,
            "description": sweep.description,
            "sweep_file": str(sweep.source.resolve()),
            "sweep_sha256": hashlib.sha256(text).hexdigest(),
            "sweep": text.decode(),
            "plan_digest": plan.digest,
            "root_seed": sweep.root_seed,
            "seeds": plan.seeds,
            "keep": list(sweep.keep),
            "runs_planned": len(plan.runs),
            "arms": [{"arm": arm.arm, "label": arm.label, "params": arm.params, "sample_index": arm.sample_index,
                      "control": arm.control} for arm in plan.arms],
            "sample": None if sweep.sample is None else {**sweep.sample.model_dump(), "problem": plan.problem},
            "versions": package_versions(),
            "git": git_state(),
        })
        manifest.setdefault("started", now())
        manifest["ended"] = None
        code = code_digest()
        earlier = {s.get("code") for s in manifest.get("sessions", []) if s.get("runs_done")}
        manifest.setdefault("sessions", []).append({"started": now(), "backend": backend, "workers": workers,
                                                    "git": manifest["git"], "code": code})
        write_json(self.manifest_path, manifest)
        if earlier - {code} and len(plan.runs) > len(self.finished):
            return (f"{self.root}: the model code changed since its earlier runs; new rows will come from "
                    "different code than the old ones (each session's code hash is in manifest.json)")
        return ""

    def end(self, outcome: str, runs_done: int, message: str = "") -> None:
        """Record the end of this session: how it ended (complete, interrupted, stopped and why) and
        how many runs it added."""
        manifest = self.manifest()
        session = manifest["sessions"][-1]
        session.update({"ended": now(), "outcome": outcome, "runs_done": runs_done,
                        **({"reason": message} if message else {})})
        counts = Counter(self.finished.values())
        manifest.update({"ended": now(), "runs_ok": counts["ok"], "runs_failed": counts["failed"]})
        write_json(self.manifest_path, manifest)

    def record(self, row: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
        """Persist one finished run: its tables, its part, then the index that makes it count."""
        run_id = row["run_id"]
        if tables:
            folder = self.tables / run_id
            folder.mkdir(parents=True, exist_ok=True)
            for name, frame in tables.items():
                write_atomic(folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
        frame = pd.DataFrame([row])
        write_atomic(self.parts / f"{run_id}.parquet", lambda p: frame.to_parquet(p, index=False))
        self.finished[run_id] = row["status"]
        write_json(self.index_path, {"runs": self.finished})

    def runs(self) -> pd.DataFrame:
        """One row per finished run, in run order, from the indexed parts."""
        if not self.finished:
            return pd.DataFrame(columns=[*RUN_COLUMNS, *STATUS_COLUMNS])
        frames = [pd.read_parquet(self.parts / f"{run_id}.parquet") for run_id in sorted(self.finished)]
        return pd.concat(frames, ignore_index=True)

    def write_runs(self) -> Path:
        """Consolidate the parts into runs.parquet (atomically) and return its path."""
        frame = self.runs()
        write_atomic(self.runs_path, lambda p: frame.to_parquet(p, index=False))
        return self.runs_path


def open_folder(root: str | Path) -> SweepFolder:
    """An existing sweep folder; ConfigError (one line) if ``root`` is not one."""
    root = Path(root)
    if not (root / "index.json").exists() or not (root / "manifest.json").exists():
        raise ConfigError(f"{root}: not a sweep folder (no index.json and manifest.json); run tierlab sweep first")
    return SweepFolder(root)


@contextmanager
def folder_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder, so two sweeps never write it at once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(f"{root}: another tierlab sweep is writing this folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------
# Executors
# ------------------------------------------------------------------------------------------


def ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle; it stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers, so a stop does not wait for runs in
    flight (before Python 3.14 the pool has no public call for this)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def worker_context() -> multiprocessing.context.BaseContext:
    """How local workers start: forked from a server that has imported the model once (fast, and safe
    where this process has threads), or spawned where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.sweep"])
    return context


@contextmanager
def local_executor(workers: int) -> Iterator[Executor]:
    """A pool of ``workers`` processes on this machine."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(), initializer=ignore_interrupts)
    try:
        yield pool
        pool.shutdown(wait=True)
    except BaseException:
        stop_pool(pool)
        raise


@contextmanager
def dask_executor(workers: int, scheduler: str | None = None,
                  scheduler_file: Path | None = None) -> Iterator[Executor]:
    """Dask distributed's executor: on the cluster at ``scheduler`` or in ``scheduler_file`` (as
    dask-jobqueue and dask-mpi write it), else on a LocalCluster of ``workers`` processes on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--backend dask: Dask is not installed; pip install 'tierlab[dask]'") from None
    cluster = None
    try:
        if scheduler_file is not None:
            if not Path(scheduler_file).is_file():
                raise ConfigError(f"--scheduler-file {scheduler_file}: file not found")
            client = Client(scheduler_file=str(scheduler_file), timeout="20s")
        elif scheduler is not None:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as err:
        where = f"--scheduler-file {scheduler_file}" if scheduler_file else f"--scheduler {scheduler}"
        raise ConfigError(f"{where}: cannot connect to the Dask scheduler ({one_line(err)})") from None
    executor = client.get_executor(pure=False)
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=False)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def open_executor(backend: Backend, workers: int, scheduler: str | None = None,
                  scheduler_file: Path | None = None) -> AbstractContextManager[Executor]:
    """The executor a sweep runs on: local processes, or Dask (a cluster, or a LocalCluster)."""
    if backend == "dask":
        return dask_executor(workers, scheduler, scheduler_file)
    return local_executor(workers)


# ------------------------------------------------------------------------------------------
# Running a sweep
# ------------------------------------------------------------------------------------------


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


def pending_runs(plan: Plan, folder: SweepFolder, retry_failed: bool = False) -> list[PlannedRun]:
    """The runs the folder does not hold yet (and the failed ones, if they are to be retried)."""
    done = {run_id for run_id, status in folder.finished.items() if status == "ok" or not retry_failed}
    return [run for run in plan.runs if run.run_id not in done]


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
        bar.set_postfix(failed=tally.failed, refresh=False)
        bar.update(1)

    with tqdm(total=len(plan.runs), initial=tally.skipped, unit="run", desc=plan.sweep.name,
              disable=not progress, dynamic_ncols=True, postfix={"failed": 0}) as bar:
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
                bar.write(f"interrupted: finishing the {len(in_flight)} runs in flight (Ctrl-C again to abandon them)")
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


def sweep_file(path: str | Path) -> Plan:
    """Load and plan a sweep file: every refusal happens here, before any run."""
    return plan_sweep(load_sweep(path))
