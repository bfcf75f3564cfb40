"""Structure figures: import cycles between packages, typed share per app, copied code.

Cycles: grimp (the graph import-linter uses) builds the import graph of the five apps, every
import counted (inside functions too). For every package, its direct children (sub-packages and
modules, each standing for everything below it) form a graph; each group of children that import
one another in a loop (a strongly connected component of two or more) is one cycle.
Typed share: functions whose every parameter (but self/cls) and return value are annotated, over
all functions, per app, migrations left out. Copied code: the summary line of `duplicates`.
Run: .venv/bin/python bench/architecture.py [--list]
"""

import argparse
import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "integrations", "mappings", "rankr", "sandbox")


def graph_build():
    import grimp

    sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*APPS, cache_dir=None)


def child_of(module: str, package: str) -> str | None:
    """The direct child of `package` that `module` lives in (None when outside it)."""
    if not module.startswith(package + "."):
        return None
    return package + "." + module[len(package) + 1 :].split(".")[0]


def components_strong(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), only those of two or more nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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


def cycles_find(graph) -> list[tuple[str, list[str]]]:
    """Every (package, children in a loop) in the five apps, the apps themselves included."""
    modules = graph.modules
    packages = {m for m in modules if graph.find_children(m)}
    imports = [
        (importer, imported)
        for importer in modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported in modules
    ]
    cycles = []
    top_edges: dict[str, set[str]] = {}
    for importer, imported in imports:
        a, b = importer.split(".")[0], imported.split(".")[0]
        if a != b:
            top_edges.setdefault(a, set()).add(b)
    for component in components_strong(set(APPS), top_edges):
        cycles.append(("(apps)", component))
    for package in sorted(packages):
        edges: dict[str, set[str]] = {}
        nodes = set()
        for importer, imported in imports:
            a, b = child_of(importer, package), child_of(imported, package)
            if a and b and a != b:
                edges.setdefault(a, set()).add(b)
                nodes.update((a, b))
        for component in components_strong(nodes, edges):
            cycles.append((package, component))
    return cycles


def typed_share(app: str) -> tuple[int, int]:
    typed = total = 0
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            total += 1
            args = node.args
            params = args.posonlyargs + args.args + args.kwonlyargs
            if params and params[0].arg in ("self", "cls"):
                params = params[1:]
            params += [a for a in (args.vararg, args.kwarg) if a is not None]
            if all(p.annotation is not None for p in params) and (
                node.returns is not None or node.name == "__init__"
            ):
                typed += 1
    return typed, total


def duplicates_summary() -> str:
    exe = shutil.which("duplicates")
    if not exe:
        return "(duplicates not installed)"
    out = subprocess.run([exe, "--seconds", "120"], cwd=ROOT, capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", action="store_true", help="name every cycle")
    parser.add_argument("--no-duplicates", action="store_true")
    args = parser.parse_args()
    cycles = cycles_find(graph_build())
    if args.list:
        for package, component in cycles:
            print(f"cycle in {package}: {' <-> '.join(component)}")
    typed = {app: typed_share(app) for app in APPS}
    print(f"package_cycles: {len(cycles)}")
    print(f"packages_with_cycles: {len({p for p, _ in cycles})}")
    for app, (done, total) in typed.items():
        print(f"typed_{app}: {done}/{total} ({100 * done / max(total, 1):.0f} %)")
    if not args.no_duplicates:
        print(f"duplicates: {duplicates_summary()}")


if __name__ == "__main__":
    main()
