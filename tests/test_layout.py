"""The test suite's own rule: a test module imports helper modules, never another test module or conftest.

Importing a test module runs its module-level code and fixtures a second time under another name (and
`tests.conftest` next to `conftest` is two copies of the harness); shared data belong in helper modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_no_test_module_imports_another(path: Path) -> None:
    bad = {n for n in _imported(path) if n.removeprefix("tests.").split(".")[0].startswith(("test_", "conftest"))}
    assert not bad, f"{path.name} imports {sorted(bad)}: move what it shares into a helper module"
