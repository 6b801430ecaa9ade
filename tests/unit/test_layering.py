"""Dependencies point one way: gateway → adapters → schemas (DESIGN.md, "Layout").

Walks every module's syntax tree (imports at any depth, including ones inside functions and
``TYPE_CHECKING`` blocks) rather than importing it, so a lazy import cannot hide.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package → the top-level packages of this repo it must never import
FORBIDDEN = {
    "schemas": ("adapters", "gateway"),
    "adapters": ("gateway",),
}


def _imported_packages(source: Path) -> list[tuple[int, str]]:
    """(line, top-level package) for every absolute import in ``source``."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.append((node.lineno, first.value.split(".")[0]))
    return out


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__") and bool(node.args)


def _violations(package: str) -> list[str]:
    forbidden = FORBIDDEN[package]
    found: list[str] = []
    for source in sorted((ROOT / package).rglob("*.py")):
        for line, imported in _imported_packages(source):
            if imported in forbidden:
                found.append(f"{source.relative_to(ROOT)}:{line} imports {imported}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downwards(package: str) -> None:
    assert (ROOT / package / "__init__.py").is_file()
    assert _violations(package) == [], f"{package}/ must not import {FORBIDDEN[package]}"


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    # The checker itself: a lazy import inside a function is still an import.
    source = tmp_path / "lazy.py"
    source.write_text(
        "import json\n"
        "def f() -> None:\n"
        "    from gateway.config import load_config\n"
        "    importlib.import_module('adapters.gccpol')\n",
        encoding="utf-8",
    )
    assert _imported_packages(source) == [(1, "json"), (3, "gateway"), (4, "adapters")]


def test_calendar_and_code_lists_live_in_schemas() -> None:
    # Moved from adapters/ (schemas/gccpol.py needs them): no shim is left behind.
    assert (ROOT / "schemas" / "hijri.py").is_file()
    assert (ROOT / "schemas" / "codes.py").is_file()
    assert not (ROOT / "adapters" / "hijri.py").exists()
    assert not (ROOT / "adapters" / "codes.py").exists()
