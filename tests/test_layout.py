"""The package tree shows the pipeline: each sub-package imports only the ones before it.

Order (data flows down): core, datasets, demo, faces, detectors, training, evaluation,
reporting, detection, experiments. ``jdfd_lib.cli`` sits above all of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORDER = ["core", "datasets", "demo", "faces", "detectors", "training", "evaluation", "reporting",
         "detection", "experiments"]
LIB = Path(__file__).resolve().parents[1] / "jdfd_lib"
MODULES = sorted(p for p in LIB.rglob("*.py") if p.parent != LIB)


def _package(path: Path) -> str:
    return path.relative_to(LIB).parts[0]


def _imported_packages(path: Path) -> set[tuple[str, int]]:
    """(jdfd_lib sub-package, line) of every import in the file, function-level ones included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "jdfd_lib" and len(parts) > 1 and parts[1] in ORDER:
                found.add((parts[1], node.lineno))
    return found


def test_every_module_lives_in_a_known_package() -> None:
    top = sorted(p.name for p in LIB.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py"]
    assert sorted({_package(p) for p in MODULES}) == sorted(ORDER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_import_runs_back_up_the_pipeline(path: Path) -> None:
    own = ORDER.index(_package(path))
    later = sorted((pkg, line) for pkg, line in _imported_packages(path)
                   if ORDER.index(pkg) > own)
    assert not later, f"{path.relative_to(LIB)} imports later stages: {later}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_modules_stay_well_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """jdfd_lib module -> the jdfd_lib modules it imports, function-level imports included
    (``from jdfd_lib.x import y`` counts as importing ``jdfd_lib.x.y`` when that is a module)."""
    modules = {_module_name(p): p for p in LIB.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    assert "jdfd_lib.reporting.tables" in graph["jdfd_lib.reporting.report"]
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_the_cycle_finder_finds_a_function_level_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
