"""``lint_tools``: static checks of an agent's tools against its governance policy.

``Agent.lint()`` returns ``graph.lint() + lint_tools(agent.tools, agent.runtime.governance, skills=...,
delegation=agent.runtime.delegation)``.
The graph's nodes are shared by every agent, so these agent-specific rules live here rather than in a
node's ``lint_problems()``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from loomflow.tools.registry import ToolRegistry
from loomflow.tools.skills import ACTIVATE, Skill

if TYPE_CHECKING:
    from loomflow.agent.delegation import DelegationPolicy
    from loomflow.agent.governance import GovernancePolicy

__all__ = ["lint_tools"]


def lint_tools(
    registry: ToolRegistry,
    policy: GovernancePolicy,
    *,
    skills: Sequence[Skill] = (),
    delegation: DelegationPolicy | None = None,
) -> list[str]:
    """Problems, each naming the tool and the fix: a destructive tool that can run without anyone
    approving it; a rule or rate limit that names no tool; a skill allowing a tool that does not exist.
    With ``delegation`` enabled, the ``delegate`` tool it adds at run time counts as a tool.

    >>> from loomflow import tool
    >>> from loomflow.agent.governance import GovernancePolicy
    >>> @tool(destructive=True)
    ... def drop_table(name: str) -> str:
    ...     '''Drop a table.'''
    ...     return name
    >>> lint_tools(ToolRegistry([drop_table]), GovernancePolicy())[0][:33]
    "destructive tool 'drop_table' can"
    """
    problems: list[str] = []
    names = registry.names()
    if delegation is not None and delegation.max_depth > 0:  # as tool_dispatch decides it
        names.append(delegation.tool().name)
    for tool in registry:
        if not tool.destructive or policy.read_only:
            continue
        if any(r.action == "deny" and r.covers_every_call_of(tool.name) for r in policy.rules):
            continue  # never runs
        blanket = next((r for r in policy.rules if r.action == "allow" and r.covers_every_call_of(tool.name)), None)
        if blanket is not None:
            problems.append(
                f"destructive tool {tool.name!r} can run without approval: {blanket.describe()} lets every "
                f"call through; narrow it with argument patterns"
            )
            continue
        asked = any(r.action == "ask" and r.covers_every_call_of(tool.name) for r in policy.rules)
        if tool.require_approval or policy.require_approval_for_destructive or asked:
            continue
        problems.append(
            f"destructive tool {tool.name!r} can run without approval: set require_approval=True on the tool, "
            f"add Rule.ask({tool.name!r}), or use GovernancePolicy(require_approval_for_destructive=True)"
        )
    for rule in policy.rules:
        if not any(fnmatch.fnmatchcase(n, rule.tool) for n in names):
            problems.append(f"{rule.describe()} matches no tool of this agent; known tools: {', '.join(names)}")
    for limit in policy.rate_limits:
        if not any(limit.applies(n) for n in names):
            problems.append(f"RateLimit({limit.tool!r}) matches no tool of this agent; known tools: {', '.join(names)}")
    for skill in skills:
        unknown = [t for t in skill.allowed_tools or () if t not in names and t != ACTIVATE]
        if unknown:
            problems.append(f"skill {skill.name!r} allows unknown tools {', '.join(map(repr, unknown))}")
    return problems
