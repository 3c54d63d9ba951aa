"""docs/ODD.md, the model described in the ODD protocol (Grimm et al. 2020): every section of the
protocol is there, the parameter tables between its markers are what `tierlab config docs` generates
now, every module it names exists, and the README points to it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config.reference import (
    ODD_MARKERS,
    odd_parameter_block,
    odd_parameter_text,
    parameters_markdown,
    with_odd_parameter_block,
)
from sim.schedules import SpecError

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"
REGENERATE = "docs/ODD.md's parameter tables are out of date: run make docs and commit the result"

SECTIONS = (
    "Purpose and patterns",
    "Entities, state variables and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialisation",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles", "Emergence", "Adaptation", "Objectives", "Learning", "Prediction", "Sensing",
    "Interaction", "Stochasticity", "Collectives", "Observation",
)


def text() -> str:
    return ODD.read_text()


def headings(level: int) -> list[str]:
    """The document's headings of one level, without their numbering ("4.2 Emergence" -> "Emergence"),
    outside the generated parameter block."""
    begin, end = ODD_MARKERS
    document = text()
    prose = document[: document.index(begin)] + document[document.index(end):]
    found = re.findall(rf"^{'#' * level} (.+)$", prose, flags=re.M)
    return [re.sub(r"^\d+(\.\d+)*\.? ", "", heading).strip() for heading in found]


def test_every_section_of_the_protocol_is_there_in_order():
    sections = headings(2)
    assert [s for s in sections if s in SECTIONS] == list(SECTIONS), sections
    numbered = re.findall(r"^## (\d+)\. (.+)$", text(), flags=re.M)
    assert numbered[: len(SECTIONS)] == [(str(i), name) for i, name in enumerate(SECTIONS, start=1)]


def test_every_design_concept_has_its_heading_in_order():
    document = text()
    design = document.split("## 4. Design concepts", 1)[1].split("\n## 5. ", 1)[0]
    concepts = re.findall(r"^### 4\.(\d+) (.+)$", design, flags=re.M)
    assert concepts == [(str(i), name) for i, name in enumerate(DESIGN_CONCEPTS, start=1)]


def test_the_parameter_tables_are_what_the_config_command_generates_now():
    assert odd_parameter_text(text()) == odd_parameter_block().strip("\n"), REGENERATE
    assert with_odd_parameter_block(text()) == text(), REGENERATE


def test_the_parameter_block_holds_every_table_of_the_reference():
    reference = parameters_markdown()
    block = odd_parameter_text(text())
    tables = re.findall(r"^#{3,} (.+)$", reference, flags=re.M)
    assert tables and re.findall(r"^#{4,} (.+)$", block, flags=re.M) == tables
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert rows and all(row in block for row in rows)


def test_the_block_is_refreshed_between_the_markers_and_nowhere_else():
    begin, end = ODD_MARKERS
    stale = f"before\n{begin}\nold tables\n{end}\nafter\n"
    fresh = with_odd_parameter_block(stale)
    assert fresh.startswith(f"before\n{begin}\n\n") and fresh.endswith(f"\n{end}\nafter\n")
    assert odd_parameter_text(fresh) == odd_parameter_block().strip("\n")
    assert with_odd_parameter_block(fresh) == fresh
    with pytest.raises(SpecError, match="lacks the markers"):
        with_odd_parameter_block("no markers here")


def test_the_refresh_script_leaves_a_current_document_as_it_is(tmp_path):
    copy = tmp_path / "ODD.md"
    copy.write_text(with_odd_parameter_block(text()).replace(odd_parameter_block(), "stale\n"))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "odd_parameters.py"), str(copy)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert "wrote" in done.stdout and copy.read_text() == text()
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "odd_parameters.py"), str(copy)],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert again.stdout == "" and copy.read_text() == text()


def test_every_module_the_document_names_exists():
    named = set(re.findall(r"`((?:sim|agents|configs|scripts|tests)/[\w/.-]*)`", text()))
    assert {"sim/market/model.py", "sim/market/trading.py", "sim/exchange/liquidation.py"} <= named
    missing = sorted(name for name in named if not (ROOT / name).exists())
    assert not missing, f"docs/ODD.md names paths that do not exist: {missing}"


def test_every_model_module_is_named():
    named = set(re.findall(r"`((?:sim|agents)/[\w/]*\.py)`", text()))
    model_parts = ["sim/schedules", "sim/exchange", "sim/market", "sim/measures", "agents"]
    modules = {path.relative_to(ROOT).as_posix() for part in model_parts for path in (ROOT / part).glob("*.py")
               if path.name != "__init__.py"}
    helpers = {"sim/schedules/fields.py", "sim/schedules/files.py"}  # field declarations, YAML reading
    unnamed = sorted(modules - named - helpers)
    assert not unnamed, f"docs/ODD.md does not name {unnamed}"


def test_the_readme_points_to_the_odd_for_the_model():
    readme = (ROOT / "README.md").read_text()
    model = readme.split("\n## The model", 1)[1].split("\n## ", 1)[0]
    assert "(docs/ODD.md)" in model
    assert "Modelling choices worth knowing" not in readme
