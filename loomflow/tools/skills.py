"""Skills: task-specific instructions loaded only when needed.

    Capability.skill("review", content="# Review\\nCheck the diff...", when_to_use="review, diff",
                     allowed_tools=["read_file", "grep"])
    Capability.skills("skills/")          # every skills/**/SKILL.md

Only the index (name, description, when to use) enters the system prompt. A skill becomes active when
the model calls ``activate_skill(name)`` (the tool's result is the full skill), or, before any such
call, when a phrase of its ``when_to_use`` appears in the task (its content then joins the system
prompt). While a skill with ``allowed_tools`` is active, governance refuses every other tool (except
``activate_skill``, so the model can switch). The active skill is read from the run's own messages
and task, so it survives resume and is the same in every process.

A ``SKILL.md`` starts with front matter::

    ---
    name: review
    description: Review a change
    when_to_use: review, diff
    allowed_tools: [read_file, grep]
    ---
    # Review
    ...
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loomflow.messages import Message, ToolCallPart
from loomflow.tools.tool import Tool, tool

__all__ = ["ACTIVATE", "Skill", "activate_skill_tool", "active_skill", "load_skill_file", "skills_index"]

ACTIVATE = "activate_skill"
_KEYS = {
    "name": "name",
    "description": "description",
    "when_to_use": "when_to_use",
    "when-to-use": "when_to_use",
    "when to use": "when_to_use",
    "allowed_tools": "allowed_tools",
    "allowed-tools": "allowed_tools",
    "allowed tools": "allowed_tools",
}


@dataclasses.dataclass(frozen=True)
class Skill:
    """One skill: its index entry (name, description, when to use), its content, and the tools it allows
    (``None``: any tool).

    >>> Skill("review", "# Review", when_to_use="review, diff").phrases()
    ('review', 'diff')
    """

    name: str
    content: str
    description: str = ""
    when_to_use: str = ""
    allowed_tools: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w.-]{1,64}", self.name):
            raise ValueError(f"skill name {self.name!r}: use letters, digits, '_', '-' or '.' (at most 64)")

    def phrases(self) -> tuple[str, ...]:
        """The ``when_to_use`` phrases that activate the skill when the task mentions one."""
        return tuple(p.strip().lower() for p in re.split(r"[,;\n]", self.when_to_use) if p.strip())

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", lowered) for p in self.phrases())

    def allows(self, tool_name: str) -> bool:
        return self.allowed_tools is None or tool_name == ACTIVATE or tool_name in self.allowed_tools

    def activation_text(self) -> str:
        allowed = "any tool" if self.allowed_tools is None else ", ".join(self.allowed_tools) or "no tools"
        return f"Skill {self.name!r} is active (allowed tools: {allowed}).\n\n{self.content.strip()}"


def _value(raw: str) -> str | tuple[str, ...]:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        return tuple(v.strip().strip("'\"") for v in raw[1:-1].split(",") if v.strip())
    return raw.strip("'\"")


def parse_skill(text: str, *, default_name: str, origin: str) -> Skill:
    """A skill from ``SKILL.md`` text: simple ``key: value`` front matter (lists as ``[a, b]``, ``- a``
    lines, or space/comma separated ``allowed_tools``), then the content."""
    meta: dict[str, Any] = {}
    body = text
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            raise ValueError(f"{origin}: front matter opened with '---' is never closed")
        key: str | None = None
        for line in lines[1:end]:
            item = re.match(r"\s*-\s+(.*)", line)
            if item and key is not None:
                previous = meta.get(key, ())
                meta[key] = (*(previous if isinstance(previous, tuple) else ()), item.group(1).strip().strip("'\""))
                continue
            pair = re.match(r"\s*([A-Za-z_ -]+?)\s*:\s*(.*)", line)
            if pair is None:
                continue
            key = _KEYS.get(pair.group(1).strip().lower())
            if key is not None and pair.group(2).strip():
                meta[key] = _value(pair.group(2))
        body = "\n".join(lines[end + 1 :])
    allowed = meta.get("allowed_tools")
    if isinstance(allowed, str):
        allowed = tuple(a for a in re.split(r"[,\s]+", allowed) if a)
    return Skill(
        name=str(meta.get("name") or default_name),
        content=body.strip(),
        description=str(meta.get("description", "")),
        when_to_use=str(meta.get("when_to_use", "")),
        allowed_tools=allowed,
    )


def load_skill_file(path: Path) -> Skill:
    """A ``SKILL.md`` file; the skill is named after its directory unless the front matter names it."""
    return parse_skill(path.read_text(encoding="utf-8"), default_name=path.parent.name, origin=str(path))


def skills_index(skills: Sequence[Skill]) -> str:
    """The system prompt's section listing the skills (never their content)."""
    lines = [f"Call {ACTIVATE}(name) to load a skill's full instructions before doing its kind of work."]
    for s in skills:
        when = f" Use when: {s.when_to_use}." if s.when_to_use else ""
        lines.append(f"- {s.name}: {s.description or 'no description'}.{when}")
    return "## Skills\n" + "\n".join(lines)


def active_skill(skills: Sequence[Skill], messages: Sequence[Message], task: str) -> tuple[Skill | None, bool]:
    """The active skill and whether it came from the task's keywords (then its content belongs in the
    prompt): the latest successful ``activate_skill`` call wins, else the first skill the task matches."""
    if not skills:
        return None, False
    by_name = {s.name: s for s in skills}
    calls: dict[str, ToolCallPart] = {}
    chosen: Skill | None = None
    for msg in messages:
        for call in msg.tool_calls:
            if call.name == ACTIVATE:
                calls[call.id] = call
        for result in msg.tool_results:
            made = calls.get(result.call_id)
            if made is not None and not result.is_error and made.arguments.get("name") in by_name:
                chosen = by_name[made.arguments["name"]]
    if chosen is not None:
        return chosen, False
    matched = next((s for s in skills if s.matches(task)), None)
    return matched, matched is not None


def activate_skill_tool(skills: Sequence[Skill]) -> Tool:
    """The ``activate_skill`` tool: its result is the skill's full content (the skill's "load")."""
    by_name = {s.name: s for s in skills}

    @tool(name=ACTIVATE, read_only=True)
    def activate(name: str) -> str:
        """Activate a skill by name: returns its full instructions, and restricts tools to those it allows.

        Args:
            name: the skill's name, as listed in the system prompt
        """
        found = by_name.get(name)
        if found is None:
            raise ValueError(f"no skill named {name!r}; skills: {', '.join(by_name) or 'none'}")
        return found.activation_text()

    return activate
