"""The import structure of docs/architecture.md, read from the source with ``ast`` (imports inside
functions count): three floors (``training`` → ``agents`` → ``envs``), the rule among the
sub-packages of ``training`` (``training.RULE``) and no import cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from training import RULE

REPO = Path(__file__).resolve().parents[1]
FLOORS = {"envs": 0, "agents": 1, "training": 2}  # a package imports only packages on a lower floor (or its own)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for top in FLOORS for p in sorted((REPO / top).rglob("*.py"))}


MODULES = project_modules()


def imports_of(name: str) -> list[tuple[str, int]]:
    """The project modules ``name`` imports, anywhere in the file, with the line of each."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import training.study.driver` names a module; else its package
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] in FLOORS:
                found.append((target, node.lineno))
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_layout_reads_every_package():
    assert {"envs.env", "agents.solver", "training.cli", "training.study.driver"} <= set(MODULES)
    assert sum(len(v) for v in GRAPH.values()) > 50


def test_no_import_goes_up_a_floor():
    upward = [f"{m}:{line} imports {t}" for m, edges in GRAPH.items() for t, line in edges
              if FLOORS[t.split(".")[0]] > FLOORS[m.split(".")[0]]]
    assert not upward, upward


def subpackage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "training" and len(parts) > 1 else None


def test_every_training_subpackage_is_in_the_rule_and_the_rule_has_no_cycle():
    on_disk = {p.name for p in (REPO / "training").iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == set(RULE), "a sub-package of training/ must have its line in training.RULE"
    assert all(set(allowed) <= set(RULE) for allowed in RULE.values())
    order: list[str] = []
    while len(order) < len(RULE):  # a topological order exists iff the rule has no cycle
        ready = [p for p in RULE if p not in order and RULE[p] <= set(order)]
        assert ready, f"the rule has a cycle among {sorted(set(RULE) - set(order))}"
        order += sorted(ready)


def test_training_subpackages_import_only_what_the_rule_allows():
    broken = []
    for m, edges in GRAPH.items():
        src = subpackage(m)
        for t, line in edges:
            dst = subpackage(t)
            if src and src not in RULE:
                broken.append(f"{m}: not in a sub-package of training.RULE")
            elif t == "training" and m != "training":
                broken.append(f"{m}:{line} imports the training package itself")
            elif src and dst and src != dst and dst not in RULE[src]:
                broken.append(f"{m}:{line} imports {t} ({src} may import {sorted(RULE[src]) or 'nothing'})")
    assert not broken, "\n".join(broken)


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for t in graph.get(n, []):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycle_between_modules():
    graph = {m: sorted({t for t, _ in edges if t != m}) for m, edges in GRAPH.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


@pytest.mark.parametrize("graph, cycle", [({"a": ["b"], "b": ["c"], "c": ["a"]}, True), ({"a": ["b"], "b": ["c"]}, False)])
def test_the_cycle_finder_finds_a_cycle(graph, cycle):
    assert (find_cycle(graph) is not None) == cycle


MAX_LINES = 400  # a file per idea (docs/architecture.md): a module past this is two ideas


def test_no_module_is_longer_than_the_limit():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"
