"""The ``trace_snapshot`` fixture as a user meets it: registered by the package, readable files and diffs,
``--snapshot-update`` as in any syrupy project, and nothing of it loaded by ``import loomflow``."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import loomflow.checkpoint.memory
import loomflow.interpreter
import loomflow.testing.pytest_plugin
from loomflow.testing.snapshots import TraceSnapshotExtension, canonical_text

# In-process pytester runs drop the modules an inner run imported; loomflow caches its lazily loaded
# names, so load them here, before any inner run, to keep one copy of each class across runs.
_LOADED = (loomflow.checkpoint.memory, loomflow.interpreter, loomflow.testing.pytest_plugin)

USER_TEST = """
import pytest
from typing import Annotated

from loomflow import END, Graph, Interpreter, MemoryStore, State, Update, add, node


class Counter(State):
    count: Annotated[int, add] = 0


@node(max_visits=10)
async def count(ctx):
    if ctx.state.count >= LIMIT:
        return Update(route="done")
    return Update({"count": 1}, route="again")


graph = Graph("counter", state=Counter, nodes=[count], edges=[("count", "count", "again"), ("count", END, "done")],
              start="count")


async def test_counts(trace_snapshot):
    result = await Interpreter(graph, store=MemoryStore()).run()
    assert result.trace == trace_snapshot
    assert graph == trace_snapshot(name="graph")
"""


def write_user_test(pytester: pytest.Pytester, limit: int) -> None:
    pytester.makepyfile(test_user=f"LIMIT = {limit}\n" + USER_TEST)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")


def test_the_plugin_is_registered_by_the_package() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["loomflow"] == "loomflow.testing.pytest_plugin"


def test_snapshot_files_are_readable_and_update_like_syrupy(pytester: pytest.Pytester) -> None:
    write_user_test(pytester, limit=2)
    first = pytester.runpytest("-p", "no:cacheprovider")
    first.assert_outcomes(failed=1)  # no snapshot yet
    first.stdout.fnmatch_lines(["*Snapshot 'test_counts' does not exist*"])

    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    stored = (pytester.path / "__snapshots__" / "test_user.ambr").read_text()
    assert (
        "  1 count --again--> count count=1\n    2 count --again--> count count=1\n    3 count --done--> END" in stored
    )
    assert "flowchart TD" in stored
    assert "# name: test_counts[graph]" in stored
    assert " \n" not in stored  # no trailing blanks
    pytester.runpytest().assert_outcomes(passed=1)

    write_user_test(pytester, limit=3)  # the run now takes another step
    changed = pytester.runpytest()
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        ["*-   3 count --done--> END", "*+   3 count --again--> count count=1", "*+   4 count --done--> END"]
    )
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)


def test_unused_snapshots_fail_the_run(pytester: pytest.Pytester) -> None:
    write_user_test(pytester, limit=1)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    pytester.makepyfile(test_user="def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*snapshots unused*"])


def test_canonical_text() -> None:
    from loomflow.trace import Trace, TraceStep

    trace = Trace((TraceStep(1, "a", "ok", None, "__end__", (("x", "1"),)),))
    assert canonical_text(trace) == "  1 a --> END x=1"
    assert canonical_text({"plain": 1}) == {"plain": 1}
    two = Trace(trace.steps * 2)
    assert TraceSnapshotExtension().serialize(two) == "'''\n  1 a --> END x=1\n  1 a --> END x=1\n'''"


def test_import_loomflow_loads_neither_pytest_nor_syrupy() -> None:
    code = "import loomflow, loomflow.testing, sys, json; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    )
    assert not {"pytest", "_pytest", "syrupy"} & loaded


def test_traces_mask_generated_ids_and_addresses() -> None:
    import uuid

    from loomflow.checkpoint.codec import dumps
    from loomflow.checkpoint.records import StepRecord
    from loomflow.trace import Trace

    def step(child: str, address: str) -> StepRecord:
        writes = dumps({"children": [child], "note": f"spawned {child} to look around"})
        error = f"child {child} failed: <Probe object at {address}>\nTraceback ..."
        return StepRecord("run", 1, None, 1, "fan_out", None, None, "failed", writes, 1, 0.0, 0.1, error=error)

    a = Trace.from_records([step(uuid.uuid4().hex, "0x7f3a2b1c4d50")])
    b = Trace.from_records([step(uuid.uuid4().hex, "0x7f00deadbeef")])
    assert a == b
    assert a.to_text() == (
        "  1 fan_out [failed] children=+['<id>'] note='spawned <id> to look around' "
        "error=child <id> failed: <Probe object at 0x?>"
    )
