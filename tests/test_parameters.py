"""Every parameter documented once, in the models: the generated tables and JSON Schemas are current,
every field has a meaning and a unit, and the shipped YAML files point at and pass the schemas."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from sim import cli
from sim.config import RunConfig, SweepConfig
from sim.config.reference import json_schema, parameters_markdown
from sim.schedules import SPEC_BY_KIND, unit_of
from sim.study.outputs import json_text

ROOT = Path(__file__).resolve().parents[1]
PARAMETERS = ROOT / "docs" / "parameters.md"
SCHEMAS = {"run": ROOT / "docs" / "schema" / "run.schema.json", "sweep": ROOT / "docs" / "schema" / "sweep.schema.json"}
RUN_FILES = sorted(p for p in ROOT.glob("configs/**/*.yaml") if "schedules" not in p.parts)
SWEEP_FILES = sorted(ROOT.glob("experiments/*.yaml"))
REGENERATE = "out of date: run make docs (tierlab config docs / tierlab config schema) and commit the result"


def models_below(model: type[BaseModel]) -> set[type[BaseModel]]:
    """A model and every model its fields hold, alone, in lists, mappings or unions."""
    found = {model}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.update(models_below(annotation))
        elif get_origin(annotation) in (list, dict, tuple, Union, UnionType):
            for arg in get_args(annotation):
                visit(arg)

    for field in model.model_fields.values():
        visit(field.annotation)
    return found


def documented_rows() -> dict[str, list[str]]:
    """docs/parameters.md's table rows by key: [type, unit, default, bounds, meaning]."""
    rows = {}
    for line in PARAMETERS.read_text().splitlines():
        if match := re.match(r"\| `([^`]+)` \| (.*) \|$", line):
            rows[match[1]] = [cell.strip() for cell in re.split(r"(?<!\\)\|", match[2])]
    return rows


def leaf_keys(data: Any, prefix: str = "") -> list[str]:
    """The dotted keys of a YAML mapping's values, list positions written ``<i>``."""
    if isinstance(data, dict):
        return [key for name, value in data.items() for key in leaf_keys(value, f"{prefix}{name}.")]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return [key for item in data for key in leaf_keys(item, f"{prefix}<i>.")]
    return [prefix.rstrip(".")]


def test_committed_parameter_tables_are_what_the_models_generate():
    assert PARAMETERS.read_text() == parameters_markdown(), f"docs/parameters.md {REGENERATE}"


@pytest.mark.parametrize("which", ["run", "sweep"])
def test_committed_schemas_are_what_the_models_generate(which):
    model = RunConfig if which == "run" else SweepConfig
    assert SCHEMAS[which].read_text() == json_text(json_schema(model)), f"{SCHEMAS[which].name} {REGENERATE}"


def test_the_command_writes_the_committed_files(tmp_path, capsys):
    assert cli.main(["config", "docs", "--out", str(tmp_path / "parameters.md")]) == 0
    assert (tmp_path / "parameters.md").read_text() == PARAMETERS.read_text()
    assert cli.main(["config", "schema", "--sweep", "--out", str(tmp_path / "sweep.json")]) == 0
    assert (tmp_path / "sweep.json").read_text() == SCHEMAS["sweep"].read_text()
    capsys.readouterr()
    assert cli.main(["config", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(SCHEMAS["run"].read_text())


def test_every_field_of_every_config_and_schedule_model_has_a_meaning_and_a_unit():
    models = set().union(models_below(RunConfig), models_below(SweepConfig),
                         *(models_below(spec) for spec in SPEC_BY_KIND.values()))
    assert len(models) > 20
    missing = [f"{model.__name__}.{name}" for model in models for name, field in model.model_fields.items()
               if not (field.description or "").strip() or not unit_of(field)]
    assert not missing, missing


def test_every_key_of_the_baseline_is_in_the_tables_with_a_unit_and_a_meaning():
    rows = documented_rows()
    baseline = yaml.safe_load((ROOT / "configs" / "baseline.yaml").read_text())
    keys = leaf_keys(baseline)
    assert "fundamental.shocks.<i>.size" in keys and "market_makers.loss_pull" in keys
    for key in keys:
        parts = key.split(".")
        found = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in rows), None)
        assert found is not None, f"{key} is not in docs/parameters.md"
        _type, unit, _default, _bounds, meaning = rows[found]
        assert unit and meaning, key
    assert rows["retail.capital_median"][1] == "USD"
    assert rows["liquidation.penalty_rate"][3] == ">= 0, < 0.5"


@pytest.mark.parametrize("path", RUN_FILES + SWEEP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_name_their_schema_and_pass_it(path):
    which = "sweep" if path in SWEEP_FILES else "run"
    first = path.read_text().splitlines()[0]
    expected = os.path.relpath(SCHEMAS[which], path.parent)
    assert first == f"# yaml-language-server: $schema={expected}"
    assert (path.parent / expected).resolve() == SCHEMAS[which]
    schema = json.loads(SCHEMAS[which].read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(path.read_text()))


def test_the_run_schema_refuses_what_the_loader_refuses():
    schema = json.loads(SCHEMAS["run"].read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"extends": "../baseline.yaml", "retail": {"count": 10}})
    assert not validator.is_valid({"retail": {"cont": 10}})
    assert not validator.is_valid({"fees": {"taker": 0.2}})
    assert not validator.is_valid({"base_dirs": ["."]})


def test_config_command_errors_are_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli.main(["config", "docs", "--out", str(blocker / "parameters.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"tierlab: error: {blocker / 'parameters.md'}: cannot write"), err
    with pytest.raises(SystemExit) as caught:
        cli.main(["config", "schema", "--kind", "run"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unrecognized arguments: --kind" in err[0], err
