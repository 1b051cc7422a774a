"""The import graph keeps to the layers of docs/architecture.md: nothing imports upwards,
no two modules import each other, the station and the agent share only what lies beneath
them, and platform probes are leaves."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A package may import itself and the packages listed for it: nothing else of ours.
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "drivers": {"base"},
    "mqtt": {"base"},
    "models": {"base", "drivers"},
    "edge": {"base", "drivers", "mqtt", "models"},
    "rules": {"base", "mqtt"},
    "hallwatch": {"base", "drivers", "mqtt", "models", "edge", "rules"},
}
PACKAGES = set(ALLOWED)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every first-party module `path` imports, at the top or inside a function."""
    found: set[str] = set()
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).strip(".")
            # `from pkg import module` imports that module; `from module import name`, the module.
            named = {f"{base}.{alias.name}" for alias in node.names} & modules
            found.update(named or {base})
    return {name for name in found if name.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for top in PACKAGES for p in (ROOT / top).rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in imports_of(path, set(modules)):
            # `pkg.module.attribute` is the longest known module.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].add(target)
    for name in modules:
        edges.setdefault(name, set())
    return edges


def test_no_import_runs_up_a_layer():
    upward = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if (top := target.split(".")[0]) != source.split(".")[0]
        and top not in ALLOWED[source.split(".")[0]]
    ]
    assert upward == []


def test_no_two_modules_import_each_other():
    edges = graph()
    # Tarjan's strongly connected components: any component of two or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
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
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert circles == []


def test_station_and_agent_share_only_what_lies_beneath_them():
    crossing = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        for mine, other in (("edge.station", "edge.agent"), ("edge.agent", "edge.station"))
        if source.startswith(mine) and target.startswith(other)
    ]
    shared = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        if source in ("edge.journal", "edge.publisher")
        for target in targets
        if target.startswith(("edge.station", "edge.agent"))
    ]
    assert crossing == [] and shared == []


def test_platform_probes_are_leaves():
    edges = graph()
    probes = {name for name in edges if name.startswith("edge.agent.probes.")}
    into_probes = [
        f"{source} -> {target}"
        for source, targets in edges.items()
        for target in targets & probes
        if source not in probes and source != "edge.agent.desktop"  # the one chooser
    ]
    probe_imports = [
        f"{probe} -> {target}"
        for probe in probes
        for target in edges[probe]
        if target not in probes and target not in ("edge.agent.foreground", "base.errors")
    ]
    assert into_probes == [] and probe_imports == []
