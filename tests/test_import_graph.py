"""The packages import each other in one direction: no module reaches itself through its imports,
and the endpoint agent runs without the collector installed."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "camera", "collector", "rules")


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules that `module` imports anywhere in its file (in functions too: an
    import there runs as soon as the function does)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the submodule; `from mod import name` the module
            names.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    out = set()
    for name in names:
        while name and name not in modules:  # `import a.b.c` of a name inside a module: the module
            name = name.rpartition(".")[0]
        if name and name != module:
            out.add(name)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {m: imported(m, p, modules) for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


@pytest.mark.parametrize(("graph", "want"), [
    pytest.param({"a": {"b"}, "b": {"c"}, "c": set()}, [], id="a-chain"),
    pytest.param({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]], id="a-ring"),
    pytest.param({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c", "a"}}, [["a", "b"], ["c", "d"]], id="two-rings"),
])
def test_cycles_finds_every_ring_of_imports(graph, want) -> None:
    assert sorted(cycles(graph)) == want


def test_the_import_graph_sees_relative_function_level_and_submodule_imports(tmp_path) -> None:
    (tmp_path / "pkg").mkdir()
    files = {"pkg": tmp_path / "pkg" / "__init__.py", "pkg.a": tmp_path / "pkg" / "a.py",
             "pkg.b": tmp_path / "pkg" / "b.py", "pkg.c": tmp_path / "pkg" / "c.py"}
    files["pkg"].write_text("")
    files["pkg.a"].write_text("from . import b\n\ndef f():\n    from pkg.c import name\n")
    files["pkg.b"].write_text("import pkg.c\nfrom .c import other\n")
    files["pkg.c"].write_text("import os\n")
    assert imported("pkg.a", files["pkg.a"], files) == {"pkg.b", "pkg.c"}
    assert imported("pkg.b", files["pkg.b"], files) == {"pkg.c"}
    assert imported("pkg.c", files["pkg.c"], files) == set()


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_agent_does_not_import_the_collector() -> None:
    graph = import_graph()
    assert {(m, i) for m, imports in graph.items() if m.startswith("agents")
            for i in imports if i.startswith("collector")} == set()


def test_audits_take_records_and_never_import_the_importers() -> None:
    """Importers build the records the audits define; the other way round would make the two a ring."""
    graph = import_graph()
    assert {(m, i) for m, imports in graph.items() if m.startswith("collector.audits")
            for i in imports if i.startswith("collector.sources.importers")} == set()


SOURCES = ("agents", "camera", "collector.sources.pollers", "collector.sources.importers", "collector.demo")


def test_sources_measure_and_never_import_the_checks() -> None:
    """Sources report what they measured; the checks in rules/checks judge it (helpers such as the dew
    point live in rules/physics.py, which both may use)."""
    graph = import_graph()
    assert {(m, i) for m, imports in graph.items() if m.startswith(SOURCES)
            for i in imports if i.startswith("rules.checks")} == set()
