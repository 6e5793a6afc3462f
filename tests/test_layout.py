"""The ingest layer says its shape (issue 22, item 5): each module sits in one room of
ingest/__init__.py, and imports go one way between rooms, with no loop anywhere. Imports are
read from the source (ast), those inside functions too: a loop hidden in a function is still a
loop a newcomer must untangle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOMS = {
    "common": {"errors", "text", "sqlfiles", "pages", "scratch", "sources", "clock", "dbfile", "inputs", "failures", "countries", "deadline"},
    "transport": {"openfda", "bulk"},
    "shaping": {"staging", "terms", "cases"},
    "database": {"store", "raw"},
    "publish": {"publish"},
    "ways in": {"fetch", "bulk_load", "meddra", "background", "bulk_background"},
}
# Which rooms a room's modules may import. Ways in do not import each other.
MAY_IMPORT = {
    "common": {"common"},
    "transport": {"common", "transport"},
    "shaping": {"common", "shaping"},
    "database": {"common"},
    "publish": {"common", "shaping", "database"},
    "ways in": {"common", "transport", "shaping", "database", "publish"},
}
# The packages: the command line over the report and the queries, the queries over ingest.
PACKAGES = {"ingest": set(), "queries": {"ingest"}, "report": {"ingest", "queries"}, "cli": {"ingest", "queries", "report"}}


def imported(path: Path) -> set[str]:
    """The kratom_ae modules a file imports, as 'package.module' (or 'package')."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kratom_ae."):
            parts = node.module.split(".")[1:]
            if len(parts) == 1:  # from kratom_ae.ingest import store, cases
                names |= {f"{parts[0]}.{alias.name}" for alias in node.names}
            else:
                names.add(".".join(parts[:2]))
        elif isinstance(node, ast.Import):
            names |= {".".join(a.name.split(".")[1:3]) for a in node.names if a.name.startswith("kratom_ae.")}
    return names


def ingest_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted((REPO / "ingest").glob("*.py")):
        if path.stem != "__init__":
            graph[path.stem] = {name.split(".", 1)[1] for name in imported(path) if name.startswith("ingest.") and "." in name}
    return graph


def room_of(module: str) -> str:
    return next(room for room, modules in ROOMS.items() if module in modules)


def test_every_ingest_module_has_a_room_and_every_room_its_modules():
    assert set(ingest_graph()) == set().union(*ROOMS.values())
    docstring = ast.get_docstring(ast.parse((REPO / "ingest" / "__init__.py").read_text(encoding="utf-8")))
    for module in ingest_graph():
        assert f"`{module}`" in docstring, module


def test_imports_between_rooms_go_one_way():
    wrong = [(module, room_of(module), target, room_of(target)) for module, targets in ingest_graph().items() for target in targets
             if room_of(target) not in MAY_IMPORT[room_of(module)] or (room_of(module) == "ways in" and target != module and room_of(target) == "ways in")]
    assert wrong == []


def test_no_import_loop_in_ingest():
    graph = ingest_graph()
    state: dict[str, str] = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", " -> ".join([*trail, module])
        state[module] = "open"
        for target in sorted(graph[module]):
            visit(target, [*trail, module])
        state[module] = "done"

    for module in graph:
        visit(module, [])


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_import_downwards_only(package):
    above = set(PACKAGES) - PACKAGES[package] - {package}
    wrong = sorted((path.name, name) for path in (REPO / package).glob("*.py") for name in imported(path) if name.split(".")[0] in above)
    assert wrong == []


def test_the_check_sees_a_loop_and_a_wrong_arrow(tmp_path):
    """The walk finds imports inside functions and in both import forms."""
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from kratom_ae.ingest import publish, store\n    import kratom_ae.ingest.staging\nfrom kratom_ae.ingest.sqlfiles import sql\n")
    assert imported(source) == {"ingest.publish", "ingest.store", "ingest.staging", "ingest.sqlfiles"}
