"""Routes parse, call one service and return a typed model (issue 11): no module in
``app/routers/`` opens a database session or takes one as a dependency, and the services the
routes reach are fields of the ``Registry`` (built once by ``Registry.build``), never built in
a router."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from app.registry import Registry

ROUTERS = Path(__file__).resolve().parents[3] / "app" / "routers"
#: Routers that still open sessions or build their service; listed so that a new offender
#: fails here (none left: the Python index's routers call registry.pypi / pypi_uploads).
NOT_YET_THIN: set[str] = set()
SESSION_NAMES = {"session_scope", "SessionDep", "Session", "get_session"}


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Name):
            found.add(node.id)
    return found


def test_no_router_opens_a_database_session() -> None:
    offenders = {path.name: sorted(_names(path) & SESSION_NAMES)
                 for path in sorted(ROUTERS.glob("*.py")) if path.name not in NOT_YET_THIN}
    assert {name: used for name, used in offenders.items() if used} == {}


def test_no_router_builds_a_service() -> None:
    """Calling a class whose name ends in Service/Exchange/Log/Reads in a router means the
    composition root was bypassed."""
    built = []
    for path in sorted(ROUTERS.glob("*.py")):
        if path.name in NOT_YET_THIN:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.endswith(("Service", "Exchange", "Log", "Reads"))):
                built.append(f"{path.name}: {node.func.id}(...)")
    assert built == []


def test_the_registry_holds_only_typed_fields() -> None:
    loose = [f.name for f in dataclasses.fields(Registry)
             if "Any" in str(f.type) or "dict" in str(f.type)]
    assert loose == []
