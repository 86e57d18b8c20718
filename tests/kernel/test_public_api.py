"""The public surface: ``loomflow.__all__`` is complete and lazy, and ``import loomflow`` stays cheap."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import loomflow

PACKAGE = Path(loomflow.__file__).parent
#: modules a bare ``import loomflow`` must not load (DESIGN: import is fast and does nothing)
HEAVY = ("networkx", "pydantic", "transitions", "sqlite3", "_sqlite3", "loomflow.viz", "loomflow.checkpoint.sqlite")


def test_every_exported_name_resolves() -> None:
    for name in loomflow.__all__:
        assert getattr(loomflow, name) is not None, name


def test_all_is_the_sorted_export_table() -> None:
    assert loomflow.__all__ == sorted(loomflow._EXPORTS)
    assert len(set(loomflow.__all__)) == len(loomflow.__all__)


def test_exports_come_from_the_modules_named() -> None:
    import importlib

    for name, module in loomflow._EXPORTS.items():
        assert getattr(importlib.import_module(module), name) is getattr(loomflow, name), name


def test_no_private_names_are_exported() -> None:
    assert [n for n in loomflow.__all__ if n.startswith("_")] == []


def explicitly_exported(source: str) -> set[str]:
    """Names a type checker sees as exported: a literal ``__all__`` or ``from m import X as X``."""
    names: set[str] = set()
    for item in ast.walk(ast.parse(source)):
        if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in item.targets):
            if isinstance(item.value, ast.List | ast.Tuple):
                names |= {e.value for e in item.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        elif isinstance(item, ast.ImportFrom):
            names |= {a.name for a in item.names if a.asname == a.name}
    return names


def test_type_checkers_see_every_public_name_as_exported() -> None:
    missing = sorted(set(loomflow.__all__) - explicitly_exported((PACKAGE / "__init__.py").read_text()))
    assert missing == []


def test_the_export_check_recognises_explicit_exports() -> None:
    import loomflow.testing

    source = (PACKAGE / "testing" / "__init__.py").read_text()
    assert set(loomflow.testing.__all__) <= explicitly_exported(source)
    assert explicitly_exported("from m import A, B as B\n__all__ = ['C']") == {"B", "C"}


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'loomflow' has no attribute 'Nope'"):
        _ = loomflow.Nope


def test_dir_lists_the_public_names() -> None:
    assert set(loomflow.__all__) <= set(dir(loomflow))


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_loomflow_loads_nothing_heavy() -> None:
    modules = loaded_after("import loomflow")
    assert [m for m in HEAVY if m in modules] == []
    submodules = [m for m in modules if m.startswith("loomflow.")]
    assert submodules == ["loomflow._lazy"], "import loomflow imports only its lazy-export helper"


def test_the_kernel_does_not_import_viz_or_optional_libraries() -> None:
    modules = loaded_after("import loomflow.graph, loomflow.state, loomflow.interpreter")
    for name in ("loomflow.viz", "networkx", "pydantic", "transitions"):
        assert name not in modules, name


def test_testing_helpers_load_lazily() -> None:
    import loomflow.testing

    assert "StoreConformance" in loomflow.testing.__all__
    assert loomflow.testing.StoreConformance.__name__ == "StoreConformance"
    assert "pytest" not in loaded_after("import loomflow.testing")


def test_private_viz_helpers_start_with_an_underscore() -> None:
    private = sorted(p.name for p in (PACKAGE / "viz").glob("_*.py") if p.name != "__init__.py")
    assert private, "the viz package keeps its helpers in _-prefixed modules"
    import loomflow.viz

    assert [n for n in loomflow.viz.__all__ if n.startswith("_")] == []
