"""Rendering a run's context partitions into a model request (pure functions, shared by the nodes).

Partitions: the system prompt (instructions), knowledge, the working dashboard (goal, criteria, inputs,
signals, the handoff after a renewal), the session transcript, and this run's messages. The same
state always renders the same request, so a resumed run asks exactly what it asked before.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from loomflow.agent.config import Generation, Runtime
from loomflow.agent.state import AgentState
from loomflow.messages import Message, ModelRequest, TextPart, ToolCallPart, ToolResultPart
from loomflow.tools.skills import Skill, active_skill, skills_index

if TYPE_CHECKING:
    from loomflow.agent.children import ChildRunner
    from loomflow.agent.harness import Harness
    from loomflow.agent.hooks import Hooks
    from loomflow.agent.quality import QualityGate
    from loomflow.providers.base import ModelProvider
    from loomflow.tools.registry import ToolRegistry

__all__ = ["AgentServices", "build_request", "estimate", "system_prompt", "view"]

DROPPED = "[output dropped to save context; call the tool again if you need it]"


@dataclasses.dataclass(frozen=True)
class AgentServices:
    """What the agent's nodes need at run time, injected through the interpreter's services."""

    model: ModelProvider
    tools: ToolRegistry
    instructions: str
    generation: Generation
    runtime: Runtime
    hooks: Hooks
    #: the transcript (user turns and answers) of a session's runs before a run, oldest first
    transcript: Callable[[str, str], Awaitable[list[Message]]]
    #: take the session's pending signals for a run (session id, run id) -> signals as dicts
    take_signals: Callable[[str, str], Awaitable[list[dict[str, Any]]]]
    #: starts and re-attaches child runs (best-of-N candidates, custom attempts, delegations)
    children: ChildRunner
    #: the type a final answer must validate as (``Agent(output_type=...)``), and how often to re-ask
    output_type: type[BaseModel] | None = None
    output_retries: int = 2
    #: the skills of ``Agent(capabilities=[Capability.skill(...)])``: their index enters the system prompt
    skills: tuple[Skill, ...] = ()

    @property
    def harness(self) -> Harness:
        return self.runtime.harness

    @property
    def quality(self) -> QualityGate:
        return self.runtime.quality


def estimate(chars: int) -> int:
    """A local token estimate (4 characters a token); no tokenizer is ever downloaded."""
    return chars // 4 + 1


def system_prompt(services: AgentServices, state: AgentState) -> str:
    """The system message: instructions, knowledge and the working dashboard."""
    sections = [services.instructions.strip()] if services.instructions.strip() else []
    ctx = state.run_context
    if ctx is not None and ctx.knowledge:
        items = "\n".join(f"- {k}" for k in ctx.knowledge)
        sections.append(f"## Knowledge\n{items}")
    if services.skills:
        sections.append(skills_index(services.skills))
        skill, by_task = active_skill(services.skills, state.messages, state.current_task().prompt())
        if skill is not None and by_task:  # activated by the task's words: no tool result carries it
            sections.append(f"## Active skill\n{skill.activation_text()}")
    dashboard = []
    task = state.current_task()
    if task is not None:
        dashboard.append(f"Goal: {task.goal}")
        if task.criteria:
            dashboard.append("Criteria:\n" + "\n".join(f"- {c}" for c in task.criteria))
    if ctx is not None and ctx.inputs:
        dashboard.append("Inputs:\n" + "\n".join(f"- {k}: {_short(v)}" for k, v in ctx.inputs.items()))
    if state.signals:
        lines = "\n".join(f"- [{s['urgency']}] {s['source']}/{s['type']}: {s['summary']}" for s in state.signals)
        dashboard.append(f"Signals received:\n{lines}")
    if state.handoff:
        dashboard.append(f"Handoff (the context was renewed; this is the work so far):\n{state.handoff}")
    if dashboard:
        sections.append("## Working dashboard\n" + "\n".join(dashboard))
    return "\n\n".join(sections)


def _short(value: Any, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def view(state: AgentState) -> list[Message]:
    """This run's messages as the model sees them: from ``window_start``, with dropped tool outputs
    replaced by a placeholder that keeps the call id (so no call is ever orphaned)."""
    dropped = set(state.dropped_outputs)
    out = []
    for msg in state.messages[state.window_start :]:
        if dropped and msg.role == "tool" and any(p.call_id in dropped for p in msg.tool_results):
            parts = tuple(
                ToolResultPart(call_id=p.call_id, content=DROPPED, is_error=p.is_error)
                if isinstance(p, ToolResultPart) and p.call_id in dropped
                else p
                for p in msg.parts
            )
            msg = Message(role="tool", parts=parts)
        out.append(msg)
    return out


def build_request(
    services: AgentServices, state: AgentState, transcript: Sequence[Message], call_index: int, run_id: str
) -> ModelRequest:
    system = system_prompt(services, state)
    messages: list[Message] = [Message.system(system)] if system else []
    messages += transcript[len(transcript) - state.restored :] if state.restored else []
    messages += view(state)
    schema = services.output_type.model_json_schema() if services.output_type is not None else None
    tools = services.tools.specs()
    delegation = services.runtime.delegation
    if delegation.allows(state.depth):
        tools = (*tools, delegation.tool())
    return ModelRequest(
        messages=tuple(messages),
        tools=tools,
        generation=services.generation.to_request(),
        output_schema=schema,
        metadata={"run_id": run_id, "call_index": call_index, "lane": state.lane},
    )


def context_tokens(services: AgentServices, state: AgentState, transcript: Sequence[Message]) -> int:
    """Provider-reported input tokens of the last request plus a local estimate of what was added since."""
    msgs = view(state)
    if state.last_input_tokens:
        last_model = max((i for i, m in enumerate(msgs) if m.role == "assistant"), default=-1)
        added = sum(m.chars() for m in msgs[last_model:]) if last_model >= 0 else sum(m.chars() for m in msgs)
        return state.last_input_tokens + estimate(added)
    chars = len(system_prompt(services, state)) + sum(m.chars() for m in msgs)
    chars += sum(m.chars() for m in transcript[len(transcript) - state.restored :]) if state.restored else 0
    chars += sum(len(t.description) + len(json.dumps(t.parameters)) for t in services.tools.specs())
    return estimate(chars)


def turn_boundaries(messages: Sequence[Message]) -> list[int]:
    """Indexes where a window may start without separating a tool call from its result."""
    open_calls: set[str] = set()
    out = []
    for i, msg in enumerate(messages):
        if not open_calls and msg.role in ("user", "assistant"):
            out.append(i)
        for p in msg.parts:
            if isinstance(p, ToolCallPart):
                open_calls.add(p.id)
            elif isinstance(p, ToolResultPart):
                open_calls.discard(p.call_id)
    return out


def transcript_turns(messages: Sequence[Message]) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in messages]


def text_of(parts: Sequence[Any]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart))
