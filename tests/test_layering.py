"""Dependencies point one way: cli -> drivers -> planner -> schemas (DESIGN.md "Layout")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "modelsched"
FORBIDDEN_IN_PLANNER = {"yaml", "jinja2", "nomad", "click", "requests", "deepdiff"}


def imports_of(package: str) -> set[str]:
    found: set[str] = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_the_planner_imports_schemas_and_the_standard_library_only() -> None:
    for name in imports_of("planner"):
        top = name.split(".")[0]
        if top == "modelsched":
            assert name in {"modelsched"} or name.startswith(("modelsched.schemas", "modelsched.planner")), name
        else:
            assert top in sys.stdlib_module_names or top == "__future__", name


def test_importing_the_planner_loads_no_io_or_ui_library() -> None:
    code = (
        "import sys, modelsched.planner; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN_IN_PLANNER)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("package", "must_not_import"),
    [
        ("schemas", ("modelsched.planner", "modelsched.drivers", "modelsched.cli")),
        ("planner", ("modelsched.drivers", "modelsched.cli")),
        ("drivers", ("modelsched.cli",)),
    ],
    ids=["schemas import no layer above them", "the planner imports no driver or cli", "drivers import no cli"],
)
def test_no_layer_imports_a_layer_above_it(package: str, must_not_import: tuple[str, ...]) -> None:
    assert not {n for n in imports_of(package) if n.startswith(must_not_import)}
