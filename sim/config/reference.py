"""The parameter reference, generated from the models so that it cannot drift from them: Markdown
tables of every field (docs/parameters.md, and the same tables in docs/ODD.md) and the JSON Schemas
editors check run and sweep files with."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.config.run import RunConfig
from sim.config.sweep import SweepConfig
from sim.schedules import SPEC_BY_KIND, SpecBase, SpecError, unit_of

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXTENDS = {"type": "string", "unit": "-",
           "description": "run config file whose values this file changes, relative to this file"}
TYPE_NAMES: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "text", Path: "path",
                              Any: "any"}
BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "length >="))
UNITS = ("USD: US dollars, the quote currency; USD/BTC: a price; BTC: the contract's base asset; "
         "x: a leverage multiple; fraction: a decimal share or rate (0.01 = 1 %), of notional unless the "
         "meaning says otherwise; steps, step: a number of steps, a step's number; -: dimensionless (a count, "
         "a flag, a name, a multiplier).")


@dataclass(frozen=True)
class Table:
    """The fields of one section: ``key`` is its dotted prefix ("" at the top), ``about`` what it is."""

    key: str
    about: str
    rows: list[tuple[str, FieldInfo]]


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The section a field holds, alone, in a list or optional; None for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, UnionType):
        found = [m for arg in get_args(annotation) if (m := nested_model(arg)) is not None]
        return found[0] if found else None
    return None


def tables(model: type[BaseModel], key: str = "", about: str = "",
           skip: frozenset[str] = frozenset()) -> Iterator[Table]:
    """A model's value fields as one table, then each section it holds as its own, depth first.
    A list of sections is keyed ``key.<i>``; excluded fields (set by the loader) are left out."""
    rows: list[tuple[str, FieldInfo]] = []
    nested: list[tuple[str, type[BaseModel], FieldInfo]] = []
    for name, field in model.model_fields.items():
        if field.exclude or name in skip:
            continue
        dotted = f"{key}.{name}" if key else name
        section = nested_model(field.annotation)
        if section is None:
            rows.append((dotted, field))
        else:
            listed = get_origin(field.annotation) is list
            nested.append((f"{dotted}.<i>" if listed else dotted, section, field))
    if rows:
        yield Table(key, about, rows)
    for dotted, section, field in nested:
        yield from tables(section, dotted, field.description or "")


def type_name(annotation: Any) -> str:
    """A field's type in words: ``number``, ``list of integer``, ``one of sobol, latin``..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_name(args[0])
    if origin in (Union, UnionType):
        return " or ".join(type_name(arg) for arg in args if arg is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is list:
        return "list" if args[0] is Any else f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(arg) for arg in args) + "]"
    if origin is dict:
        return "mapping" if args[1] is Any else f"mapping to {type_name(args[1])}"
    return TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field: FieldInfo) -> str:
    """The default as one would write it in YAML, or ``required``."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    text = yaml.safe_dump(str(value) if isinstance(value, Path) else value, default_flow_style=True,
                          sort_keys=False, width=math.inf)
    return f"`{text.removesuffix('...\n').strip()}`"


def bounds_text(field: FieldInfo) -> str:
    """The field's ``gt``/``ge``/``lt``/``le`` (and minimum length) constraints: ``>= 0, < 0.5``."""
    found = [f"{symbol} {getattr(item, name):g}" for name, symbol in BOUNDS for item in field.metadata
             if getattr(item, name, None) is not None]
    return ", ".join(found)


def table_markdown(table: Table, top: str = "Top level") -> str:
    """One table: a heading naming the section (``top`` for the file's own keys) and what the section
    is, then a row per field."""
    lines = [f"### `{table.key}`" if table.key else f"### {top}", ""]
    if table.about:
        lines += [table.about[0].upper() + table.about[1:] + ".", ""]
    lines += ["| key | type | unit | default | bounds | meaning |", "|---|---|---|---|---|---|"]
    for key, field in table.rows:
        cells = [f"`{key}`", type_name(field.annotation), unit_of(field), default_text(field), bounds_text(field),
                 field.description or ""]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def parameters_markdown() -> str:
    """docs/parameters.md: every field of run configs, sweep files and schedule files."""
    parts = [
        "# Parameters",
        "Every parameter of a run config, a sweep file and a schedule file: its key (dotted, as `--set` and "
        "sweep files write it; `<i>` is a position in a list, from 0), type, unit, default, bounds and meaning. "
        "Generated from the pydantic models in `sim/config/` and `sim/schedules/` by `tierlab config docs "
        "--out docs/parameters.md` (`make docs`); a test fails when this file and the models disagree. "
        "Editors check and complete YAML files against the JSON Schemas in `docs/schema/` (`tierlab config "
        "schema`).",
        f"Units. {UNITS}",
        "## Run config",
        "A run file (`configs/`) sets any of these and leaves the rest at their defaults; `extends: FILE` "
        "makes another run file's values the defaults (`configs/scenarios/` extend `configs/baseline.yaml`).",
        *(table_markdown(t) for t in tables(RunConfig)),
        "## Sweep file",
        "A sweep file (`experiments/`) names a base run config and what varies across its arms; its keys "
        "of `set`, `grid`, `zip`, `control` and `sample.bounds` are dotted keys of the run config above.",
        *(table_markdown(t) for t in tables(SweepConfig)),
        "## Schedule file",
        "A schedule file (`configs/schedules/`, or a mapping written inline as a run config's `schedule`) has a "
        "`kind` and that kind's fields.",
        *(table_markdown(t, "Every kind") for t in tables(SpecBase)),
    ]
    for kind, spec in SPEC_BY_KIND.items():
        parts += [table_markdown(t, f"`kind: {kind}`") for t in tables(spec, skip=frozenset(SpecBase.model_fields))]
    return "\n\n".join(parts) + "\n"


ODD_MARKERS = ("<!-- parameters: begin -->", "<!-- parameters: end -->")


def odd_parameter_block() -> str:
    """The parameter tables as docs/ODD.md holds them between ``ODD_MARKERS``: ``parameters_markdown``
    from its note on units on (without its title and introduction), every heading one level lower so
    that the tables sit under the ODD's own section."""
    text = parameters_markdown()
    tables_part = text[text.index("Units. "):]
    return "\n".join("#" + line if line.startswith("#") else line for line in tables_part.splitlines()) + "\n"


def odd_parameter_text(document: str) -> str:
    """The text between the markers of ``document`` (docs/ODD.md), stripped of blank lines around it;
    SpecError when the markers are missing or out of order."""
    begin, end = ODD_MARKERS
    start, stop = document.find(begin), document.find(end)
    if start < 0 or stop < start:
        raise SpecError(f"the ODD document lacks the markers {begin} ... {end}")
    return document[start + len(begin): stop].strip("\n")


def with_odd_parameter_block(document: str) -> str:
    """``document`` (docs/ODD.md) with the text between its markers replaced by ``odd_parameter_block``."""
    odd_parameter_text(document)
    begin, end = ODD_MARKERS
    head, rest = document.split(begin, 1)
    tail = rest.split(end, 1)[1]
    return f"{head}{begin}\n\n{odd_parameter_block()}\n{end}{tail}"


def json_schema(model: type[RunConfig] | type[SweepConfig]) -> dict[str, Any]:
    """The JSON Schema of a run config (which may also say ``extends``) or a sweep file, without the
    fields the loader sets."""
    schema = model.model_json_schema()
    for name, field in model.model_fields.items():
        if field.exclude:
            del schema["properties"][name]
    if model is RunConfig:
        schema["properties"] = {"extends": EXTENDS, **schema["properties"]}
    title = "tierlab run config" if model is RunConfig else "tierlab sweep file"
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": title}
