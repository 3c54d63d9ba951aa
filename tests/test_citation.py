"""The software is citable: CITATION.cff names the version pyproject.toml builds, and the README
says how to cite it with the version and commit a run folder records."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_citation_file_names_this_version_and_the_required_fields():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == project["version"] == version("tierlab")
    assert citation["title"] == "tierlab" and citation["type"] == "software"
    assert citation["license"] == project["license"]
    assert citation["authors"] and all(author.get("name") or author.get("family-names")
                                       for author in citation["authors"])
    assert citation["message"] and citation["abstract"] and citation["keywords"]
    assert str(citation["date-released"]) == "2026-11-29"


def test_readme_says_how_to_cite_with_version_and_commit():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How to cite", 1)[1].split("\n## ", 1)[0]
    assert "CITATION.cff" in section and "run.json" in section and "manifest.json" in section
    assert "git.commit" in section and version("tierlab") in section
