"""The codebase's shape: who may import whom, no import circles, modules and classes small enough to
hold in mind, docs/architecture.md matching the tree, and a repository that stands alone."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("sim").rglob("*.py"), *ROOT.joinpath("agents").rglob("*.py")])
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250

BELOW_MARKET = {"sim.exchange", "sim.config", "sim.schedules", "sim.measures"}
SHARED = {"sim.jit"}                        # how loops are compiled: below every part, importable by all
MAY_IMPORT = {
    "sim.jit": set(),
    "sim.schedules": set(),
    "sim.measures": set(),
    "sim.config": {"sim.schedules"},
    "sim.exchange": {"sim.schedules"},
    "agents": {"sim.exchange", "sim.config", "sim.schedules"},
    "sim.market": {"agents", *BELOW_MARKET},
    "sim.study": {"sim.market", *BELOW_MARKET},
    "sim.ui": {"sim.study", "sim.market", "agents", *BELOW_MARKET},
    "sim.cli": {"sim.ui", "sim.study", "sim.market", *BELOW_MARKET},
    "sim": {"sim.study", "sim.market", "sim.config", "sim.schedules"},
}
NO_MESA = ("sim.schedules", "sim.measures", "sim.exchange", "sim.config")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The part (a key of MAY_IMPORT) a module belongs to."""
    if module.startswith("agents"):
        return "agents"
    pieces = module.split(".")
    return ".".join(pieces[:2]) if len(pieces) > 1 else "sim"


def imports(path: Path, runtime_only: bool) -> set[str]:
    """Modules a file imports (anywhere in it); with ``runtime_only``, not those under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(child) for child in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in SOURCES}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name refers to (``sim.x.y`` may be a module or a name in ``sim.x``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_part_imports_only_what_the_layers_allow():
    known = project_modules()
    broken = []
    for module, path in known.items():
        mine = part_of(module)
        for name in imports(path, runtime_only=False):
            target = resolve(name, known)
            if target is None or target == "sim":
                continue
            theirs = part_of(target)
            if theirs != mine and theirs not in MAY_IMPORT[mine] | SHARED:
                broken.append(f"{module} imports {target}")
    assert not broken, broken


@pytest.mark.parametrize("part", NO_MESA)
def test_pure_parts_and_the_exchange_do_not_import_mesa_or_plotting(part):
    for module, path in project_modules().items():
        if part_of(module) == part:
            third_party = {name.split(".")[0] for name in imports(path, runtime_only=False)}
            assert not third_party & {"mesa", "solara", "matplotlib", "altair"}, module


def test_the_exchange_and_schedules_load_without_mesa():
    code = ("import sys, sim.exchange, sim.schedules, sim.measures, sim.config; "
            "print(sorted(m for m in ('mesa', 'matplotlib', 'solara') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_import_circle():
    known = project_modules()
    graph = {module: {target for name in imports(path, runtime_only=True)
                      if (target := resolve(name, known)) not in (None, module)}
             for module, path in known.items()}
    # a package's __init__ importing its own modules is how a package exports; a module importing
    # its package's __init__ back would close a circle, and is caught like any other edge
    state: dict[str, int] = {}
    circle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circle.extend(trail[trail.index(nxt):] + [node, nxt] if nxt in trail else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, []):
            break
    assert not circle, " -> ".join(circle)


def test_modules_and_classes_stay_small():
    long_modules = {str(p.relative_to(ROOT)): n for p in SOURCES
                    if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long_modules, long_modules
    long_classes = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                long_classes[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long_classes, long_classes


def documented_tree() -> set[str]:
    """The .py files the tree in docs/architecture.md names, as paths from the repository root."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("```")[1]
    paths: set[str] = set()
    folders: list[tuple[int, str]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        names = re.split(r"\s{2,}", line.strip())[0]
        while folders and folders[-1][0] >= indent:
            folders.pop()
        if names.endswith("/") and " " not in names:
            folders.append((indent, names.rstrip("/")))
            continue
        prefix = "/".join(folder for _, folder in folders)
        for name in names.split(","):
            if name.strip().endswith(".py"):
                paths.add(f"{prefix}/{name.strip()}")
    return paths


def test_the_architecture_page_names_every_module_and_no_other():
    every = {path.relative_to(ROOT).as_posix() for path in SOURCES}
    modules = {path for path in every if not path.endswith("/__init__.py")}
    documented = documented_tree()
    assert modules - documented == set(), "modules missing from docs/architecture.md"
    assert documented - every == set(), "docs/architecture.md names modules that do not exist"


def test_the_readme_layout_names_existing_folders():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:sim|agents)/[\w/]*)`", layout))
    assert named, "the README's layout section names no folder"
    assert {name for name in named if not (ROOT / name).exists()} == set()
    packages = {p.relative_to(ROOT).as_posix() + "/" for p in ROOT.joinpath("sim").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= named, f"README layout misses {sorted(packages - named)}"


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def test_the_repository_names_no_path_outside_itself():
    outside = re.compile("|".join([re.escape(".." + "/shared"), r"(?<![\w.])/(?:work|root|home|Users)/"]))
    found = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(ROOT)}:{i + 1}" for i, line in enumerate(text.splitlines())
                  if outside.search(line)]
    assert not found, found
