"""The sweep's folder, and how a sweep resumes: every finished run is indexed as it lands.

Only the process that runs the sweep writes the folder: per finished run, the kept tables, then a
one-row Parquet part, then the index, each written to a temporary file and moved into place, so a
killed sweep loses at most its runs in flight and the next call runs only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config import ConfigError
from sim.study.outputs import write_atomic, write_json
from sim.study.provenance import code_digest, git_state, now, package_versions
from sim.study.sweep.plan import Plan, PlannedRun

RUN_COLUMNS = ("run_id", "arm", "arm_label", "replicate", "seed")
STATUS_COLUMNS = ("status", "error", "wall_seconds")


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



def pending_runs(plan: Plan, folder: SweepFolder, retry_failed: bool = False) -> list[PlannedRun]:
    """The runs the folder does not hold yet (and the failed ones, if they are to be retried)."""
    done = {run_id for run_id, status in folder.finished.items() if status == "ok" or not retry_failed}
    return [run for run in plan.runs if run.run_id not in done]
