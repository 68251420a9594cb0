"""The package's import-layer order (docs/architecture.md, ../shared/DESIGN.md).

Every ``tfrec`` import statement — module level, inside functions and under ``TYPE_CHECKING``
— is read with ``ast``; no module may import from a higher layer, the subpackages form no
cycle, and no two modules import each other at module level. A new top-level module or
subpackage must be given a layer here (and in docs/architecture.md) before it can land.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import tfrec

ROOT = Path(tfrec.__file__).parent

# data, layers -> encoders -> models, networks, environments -> policies -> agents, evaluation
# -> training, export -> cli. Layer 0 holds the leaves that import no subpackage.
LAYERS = {
    "_quiet": 0,
    "_version": 0,
    "specs": 0,
    "plots": 0,
    "data": 1,
    "layers": 1,
    "encoders": 2,
    "models": 3,
    "networks": 3,
    "environments": 3,
    "explain": 3,
    "policies": 4,
    "agents": 5,
    "evaluation": 5,
    "training": 6,
    "export": 6,
    "settings": 7,
    "cli": 8,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """``(line, imported module, at module level)`` of every tfrec import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # ``from tfrec.x import y`` imports the module tfrec.x.y when y is a submodule and
            # a name of tfrec.x (its __init__) otherwise.
            names = []
            for alias in node.names:
                candidate = ROOT.parent.joinpath(*module.split("."), alias.name)
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    names.append(f"{module}.{alias.name}")
                elif module not in names:
                    names.append(module)
        else:
            continue
        for name in names:
            if name == "tfrec" or name.startswith("tfrec."):
                found.append((node.lineno, name, id(node) in top_level))
    return found


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_top_level_module_has_a_layer():
    tops = {_top(_module_name(p)) for p in _sources()} - {None}
    missing = sorted(tops - LAYERS.keys())
    assert not missing, (
        f"give these tfrec modules a layer in tests/test_import_layers.py: {missing}"
    )


def test_no_module_imports_from_its_own_or_a_higher_layer():
    problems = []
    for path in _sources():
        source = _top(_module_name(path))
        if source is None:  # tfrec/__init__.py re-exports the public API
            continue
        for line, name, _ in _imports(path):
            target = _top(name)
            if target is None or target == source:
                continue
            if LAYERS[target] >= LAYERS[source]:  # same layer: no import either way
                problems.append(
                    f"{path.relative_to(ROOT.parent)}:{line} imports {name} "
                    f"(layer {LAYERS[target]}) from layer {LAYERS[source]}"
                )
    assert not problems, "\n".join(problems)


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_subpackages_form_no_import_cycle():
    edges: dict[str, set[str]] = defaultdict(set)
    for path in _sources():
        source = _top(_module_name(path))
        for _, name, _ in _imports(path):
            target = _top(name)
            if source and target and target != source:
                edges[source].add(target)
    cycle = _find_cycle(edges)
    assert cycle is None, "import cycle between subpackages: " + " -> ".join(cycle)


def test_modules_form_no_module_level_import_cycle():
    edges: dict[str, set[str]] = defaultdict(set)
    modules = {_module_name(p) for p in _sources()}
    for path in _sources():
        source = _module_name(path)
        for _, name, top_level in _imports(path):
            if top_level and name in modules and name != source:
                edges[source].add(name)
    cycle = _find_cycle(edges)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ],
)
def test_find_cycle_on_hand_made_graphs(edges, expected):
    assert _find_cycle(edges) == expected
