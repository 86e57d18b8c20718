"""``RunResult``: where a run stands when ``run``/``resume``/``fork`` returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from loomflow.checkpoint.records import StepRecord
from loomflow.outcomes import Interrupt
from loomflow.state import State
from loomflow.trace import Trace

__all__ = ["RunResult"]

S = TypeVar("S", bound=State)


@dataclasses.dataclass(frozen=True)
class RunResult(Generic[S]):
    """Where a run stands when ``run``/``resume``/``fork`` returns."""

    run_id: str
    status: str
    state: S
    output: Any = None
    error: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    step: int | None = None
    records: tuple[StepRecord, ...] = dataclasses.field(default=(), repr=False, compare=False)
    #: the journal results the records refer to (so the trace shows values, not references)
    journal: Mapping[tuple[str, int, str, int], Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def interrupt(self) -> Interrupt | None:
        """The first pending interrupt, if the run is waiting."""
        return self.interrupts[0] if self.interrupts else None

    @property
    def usage(self) -> dict[str, float]:
        """Usage counters summed over the run's steps (tokens, cost, latency, ...)."""
        return _sum_usage(rec.usage for rec in self.records)

    def usage_by(self, depth: int | None = None) -> dict[str, dict[str, float]]:
        """Usage summed per node path; ``depth=1`` sums per top-level node or subgraph (``harness``)."""
        groups: dict[str, list[dict[str, Any] | None]] = {}
        for rec in self.records:
            key = "/".join(rec.node_path.split("/")[:depth]) if depth else rec.node_path
            groups.setdefault(key, []).append(rec.usage)
        return {k: _sum_usage(v) for k, v in groups.items()}

    @property
    def trace(self) -> Trace:
        """The canonical trace of the run's history (see ``loomflow.trace``)."""
        return Trace.from_records(self.records, self.journal)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """A notebook shows the path the run took (SVG with Graphviz, else Mermaid) and its trace."""
        from loomflow.viz import run_mimebundle

        return run_mimebundle(self)


def _sum_usage(usages: Iterable[dict[str, Any] | None]) -> dict[str, float]:
    total: dict[str, float] = {}
    for usage in usages:
        for key, value in (usage or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    return total
