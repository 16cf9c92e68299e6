"""The test tree's own rules: test modules mirror alerting/ in packages, and the tests and
bench/ import shared helpers from tests.support only, never from a test module or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SOURCES = sorted([*TESTS.rglob("*.py"), *(ROOT / "bench").glob("*.py")])


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, `from a import b` counted as `a.b`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def is_allowed(module: str) -> bool:
    return (module.split(".")[0] != "tests" or module == "tests.support"
            or module.startswith("tests.support."))


@pytest.mark.parametrize("module", ["tests.support.factories.create_rule",
                                    "tests.support.server", "alerting.models.Alert", "pytest"])
def test_allowed_imports(module):
    assert is_allowed(module)


@pytest.mark.parametrize("module", ["tests.conftest.make_app", "tests.api.test_auth.csrf_token",
                                    "tests.browser.conftest.log_in", "tests.databases",
                                    "tests.test_layout"])
def test_refused_imports(module):
    assert not is_allowed(module)


def test_helpers_come_from_tests_support_only():
    wrong = [f"{path.relative_to(ROOT)}:{line}: {module}"
             for path in SOURCES for line, module in imported_modules(path)
             if not is_allowed(module)]
    assert SOURCES and not wrong, "import these from tests/support/ instead:\n" + "\n".join(wrong)


def test_test_modules_live_in_packages_under_tests():
    """tests/<package>/test_*.py, each folder a package, so two folders may hold the same name."""
    misplaced = [str(path.relative_to(ROOT)) for path in TESTS.rglob("test_*.py")
                 if path != Path(__file__).resolve()
                 and (path.parent == TESTS or not (path.parent / "__init__.py").exists())]
    assert not misplaced, misplaced
