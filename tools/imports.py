"""The import graph of the ``nvcodec`` package, in layers; fails on a cycle.

Run from the repository root::

    python -m tools.imports            # layers, lowest first, with what each module imports
    python -m tools.imports --dot      # Graphviz source (pipe to ``dot -Tsvg``)

A module's layer is one more than the highest layer it imports, so every
module imports only modules in layers below its own: reading the list from
the top is reading the code from its callers down to its foundations.
Imports under ``if TYPE_CHECKING:`` are left out (they never run). The
script reads the source with :mod:`ast`; it imports nothing of nvcodec.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "nvcodec"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import that runs, at any depth."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, []) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, [alias.name for alias in child.names]))
            visit(child)

    visit(tree)
    return found


def build_graph() -> dict[str, set[str]]:
    """Module -> the nvcodec modules it imports."""
    files = sorted((ROOT / PACKAGE).rglob("*.py"))
    modules = {module_name(path): path for path in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for module, names in _imports(ast.parse(path.read_text(), str(path))):
            if module != PACKAGE and not module.startswith(PACKAGE + "."):
                continue
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
            targets.update(submodules or [module])
        targets.discard(name)
        graph[name] = {t for t in targets if t in modules}
    return graph


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's layer; raises ``ValueError`` naming a cycle if there is one."""
    layer: dict[str, int] = {}
    visiting: list[str] = []

    def depth(name: str) -> int:
        if name in layer:
            return layer[name]
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            raise ValueError("import cycle: " + " -> ".join(cycle))
        visiting.append(name)
        layer[name] = 1 + max((depth(t) for t in graph[name]), default=-1)
        visiting.pop()
        return layer[name]

    for name in sorted(graph):
        depth(name)
    return layer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dot", action="store_true", help="print Graphviz source instead of layers")
    args = parser.parse_args(argv)
    graph = build_graph()
    try:
        layer = layers(graph)
    except ValueError as exc:
        print(f"imports: {exc}", file=sys.stderr)
        return 1
    if args.dot:
        print("digraph nvcodec {\n  rankdir=BT;")
        for name, targets in sorted(graph.items()):
            for target in sorted(targets):
                print(f'  "{name}" -> "{target}";')
        print("}")
        return 0
    for level in range(max(layer.values()) + 1):
        print(f"layer {level}")
        for name in sorted(n for n, lv in layer.items() if lv == level):
            uses = ", ".join(sorted(t.removeprefix(PACKAGE + ".") for t in graph[name]))
            print(f"  {name:<28} {'<- ' + uses if uses else ''}")
    print(f"{len(graph)} modules in {max(layer.values()) + 1} layers, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
