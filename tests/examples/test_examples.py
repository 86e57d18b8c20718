"""Every example runs as a user runs it (``python examples/<name>.py``, offline, in a scratch directory)
and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: what each example must print (every example in the folder needs an entry)
EXPECTED = {
    "hello_agent": ["status: completed", "output: Hello!", "  5 finalize [ended] --> END"],
    "events_and_artifacts": [
        "tool_started   harness/tool_dispatch",
        "'tool': 'save_report'",
        "run_finished",
        "artifact lines.md (text/markdown):",
        "The text has 3 lines.",
    ],
    "multi_task_session": [
        "run 2 (completed): Earlier I said: 'A good API is small, consistent and hard to misuse.'",
        "runs in the session: 2",
    ],
    "context_pressure_renewal": [
        "compacted: renew",
        "renewals: 2; messages kept in state: 6",
        "Goal: Summarise the logs",
    ],
    "approval_workflow": [
        "status: interrupted, waiting at harness/governance for approval",
        "after approval: completed, output: Emailed the team.",
        "emails sent: ['team@example.com']",
    ],
    "repo_copilot": [
        "status: completed",
        "TODO.md: - app.py:4 handle overflow",
        "tools called: list_files, grep, write_file",
    ],
    "docs_qa": ["answer: From the docs: fork(run_id, at=step, update={...}) starts a new run"],
    "custom_harness": [
        "┌─ review: review_loop",
        "status: completed; text: 'Loomflow runs agents as graphs.'",
        "published after 2 revision(s)",
        "review/critique --revise--> review/revise",
    ],
    "skills": [
        "tool result: Skill 'release-notes' is active (allowed tools: read_changelog).",
        "tool result: denied: skill 'release-notes' is active and allows only: read_changelo",
        "answer: - faster resume",
    ],
    "graph_basics": [
        "1. interrupted at confirm: Counted to 3. Finish?",
        "2. resumed: completed",
        "3. forked at step 2 with count+10: interrupted, count=11",
        "  6 confirm --> END log=+['confirmed: yes']",
    ],
}


def test_every_example_has_expectations() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):  # examples are offline whatever the environment holds
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for line in EXPECTED[name]:
        assert line in done.stdout, f"{name} did not print {line!r}:\n{done.stdout}"
