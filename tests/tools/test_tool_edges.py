"""Edges of ``@tool`` and ``tool_dispatch``: sync tools on loomflow's own daemon threads (a hung tool
neither holds ``run_sync`` nor starves later tools), signatures refused at decoration, nested results
rendered as JSON, artifacts kept in a turn that also delegates, and lint with delegation on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import importlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, result_texts
from pydantic import BaseModel

from loomflow import Agent, Artifact, Model, Runtime, ToolCall, tool
from loomflow.agent.delegation import DelegationPolicy
from loomflow.agent.governance import GovernancePolicy, Rule
from loomflow.tools import ToolRegistry, lint_tools
from loomflow.tools.skills import Skill
from loomflow.tools.tool import ToolTimeout, render_result

tool_module = importlib.import_module("loomflow.tools.tool")  # the package's `tool` attribute is the decorator


def test_run_sync_returns_at_the_timeout_while_the_hung_sync_tool_goes_on() -> None:
    release = threading.Event()
    threads: list[str] = []

    @tool(timeout=0.2)
    def hang() -> str:
        """Hang until released."""
        threads.append(threading.current_thread().name)
        release.wait(30)
        return "late"

    agent = make_agent(RecordingModel([ToolCall("hang", {}, id="h1"), "done"]), tools=[hang])
    started = time.monotonic()
    try:
        result = agent.run_sync("go")
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert result.status == "completed", result.error
    assert result_texts(result.state.messages)["h1"].startswith("tool 'hang' timed out after 0.2s")
    assert elapsed < 5  # not held until the tool ends (30 s)
    assert threads == ["loomflow-tool"]


async def test_hung_sync_tools_do_not_starve_later_ones() -> None:
    release = threading.Event()
    ran: list[int] = []

    @tool(timeout=0.1)
    def hang(i: int) -> str:
        """Hang until released."""
        release.wait(30)
        return "late"

    @tool(timeout=2.0)
    def instant() -> str:
        """Answer at once."""
        ran.append(1)
        return "ok"

    # more hung calls than asyncio's default executor has workers
    hung = min(32, (os.cpu_count() or 1) + 4) + 2
    try:
        outcomes = await asyncio.gather(*(hang.invoke({"i": i}) for i in range(hung)), return_exceptions=True)
        assert all(isinstance(o, ToolTimeout) for o in outcomes)
        assert await instant.invoke({}) == ("ok", None)
    finally:
        release.set()
    assert ran == [1]


def slow_to_start(monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    """Make every sync call wait ``delay`` seconds for its thread (as on a loaded machine)."""

    def submit(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                future.set_result(fn())

        threading.Timer(delay, run).start()
        return future

    monkeypatch.setattr(tool_module._workers, "submit", submit)


async def test_a_sync_tools_timeout_counts_from_when_its_thread_began(monkeypatch: pytest.MonkeyPatch) -> None:
    slow_to_start(monkeypatch, 0.5)

    @tool(timeout=0.2)
    def quick() -> str:
        """Answer at once."""
        return "ok"

    assert await quick.invoke({}) == ("ok", None)


def test_a_positional_only_argument_is_refused_at_decoration() -> None:
    with pytest.raises(TypeError, match=r"argument 'a' is positional-only.*remove the '/'"):

        @tool
        def f(a: int, /) -> int:
            """Echo."""
            return a


def test_an_argument_named_model_config_is_refused_at_decoration() -> None:
    with pytest.raises(TypeError, match=r"cannot be named 'model_config'.*rename it"):

        @tool
        def f(model_config: str) -> str:
            """Echo."""
            return model_config


class Point(BaseModel):
    x: int


@dataclasses.dataclass
class Pair:
    a: int
    b: str


def test_models_and_dataclasses_nested_in_results_render_as_json() -> None:
    rendered = render_result({"points": [Point(x=1)], "pair": Pair(1, "b"), "tags": {"t"}, "when": time.time})
    assert (
        rendered
        == '{"points": [{"x": 1}], "pair": {"a": 1, "b": "b"}, "tags": ["t"], "when": "<built-in function time>"}'
    )
    assert render_result([Pair(2, "é")]) == '[{"a": 2, "b": "é"}]'


async def test_an_artifact_saved_in_a_turn_that_also_delegates_is_kept() -> None:
    @tool
    def report() -> Artifact:
        """Write a report."""
        return Artifact("report.md", "# Report\nall good")

    calls = [ToolCall("report", {}, id="r1"), ToolCall("delegate", {"task": "say hi"}, id="d1")]
    model = RecordingModel([calls, "hi", "done"])
    agent = make_agent(model, tools=[report], runtime=Runtime(delegation=DelegationPolicy.depth_limited(1)))

    result = await agent.run("go")

    assert result.status == "completed", result.error
    assert result_texts(result.state.messages)["d1"] == "hi"
    assert [a["name"] for a in result.state.artifacts] == ["report.md"]


def test_lint_counts_the_delegate_tool_when_delegation_is_on() -> None:
    @tool
    def a() -> str:
        """Tool a."""
        return "a"

    policy = GovernancePolicy(rules=[Rule.ask("delegate")])
    skills = [Skill("plan", "plan", allowed_tools=("a", "delegate"))]
    registry = ToolRegistry([a])

    assert lint_tools(registry, policy, skills=skills, delegation=DelegationPolicy.depth_limited(1)) == []
    off = lint_tools(registry, policy, skills=skills, delegation=DelegationPolicy.depth_limited(0))
    assert off == [
        "Rule.ask('delegate') matches no tool of this agent; known tools: a",
        "skill 'plan' allows unknown tools 'delegate'",
    ]
    runtime = Runtime(governance=policy, delegation=DelegationPolicy.depth_limited(1))
    assert Agent(Model.scripted(["ok"]), tools=[a], runtime=runtime).lint() == []  # Agent.lint passes it on
