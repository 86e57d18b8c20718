"""Answers to interrupts: checking what ``resume`` was given against what the run waits for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loomflow.checkpoint.codec import dumps, loads
from loomflow.checkpoint.records import RunRecord
from loomflow.errors import RunError

__all__ = ["MISSING", "validate_answers"]

#: ``resume(value=...)`` not given (``None`` is a legitimate answer)
MISSING: Any = object()


def validate_answers(run: RunRecord, value: Any, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answers ``resume`` was given, checked against the run's pending interrupts (nothing changes on
    a refusal), keyed by interrupt id, in JSON form."""
    pending = {i.id: i for i in run.interrupts}
    if value is MISSING and not values:
        return {}
    if run.status != "interrupted":
        raise RunError(f"run {run.run_id!r} is {run.status}, not waiting at an interrupt; resume it without a value")
    given: dict[str, Any] = {}
    if value is not MISSING:
        if len(pending) != 1:
            ids = ", ".join(pending)
            raise RunError(
                f"run {run.run_id!r} waits at {len(pending)} interrupts ({ids}); answer them with "
                f"resume(run_id, values={{interrupt_id: value, ...}})"
            )
        given[next(iter(pending))] = value
    for key, v in (values or {}).items():
        if key not in pending:
            raise RunError(
                f"run {run.run_id!r} has no pending interrupt {key!r}; pending: {', '.join(pending) or 'none'}"
            )
        given[key] = v
    for key, v in given.items():
        allowed = pending[key].allowed
        if allowed is not None and not _allowed(v, allowed):
            raise RunError(
                f"interrupt {key!r} ({pending[key].kind}) accepts {_show_allowed(allowed)}, not {v!r}; "
                f"nothing was changed, resume again with an accepted value"
            )
    return loads(dumps(given))  # type: ignore[no-any-return]


def _allowed(value: Any, allowed: tuple[Any, ...]) -> bool:
    if isinstance(value, dict):
        return len(value) == 1 and next(iter(value)) in allowed
    return value in allowed


def _show_allowed(allowed: tuple[Any, ...]) -> str:
    return ", ".join(f"{a!r} or {{{a!r}: ...}}" if a not in ("approve", "retry", "skip") else repr(a) for a in allowed)
