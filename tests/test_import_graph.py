"""The package's folders are the pipeline's stages: a module imports only from its own stage or the
stages below it, and no import, lazy ones inside functions included, closes a loop. The graph is
read from the source with ast, so an import that only runs on some path counts as much as one at
the top of a file."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "qa"

# lowest first; a module may import from its own rank or below
STAGES = [
    ("qa.errors", "qa.settings", "qa.testhook", "qa.document"),
    ("qa.ingest",),
    ("qa.represent",),
    ("qa.index",),
    ("qa.search",),
    ("qa.evaluation",),
    ("qa.facade",),
    ("qa.front",),
]
ENTRY_POINTS = ("qa", "qa.__main__")  # the package root (lazy re-exports) and `python -m qa`


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The kzqa modules `name` imports anywhere in its source (`from .. import __version__` is the
    package root)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("qa"):
                continue
            for alias in node.names:  # `from . import series` imports a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "qa")
    return {m for m in found if m in known and m != name}


def rank(name: str) -> int | None:
    for i, prefixes in enumerate(STAGES):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return None


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def test_every_module_has_a_stage():
    assert [m for m in modules() if m not in ENTRY_POINTS and rank(m) is None] == []


def test_no_import_goes_up_a_stage():
    upward = []
    for name, targets in graph().items():
        if name in ENTRY_POINTS:
            continue
        for target in targets:
            if target == "qa":  # the package root: only its __version__ is imported from below
                continue
            if rank(target) is None or rank(target) > rank(name):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_no_import_loop():
    g = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    loops = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if nxt == "qa":
                continue
            if state.get(nxt) == 1:
                loops.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    assert loops == []


def test_the_check_sees_imports():
    """The reader of imports is not blind: the pipeline imports the index and the settings."""
    g = graph()
    assert {"qa.index.open", "qa.settings"} <= g["qa.search.pipeline"]
    assert "qa.front.service" in g["qa.front.cli"] or "qa.front.service" in g["qa.front.server"]
