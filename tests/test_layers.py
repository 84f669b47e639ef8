"""The code's layers: every import runs down (or sideways without a cycle), never up.

ground (config, database, extensions, i18n, clock, reference data) -> domain (models and
services of each feature) -> web (views, forms, pages) -> app (the factory and the CLI).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "registry"
LAYERS = ("ground", "domain", "web", "app")
GROUND = {"registry.config", "registry.database", "registry.write_queue", "registry.extensions", "registry.i18n", "registry.clock", "registry.logs",
          "registry.vocab", "registry.areas", "registry.spreadsheets"}
# Whole packages on the ground floor: building blocks any feature may use (the PDF builder).
GROUND_PACKAGES = {"registry.documents"}
APP = {"registry", "registry.cli", "registry.models", "registry.sessions"}
# Whole packages of the web layer, and web modules inside domain packages.
WEB_PACKAGES = {"registry.api", "registry.dashboard", "registry.registration", "registry.web"}
WEB_MODULES = {"views", "forms", "access", "scope", "mapping_views"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module in GROUND or any(module == p or module.startswith(p + ".") for p in GROUND_PACKAGES):
        return "ground"
    if module in APP:
        return "app"
    if any(module == p or module.startswith(p + ".") for p in WEB_PACKAGES) or module.rsplit(".", 1)[-1] in WEB_MODULES:
        return "web"
    return "domain"


def package(module: str) -> str:
    """The feature package of a module (registry.actors.services -> registry.actors)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else module


def imports() -> dict[str, set[str]]:
    """Module -> the registry modules it imports (at any depth of the file)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from registry import vocab` imports the module registry.vocab; `from
                # registry.vocab import Term` imports registry.vocab (found by trimming below).
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name.startswith("registry") and name != module:
                    found[module].add(name)
    return found


def test_every_module_has_a_layer_and_the_layers_exist() -> None:
    graph = imports()
    assert "registry.vocab" in graph and layer("registry.vocab") == "ground"
    assert layer("registry.actors.validation") == "domain" and layer("registry.imports.views") == "web"
    assert layer("registry.stats.scope") == "web" and layer("registry.cli") == "app"
    assert layer("registry.documents.pdf") == "ground"


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in imports().items() for target in targets
        if LAYERS.index(layer(target)) > LAYERS.index(layer(module))
    )
    assert upward == []


def test_no_two_feature_packages_import_each_other() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in imports().items():
        for target in targets:
            if layer(module) != "app" and package(module) != package(target):
                edges[package(module)].add(package(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(p for p in edges if reaches(p, p, {p}))
    assert cycles == [], f"packages in an import cycle: {cycles}"
