"""What every ``loomflow`` command shares: exit codes, output, targets, stores and small parsers."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.records import RunRecord, StepRecord
from loomflow.outcomes import Interrupt

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_WAITING",
    "Out",
    "UsageError",
    "exit_code",
    "interrupt_json",
    "load_target",
    "parse_at",
    "parse_value",
    "store_path",
    "sum_usage",
]

#: the run completed, or a command that runs nothing succeeded
EXIT_OK = 0
#: the run failed, was cancelled or reached a limit; ``lint`` found problems
EXIT_FAILED = 1
#: the command was used wrong or refused: bad arguments, unknown run or target, forbidden transition
EXIT_USAGE = 2
#: the run is waiting at an interrupt: answer it with ``loomflow resume RUN --value ...``
EXIT_WAITING = 3

_STATUS_EXIT = {"completed": EXIT_OK, "interrupted": EXIT_WAITING}


class UsageError(Exception):
    """A mistake on the command line; printed as one line, exit code 2."""


def exit_code(status: str) -> int:
    return _STATUS_EXIT.get(status, EXIT_FAILED)


@dataclasses.dataclass
class Out:
    """Where a command writes: readable text, or one JSON document with ``--json``; progress on stderr."""

    json_mode: bool = False
    stdout: TextIO = dataclasses.field(default_factory=lambda: sys.stdout)
    stderr: TextIO = dataclasses.field(default_factory=lambda: sys.stderr)

    def line(self, text: str = "") -> None:
        if not self.json_mode:
            print(text, file=self.stdout)

    def data(self, value: Any) -> None:
        if self.json_mode:
            print(json.dumps(jsonable(value), indent=2, ensure_ascii=False), file=self.stdout)

    def progress(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        body = [[str(cell) for cell in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
        for row in [list(header), *body]:
            self.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def jsonable(value: Any) -> Any:
    """Plain JSON types for anything a run holds (pydantic models, tuples, dataclasses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return loads(dumps(value))


def interrupt_json(i: Interrupt) -> dict[str, Any]:
    return jsonable(i.to_json())  # type: ignore[no-any-return]


def store_path(db: str | None, *, must_exist: bool) -> str:
    """The SQLite file to use; a store that must already hold runs and does not exist is a usage error."""
    path = db or os.fspath(Path(".loomflow") / "loomflow.db")
    if must_exist and not Path(path).exists():
        raise UsageError(f"no loomflow store at {path}; run something first, or point --db at your store")
    return path


def parse_value(text: str) -> Any:
    """A value given on the command line: JSON when it parses (``{"deny": "why"}``, ``3``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_at(text: str) -> int | str:
    """A step number or a node path."""
    return int(text) if text.isdigit() else text


def parse_assignments(items: Sequence[str], what: str) -> dict[str, Any]:
    """``key=value`` pairs (values parsed like ``parse_value``)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} takes key=value, not {item!r}")
        out[key] = parse_value(value)
    return out


def when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def sum_usage(records: Iterable[StepRecord]) -> dict[str, float]:
    total: dict[str, float] = {}
    for rec in records:
        for key, value in (rec.usage or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    return total


def show_usage(usage: Mapping[str, float]) -> str:
    parts = [f"{k}={v:g}" for k, v in sorted(usage.items()) if k != "latency_s" and v]
    return ", ".join(parts) or "none recorded"


def run_summary(run: RunRecord, steps: int) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "graph": run.graph,
        "status": run.status,
        "kind": run.kind,
        "created": when(run.created_at),
        "updated": when(run.updated_at),
        "steps": steps,
        "parent": f"{run.parent_run}@{run.parent_step}" if run.parent_run else None,
    }


def load_target(spec: str) -> Any:
    """Import ``module:attr`` (``module`` dotted, or a ``.py`` file path); ``attr`` may be dotted.

    A function found there is called with no arguments (a graph factory such as
    ``loomflow.graphs:single_run``).
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{spec!r} is not MODULE:NAME; e.g. myapp.agents:agent or examples/hello_agent.py:agent")
    module = _import(module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = ", ".join(n for n in dir(module) if not n.startswith("_"))
            raise UsageError(f"{module_name} has no {attr!r}; it defines: {names}")
        obj = getattr(obj, part)
    if inspect.isfunction(obj):
        required = [
            p.name
            for p in inspect.signature(obj).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:
            raise UsageError(f"{spec} is a function that needs {', '.join(required)}; name an object built with them")
        obj = obj()
    return obj


def _import(name: str) -> Any:
    if name.endswith(".py") or os.sep in name or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"no Python file {name}; give a path to a .py file or a dotted module name")
        mod_name = f"_loomflow_target_{path.stem}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"cannot load {name} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module  # dataclasses and pydantic look their module up while it loads
        sys.path.insert(0, str(path.resolve().parent))
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(
                f"cannot import {name!r} (no module {exc.name!r}); run from the directory that holds it "
                f"or give a file path"
            ) from None
        raise
