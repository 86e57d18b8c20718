"""``GovernancePolicy`` in runs: every rule kind, read-only mode, destructive approval, the veto, and
rate limits (per run, per window, and across a resume in a fresh agent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import Agent, FakeClock, GovernancePolicy, RateLimit, Rule, Runtime, ToolCall, tool
from loomflow.messages import ModelRequest, ToolCallPart
from loomflow.tools import Tool


def toolset(ran: list[str]) -> list[Tool]:
    @tool(read_only=True)
    def fetch(url: str) -> str:
        """Fetch a page."""
        ran.append(f"fetch {url}")
        return f"page {url}"

    @tool(destructive=True)
    def rm(path: str) -> str:
        """Remove a file."""
        ran.append(f"rm {path}")
        return f"removed {path}"

    @tool(require_approval=True)
    def deploy(env: str) -> str:
        """Deploy the service."""
        ran.append(f"deploy {env}")
        return f"deployed to {env}"

    return [fetch, rm, deploy]


def agent_for(ran: list[str], turns: list[Any], policy: GovernancePolicy, **kwargs: Any) -> Agent:
    return make_agent(RecordingModel(turns), tools=toolset(ran), runtime=Runtime(governance=policy), **kwargs)


async def test_deny_rules_match_tool_and_argument_patterns() -> None:
    ran: list[str] = []
    policy = GovernancePolicy(rules=[Rule.deny("rm", path="/*", reason="never outside the workspace")])
    turn = [ToolCall("rm", {"path": "/etc/hosts"}, id="abs"), ToolCall("rm", {"path": "build/x"}, id="rel")]
    result = await agent_for(ran, [turn, "ok"], policy).run("clean")

    assert result_texts(result.state.messages) == {
        "abs": "denied: never outside the workspace",
        "rel": "removed build/x",
    }
    assert ran == ["rm build/x"]


async def test_ask_rules_pause_and_allow_rules_pre_approve() -> None:
    ran: list[str] = []
    policy = GovernancePolicy(rules=[Rule.ask("fetch", url="*internal*"), Rule.allow("deploy", env="staging")])
    turn = [
        ToolCall("fetch", {"url": "https://internal.example/x"}, id="f1"),
        ToolCall("deploy", {"env": "staging"}, id="d1"),
        ToolCall("deploy", {"env": "prod"}, id="d2"),
    ]
    agent = agent_for(ran, [turn, "ok"], policy)
    paused = await agent.run("ship")

    assert paused.status == "interrupted"
    asked = {i.payload["call_id"]: i.prompt for i in paused.interrupts}
    assert sorted(asked) == ["d2", "f1"]  # staging was pre-approved by the allow rule
    assert "Rule.ask('fetch', url='*internal*') asks for approval" in asked["f1"]
    assert "'deploy' requires approval" in asked["d2"]
    assert ran == []

    by_call = {i.payload["call_id"]: i.id for i in paused.interrupts}
    result = await agent.resume(paused.run_id, values={by_call["f1"]: "approve", by_call["d2"]: "deny"})
    assert result.status == "completed", result.error
    assert result_texts(result.state.messages)["d2"] == "denied: denied by the reviewer"
    assert ran == ["fetch https://internal.example/x", "deploy staging"]


@pytest.mark.parametrize("flag", [True, False])
async def test_destructive_tools_need_approval_when_the_policy_says_so(flag: bool) -> None:
    ran: list[str] = []
    policy = GovernancePolicy(require_approval_for_destructive=flag)
    result = await agent_for(ran, [ToolCall("rm", {"path": "a"}, id="r1"), "ok"], policy).run("go")
    if flag:
        assert result.status == "interrupted"
        assert result.interrupt is not None
        assert "'rm' is destructive" in result.interrupt.prompt
        assert ran == []
    else:
        assert ran == ["rm a"]


async def test_read_only_mode_runs_only_read_only_tools() -> None:
    ran: list[str] = []
    turn = [
        ToolCall("fetch", {"url": "u"}, id="f"),
        ToolCall("rm", {"path": "a"}, id="r"),
        ToolCall("deploy", {"env": "x"}, id="d"),
    ]
    result = await agent_for(ran, [turn, "ok"], GovernancePolicy(read_only=True)).run("go")

    assert result.status == "completed"  # deploy was refused, not asked about
    assert result_texts(result.state.messages) == {
        "f": "page u",
        "r": "denied: read-only mode: 'rm' is not a read-only tool",
        "d": "denied: read-only mode: 'deploy' is not a read-only tool",
    }
    assert ran == ["fetch u"]


async def test_the_veto_refuses_with_its_reason_sync_or_async() -> None:
    seen: list[ToolCallPart] = []

    def veto(call: ToolCallPart) -> str | None:
        seen.append(call)
        return "production is frozen" if "prod" in call.arguments.get("url", "") else None

    async def async_veto(call: ToolCallPart) -> str | None:
        return veto(call)

    for v in (veto, async_veto):
        ran: list[str] = []
        turn = [ToolCall("fetch", {"url": "prod/a"}, id="p"), ToolCall("fetch", {"url": "dev/a"}, id="d")]
        result = await agent_for(ran, [turn, "ok"], GovernancePolicy(veto=v)).run("go")
        assert result_texts(result.state.messages) == {"p": "denied: production is frozen", "d": "page dev/a"}
        assert ran == ["fetch dev/a"]
    assert [c.id for c in seen] == ["p", "d", "p", "d"]


async def test_a_per_run_rate_limit() -> None:
    ran: list[str] = []
    turns = [
        [ToolCall("fetch", {"url": "1"}, id="a"), ToolCall("fetch", {"url": "2"}, id="b")],
        ToolCall("fetch", {"url": "3"}, id="c"),
        "ok",
    ]
    policy = GovernancePolicy(rate_limits=[RateLimit("fetch", per_run=2)])
    result = await agent_for(ran, turns, policy).run("go")

    assert (
        result_texts(result.state.messages)["c"] == "denied: rate limit: 'fetch' may be called at most 2 times in a run"
    )
    assert ran == ["fetch 1", "fetch 2"]
    assert [e["tool"] for e in result.state.rate_log] == ["fetch", "fetch"]


async def test_a_windowed_rate_limit_counts_on_the_runs_clock() -> None:
    ran: list[str] = []
    clock = FakeClock()

    def later(seconds: float, call: ToolCall) -> Any:
        def respond(request: ModelRequest) -> ToolCall:
            clock.advance(seconds)
            return call

        return respond

    turns = [
        ToolCall("fetch", {"url": "1"}, id="a"),
        later(10, ToolCall("fetch", {"url": "2"}, id="b")),
        later(60, ToolCall("fetch", {"url": "3"}, id="c")),
        "ok",
    ]
    policy = GovernancePolicy(rate_limits=[RateLimit("fe*", per_window=1, window=60)])
    result = await agent_for(ran, turns, policy, clock=clock).run("go")

    texts = result_texts(result.state.messages)
    assert texts["b"] == "denied: rate limit: 'fe*' may be called at most 1 times in 60s; try again in 50s"
    assert texts["c"] == "page 3"
    assert ran == ["fetch 1", "fetch 3"]


async def test_rate_limit_counts_survive_a_resume_in_a_fresh_agent(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    policy = GovernancePolicy(rate_limits=[RateLimit("fetch", per_run=1)])
    turns: list[Any] = [
        ToolCall("fetch", {"url": "1"}, id="a"),
        ToolCall("deploy", {"env": "x"}, id="d"),
        ToolCall("fetch", {"url": "2"}, id="b"),
        "ok",
    ]
    first: list[str] = []
    agent = agent_for(first, turns, policy, checkpoint_store=db)
    paused = await agent.run("go")
    await agent.close()
    assert paused.status == "interrupted"
    assert first == ["fetch 1"]

    second: list[str] = []
    fresh = agent_for(second, turns, policy, checkpoint_store=db)
    result = await fresh.resume(paused.run_id, "approve")
    await fresh.close()

    assert result.status == "completed", result.error
    assert second == ["deploy x"]  # fetch 1 is never re-run, and fetch 2 is over the limit
    assert result_texts(result.state.messages)["b"].startswith("denied: rate limit: 'fetch' may be called at most 1")


async def test_each_decision_is_an_event_and_in_the_governance_step() -> None:
    ran: list[str] = []
    policy = GovernancePolicy(rules=[Rule.deny("rm")])
    turn = [ToolCall("fetch", {"url": "u"}, id="f"), ToolCall("rm", {"path": "a"}, id="r")]
    agent = agent_for(ran, [turn, "ok"], policy)
    events = [e async for e in agent.stream("go")]

    decided = {e.data["call_id"]: e.data for e in events if e.kind == "governance_decision"}
    assert decided["f"] == {"call_id": "f", "action": "allow", "by": "default"}
    assert decided["r"] == {
        "call_id": "r",
        "action": "deny",
        "reason": "refused by Rule.deny('rm')",
        "by": "rule",
        "rule": "Rule.deny('rm')",
    }
    run_id = events[0].run_id
    [step] = [s for s in await agent.history(run_id) if s.node_path.endswith("governance")]
    assert json.loads(step.writes)["decisions"]["r"]["by"] == "rule"


def test_rules_and_limits_are_checked_when_built() -> None:
    assert Rule.deny("shell", command="rm *").matches("shell", {"command": "rm -rf /"})
    assert not Rule.deny("shell", command="rm *").matches("shell", {"command": "ls"})
    assert not Rule.deny("shell", command="rm *").matches("shell", {})
    assert Rule.ask("mcp_*").matches("mcp_search", {"q": 1})
    assert Rule.allow("f", arguments={"reason": "x*"}).matches("f", {"reason": "xyz"})  # an argument named reason
    assert Rule.deny("f", n="[0-4]").matches("f", {"n": 3})  # non-strings match as JSON
    with pytest.raises(ValueError, match="needs per_run=, per_window=, or both"):
        RateLimit("fetch")
    with pytest.raises(TypeError, match="rules take Rule"):
        GovernancePolicy(rules=["deny shell"])  # type: ignore[list-item]
    assert Runtime().governance == GovernancePolicy.default()
