"""The fixed decision order (``loomflow.agent.governance``): each case pits a step against a later step
that would decide differently, and the earlier one must win (later checks are not even consulted)."""

from __future__ import annotations

from typing import Any

from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import (
    Agent,
    Ask,
    Capability,
    Deny,
    GovernancePolicy,
    MemoryStore,
    RateLimit,
    Rule,
    Runtime,
    ToolCall,
    tool,
)
from loomflow.messages import ToolCallPart
from loomflow.tools import Tool


class Probe:
    """Counts the veto and hook consultations; its tools record what ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.vetoed: list[str] = []
        self.hooked: list[str] = []

    def veto(self, call: ToolCallPart) -> str | None:
        self.vetoed.append(call.id)
        return "vetoed" if call.arguments.get("path") == "veto-me" else None

    def tools(self) -> list[Tool]:
        @tool(destructive=True)
        def rm(path: str) -> str:
            """Remove a file."""
            self.ran.append(f"rm {path}")
            return f"removed {path}"

        @tool(read_only=True)
        def ls(path: str) -> str:
            """List a folder."""
            self.ran.append(f"ls {path}")
            return f"listed {path}"

        return [rm, ls]

    def agent(self, turn: list[ToolCall], policy: GovernancePolicy, hook: Any = None, **kwargs: Any) -> Agent:
        kwargs.setdefault("runtime", Runtime(governance=policy))
        agent = make_agent(RecordingModel([turn, "ok"]), tools=self.tools(), **kwargs)

        def record(**event: Any) -> Any:
            self.hooked.append(event["call_id"])
            return hook  # None: observe only

        agent.on("before_tool", record)
        return agent


def rm(path: str, id: str = "c") -> list[ToolCall]:
    return [ToolCall("rm", {"path": path}, id=id)]


async def texts(agent: Agent) -> dict[str, str]:
    result = await agent.run("go")
    assert result.status == "completed", (result.status, result.error)
    return result_texts(result.state.messages)


async def test_1_a_malformed_call_passes_to_dispatch_even_in_read_only_mode() -> None:
    p = Probe()
    agent = p.agent([ToolCall("nope", {}, id="c")], GovernancePolicy(read_only=True, veto=p.veto))
    assert (await texts(agent))["c"].startswith("unknown tool 'nope'")
    assert p.vetoed == []


async def test_2_an_answered_approval_beats_a_deny_rule_added_before_the_resume() -> None:
    p = Probe()
    store = MemoryStore()
    asking = p.agent(rm("a"), GovernancePolicy(require_approval_for_destructive=True), checkpoint_store=store)
    paused = await asking.run("go")
    assert paused.status == "interrupted"

    stricter = GovernancePolicy(rules=[Rule.deny("rm")], require_approval_for_destructive=True)
    result = await p.agent(rm("a"), stricter, checkpoint_store=store).resume(paused.run_id, "approve")
    assert result_texts(result.state.messages) == {"c": "removed a"}


async def test_3_read_only_mode_beats_an_allow_rule() -> None:
    p = Probe()
    policy = GovernancePolicy(read_only=True, rules=[Rule.allow("rm")], veto=p.veto)
    assert await texts(p.agent(rm("a"), policy)) == {"c": "denied: read-only mode: 'rm' is not a read-only tool"}
    assert (p.ran, p.vetoed) == ([], [])


async def test_4_the_active_skill_beats_an_allow_rule() -> None:
    p = Probe()
    skill = Capability.skill("audit", content="Only look.", when_to_use="audit", allowed_tools=["ls"])
    runtime = Runtime(governance=GovernancePolicy(rules=[Rule.allow("rm")], veto=p.veto))
    agent = make_agent(RecordingModel([rm("a"), "ok"]), tools=p.tools(), capabilities=[skill], runtime=runtime)
    result = await agent.run("audit the folder")
    assert result_texts(result.state.messages) == {"c": "denied: skill 'audit' is active and allows only: ls"}
    assert p.vetoed == []


async def test_5_a_deny_rule_beats_an_allow_rule_the_veto_and_hooks() -> None:
    p = Probe()
    policy = GovernancePolicy(rules=[Rule.allow("rm"), Rule.deny("rm", path="/*")], veto=p.veto)
    agent = p.agent([*rm("/etc", "abs"), *rm("tmp", "rel")], policy)
    assert await texts(agent) == {"abs": "denied: refused by Rule.deny('rm', path='/*')", "rel": "removed tmp"}
    assert (p.vetoed, p.hooked) == (["rel"], ["rel"])


async def test_6_a_rate_limit_beats_the_veto() -> None:
    p = Probe()
    policy = GovernancePolicy(rate_limits=[RateLimit("ls", per_run=1)], veto=p.veto)
    turn = [ToolCall("ls", {"path": "1"}, id="a"), ToolCall("ls", {"path": "veto-me"}, id="b")]
    result = await texts(p.agent(turn, policy))
    assert result["b"] == "denied: rate limit: 'ls' may be called at most 1 times in a run"
    assert p.vetoed == ["a"]


async def test_7_the_veto_beats_hooks() -> None:
    p = Probe()
    agent = p.agent(rm("veto-me"), GovernancePolicy(veto=p.veto), hook=Ask("really?"))
    assert await texts(agent) == {"c": "denied: vetoed"}
    assert p.hooked == []


async def test_8_a_hook_beats_allow_rules_deny_and_ask() -> None:
    p = Probe()
    policy = GovernancePolicy(rules=[Rule.allow("rm")])
    assert await texts(p.agent(rm("a"), policy, hook=Deny("hooks say no"))) == {"c": "denied: hooks say no"}
    paused = await p.agent(rm("a"), policy, hook=Ask("hook asks")).run("go")
    assert paused.interrupt is not None
    assert paused.interrupt.prompt == "hook asks"
    assert p.ran == []


async def test_9_an_allow_rule_beats_approval_flags_and_10_the_rest_runs() -> None:
    p = Probe()
    policy = GovernancePolicy(rules=[Rule.allow("rm", path="tmp/*")], require_approval_for_destructive=True)
    agent = p.agent([*rm("tmp/x", "pre"), ToolCall("ls", {"path": "."}, id="plain")], policy)
    assert await texts(agent) == {"pre": "removed tmp/x", "plain": "listed ."}
    paused = await p.agent(rm("src"), policy).run("go")
    assert paused.status == "interrupted"
