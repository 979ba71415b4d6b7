"""Rules the test suite keeps about itself: no test module imports another (shared
helpers live in tests/support/ or a folder's helper module), and no test reads the
real clock (tests use the ``clock`` fixture, a FixedClock)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Reading the real time; a test that needs "now" takes it from its FixedClock.
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("datetime", "today"),
}


def modules() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def test_no_test_module_imports_another_test_module() -> None:
    offenders = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(TESTS)} imports {name}")
    assert offenders == []


def test_no_test_reads_the_real_clock() -> None:
    offenders = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in CLOCK_CALLS
            ):
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert offenders == []


def test_templates_hold_words_and_letters_only() -> None:
    """templates/ is data (letters, staff texts, catalogs); the Python reading it lives in
    bot/presenters/ (catalogs, letters, render)."""
    root = Path(__file__).resolve().parents[1] / "templates"
    code = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "__init__.py")
    assert not code, code
