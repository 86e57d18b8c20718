"""Run limits: kernel bounds (steps, visits per node) and the budgets nodes enforce (tokens, cost, ...).

Limits are stored with the run, so they survive a resume, and ``resume(run_id, limits=...)`` raises them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["Limits"]


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """``max_steps`` bounds the run's steps; ``max_visits`` overrides nodes' ``max_visits`` by node path;
    ``budgets`` are named numbers that nodes read as ``ctx.budgets`` (the agent's ``max_iterations``,
    ``max_tokens``, ``max_tool_calls``, ``max_seconds``, ``max_cost``)."""

    max_steps: int | None = None
    max_visits: Mapping[str, int] = dataclasses.field(default_factory=dict)
    budgets: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"max_steps": self.max_steps, "max_visits": dict(self.max_visits), "budgets": dict(self.budgets)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Limits:
        if not data:
            return cls()
        return cls(data.get("max_steps"), dict(data.get("max_visits") or {}), dict(data.get("budgets") or {}))

    def raised(self, other: Limits) -> Limits:
        """These limits with every value ``other`` sets taking precedence."""
        return Limits(
            other.max_steps if other.max_steps is not None else self.max_steps,
            {**self.max_visits, **other.max_visits},
            {**self.budgets, **other.budgets},
        )
