"""``Agent``: the user-side API over the ``agent_run`` graph — what a run asks the model, what it returns,
where it is stored, and how it is inspected, cancelled and forked."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import RecordingModel, make_agent, system_text

from loomflow import (
    Agent,
    Generation,
    InvalidTransition,
    MemoryStore,
    Model,
    RunContext,
    RuntimeTask,
    ToolCall,
    sequential_ids,
    tool,
)


@tool(read_only=True)
def search_docs(query: str) -> str:
    """Search documentation."""
    return f"Results for: {query}"


def _paths(result: object) -> list[str]:
    return [r.node_path for r in result.records]  # type: ignore[attr-defined]


async def test_a_run_without_tools_walks_the_graph_and_returns_the_answer() -> None:
    model = RecordingModel(["Hello!"])
    agent = make_agent(model, instructions="Be brief.")
    result = await agent.run("Say hello")

    assert (result.status, result.output, result.error) == ("completed", "Hello!", None)
    assert result.run_id == "run-1"
    assert _paths(result) == [
        "intake",
        "harness/context_build",
        "harness/model_call",
        "harness/quality_gate",
        "finalize",
    ]
    assert agent.graph.name == "agent_run"
    assert result.usage["input_tokens"] > 0
    request = model.requests[0]
    assert request.messages[0].role == "system"
    assert request.messages[0].text.startswith("Be brief.")
    assert request.messages[-1].text == "Say hello"
    assert request.metadata["call_index"] == 0


async def test_a_run_with_tools_passes_governance_and_dispatch_and_journals_every_call() -> None:
    model = RecordingModel([ToolCall("search_docs", {"query": "layout"}), "The repo has a kernel."])
    agent = make_agent(model, tools=[search_docs])
    result = await agent.run("Summarize this repository")

    assert result.status == "completed"
    assert _paths(result) == [
        "intake",
        "harness/context_build",
        "harness/model_call",
        "harness/governance",
        "harness/tool_dispatch",
        "harness/context_build",
        "harness/model_call",
        "harness/quality_gate",
        "finalize",
    ]
    journal = await agent.interpreter.store.journal(result.run_id)
    assert sorted(e.name for e in journal) == ["model", "model", "tool:search_docs"]
    assert all(e.status == "done" for e in journal)
    assert "search_docs" in repr(agent)
    trace = str(result.trace)
    assert "harness/tool_dispatch" in trace


async def test_a_structured_task_and_run_context_shape_the_request() -> None:
    model = RecordingModel(["ok", "ok"])
    agent = make_agent(
        model, instructions="You review code.", generation=Generation(max_output_tokens=512, temperature=0.2)
    )
    task = RuntimeTask(
        goal="Refactor the runtime API",
        input={"scope": "agent + runtime kernel"},
        criteria=("preserve public API", "keep tests green"),
    )
    context = RunContext(inputs={"ticket": "LF-12"}, knowledge=("Deployment must use release controls.",))
    await agent.run(task, context=context)
    await agent.run("A plain follow-up")

    first, second = model.requests
    system = system_text(first)
    assert "Goal: Refactor the runtime API" in system
    assert "- preserve public API\n- keep tests green" in system
    assert "- ticket: LF-12" in system
    assert "## Knowledge\n- Deployment must use release controls." in system
    assert first.messages[-1].text == "Refactor the runtime API\n\nInput:\n- scope: agent + runtime kernel"
    assert first.generation == {"max_output_tokens": 512, "temperature": 0.2}
    # Run context is scoped to its run.
    assert "LF-12" not in system_text(second)
    assert "release controls" not in system_text(second)


async def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="anthropic:<model>"):
        Agent("claude")  # a string must name its provider
    with pytest.raises(TypeError, match="model provider"):
        Agent(42)  # type: ignore[arg-type]
    agent = make_agent(RecordingModel([]))
    with pytest.raises(TypeError, match="RuntimeTask"):
        await agent.run(42)  # type: ignore[arg-type]


async def test_the_default_store_is_sqlite_under_dot_loomflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    agent = Agent(Model.scripted(["stored"]))
    result = await agent.run("go", run_id="my-run")
    await agent.close()
    assert (tmp_path / ".loomflow" / "loomflow.db").exists()

    reader = Agent(Model.scripted([]))
    stored = await reader.result("my-run")
    assert (stored.status, stored.output) == ("completed", "stored")
    assert [r.step for r in await reader.history("my-run")] == [r.step for r in result.records]
    await reader.close()


async def test_cancel_a_waiting_run() -> None:
    @tool(require_approval=True)
    def deploy() -> str:
        """Deploy."""
        return "deployed"

    agent = make_agent(RecordingModel([ToolCall("deploy"), "done"]), tools=[deploy])
    paused = await agent.run("Deploy")
    await agent.cancel(paused.run_id)
    assert (await agent.result(paused.run_id)).status == "cancelled"
    with pytest.raises(InvalidTransition, match="fork"):
        await agent.resume(paused.run_id, "approve")


async def test_fork_a_finished_run_from_its_last_model_call() -> None:
    model = RecordingModel([ToolCall("search_docs", {"query": "x"}), "first answer"])
    agent = Agent(model, tools=[search_docs], checkpoint_store=MemoryStore(), ids=sequential_ids("r"))
    original = await agent.run("go")
    last_call = [r.step for r in original.records if r.node_path == "harness/model_call"][-1]

    branch = await agent.fork(original.run_id, at=last_call)

    assert branch.run_id != original.run_id
    assert (branch.status, branch.output) == ("completed", "first answer")
    assert (await agent.result(original.run_id)).status == "completed"
    assert [r.step for r in await agent.history(branch.run_id)][-1] > last_call
