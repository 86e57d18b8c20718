"""The state of an agent run: every channel the run graph's nodes read and write."""

from __future__ import annotations

from typing import Annotated, Any

from loomflow.agent.config import RunContext, RuntimeTask
from loomflow.messages import Message, ToolCallPart
from loomflow.state import State, add, append

__all__ = ["AgentState"]


class AgentState(State):
    """Channels of an agent run.

    ``messages`` is append-only: this run's user turn, the model's turns and every tool result (each
    tool call is answered, always). Compaction never rewrites it: ``window_start``, ``dropped_outputs``
    and ``handoff`` describe the view the model is shown, so the pre-compaction history stays intact.
    """

    messages: Annotated[tuple[Message, ...], append] = ()
    #: the task as given; ``None`` for a plain prompt, which is this run's first user turn (kept once)
    task: RuntimeTask | None = None
    run_context: RunContext | None = None
    session_id: str | None = None
    #: model calls made by the session's earlier runs (a scripted model continues its script from here)
    call_offset: int = 0
    #: how many of the session's latest transcript messages this run shows (fixed by ``intake``)
    restored: int = 0
    #: the context plan ``context_build`` made for the next model call (sizes, pressure)
    # (mutable-looking defaults are safe here: reducers always return new values, never mutate)
    context: dict[str, Any] = {}  # noqa: RUF012
    #: tool calls of the last model turn, carried in state until ``tool_dispatch`` answers them
    pending_calls: tuple[ToolCallPart, ...] = ()
    #: governance decisions by tool call id: {"action": "allow"|"deny", "reason"?, "arguments"?}
    decisions: dict[str, Any] = {}  # noqa: RUF012
    #: calls governance let through under a rate limit, {"tool", "at"}: the counts survive resume
    rate_log: Annotated[tuple[dict[str, Any], ...], append] = ()
    iterations: Annotated[int, add] = 0
    tool_calls: Annotated[int, add] = 0
    tokens: Annotated[int, add] = 0
    cost: Annotated[float, add] = 0.0
    #: input tokens the provider reported for the latest request (the base of the pressure estimate)
    last_input_tokens: int = 0
    #: the index in ``messages`` where the model's view starts after a renewal or sliding window
    window_start: int = 0
    dropped_outputs: Annotated[tuple[str, ...], append] = ()
    handoff: str = ""
    renewals: Annotated[int, add] = 0
    output: str | None = None
    #: the answer validated against ``Agent(output_type=...)`` (JSON form), when one is set
    parsed: dict[str, Any] | None = None
    output_retries: Annotated[int, add] = 0
    artifacts: Annotated[tuple[dict[str, Any], ...], append] = ()
    #: runtime signals the session received before this run (taken by ``intake``)
    signals: tuple[dict[str, Any], ...] = ()
    #: a child run's label among its siblings (a scripted model keeps one script per lane)
    lane: str | None = None
    #: how many delegations deep this run is (0: started by a user)
    depth: int = 0
    #: judgements: the last verdict, how often the quality gate sent the answer back, evaluator rounds
    verdict: dict[str, Any] | None = None
    gate_retries: Annotated[int, add] = 0
    rounds: Annotated[int, add] = 0
    evaluations: Annotated[int, add] = 0
    #: best-of-N and custom harnesses: every candidate (id, content, score, rationale) and the chosen one
    candidates: tuple[dict[str, Any], ...] = ()
    selected: str | None = None
    #: orchestration: the plan the planner made
    plan: dict[str, Any] | None = None

    def current_task(self) -> RuntimeTask:
        """The run's task: as given, or for a plain prompt, its first user turn as the goal."""
        if self.task is not None:
            return self.task
        return RuntimeTask(goal=next((m.text for m in self.messages if m.role == "user"), ""))
