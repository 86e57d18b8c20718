"""The seed README's quick start, rewritten for loomflow with ``Model.scripted``, runs as written; and so
does ``python -m loomflow demo``. Both run as separate processes in a fresh working directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

QUICKSTART = textwrap.dedent(
    """
    import asyncio

    from loomflow import Agent, Generation, Model, Runtime, ToolCall, tool


    @tool(description="Search documentation", read_only=True)
    async def search_docs(query: str) -> str:
        return f"Results for: {query}"


    async def main():
        agent = Agent(
            model=Model.scripted(
                [ToolCall("search_docs", {"query": "repository layout"}), "The repository has a kernel and nodes."]
            ),
            instructions="You are a concise coding assistant.",
            tools=[search_docs],
            generation=Generation(max_output_tokens=512),
            runtime=Runtime.sdk(),
        )

        result = await agent.run("Summarize this repository")
        print(result.output)
        print(result.status)


    asyncio.run(main())
    """
)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(QUICKSTART)
    done = _run([sys.executable, str(script)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["The repository has a kernel and nodes.", "completed"]
    assert (tmp_path / ".loomflow" / "loomflow.db").exists(), "the default store is SQLite under .loomflow/"


def test_the_demo_runs_offline_and_completes(tmp_path: Path) -> None:
    done = _run([sys.executable, "-m", "loomflow", "demo"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout
    assert "waiting at 'harness/governance' for approval" in done.stdout
    assert "status: completed" in done.stdout
    assert (tmp_path / ".loomflow" / "loomflow.db").exists()
