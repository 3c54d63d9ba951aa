"""docs/quickstart.ipynb: committed without outputs, and every cell runs on this venv's Python in a
temporary working folder, so that it writes nothing into the repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "quickstart.ipynb"


SKIPPED = {".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache"}


def repository_files() -> set[str]:
    """Every file in the repository's folder, ignored ones too (runs/), less git's, the venv and caches."""
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED]
        found |= {os.path.join(folder, name) for name in files}
    return found


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) > 5
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)


def test_every_cell_runs_in_a_temporary_folder_on_this_python(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    write_kernel_spec(tmp_path / "kernels" / "tierlab-venv")       # a kernel on sys.executable, this venv's
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    work = tmp_path / "work"
    work.mkdir()
    before = repository_files()
    NotebookClient(notebook, km=KernelManager(kernel_name="tierlab-venv", kernel_spec_manager=specs),
                   timeout=180, resources={"metadata": {"path": str(work)}}).execute()
    assert notebook.cells[-1].outputs[0]["text"].strip() == sys.executable
    assert (work / "runs" / "quickstart" / "sweep" / "runs.parquet").is_file()
    assert (work / "runs" / "quickstart" / "sweep" / "report.md").is_file()
    assert repository_files() == before
