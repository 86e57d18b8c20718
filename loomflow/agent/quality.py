"""Quality gates: how an answer is judged before a run may end (at the ``quality_gate`` node).

    QualityGate.criteria(["cites a source", "under 100 words"])   # the agent's model judges
    QualityGate.pass_fail()                                       # judge against the task's criteria
    QualityGate.evaluator(my_check)                               # a function, or another model

A verdict is PASS or FAIL with a critique. On FAIL the critique goes back to the model and the run tries
again, up to ``max_retries``; then the run ends ``failed`` with the critique. Judgements are journaled,
so a resumed run never asks twice.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from loomflow.messages import Message, ModelRequest, ModelResponse
from loomflow.providers.base import ModelProvider

if TYPE_CHECKING:
    from loomflow.agent.context import AgentServices
    from loomflow.agent.state import AgentState
    from loomflow.nodedef import NodeContext

__all__ = ["JUDGE_INSTRUCTIONS", "QualityGate", "Verdict", "judge"]

JUDGE_INSTRUCTIONS = (
    "You are a strict reviewer. Judge the answer against every criterion. Reply with PASS if it meets all of "
    "them; otherwise reply FAIL: followed by what must change."
)

Evaluator = Callable[[str, Sequence[str]], Any] | ModelProvider


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of a judgement."""

    passed: bool
    critique: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "critique": self.critique}

    @classmethod
    def parse(cls, value: Any) -> Verdict:
        """A verdict from what an evaluator returned: a Verdict, a bool, (bool, critique), or PASS/FAIL text."""
        if isinstance(value, Verdict):
            return value
        if isinstance(value, bool):
            return cls(value, "" if value else "the evaluator rejected the answer")
        if isinstance(value, tuple) and len(value) == 2:
            return cls(bool(value[0]), str(value[1]))
        if isinstance(value, dict) and "passed" in value:
            return cls(bool(value["passed"]), str(value.get("critique", "")))
        text = str(value).strip()
        if text.upper().startswith("PASS"):
            return cls(True, text[4:].strip(" :\n"))
        critique = text[4:].strip(" :\n") if text.upper().startswith("FAIL") else text
        return cls(False, critique or "the evaluator rejected the answer")


@dataclasses.dataclass(frozen=True)
class QualityGate:
    """What the ``quality_gate`` node checks: ``checks`` (plus the task's criteria), judged by ``judge_by``
    (a function or a model; ``None``: the agent's own model), retried ``max_retries`` times with the critique.

    >>> QualityGate.criteria(["cites a source"]).checks
    ('cites a source',)
    """

    kind: Literal["none", "criteria", "pass_fail", "evaluator"] = "none"
    checks: tuple[str, ...] = ()
    judge_by: Evaluator | None = None
    max_retries: int = 2
    instructions: str = JUDGE_INSTRUCTIONS

    @property
    def active(self) -> bool:
        return self.kind != "none"

    @classmethod
    def none(cls) -> QualityGate:
        """Accept every answer (the default)."""
        return cls()

    @classmethod
    def criteria(
        cls, criteria: Sequence[str], *, evaluator: Evaluator | None = None, max_retries: int = 2
    ) -> QualityGate:
        """Judge the answer against ``criteria`` (and the task's), with the agent's model or ``evaluator``."""
        return cls("criteria", _criteria_list(criteria, "criteria([{!r}])"), evaluator, max_retries)

    @classmethod
    def pass_fail(cls, *, evaluator: Evaluator | None = None, max_retries: int = 2) -> QualityGate:
        """Judge PASS/FAIL against the task's criteria (``RuntimeTask.criteria``)."""
        return cls("pass_fail", (), evaluator, max_retries)

    @classmethod
    def evaluator(cls, evaluator: Evaluator, *, criteria: Sequence[str] = (), max_retries: int = 2) -> QualityGate:
        """Judge with ``evaluator``: a function ``(answer, criteria) -> bool | (bool, critique) | Verdict | str``
        (sync or async), or a model provider."""
        return cls("evaluator", _criteria_list(criteria, "evaluator(..., criteria=[{!r}])"), evaluator, max_retries)

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"QualityGate needs max_retries >= 0 (an int), not {self.max_retries!r}")
        judge_by = self.judge_by
        if judge_by is not None and not (callable(judge_by) or isinstance(judge_by, ModelProvider)):
            raise TypeError(
                f"a QualityGate evaluator is a function (answer, criteria) -> verdict or a model provider, "
                f"not {judge_by!r}"
            )


def _criteria_list(criteria: Sequence[str], fix: str) -> tuple[str, ...]:
    """The criteria as a tuple; ``fix`` is the call to suggest for a bare string (``{!r}`` is the string)."""
    # a str is a Sequence[str] too: taken as is, each character would become a criterion
    if isinstance(criteria, str):
        raise TypeError(f"criteria are a list of strings, not one string; write QualityGate.{fix.format(criteria)}")
    return tuple(criteria)


async def judge(
    ctx: NodeContext[AgentState],
    services: AgentServices,
    answer: str,
    criteria: Sequence[str],
    *,
    evaluator: Evaluator | None,
    instructions: str,
    name: str = "judge",
) -> tuple[Verdict, dict[str, Any]]:
    """Judge ``answer``; returns the verdict and the state writes the judgement makes (a model call counts)."""
    writes: dict[str, Any] = {}
    if evaluator is not None and not isinstance(evaluator, ModelProvider):
        fn = evaluator

        async def call_fn() -> dict[str, Any]:
            value = fn(answer, list(criteria))
            if inspect.isawaitable(value):
                value = await value
            return Verdict.parse(value).to_json()

        result = await ctx.effect(
            name, call_fn, request={"answer": answer, "criteria": list(criteria)}, idempotent=True
        )
        return Verdict.parse(result), writes
    model = evaluator if evaluator is not None else services.model
    state = ctx.state
    own_model = evaluator is None
    index = state.call_offset + state.iterations if own_model else state.evaluations
    goal = state.current_task().goal
    lines = "\n".join(f"- {c}" for c in criteria) or "- the answer does what the task asks"
    request = ModelRequest(
        messages=(
            Message.system(instructions),
            Message.user(f"Task: {goal}\n\nCriteria:\n{lines}\n\nAnswer:\n{answer}"),
        ),
        generation=services.generation.to_request(),
        metadata={"run_id": ctx.run_id, "call_index": index, "lane": state.lane},
    )
    response = await _ask(ctx, model, request, name)
    ctx.add_usage(**response.usage.counts())
    writes["iterations" if own_model else "evaluations"] = 1
    writes["tokens"] = response.usage.input_tokens + response.usage.output_tokens
    return Verdict.parse(response.message.text), writes


async def _ask(ctx: NodeContext[AgentState], model: ModelProvider, request: ModelRequest, name: str) -> ModelResponse:
    async def call() -> dict[str, Any]:
        return (await model.request(request)).model_dump(mode="json")

    recorded = request.model_dump(mode="json", exclude={"metadata": {"run_id"}})
    return ModelResponse.model_validate(await ctx.effect(name, call, request=recorded, idempotent=True))


ask_model = _ask  # shared with the harness nodes that ask a model outside the main loop
