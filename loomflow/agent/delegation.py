"""Delegation and orchestration policy.

``DelegationPolicy.depth_limited(2)`` exposes a ``delegate`` tool to the model. Each delegation is a child
run (of the same agent's single-run graph, or of a named sub-agent) started with an explicit context
contract, checkpointed under its own id, and folded back as the tool's result. Several delegations in one
turn run concurrently, up to ``max_concurrent``; a resumed parent re-attaches to finished children.

``OrchestrationConfig`` shapes the orchestrated harness: a planner makes a plan (structured output,
validated), its steps fan out to child runs, and a reducer writes the answer from their results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loomflow.messages import ToolSpec
from loomflow.tools.tool import Tool

if TYPE_CHECKING:
    from loomflow.agent.agent import Agent

__all__ = ["DELEGATE", "DelegationPolicy", "OrchestrationConfig", "Plan", "PlanStep"]

DELEGATE = "delegate"
ContextContract = Literal["task_only", "handoff", "transcript"]


@dataclasses.dataclass(frozen=True)
class DelegationPolicy:
    """Whether and how a run may hand sub-tasks to child runs.

    ``context`` is the contract for what a child receives besides its task: ``"task_only"``, ``"handoff"``
    (a summary of the parent's work so far) or ``"transcript"`` (the parent's user turns and answers).
    """

    max_depth: int = 0
    max_concurrent: int = 4
    context: ContextContract = "task_only"
    agents: Mapping[str, Agent] = dataclasses.field(default_factory=dict)

    @classmethod
    def none(cls) -> DelegationPolicy:
        return cls()

    @classmethod
    def depth_limited(
        cls,
        max_depth: int,
        *,
        max_concurrent: int = 4,
        context: ContextContract = "task_only",
        agents: Mapping[str, Agent] | None = None,
    ) -> DelegationPolicy:
        """Delegation allowed up to ``max_depth`` levels below the run a user started."""
        if not isinstance(max_depth, int) or max_depth < 0:
            raise ValueError(f"depth_limited needs max_depth >= 0 (an int), not {max_depth!r}")
        if not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"depth_limited needs max_concurrent >= 1 (an int), not {max_concurrent!r}")
        if context not in get_args(ContextContract):
            choices = ", ".join(repr(c) for c in get_args(ContextContract))
            raise ValueError(f"depth_limited(context=...) takes one of {choices}, not {context!r}")
        return cls(max_depth, max_concurrent, context, dict(agents or {}))

    def allows(self, depth: int) -> bool:
        """May a run at ``depth`` delegate?"""
        return depth < self.max_depth

    def governed(self) -> Tool:
        """The ``delegate`` tool as governance sees it, so rules, rate limits, the veto and hooks apply to
        delegations like to any tool (the ``delegation`` node, not dispatch, carries it out)."""
        spec = self.tool()

        def carried_out_by_the_delegation_node(**_: Any) -> str:  # pragma: no cover - never dispatched
            raise RuntimeError("delegate calls are carried out by the delegation node")

        return Tool.from_schema(spec.name, spec.description, spec.parameters, carried_out_by_the_delegation_node)

    def tool(self) -> ToolSpec:
        """The ``delegate`` tool as the model sees it."""
        props: dict[str, Any] = {
            "task": {"type": "string", "description": "the sub-task, stated so it can be done on its own"},
            "context": {"type": "string", "description": "facts the sub-agent needs that the task does not say"},
        }
        if self.agents:
            props["agent"] = {"type": "string", "enum": sorted(self.agents), "description": "who does it"}
        return ToolSpec(
            name=DELEGATE,
            description="Hand a self-contained sub-task to a sub-agent; its answer comes back as this tool's result.",
            parameters={"type": "object", "properties": props, "required": ["task"], "additionalProperties": False},
        )


@dataclasses.dataclass(frozen=True)
class OrchestrationConfig:
    """The orchestrated harness: plan, fan out the steps (``max_concurrent`` at once) to child runs (judged
    by a generator/evaluator loop with ``gen_eval=True``), reduce. ``max_depth`` bounds delegation below."""

    max_depth: int = 3
    gen_eval: bool = False
    max_steps: int = 6
    max_concurrent: int = 4

    def __post_init__(self) -> None:
        # checked here, not when the harness runs: max_concurrent=0 would make the fan-out wait forever
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise ValueError(f"OrchestrationConfig needs max_depth >= 0 (an int), not {self.max_depth!r}")
        for name in ("max_steps", "max_concurrent"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"OrchestrationConfig needs {name} >= 1 (an int), not {value!r}")


class PlanStep(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str = Field(description="a short identifier, e.g. s1")
    task: str = Field(description="what this step must do, stated so it can be done on its own")


class Plan(BaseModel):
    """The planner's structured output."""

    model_config = ConfigDict(defer_build=True)

    steps: list[PlanStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Plan:
        ids = [step.id for step in self.steps]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:  # each step becomes a child run named by its id
            raise ValueError(f"step ids must be unique; {', '.join(map(repr, repeated))} is used more than once")
        return self
