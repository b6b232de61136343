"""The import contract, checked over the source with `ast` (imports inside functions count too):

1. No feature reaches into another's private names: nothing imports `_name` from a module of another feature, or
   reads `module._name` through an imported module of another feature. A feature here is a package under busapp/
   (busapp/booking, busapp/domain, busapp/core ...) or a module at its top (busapp/models.py). Rules that several
   features need are public, or live in busapp/domain/.
2. No import cycles between modules. The one allowed loop is a package's blueprint: its __init__ imports its views
   at the end, and the views import `bp` from the package (Flask's way), so a module importing its own package is
   not counted.
3. The layers of ARCHITECTURE.md: infrastructure (busapp/core, busapp/models.py) and the shared rules
   (busapp/domain) import no feature; no feature imports operations (busapp/ops) or the demo data (busapp/dev); and
   operations do not import the demo data."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

BUSAPP = Path(__file__).resolve().parent.parent / "busapp"


def _modules() -> dict[str, Path]:
    found = {}
    for path in BUSAPP.rglob("*.py"):
        parts = ("busapp",) + path.relative_to(BUSAPP).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def feature(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


@lru_cache(maxsize=None)
def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text())


def imports(module: str):
    """(imported module, name or None, alias bound here) for every import statement anywhere in the module."""
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, alias.asname or alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(module)
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    yield f"{source}.{alias.name}", None, alias.asname or alias.name
                else:
                    yield source, alias.name, alias.asname or alias.name


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")


def private_reaches() -> list[str]:
    found = []
    for module in MODULES:
        bound = {}
        for source, name, alias in imports(module):
            if source not in MODULES or feature(source) == feature(module):
                continue
            if _private(name):
                found.append(f"{module} imports {source}.{name}")
            if name is None:
                bound[alias] = source
        for node in ast.walk(_tree(module)):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and _private(node.attr)):
                found.append(f"{module} reads {bound[node.value.id]}.{node.attr}")
    return sorted(set(found))


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for source, _name, _alias in imports(module):
            own_package = module.startswith(source + ".") and MODULES.get(source, Path()).name == "__init__.py"
            if source in MODULES and source != module and not own_package:
                edges[module].add(source)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_feature_reaches_into_another_features_private_names():
    assert private_reaches() == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_contract_sees_what_it_forbids():
    """The checks can fail: a cycle and a private reach, written the way they once were, are found."""
    edges = graph()
    edges["busapp.schedule.display"].add("busapp.booking.service")
    assert ["busapp.booking.notify", "busapp.booking.service", "busapp.schedule.calendar",
            "busapp.schedule.display"] in cycles(edges)
    assert feature("busapp.checkin.service") != feature("busapp.booking.service")
    assert _private("_take_seats") and not _private("take") and not _private("__version__")


FEATURES = ("accounts", "schedule", "booking", "feedback", "pwa", "pages", "planning", "checkin", "opendata",
            "participation", "mail")


def layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    if top in ("core", "models"):
        return "infrastructure"
    if top in FEATURES:
        return "feature"
    return {"domain": "domain", "ops": "operations", "dev": "demo data"}.get(top, "app")


# What each layer may not import (ARCHITECTURE.md, "Layers").
FORBIDDEN = {
    "infrastructure": {"feature", "operations", "demo data"},
    "domain": {"feature", "operations", "demo data"},
    "feature": {"operations", "demo data"},
    "operations": {"demo data"},
}


def layer_breaches(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} ({layer(module)}) imports {target} ({layer(target)})"
                  for module, targets in edges.items() for target in targets
                  if layer(target) in FORBIDDEN.get(layer(module), ()))


def test_every_package_under_busapp_has_its_layer():
    assert sorted({m.split(".")[1] for m in MODULES if "." in m and layer(m) == "app"}) == []


def test_each_layer_imports_only_what_architecture_allows():
    assert layer_breaches(graph()) == []


def test_the_layer_check_sees_what_it_forbids():
    """A feature that reached into operations, as the purge command once did for its job record, is found."""
    edges = graph()
    edges["busapp.booking.commands"].add("busapp.ops.monitoring")
    assert layer_breaches(edges) == ["busapp.booking.commands (feature) imports busapp.ops.monitoring (operations)"]


def test_every_folder_of_busapp_is_a_package_that_packaging_finds():
    """setuptools' find (pyproject.toml) skips a folder without __init__.py: a wheel of the app lacked busapp/core."""
    from setuptools import find_packages

    found = set(find_packages(str(BUSAPP.parent), include=["busapp*"]))
    folders = {"busapp." + ".".join(p.relative_to(BUSAPP).parts) for p in BUSAPP.rglob("*")
               if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))}
    assert folders <= found, sorted(folders - found)
