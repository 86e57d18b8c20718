"""``Agent.lint()`` = ``graph.lint()`` + ``lint_tools``: a destructive tool that can run without anyone
approving it is reported (with the fix), as are rules, limits and skills that name no tool."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import RecordingModel, make_agent

from loomflow import Capability, GovernancePolicy, RateLimit, Rule, Runtime, tool
from loomflow.tools import Tool, ToolRegistry, lint_tools


def drop(**flags: Any) -> Tool:
    @tool(destructive=True, **flags)
    def drop_table(name: str) -> str:
        """Drop a database table."""
        return name

    return drop_table


@tool(read_only=True)
def count(name: str) -> int:
    """Count the rows of a table."""
    return 0


def lint(policy: GovernancePolicy, *tools: Tool, capabilities: Any = ()) -> list[str]:
    runtime = Runtime(governance=policy)
    return make_agent(RecordingModel([]), tools=list(tools), capabilities=capabilities, runtime=runtime).lint()


def test_a_destructive_tool_without_approval_is_reported_with_the_fix() -> None:
    assert lint(GovernancePolicy(), drop(), count) == [
        "destructive tool 'drop_table' can run without approval: set require_approval=True on the tool, "
        "add Rule.ask('drop_table'), or use GovernancePolicy(require_approval_for_destructive=True)"
    ]


@pytest.mark.parametrize(
    ("policy", "flags"),
    [
        (GovernancePolicy(), {"require_approval": True}),
        (GovernancePolicy(require_approval_for_destructive=True), {}),
        (GovernancePolicy(rules=[Rule.ask("drop_*")]), {}),
        (GovernancePolicy(rules=[Rule.deny("drop_table")]), {}),
        (GovernancePolicy(read_only=True), {}),
    ],
)
def test_any_approval_path_satisfies_the_check(policy: GovernancePolicy, flags: dict[str, Any]) -> None:
    assert lint(policy, drop(**flags)) == []


def test_an_allow_rule_for_every_call_defeats_the_approval() -> None:
    [problem] = lint(GovernancePolicy(require_approval_for_destructive=True, rules=[Rule.allow("drop_table")]), drop())
    assert "Rule.allow('drop_table') lets every call through" in problem
    narrow = GovernancePolicy(require_approval_for_destructive=True, rules=[Rule.allow("drop_table", name="tmp_*")])
    assert lint(narrow, drop()) == []


def test_a_shell_without_approval_is_reported() -> None:
    assert lint(GovernancePolicy(), capabilities=[Capability.shell(require_approval=False)])[0].startswith(
        "destructive tool 'shell' can run without approval"
    )
    assert lint(GovernancePolicy(), capabilities=[Capability.shell()]) == []


def test_rules_limits_and_skills_naming_no_tool_are_reported() -> None:
    policy = GovernancePolicy(rules=[Rule.deny("shel")], rate_limits=[RateLimit("web_*", per_run=3)])
    skill = Capability.skill("audit", content="...", allowed_tools=["count", "grep"])
    assert lint(policy, count, capabilities=[skill]) == [
        "Rule.deny('shel') matches no tool of this agent; known tools: count, activate_skill",
        "RateLimit('web_*') matches no tool of this agent; known tools: count, activate_skill",
        "skill 'audit' allows unknown tools 'grep'",
    ]


def test_lint_tools_is_usable_on_a_registry() -> None:
    assert lint_tools(ToolRegistry([count]), GovernancePolicy()) == []
    assert make_agent(RecordingModel([])).lint() == []  # the default agent's graph is clean
