"""A sweep's plan: arms x seeds, every arm's run config validated before any run starts.

Every arm runs the same seeds (children of the sweep's root seed by ``SeedSequence``: common random
numbers), so arms are compared seed by seed and results do not depend on the worker count, the
order of completion or the backend.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import (
    ConfigError,
    RunConfig,
    SweepConfig,
    apply_override,
    config_from_data,
    load_sweep,
    read_config_data,
)


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


def child_seeds(root_seed: int, count: int) -> list[int]:
    """``count`` run seeds, children of ``SeedSequence(root_seed)``: a child depends only on its
    position, so asking for 50 instead of 30 keeps the first 30."""
    children = np.random.SeedSequence(root_seed).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]


def run_seeds(sweep: SweepConfig) -> list[int]:
    """The seeds every arm runs with: the listed ones, or children of ``SeedSequence(root_seed)``."""
    if isinstance(sweep.seeds, list):
        return list(sweep.seeds)
    return child_seeds(sweep.root_seed, sweep.seeds)


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



def sweep_file(path: str | Path) -> Plan:
    """Load and plan a sweep file: every refusal happens here, before any run."""
    return plan_sweep(load_sweep(path))
