"""``Capability.files``: file tools confined to a root. ``..``, absolute paths and symlinks that lead out
are refused with an error result the model sees; nothing outside the root is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import RecordingModel, make_agent

from loomflow import Capability, ToolCall
from loomflow.tools import Tool
from loomflow.tools.tool import ToolArgumentError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    (base / "src").mkdir(parents=True)
    (base / "src" / "app.py").write_text("def main():\n    return 'hello'\n")
    (base / "notes.txt").write_text("one\ntwo\nthree\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "key.txt").write_text("TOP SECRET")
    (base / "link_file").symlink_to(tmp_path / "secret.txt")
    (base / "link_dir").symlink_to(tmp_path / "outside")
    (base / "inner_link").symlink_to(base / "notes.txt")  # a symlink that stays inside is fine
    return base


def tools(root: Path, read_only: bool = False) -> dict[str, Tool]:
    return {t.name: t for t in Capability.files(root=root, read_only=read_only).tools}


async def call(tool: Tool, **arguments: object) -> str:
    text, _ = await tool.invoke(dict(arguments))
    return text


def test_read_only_files_have_no_write_tools(root: Path) -> None:
    assert sorted(tools(root, read_only=True)) == ["glob", "grep", "read_file"]
    assert sorted(tools(root)) == ["edit_file", "glob", "grep", "read_file", "write_file"]
    assert all(t.read_only for t in tools(root, read_only=True).values())


async def test_reading_writing_editing_and_searching_inside_the_root(root: Path) -> None:
    t = tools(root)
    assert await call(t["read_file"], path="notes.txt") == "     1\tone\n     2\ttwo\n     3\tthree"
    assert "continue with offset=1" in await call(t["read_file"], path="notes.txt", limit=1)
    assert await call(t["read_file"], path="inner_link", offset=2) == "     3\tthree"
    assert await call(t["write_file"], path="out/new.txt", content="a\nb\n") == "wrote 4 characters to out/new.txt"
    assert (root / "out" / "new.txt").read_text() == "a\nb\n"
    await call(t["edit_file"], path="src/app.py", old="'hello'", new="'bye'")
    assert "'bye'" in (root / "src" / "app.py").read_text()
    with pytest.raises(ValueError, match="occurs 2 times"):
        await call(t["edit_file"], path="out/new.txt", old="\n", new=" ")
    assert await call(t["glob"], pattern="**/*.py") == "src/app.py"
    assert await call(t["grep"], pattern=r"return '\w+'") == "src/app.py:2:     return 'bye'"


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "src/../../secret.txt", "/etc/passwd", "link_file", "link_dir/key.txt"],
)
async def test_paths_that_leave_the_root_are_refused(root: Path, path: str) -> None:
    t = tools(root)
    with pytest.raises(PermissionError, match="files root"):
        await call(t["read_file"], path=path)
    with pytest.raises(PermissionError, match="files root"):
        await call(t["write_file"], path=path, content="overwritten")
    with pytest.raises(PermissionError, match="files root"):
        await call(t["edit_file"], path=path, old="TOP", new="NOT")
    assert (root.parent / "secret.txt").read_text() == "TOP SECRET"
    assert (root.parent / "outside" / "key.txt").read_text() == "TOP SECRET"


async def test_glob_and_grep_do_not_follow_symlinks_out_of_the_root(root: Path) -> None:
    t = tools(root)
    assert (await call(t["glob"], pattern="*")).splitlines() == ["inner_link", "notes.txt", "src/app.py"]
    assert await call(t["grep"], pattern="SECRET") == "no matches for 'SECRET'"


async def test_the_model_sees_the_refusal_as_an_error_result(root: Path) -> None:
    turns = [
        [
            ToolCall("read_file", {"path": "../secret.txt"}, id="up"),
            ToolCall("read_file", {"path": "link_file"}, id="ln"),
        ],
        "done",
    ]
    model = RecordingModel(turns)
    result = await make_agent(model, capabilities=[Capability.files(root=root, read_only=True)]).run("peek")

    assert result.status == "completed", result.error
    seen = {p.call_id: p for m in model.requests[1].messages for p in m.tool_results}
    assert seen["up"].is_error
    assert "PathOutsideRoot: '../secret.txt' contains '..'" in seen["up"].content
    assert seen["ln"].is_error
    assert "leads outside the files root" in seen["ln"].content
    assert not any("TOP SECRET" in p.content for p in seen.values())


async def test_only_the_git_folder_is_skipped(root: Path) -> None:
    for folder in (".git", ".github/workflows", ".gitlab"):
        (root / folder).mkdir(parents=True)
    (root / ".git" / "config.yml").write_text("name: git\n")
    (root / ".github" / "workflows" / "ci.yml").write_text("name: ci\n")
    (root / ".gitlab" / "ci.yml").write_text("name: lab\n")
    t = tools(root)
    assert await call(t["glob"], pattern="**/*.yml") == ".github/workflows/ci.yml\n.gitlab/ci.yml"
    assert await call(t["grep"], pattern="name:") == ".github/workflows/ci.yml:1: name: ci\n.gitlab/ci.yml:1: name: lab"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [({"offset": -2}, "offset: Input should be greater than or equal to 0"), ({"limit": 0}, "limit: Input should be")],
)
async def test_read_file_refuses_a_negative_offset_or_an_empty_limit(
    root: Path, arguments: dict[str, int], problem: str
) -> None:
    read_file = tools(root)["read_file"]
    with pytest.raises(ToolArgumentError, match=problem):
        await call(read_file, path="notes.txt", **arguments)
    properties = read_file.spec().parameters["properties"]
    assert (properties["offset"]["minimum"], properties["limit"]["minimum"]) == (0, 1)  # the model is told
    assert properties["offset"]["description"] == "the first line to show (0-based)"
