"""The ``loomflow`` command as a user types it: run, inspect, draw, resume, fork, replay, lint, diff.

Commands run in-process (``main([...])``) in a scratch directory, against the SQLite store they
create there; one test runs the real ``python -m loomflow`` to check the entry point and exit codes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loomflow.cli import main

APP = textwrap.dedent(
    """
    from typing import Annotated

    from loomflow import END, Agent, Graph, Model, State, ToolCall, Update, add, append, node, tool


    class Counter(State):
        count: Annotated[int, add] = 0
        log: Annotated[tuple[str, ...], append] = ()


    @node(max_visits=10)
    async def count(ctx):
        if ctx.state.count >= 3:
            return Update(route="done")
        return Update({"count": 1, "log": [f"tick {ctx.state.count}"]}, route="again")


    @node(interrupts=True)
    async def confirm(ctx):
        if not ctx.answered("ok"):
            return ctx.interrupt("ok", prompt=f"Counted to {ctx.state.count}. Finish?")
        return Update({"log": [f"confirmed: {ctx.answer('ok')}"]})


    graph = Graph(
        "counter",
        state=Counter,
        nodes=[count, confirm],
        edges=[("count", "count", "again"), ("count", "confirm", "done"), ("confirm", END)],
        start="count",
    )


    @node
    async def boom(ctx):
        raise ValueError("the disk is full")


    broken = Graph("broken", state=Counter, nodes=[boom], edges=[("boom", END)], start="boom")


    class Careless:
        name = "careless"
        retry = timeout = max_visits = routes = None
        interrupts = False

        async def run(self, ctx):
            return Update()

        def describe(self):
            return {"interrupts": False, "limit": None}

        def lint_problems(self):
            return ["writes files without asking; add require_approval"]


    @tool(destructive=True, require_approval=True)
    def write_note(text: str) -> str:
        \"\"\"Write a note.\"\"\"
        return f"wrote {text}"


    @tool(read_only=True)
    def look(name: str) -> str:
        \"\"\"Look something up.\"\"\"
        return f"{name} is fine"


    agent = Agent(
        model=Model.scripted([ToolCall("write_note", {"text": "hi"}), "Done: wrote the note."]),
        tools=[write_note],
    )
    reader = Agent(model=Model.scripted([ToolCall("look", {"name": "x"}), "x is fine."]), tools=[look])


    def make(name):
        return graph
    """
)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module with an agent and graphs, in a scratch working directory; returns its path."""
    (tmp_path / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    return "app.py"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_exit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``cli`` for arguments argparse itself refuses (it exits with the usage error)."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code, out, err = cli(capsys, "--json", *argv)
    assert code in (0, 1, 3), err
    return json.loads(out)


def test_demo_still_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, "demo")
    assert code == 0
    assert "model: scripted (offline" in out
    assert "status: completed" in out
    assert "== its canonical trace ==" in out


def test_run_an_agent_to_its_approval_then_resume_it(app: str, capsys) -> None:
    code, out, err = cli(capsys, "run", f"{app}:agent", "write a note", "--run-id", "r1")
    assert code == 3  # waiting at an interrupt
    assert "run r1: interrupted" in out
    assert "waiting for approval at harness/governance" in out
    assert "accepts: 'approve', 'deny', 'arguments'" in out
    assert f"answer with: loomflow resume r1 --value approve --agent {app}:agent" in out
    assert "  4 harness/governance [interrupted]" in err  # one progress line per step, on stderr

    code, out, _ = cli(capsys, "resume", "r1", "--value", "approve", "--agent", f"{app}:agent")
    assert code == 0
    assert "run r1: completed" in out
    assert "output: Done: wrote the note." in out


def test_runs_list_and_show(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:agent", "write a note", "--run-id", "waiting", "-q")
    cli(capsys, "run", f"{app}:broken", "--run-id", "crashed", "-q")
    cli(capsys, "run", f"{app}:graph", "--run-id", "counted", "-q")

    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["id", "graph", "status", "created", "steps", "parent"]
    assert [r.split()[:3] for r in rows] == [
        ["counted", "counter", "interrupted"],
        ["crashed", "broken", "failed"],
        ["waiting", "agent_run", "interrupted"],
    ]
    assert [r["run_id"] for r in as_json(capsys, "runs", "list", "--status", "failed")] == ["crashed"]
    assert len(as_json(capsys, "runs", "list", "--limit", "1")) == 1

    code, out, _ = cli(capsys, "runs", "show", "waiting")
    assert code == 0
    assert "status    interrupted" in out
    assert "waiting   approval at harness/governance (step 4)" in out
    assert "id      harness/governance@4:approve:call_0_0" in out
    assert "prompt  allow write_note({'text': 'hi'})?" in out
    assert "accepts 'approve', 'deny', 'arguments'" in out
    assert "usage     input_tokens=" in out

    shown = as_json(capsys, "runs", "show", "crashed")
    assert shown["status"] == "failed"
    assert "the disk is full" in shown["error"]


def test_exit_codes_follow_the_run_status(app: str, capsys) -> None:
    assert cli(capsys, "run", f"{app}:graph", "-q")[0] == 3
    code, out, _ = cli(capsys, "run", f"{app}:broken", "-q")
    assert code == 1
    assert "error: node 'boom' failed" in out
    assert "the disk is full" in out
    assert cli(capsys, "run", f"{app}:reader", "look x", "-q")[0] == 0


def test_trace_is_the_canonical_trace(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    cli(capsys, "resume", "g", "--value", "yes", "--graph", f"{app}:graph")
    code, out, _ = cli(capsys, "trace", "g")
    assert code == 0
    assert out.splitlines() == [
        "  1 count --again--> count count=1 log=+['tick 0']",
        "  2 count --again--> count count=1 log=+['tick 1']",
        "  3 count --again--> count count=1 log=+['tick 2']",
        "  4 count --done--> confirm",
        "  5 confirm [interrupted] interrupts=input",
        "  6 confirm --> END log=+['confirmed: yes']",
    ]
    steps = as_json(capsys, "trace", "g")
    assert [s["node"] for s in steps] == ["count"] * 4 + ["confirm"] * 2


def test_an_agent_runs_trace_shows_the_journaled_values_as_result_trace_does(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:reader", "look x", "--run-id", "r", "-q")
    code, out, _ = cli(capsys, "trace", "r")
    assert code == 0
    assert "messages=+[assistant calls look]" in out
    assert "journal#" not in out


@pytest.mark.parametrize("fmt", ["txt", "mmd", "dot"])
def test_a_drawing_printed_with_json_is_one_json_document(app: str, capsys, fmt: str) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    for target in ("g", f"{app}:graph"):
        shown = as_json(capsys, "draw", target, "--format", fmt)
        assert isinstance(shown, dict)
        assert shown["format"] == fmt
        assert "count" in shown["drawing"]


def test_a_run_id_with_a_colon_is_drawn_as_a_run(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "job:1", "-q")
    code, out, err = cli(capsys, "draw", "job:1")
    assert (code, err) == (0, "")
    assert "run job:1" in out


def test_an_unknown_status_is_a_usage_error(app: str, capsys) -> None:
    code, _, err = cli_exit(capsys, "runs", "list", "--status", "bogus")
    assert code == 2
    assert "invalid choice: 'bogus'" in err


def test_a_stored_run_is_drawn_without_its_code(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    Path(app).unlink()  # the store keeps the structure: nothing to import
    code, out, _ = cli(capsys, "draw", "g")
    assert code == 0
    assert out.startswith("counter · run g · interrupted\n[count] (start)")
    assert "⏸ waiting here" in out
    assert cli(capsys, "draw", "g", "-o", "g.mmd")[0] == 0
    assert "classDef waiting" in Path("g.mmd").read_text()
    assert cli(capsys, "draw", "g", "-o", "g.gv", "--format", "dot")[0] == 0
    assert Path("g.gv").read_text().startswith('digraph "counter"')
    code, _, err = cli(capsys, "draw", "g", "-o", "g.bmp")
    assert code == 2
    assert "cannot draw as 'bmp'" in err


def test_draw_a_graph_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "draw", "loomflow.graphs:single_run", "-o", "single_run.mmd")[0] == 0
    from loomflow.graphs import single_run

    assert Path("single_run.mmd").read_text() == single_run().to_mermaid() + "\n"
    code, _, err = cli(capsys, "draw", "loomflow.graphs:agent_run", "--format", "png")
    assert code == 2
    assert "a png picture needs a file: add -o picture.png" in err


def test_draw_images_with_graphviz(app: str, capsys, graphviz_installed: None) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    assert cli(capsys, "draw", "g", "-o", "run.svg")[0] == 0
    assert "<svg" in Path("run.svg").read_text()
    assert cli(capsys, "draw", f"{app}:agent", "-o", "agent.png")[0] == 0
    assert Path("agent.png").read_bytes().startswith(b"\x89PNG")
    assert cli(capsys, "draw", f"{app}:graph", "-o", "graph.pdf")[0] == 0
    assert Path("graph.pdf").read_bytes().startswith(b"%PDF")


def test_fork_is_drawn_beside_its_origin(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    cli(capsys, "resume", "g", "--value", "yes", "--graph", f"{app}:graph")
    forked = as_json(capsys, "fork", "g", "--at", "2", "--set", "count=10", "--graph", f"{app}:graph")
    assert forked["status"] == "interrupted"
    fork_id = forked["run_id"]
    assert forked["interrupts"][0]["prompt"] == "Counted to 11. Finish?"
    rows = as_json(capsys, "runs", "list")
    assert {r["run_id"]: r["parent"] for r in rows} == {fork_id: "g@2", "g": None}

    code, out, _ = cli(capsys, "draw", fork_id, "--origin", "-o", "both.dot")
    assert code == 0
    dot = Path("both.dot").read_text()
    assert 'subgraph "cluster_run0"' in dot
    assert 'subgraph "cluster_run1"' in dot
    assert '"run0/count" -> "run1/count" [label="fork at step 2"' in dot
    code, out, _ = cli(capsys, "draw", fork_id, "--origin")
    assert f"g [count] ╌╌> {fork_id} [count]  (fork at step 2)" in out
    code, _, err = cli(capsys, "draw", "g", "--origin")
    assert code == 2
    assert "is not a fork" in err


def test_forks_are_linked_to_the_run_they_came_from(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    first = as_json(capsys, "fork", "g", "--at", "1", "--set", "count=5", "--graph", f"{app}:graph")["run_id"]
    code, out, _ = cli(capsys, "draw", first, "--origin")  # a fork at step 1 shares no step with its origin
    assert code == 0
    assert f"g [count] ╌╌> {first} [count]  (fork at step 1)" in out
    second = as_json(capsys, "fork", "g", "--at", "2", "--graph", f"{app}:graph")["run_id"]
    third = as_json(capsys, "fork", second, "--at", "2", "--graph", f"{app}:graph")["run_id"]
    code, out, _ = cli(capsys, "draw", third, "--origin")  # forked at the fork's first step: from that fork
    assert code == 0
    assert f"{second} [count] ╌╌> {third} [count]  (fork at step 2)" in out


def test_diff_two_checkpoints(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    cli(capsys, "resume", "g", "--value", "yes", "--graph", f"{app}:graph")
    code, out, _ = cli(capsys, "diff", "g@1", "g")
    assert code == 0
    assert out.splitlines() == [
        "g@1 -> g: 2 channel(s) differ, 0 the same",
        "count: 1 -> 3",
        "log: +3 item(s)",
        '    + "tick 1"',
        '    + "tick 2"',
        '    + "confirmed: yes"',
    ]
    typed = as_json(capsys, "diff", "g@2", "g@4", "--graph", f"{app}:graph")
    assert typed["a"] == "g@2"
    assert "ran at steps 5, 6" in cli(capsys, "diff", "g@1", "g@confirm")[2]
    raw = as_json(capsys, "diff", "g@2", "g@4")
    assert [(c["channel"], c["summary"]) for c in raw["changes"]] == [("count", "2 -> 3"), ("log", "+1 item(s)")]
    assert [(c["channel"], c["summary"]) for c in typed["changes"]] == [("count", "2 -> 3"), ("log", "+1 item(s)")]


def test_replay_a_run_from_its_journal(app: str, capsys) -> None:
    assert cli(capsys, "run", f"{app}:reader", "look x", "--run-id", "r", "-q")[0] == 0
    code, out, _ = cli(capsys, "replay", "r", "--agent", f"{app}:reader")
    assert code == 0
    assert "completed" in out
    assert "output: x is fine." in out


def test_lint(app: str, capsys) -> None:
    code, out, _ = cli(capsys, "lint", f"{app}:agent")
    assert (code, out) == (0, "agent_run: no problems\n")
    Path("careless.py").write_text(
        "from loomflow import END, Graph\nfrom app import Counter, Careless\n"
        "graph = Graph('careless', state=Counter, nodes=[Careless()], edges=[('careless', END)], start='careless')\n"
    )
    code, out, _ = cli(capsys, "lint", "careless.py:graph")
    assert code == 1
    assert "node 'careless': writes files without asking; add require_approval" in out
    Path("bad.py").write_text(
        "from loomflow import END, Graph\nfrom app import Counter, count\n"
        "graph = Graph('bad', state=Counter, nodes=[count], edges=[('count', 'nowhere')], start='count')\n"
    )
    code, _, err = cli(capsys, "lint", "bad.py:graph")
    assert code == 1
    assert "target 'nowhere' is not a node" in err


def test_sessions_and_an_explicit_store(app: str, capsys) -> None:
    assert cli(capsys, "run", f"{app}:reader", "look x", "--session", "s1", "--db", "other.db", "-q")[0] == 0
    assert [r["graph"] for r in as_json(capsys, "runs", "list", "--db", "other.db")] == ["agent_run"]
    assert not Path(".loomflow/loomflow.db").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "show", "nope"], "RunNotFound: no run 'nope'"),
        (["--db", "missing.db", "runs", "list"], "no loomflow store at missing.db"),
        (["draw", "nomodule:thing"], "cannot import 'nomodule'"),
        (["draw", "app.py:nothing"], "app.py has no 'nothing'; it defines:"),
        (["run", "app.py:Counter", "x"], "is a type, not an Agent or a Graph"),
        (["run", "app.py:graph", "a prompt"], "a graph takes its input as JSON"),
        (["run", "app.py:graph", "--input", "[1]"], "--input takes a JSON object, not list"),
        (["run", "app.py:agent", "hi", "--input", "{}"], "--input belongs to graphs"),
        (["run", "app.py:agent"], "running an agent takes a prompt"),
        (["lint", "app.py:make"], "app.py:make is a function that needs name"),
        (["fork", "g", "--at", "1", "--set", "oops", "--graph", "app.py:graph"], "--set takes key=value"),
        (["run", "app.py:reader", "look x", "--run-id", "g"], "RunError: run 'g' already exists"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(app: str, capsys, argv: list[str], message: str) -> None:
    cli(capsys, "run", f"{app}:graph", "--run-id", "g", "-q")
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_final_run_refuses_resume(app: str, capsys) -> None:
    cli(capsys, "run", f"{app}:reader", "look x", "--run-id", "done", "-q")
    code, _, err = cli(capsys, "resume", "done", "--agent", f"{app}:reader")
    assert code == 2
    assert "InvalidTransition: run 'done' is completed, which is final; fork it" in err


def test_the_entry_point_and_its_exit_codes(app: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "loomflow", *argv], capture_output=True, text=True, env=env)

    helped = run("--help")
    assert helped.returncode == 0
    assert "exit codes: 0 ok/completed, 1 failed/limit reached, 2 usage error, 3 waiting" in helped.stdout
    assert run("runs").returncode == 2  # argparse: a sub-command is required
    waiting = run("--json", "run", f"{app}:graph", "--run-id", "p")
    assert waiting.returncode == 3
    assert json.loads(waiting.stdout)["interrupts"][0]["id"] == "confirm@5:ok"
    assert "  5 confirm [interrupted]" in waiting.stderr
    assert run("resume", "p", "--value", '"yes"', "--graph", f"{app}:graph").returncode == 0


@pytest.fixture
def graphviz_installed() -> None:
    from importlib.util import find_spec

    missing = [what for what, ok in (("dot", shutil.which("dot")), ("graphviz", find_spec("graphviz"))) if not ok]
    if missing:
        if os.environ.get("LOOMFLOW_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing} missing, and LOOMFLOW_REQUIRE_ALL=1 requires them")
        pytest.skip(f"{missing} not installed")
