"""The module graph: ``app`` has no import cycle, and the libraries import nothing of the app.

Every ``import`` statement counts, also those inside functions (a deferred import hides a
cycle, it does not remove it); only ``if TYPE_CHECKING:`` blocks are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("signing", "advisories", "search", "versions", "formats")
FORBIDDEN_IN_LIBRARIES = ("app", "client", "bench", "fastapi", "sqlalchemy", "sqlmodel",
                          "starlette", "alembic")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_names(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` yields ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_block(node):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return found


def graph(package: str) -> dict[str, set[str]]:
    files = {module_name(p): p for p in (ROOT / package).rglob("*.py")
             if "migrations" not in p.parts}
    return {name: {dep for dep in imported_names(path) if dep in files and dep != name}
            for name, path in files.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for start in sorted(edges):
        if start in state:
            continue
        path = [start]
        iters = [iter(sorted(edges[start]))]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(edges[nxt])))
    return None


def test_app_has_no_import_cycle() -> None:
    assert find_cycle(graph("app")) is None


def test_find_cycle_reports_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_libraries_import_nothing_of_the_app_or_the_database() -> None:
    offenders = []
    for library in LIBRARIES:
        for path in (ROOT / library).rglob("*.py"):
            for name in imported_names(path):
                if name.split(".")[0] in FORBIDDEN_IN_LIBRARIES:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_every_app_module_imports() -> None:
    import importlib

    for name in sorted(graph("app")):
        importlib.import_module(name)


def test_app_is_organised_by_domain() -> None:
    """app/ holds the composition root and the HTTP edge at the top, everything else in a
    domain package (issue 11): a new module goes into its domain, not beside main.py."""
    top_modules = {p.name for p in (ROOT / "app").glob("*.py")}
    packages = {p.name for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists()}
    assert top_modules == {"__init__.py", "asgi.py", "deps.py", "main.py", "registry.py"}
    assert packages == {"accounts", "advisories", "core", "npm", "proxy", "publishing", "pypi",
                        "routers", "search", "storage", "trust", "web"}
