"""A turn that pauses for one call's approval keeps the decisions it made for the others: their hooks,
vetoes and rate limits are not asked again when the run goes on."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent_helpers import RecordingModel, make_agent, result_texts

from loomflow import GovernancePolicy, RateLimit, Runtime, ToolCall, tool


async def test_calls_decided_before_an_approval_pause_are_not_decided_again() -> None:
    @tool(read_only=True)
    def look(name: str) -> str:
        """Look something up."""
        return f"{name} is fine"

    @tool(require_approval=True)
    def deploy(env: str) -> str:
        """Deploy the service."""
        return f"deployed to {env}"

    asked: Counter[str] = Counter()

    def before_tool(**event: Any) -> None:
        asked[event["call_id"]] += 1

    turn = [ToolCall("look", {"name": "db"}, id="l1"), ToolCall("deploy", {"env": "prod"}, id="d1")]
    policy = GovernancePolicy(rate_limits=[RateLimit("look", per_run=1)])
    agent = make_agent(RecordingModel([turn, "done"]), tools=[look, deploy], runtime=Runtime(governance=policy))
    agent.on("before_tool", before_tool)
    paused = await agent.run("check and ship")
    assert paused.status == "interrupted"

    done = await agent.resume(paused.run_id, "approve")

    assert done.status == "completed", done.error
    assert asked == {"l1": 1, "d1": 1}  # the look call's hook ran once, before the pause
    assert result_texts(done.state.messages) == {"l1": "db is fine", "d1": "deployed to prod"}  # not rate-limited
    assert [e["tool"] for e in done.state.rate_log] == ["look"]
