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
        kind, allowed = pending[key].kind, pending[key].allowed
        if allowed is not None and not _allowed(kind, v, allowed):
            raise RunError(
                f"interrupt {key!r} ({kind}) accepts {_show_allowed(kind, allowed)}, not {v!r}; "
                f"nothing was changed, resume again with an accepted value"
            )
    return loads(dumps(given))  # type: ignore[no-any-return]


# The built-in interrupt kinds' answers (CONTRACTS, "Interrupts"): which names may be given bare, and which
# as {name: payload} with a payload of this type. Any other kind accepts an allowed name bare or as
# {name: anything}.
_BUILT_IN = ("approval", "review", "uncertain_call")
_BARE = frozenset({"approve", "deny", "reject", "retry", "skip"})
_PAYLOAD: dict[str, tuple[type, str]] = {
    "deny": (str, "'reason'"),
    "reject": (str, "'note'"),
    "arguments": (dict, "{...}"),
}


def _allowed(kind: str, value: Any, allowed: tuple[Any, ...]) -> bool:
    if isinstance(value, dict):
        if len(value) != 1:
            return False
        ((name, payload),) = value.items()
        if kind not in _BUILT_IN:
            return name in allowed
        return name in allowed and name in _PAYLOAD and isinstance(payload, _PAYLOAD[name][0])
    if kind not in _BUILT_IN:
        return value in allowed
    return value in allowed and value in _BARE


def _show_allowed(kind: str, allowed: tuple[Any, ...]) -> str:
    if kind not in _BUILT_IN:
        return ", ".join(
            f"{a!r} or {{{a!r}: ...}}" if a not in ("approve", "retry", "skip") else repr(a) for a in allowed
        )
    forms = []
    for name in allowed:
        bare = [repr(name)] if name in _BARE else []
        shaped = [f"{{{name!r}: {_PAYLOAD[name][1]}}}"] if name in _PAYLOAD else []
        forms.append(" or ".join(bare + shaped))
    return ", ".join(forms)
