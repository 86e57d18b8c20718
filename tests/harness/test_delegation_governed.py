"""Delegations pass governance like every other tool call: a configured policy is enforced on them too."""

from __future__ import annotations

from loomflow import Agent, DelegationPolicy, GovernancePolicy, MemoryStore, Model, Rule, Runtime, ToolCall


async def test_a_deny_rule_on_delegate_refuses_the_delegation_and_the_model_sees_why() -> None:
    model = Model.scripted([ToolCall("delegate", {"task": "sub task"}), "did it myself"], lanes={"delegate-0": ["x"]})
    runtime = Runtime(
        delegation=DelegationPolicy.depth_limited(1),
        governance=GovernancePolicy(rules=[Rule.deny("delegate", reason="no sub-agents today")]),
    )
    result = await Agent(model, runtime=runtime, checkpoint_store=MemoryStore()).run("big task")
    assert result.status == "completed"
    results = [p.content for m in result.state.messages for p in m.tool_results]
    assert results == ["denied: no sub-agents today"]
    assert model.unused("delegate-0") == [0]  # no child run was started


async def test_an_ask_rule_on_delegate_waits_for_approval() -> None:
    model = Model.scripted([ToolCall("delegate", {"task": "sub task"}), "done"], lanes={"delegate-0": ["sub done"]})
    runtime = Runtime(
        delegation=DelegationPolicy.depth_limited(1), governance=GovernancePolicy(rules=[Rule.ask("delegate")])
    )
    agent = Agent(model, runtime=runtime, checkpoint_store=MemoryStore())
    paused = await agent.run("big task")
    assert paused.status == "interrupted"
    assert paused.interrupt is not None
    assert paused.interrupt.kind == "approval"
    done = await agent.resume(paused.run_id, "approve")
    assert done.status == "completed"
    assert [p.content for m in done.state.messages for p in m.tool_results] == ["sub done"]
