"""Fail on any import circle among the project's own packages (`make lint`).

A circle works only as long as the modules happen to be imported in one order: the first
`python -c "import a"` that starts elsewhere meets a partially initialized module. Hiding
one of its imports inside a function keeps the circle and only postpones the failure, so
every import counts here, wherever it stands in the module.

Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first, unless the importer is
inside them (then they are already running): a module outside a package that imports one
of its submodules depends on everything the package's __init__ imports, and that edge is
shown as the importer's line with "(runs a.b's __init__)".

usage: python scripts/import-circles.py [--root DIR] [PACKAGE ...]
       (default: the repository, its packages siteconfig harness loadgen tests)
Prints each circle as `a -> b -> a` with the file:line of each import; exit 1 if any.
"""

import argparse
import ast
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ["siteconfig", "harness", "loadgen", "tests"]


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    file: str
    line: int
    via_init: bool = False  # the imported package's __init__, run for one of its submodules

    def where(self) -> str:
        return f"{self.file}:{self.line}" + (f" (runs {self.imported}'s __init__)" if self.via_init else "")


def module_files(root: Path, packages: list[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    """The package relative imports start from: the module itself for an __init__."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _named(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> list[str]:
    """The dotted names an import statement loads: `from a import b` may load module a.b."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = _package_of(module, path).split(".")
        base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]


def _inside(module: str, package: str) -> bool:
    """Whether `module` is `package` or in it: then the package is already running when the
    module imports it (or a submodule of it), and that import runs no __init__ anew."""
    return module == package or module.startswith(package + ".")


def import_edges(root: Path, modules: dict[str, Path]) -> list[Edge]:
    edges = []
    for module, path in modules.items():
        shown = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets: dict[str, bool] = {}
            for name in _named(node, module, path):
                parts = name.split(".")
                # The longest prefix that is a project module is what this name loads (a.b.func -> a.b).
                found = next((".".join(parts[:n]) for n in range(len(parts), 0, -1)
                              if ".".join(parts[:n]) in modules), None)
                if found is None or _inside(module, found):
                    continue
                targets.setdefault(found, False)
                ancestors = found.split(".")
                for n in range(1, len(ancestors)):
                    package = ".".join(ancestors[:n])
                    if package in modules and not _inside(module, package):
                        targets.setdefault(package, True)
            edges += [Edge(module, target, shown, node.lineno, via_init) for target, via_init in targets.items()]
    return edges


def circles(edges: list[Edge]) -> list[list[Edge]]:
    """The shortest circle through each module that lies on one, each circle once."""
    graph: dict[str, dict[str, Edge]] = {}
    for edge in sorted(edges, key=lambda edge: (edge.file, edge.line)):
        graph.setdefault(edge.importer, {}).setdefault(edge.imported, edge)  # its first import line
    found, seen = [], set()
    for start in sorted(graph):
        came_by: dict[str, Edge] = {}
        queue = deque([start])
        while queue and start not in came_by:
            current = queue.popleft()
            for target, edge in sorted(graph.get(current, {}).items()):
                if target not in came_by:
                    came_by[target] = edge
                    queue.append(target)
        if start not in came_by:
            continue
        path, at = [], start
        while True:
            edge = came_by[at]
            path.append(edge)
            at = edge.importer
            if at == start:
                break
        path.reverse()
        key = frozenset((edge.importer, edge.imported) for edge in path)
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


def describe(circle: list[Edge]) -> str:
    names = " -> ".join([circle[0].importer, *(edge.imported for edge in circle)])
    return names + "\n" + "\n".join(f"    {edge.importer} -> {edge.imported}: {edge.where()}" for edge in circle)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Fail on any import circle among the project's own packages.")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the directory the packages are imported from (default: the repository)")
    parser.add_argument("packages", nargs="*", default=PACKAGES, help=f"default: {' '.join(PACKAGES)}")
    options = parser.parse_args(argv)
    missing = [package for package in options.packages if not (options.root / package).is_dir()]
    if missing:
        print(f"error: no package {', '.join(missing)} under {options.root}", file=sys.stderr)
        return 2
    modules = module_files(options.root, options.packages)
    found = circles(import_edges(options.root, modules))
    for circle in found:
        print(describe(circle))
    if found:
        print(f"{len(found)} import circle(s) among {' '.join(options.packages)}: a piece two modules need "
              f"belongs in a lower module both import")
        return 1
    print(f"no import circles among {len(modules)} modules of {' '.join(options.packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
