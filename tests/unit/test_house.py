"""The house rules of issue 16, read off the source tree: module size, one way out, unique names.

The import rules are import-linter's (pyproject.toml, run by scripts/test.sh); these are the
rules it cannot express.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
MODULES = sorted(p for p in SERVICE.rglob("*.py") if "migrations" not in p.parts)
LOOSE_AT_MOST = 12
LINES_AT_MOST = 400


def _name(path: Path) -> str:
    return str(path.relative_to(SERVICE.parent))


def test_the_tree_is_rooms_not_a_heap() -> None:
    loose = [p.name for p in SERVICE.glob("*.py")]
    rooms = sorted(p.name for p in SERVICE.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    assert len(loose) <= LOOSE_AT_MOST, loose
    assert rooms == ["adapters", "cli", "core", "detector", "flows", "mailformat", "runtime", "settings", "store"]
    for room in rooms:
        doc = ast.get_docstring(ast.parse((SERVICE / room / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"service/{room}/__init__.py must say what it owns and may import"


def test_no_module_is_over_400_lines() -> None:
    long = {_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > LINES_AT_MOST}
    assert not long, long


def test_outbox_rows_are_made_in_one_module_only() -> None:
    # an outbox row is made by building the ORM object or by inserting into its table
    made = re.compile(r"OutboxRow\(|insert\([^)]*OutboxRow|OutboxRow\.__table__")
    makers = {_name(p) for p in MODULES if made.search(p.read_text()) and p.name != "models.py"}
    assert makers == {"service/store/outbox.py"}


def test_no_two_classes_functions_or_modules_share_a_name() -> None:
    modules: dict[str, list[str]] = defaultdict(list)
    defs: dict[str, list[str]] = defaultdict(list)
    for path in MODULES:
        if path.name != "__init__.py":
            modules[path.stem].append(_name(path))
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defs[node.name].append(_name(path))
    # the entry point's `main` and the command line's are one function seen from two doors
    shared = {n: ps for n, ps in defs.items() if len(ps) > 1 and n != "main"}
    assert not shared, shared
    assert not {n: ps for n, ps in modules.items() if len(ps) > 1}


def test_the_pure_core_reads_no_clock() -> None:
    clock = re.compile(r"datetime\.now\(|time\.time\(|date\.today\(|datetime\.utcnow\(")
    for room in ("core", "mailformat", "detector"):
        readers = [_name(p) for p in (SERVICE / room).rglob("*.py") if clock.search(p.read_text())]
        assert not readers, f"{room} must take `now` as a parameter: {readers}"
