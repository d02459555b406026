"""Contract types of our own for import-linter (configured in ``.importlinter``).

- ``acyclic_modules``: no module of a container imports itself through other modules of it, counting
  imports made inside functions as well. Each cycle found is reported with the imports that make it.
- ``public_surface``: the importers (the web app, the command line) import only the public modules of
  the provider (the engine). A module is public when its name is listed in ``__all__`` of its package's
  ``__init__`` and that package is public too; the provider itself is public. ``__all__`` is read from
  the source, nothing is imported.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in sorted(modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
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
    return sorted(found)


class AcyclicModulesContract(Contract):
    """No import cycles among the modules of each container (a package and everything below it)."""

    type_name = "acyclic_modules"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = []
        for container in self.containers:  # type: ignore[attr-defined]
            modules = {container} | graph.find_descendants(container)
            for component in _cycles(graph, modules):
                members = set(component)
                imports = []
                for importer in component:
                    for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
                        lines = sorted(
                            d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)
                        )
                        imports.append((importer, imported, lines))
                cycles.append({"modules": component, "imports": imports})
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"Cycle among {', '.join(cycle['modules'])}:", bold=True)
            for importer, imported, lines in cycle["imports"]:
                output.print_error(f"  {importer} -> {imported} (l. {', '.join(map(str, lines))})", bold=False)
            output.new_line()


@cache
def _declared(package: str) -> frozenset[str] | None:
    """``__all__`` of a package's ``__init__``, read from its source; None for a plain module."""
    top, _, rest = package.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    init = Path(next(iter(spec.submodule_search_locations)), *rest.split(".") if rest else (), "__init__.py")
    if not init.is_file():
        return None
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                return frozenset(ast.literal_eval(node.value))
    return frozenset()


def is_public(module: str, provider: str) -> bool:
    """Whether ``module`` (``provider`` or below it) is listed, step by step, in its packages' ``__all__``."""
    parts = module.split(".")
    for depth in range(len(provider.split(".")), len(parts)):
        listed = _declared(".".join(parts[:depth]))
        if listed is None or parts[depth] not in listed:
            return False
    return True


class PublicSurfaceContract(Contract):
    """The importers import only the modules of the provider that its packages' ``__all__`` list."""

    type_name = "public_surface"

    importers = fields.ListField(subfield=fields.StringField())
    provider = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        provider: str = self.provider  # type: ignore[assignment]
        found = []
        for importer_root in self.importers:  # type: ignore[attr-defined]
            for importer in sorted({importer_root} | graph.find_descendants(importer_root)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if imported != provider and not imported.startswith(provider + "."):
                        continue
                    if not is_public(imported, provider):
                        lines = sorted(
                            d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)
                        )
                        found.append((importer, imported, lines))
        return ContractCheck(kept=not found, metadata={"internal": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["internal"]:
            output.print_error(
                f"{importer} imports {imported} (l. {', '.join(map(str, lines))}), which its package's __all__ "
                "does not list",
                bold=False,
            )
        output.new_line()
