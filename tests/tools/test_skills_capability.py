"""Skills: only the index enters the system prompt; the full skill loads when activated (by the
``activate_skill`` tool, or by the task's words); while a skill is active only its allowed tools run."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import RecordingModel, make_agent, system_text

from loomflow import Capability, ToolCall, tool
from loomflow.tools import Tool

REVIEW = "# Review\nRead the diff, list the risks, never edit files."


def tools(calls: list[str]) -> list[Tool]:
    @tool(read_only=True)
    def read_diff() -> str:
        """Read the pending diff."""
        calls.append("read_diff")
        return "+ new line"

    @tool
    def edit(text: str) -> str:
        """Edit the code."""
        calls.append("edit")
        return "edited"

    return [read_diff, edit]


def review_skill() -> Capability:
    return Capability.skill(
        "review", content=REVIEW, description="Review a change", when_to_use="review, diff", allowed_tools=["read_diff"]
    )


async def test_only_the_index_is_in_the_prompt_until_the_model_activates_the_skill() -> None:
    calls: list[str] = []
    turns = [
        ToolCall("edit", {"text": "before"}, id="e0"),
        ToolCall("activate_skill", {"name": "review"}, id="a1"),
        [ToolCall("read_diff", {}, id="r1"), ToolCall("edit", {"text": "x"}, id="e1")],
        "reviewed",
    ]
    model = RecordingModel(turns)
    agent = make_agent(model, tools=tools(calls), capabilities=[review_skill()])

    result = await agent.run("Look at the pending change")

    assert result.status == "completed", result.error
    first = system_text(model.requests[0])
    assert "## Skills" in first
    assert "- review: Review a change. Use when: review, diff." in first
    assert "never edit files" not in first  # the content is not in the prompt
    seen = {p.call_id: p for m in result.state.messages for p in m.tool_results}
    assert seen["e0"].content == "edited"  # no skill active yet: any tool runs
    assert seen["a1"].content.startswith("Skill 'review' is active (allowed tools: read_diff).")
    assert "never edit files" in seen["a1"].content  # activation loads the full skill
    assert seen["r1"].content == "+ new line"
    assert seen["e1"].is_error
    assert seen["e1"].content == "denied: skill 'review' is active and allows only: read_diff"
    assert calls == ["edit", "read_diff"]


async def test_the_tasks_words_activate_a_skill_from_the_first_turn() -> None:
    calls: list[str] = []
    turns = [[ToolCall("edit", {"text": "x"}, id="e1"), ToolCall("read_diff", {}, id="r1")], "ok"]
    model = RecordingModel(turns)
    agent = make_agent(model, tools=tools(calls), capabilities=[review_skill()])

    result = await agent.run("Please review this diff")

    assert "## Active skill\nSkill 'review' is active" in system_text(model.requests[0])
    assert "never edit files" in system_text(model.requests[0])
    seen = {p.call_id: p for m in result.state.messages for p in m.tool_results}
    assert seen["e1"].content.startswith("denied: skill 'review' is active")
    assert calls == ["read_diff"]


async def test_phrases_match_whole_words_only() -> None:
    model = RecordingModel(["ok"])
    await make_agent(model, capabilities=[review_skill()]).run("Reviewer notes are due")
    assert "## Skills" in system_text(model.requests[0])
    assert "Active skill" not in system_text(model.requests[0])


async def test_activating_an_unknown_skill_is_an_error_and_restricts_nothing() -> None:
    calls: list[str] = []
    turns = [ToolCall("activate_skill", {"name": "deploy"}, id="a1"), ToolCall("edit", {"text": "x"}, id="e1"), "ok"]
    result = await make_agent(RecordingModel(turns), tools=tools(calls), capabilities=[review_skill()]).run("go")
    seen = {p.call_id: p for m in result.state.messages for p in m.tool_results}
    assert seen["a1"].is_error
    assert "no skill named 'deploy'; skills: review" in seen["a1"].content
    assert calls == ["edit"]


def test_skill_files_are_loaded_with_their_front_matter(tmp_path: Path) -> None:
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "SKILL.md").write_text(
        "---\nname: code-review\ndescription: Review a change\nwhen to use: review, diff\n"
        "allowed-tools: [read_file, grep]\n---\n# Review\nSteps...\n"
    )
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "SKILL.md").write_text(
        "---\ndescription: Ship it\nwhen_to_use: deploy\nallowed_tools:\n  - shell\n---\nRun the deploy.\n"
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "SKILL.md").write_text("Just content, no front matter.\n")

    skills = {s.name: s for s in Capability.skills(tmp_path).skill_list}

    assert sorted(skills) == ["code-review", "deploy", "notes"]
    review = skills["code-review"]
    assert (review.description, review.when_to_use, review.allowed_tools) == (
        "Review a change",
        "review, diff",
        ("read_file", "grep"),
    )
    assert review.content == "# Review\nSteps..."
    assert skills["deploy"].allowed_tools == ("shell",)
    assert skills["notes"].allowed_tools is None
    assert skills["notes"].content == "Just content, no front matter."
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no SKILL\.md files"):
        Capability.skills(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Capability.skills(tmp_path / "missing")
