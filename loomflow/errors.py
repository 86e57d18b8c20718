"""The errors loomflow raises, in one small hierarchy.

```
LoomflowError
├── GraphError            a graph is built wrong (lists every problem at once)
├── RunError              a run cannot go on as asked
│   ├── RouteError            a node returned a route its graph does not declare
│   ├── InvalidTransition     a run status change the lifecycle forbids
│   ├── IncompatibleGraph     resuming with a graph that changed shape
│   ├── RunNotFound           no run with that id in the store
│   ├── RunBusy               another process holds the run (lease / step conflict)
│   ├── ReplayDivergence      a replayed call differs from the recorded one
│   └── EffectSkipped         an operator chose "skip" for an uncertain call
├── StoreError            the checkpoint store cannot read or write
│   ├── CorruptCheckpoint     one record cannot be decoded (names run and step)
│   └── StoreVersionError     the store was written by a newer loomflow
├── ProviderError         a model provider failed (subclasses in loomflow.providers)
└── GovernanceError       a tool call was refused by policy
```

Every message names the thing and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CorruptCheckpoint",
    "EffectSkipped",
    "GovernanceError",
    "GraphError",
    "IncompatibleGraph",
    "InvalidTransition",
    "LoomflowError",
    "ProviderError",
    "ReplayDivergence",
    "RouteError",
    "RunBusy",
    "RunError",
    "RunNotFound",
    "StoreError",
    "StoreVersionError",
]


class LoomflowError(Exception):
    """Root of every error loomflow raises on purpose."""


class GraphError(LoomflowError):
    """A graph is built wrong. ``problems`` lists each problem, one per line of the message."""

    def __init__(self, graph: str, problems: Iterable[str]) -> None:
        self.graph = graph
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"graph {graph!r} has {len(self.problems)} problem(s):\n{lines}")


class RunError(LoomflowError):
    """A run cannot go on as asked."""


class RouteError(RunError):
    """A node returned a route that its graph declares no edge for."""


class InvalidTransition(RunError):
    """A run status change that the lifecycle table forbids."""


class IncompatibleGraph(RunError):
    """A stored run was made by a graph of another shape, and no migration applies."""


class RunNotFound(RunError):
    """No run with that id exists in the store."""


class RunBusy(RunError):
    """Another process is executing the run (it holds the lease, or wrote the step first)."""


class ReplayDivergence(RunError):
    """A replayed run made a call that the recorded run did not make, or made differently."""


class EffectSkipped(RunError):
    """Raised inside a node by ``ctx.effect`` when an operator chose to skip an uncertain call."""


class StoreError(LoomflowError):
    """The checkpoint store cannot read or write."""


class CorruptCheckpoint(StoreError):
    """One stored record cannot be decoded; other runs stay readable."""

    def __init__(self, run_id: str, step: int | None, detail: str) -> None:
        self.run_id = run_id
        self.step = step
        where = f"run {run_id!r} step {step}" if step is not None else f"run {run_id!r}"
        super().__init__(
            f"corrupt checkpoint record at {where}: {detail}. Other runs are unaffected; "
            f"fork the run from an earlier step or delete it."
        )


class StoreVersionError(StoreError):
    """The store's schema is newer than this loomflow understands."""


class ProviderError(LoomflowError):
    """A model provider failed."""


class GovernanceError(LoomflowError):
    """A tool call was refused by policy."""
