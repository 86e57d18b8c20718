"""The canonical trace of a run: one line of facts per step, with nothing volatile in it.

Two runs of the same scripted scenario produce equal traces (no ids, timestamps or durations; a generated
id or an object address inside a written value or an error shows as ``<id>`` / ``0x?``), so a trace is what
snapshot tests compare: ``assert result.trace == trace_snapshot`` (see ``loomflow.testing.snapshots``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from loomflow.checkpoint.codec import loads
from loomflow.checkpoint.records import StepRecord

__all__ = ["Trace", "TraceStep", "summarize"]


@dataclasses.dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a trace."""

    step: int
    node: str
    status: str
    route: str | None
    target: str | None
    writes: tuple[tuple[str, str], ...]
    interrupts: tuple[str, ...] = ()
    attempts: int = 1
    error: str | None = None
    usage: tuple[tuple[str, Any], ...] = ()

    def line(self) -> str:
        parts = [f"{self.step:>3} {self.node}"]
        if self.status != "ok":
            parts.append(f"[{self.status}]")
        if self.route:
            parts.append(f"--{self.route}-->")
        elif self.target:
            parts.append("-->")
        if self.target:
            parts.append("END" if self.target == "__end__" else self.target)
        for key, summary in self.writes:
            parts.append(f"{key}={summary}")
        if self.interrupts:
            parts.append("interrupts=" + ",".join(self.interrupts))
        if self.attempts != 1:
            parts.append(f"attempts={self.attempts}")
        if self.error:
            parts.append(f"error={self.error}")
        return " ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True)
class Trace:
    """A run's steps, comparable and printable."""

    steps: tuple[TraceStep, ...]

    @classmethod
    def from_records(
        cls, records: Iterable[StepRecord], journal: Mapping[tuple[str, int, str, int], Any] | None = None
    ) -> Trace:
        """The trace of these steps; with ``journal``, references to journaled results show their values."""
        from loomflow.errors import CorruptCheckpoint
        from loomflow.lineage import has_refs, resolve_refs

        out = []
        for rec in records:
            writes = loads(rec.writes)
            if journal and has_refs(rec):
                # a reference whose result the caller does not hold stays a reference
                with contextlib.suppress(CorruptCheckpoint):
                    writes = resolve_refs(writes, rec, journal)
            out.append(
                TraceStep(
                    rec.step,
                    rec.node_path,
                    rec.status,
                    rec.route,
                    rec.target,
                    tuple((k, summarize(_masked(v))) for k, v in writes.items()),
                    tuple(i.kind for i in rec.interrupts),
                    rec.attempts,
                    _first_line(rec.error),
                    tuple(sorted((k, v) for k, v in (rec.usage or {}).items() if k != "latency_s")),
                )
            )
        return cls(tuple(out))

    @property
    def nodes(self) -> list[str]:
        """The node paths in the order the run visited them."""
        return [s.node for s in self.steps]

    def to_text(self) -> str:
        return "\n".join(s.line() for s in self.steps)

    def __str__(self) -> str:
        return self.to_text()


def _message(msg: Mapping[str, Any], limit: int) -> str:
    """A message as ``role 'text'``, ``assistant calls a,b`` or ``tool 'result'``: content changes show."""
    parts = [p for p in msg.get("parts", ()) if isinstance(p, Mapping)]
    calls = [str(p.get("name")) for p in parts if p.get("type") == "tool_call"]
    text = "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    text += "".join(str(p.get("content", "")) for p in parts if p.get("type") == "tool_result")
    shown = f"{msg['role']}"
    if text:
        shown += " " + summarize(text, max(12, limit - len(shown) - 1))
    if calls:
        shown += " calls " + ",".join(calls)
    return shown


def _first_line(error: str | None) -> str | None:
    return _canonical(error.splitlines()[0]) if error else None


# Generated ids (uuid4 hex, as run and child-run ids are by default) and object addresses in reprs differ
# from one run of a scenario to the next; a trace keeps their place but not their value.
_VOLATILE = re.compile(r"\b[0-9a-f]{32}\b|\b0x[0-9a-f]{6,}\b")


def _canonical(text: str) -> str:
    return _VOLATILE.sub(lambda m: "0x?" if m.group().startswith("0x") else "<id>", text)


def _masked(value: Any) -> Any:
    """``value`` with volatile ids masked in every string, before ``summarize`` may cut one in half."""
    if isinstance(value, str):
        return _canonical(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, Mapping):
        return {_masked(k): _masked(v) for k, v in value.items()}
    return value


def summarize(value: Any, limit: int = 48) -> str:
    """A short, deterministic description of a written value."""
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, list):
        return f"+{len(value)}" if len(value) != 1 else "+[" + summarize(value[0], limit - 3) + "]"
    if isinstance(value, Mapping) and "@journal" in value:
        return f"journal#{value['@journal']}" + (f".{value['key']}" if value.get("key") else "")
    if isinstance(value, Mapping) and set(value) == {"passed", "critique"}:
        verdict = "PASS" if value["passed"] else "FAIL"
        return verdict + (f": {summarize(value['critique'], limit - 6)}" if value["critique"] else "")
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        return str(value["name"])
    if isinstance(value, Mapping) and value.get("role") in ("user", "assistant", "tool", "system"):
        return _message(value, limit)
    if isinstance(value, Mapping):
        keys = ",".join(sorted(map(str, value)))
        return "{" + (keys if len(keys) <= limit else keys[: limit - 3] + "...") + "}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
