"""The package's layers and its import graph: the import-linter contract in pyproject.toml
holds, every top-level module has its place in it, and no import cycle exists between
crmlib's modules, nor between the packages and modules side by side in any package.

Function-level and TYPE_CHECKING imports count: a cycle held apart by importing inside a
function is still a cycle in the design."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

import crmlib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in CONFIG["tool"]["importlinter"]["contracts"]}
LAYERS = CONTRACTS["layers"]
#: Imports the layers contract lets through for now, each with the move that removes it.
IGNORED = {
    tuple(part.strip() for part in line.split("->")) for line in LAYERS.get("ignore_imports", ())
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("crmlib", cache_dir=None)


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_cycle_and_only_cycles() -> None:
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert cycles({"a": ["b"], "b": ["c"], "c": []}) == []


def test_the_import_contracts_hold() -> None:
    """`lint-imports` as `make lint` runs it: a broken layer or a stale ignore fails."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_every_top_level_module_has_a_layer() -> None:
    """A new module or package of crmlib must be placed in the contract, or nothing
    checks what it may import."""
    placed = {
        name.strip() for layer in LAYERS["layers"] for name in layer.replace(":", "|").split("|")
    }
    package = Path(crmlib.__file__).parent
    present = {
        f"crmlib.{path.stem}"
        for path in package.iterdir()
        if (path.suffix == ".py" and path.stem not in ("__init__", "__main__"))
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert sorted(present - placed) == []
    assert sorted(placed - present) == []


def test_no_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert cycles(edges) == []


def test_no_cycle_between_neighbours_in_any_package(graph: grimp.ImportGraph) -> None:
    """Within each package, its submodules and subpackages (each with everything under
    it) import one another without a cycle, apart from the contract's ignored imports."""
    packages = {m.rsplit(".", 1)[0] for m in graph.modules if "." in m}
    found = {}
    for package in sorted(packages):
        depth = package.count(".") + 2

        def neighbour(module: str, depth: int = depth) -> str:
            return ".".join(module.split(".")[:depth])

        edges: dict[str, set[str]] = {}
        for module in graph.modules:
            if not module.startswith(package + ".") or module.count(".") < depth - 1:
                continue
            for imported in graph.find_modules_directly_imported_by(module):
                if (module, imported) in IGNORED or not imported.startswith(package + "."):
                    continue
                if neighbour(imported) != neighbour(module):
                    edges.setdefault(neighbour(module), set()).add(neighbour(imported))
        if cyclic := cycles(edges):
            found[package] = cyclic
    assert found == {}
