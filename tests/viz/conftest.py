"""Hand-built structures and runs that the viz tests draw.

Written out as the kernel would produce them, so these tests need no graph code.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from types import ModuleType
from typing import Any

import pytest


def need(what: str, present: bool) -> None:
    """Skip without ``what``, except under LOOMFLOW_REQUIRE_ALL=1, where CI must have it."""
    if present:
        return
    if os.environ.get("LOOMFLOW_REQUIRE_ALL") == "1":
        pytest.fail(f"{what} is missing, and LOOMFLOW_REQUIRE_ALL=1 requires it")
    pytest.skip(f"{what} is not installed")


@pytest.fixture
def dot_program() -> str:
    """The path of Graphviz's ``dot``."""
    path = shutil.which("dot")
    need("Graphviz's `dot` program", path is not None)
    assert path is not None
    return path


@pytest.fixture
def graphviz_package() -> ModuleType:
    """The ``graphviz`` Python package (the ``render`` extra)."""
    need("the `graphviz` Python package", importlib.util.find_spec("graphviz") is not None)
    return importlib.import_module("graphviz")


@pytest.fixture
def graphviz_installed(dot_program: str, graphviz_package: ModuleType) -> None:
    """Both halves of Graphviz: the program and the Python package."""


def node(path: str, cluster: str | None = None, *, interrupts: bool = False, limit: int | None = None) -> Any:
    return {
        "path": path,
        "label": path.rsplit("/", 1)[-1],
        "cluster": cluster,
        "interrupts": interrupts,
        "limit": limit,
    }


def edge(source: str, target: str, route: str | None = None) -> Any:
    return {"source": source, "target": target, "route": route}


@pytest.fixture
def linear() -> dict[str, Any]:
    """intake -> plan -> answer -> END, no clusters."""
    return {
        "name": "linear",
        "start": "intake",
        "nodes": [node("intake"), node("plan"), node("answer")],
        "edges": [edge("intake", "plan"), edge("plan", "answer"), edge("answer", "__end__")],
        "clusters": [],
    }


@pytest.fixture
def looped() -> dict[str, Any]:
    """The single-run harness: a model/tool loop with an iteration limit and an approval interrupt."""
    return {
        "name": "single_run",
        "start": "intake",
        "nodes": [
            node("intake"),
            node("harness/model_call", "harness", limit=20),
            node("harness/approve", "harness", interrupts=True),
            node("harness/tool", "harness"),
        ],
        "edges": [
            edge("intake", "harness/model_call"),
            edge("harness/model_call", "harness/approve", "tool_calls"),
            edge("harness/model_call", "__end__", "final"),
            edge("harness/approve", "harness/tool", "approved"),
            edge("harness/approve", "harness/model_call", "denied"),
            edge("harness/tool", "harness/model_call"),
        ],
        "clusters": [{"path": "harness", "label": "harness: single_run", "parent": None}],
    }


@pytest.fixture
def looped_run() -> dict[str, Any]:
    """A run of ``looped`` that called tools twice and now waits for approval."""
    return {
        "edge_counts": {
            ("__start__", "intake"): 1,
            ("intake", "harness/model_call"): 1,
            ("harness/model_call", "harness/approve"): 2,
            ("harness/approve", "harness/tool"): 1,
            ("harness/tool", "harness/model_call"): 1,
        },
        "node_stats": {
            "intake": {"visits": 1, "seconds": 0.002},
            "harness/model_call": {"visits": 2, "seconds": 1.5, "tokens": 1500},
            "harness/approve": {"visits": 2},
            "harness/tool": {"visits": 1, "seconds": 0.12},
        },
        "failed": None,
        "waiting": "harness/approve",
        "status": "interrupted",
        "run_id": "r1",
    }


@pytest.fixture
def failed_run(looped_run: dict[str, Any]) -> dict[str, Any]:
    """The same run, but the tool node raised instead of the run pausing."""
    return {**looped_run, "failed": "harness/tool", "waiting": None, "status": "failed"}


@pytest.fixture
def nested() -> dict[str, Any]:
    """A cluster inside a cluster, a node declared out of drawing order, and quotes in labels."""
    return {
        "name": "team",
        "start": "triage",
        "nodes": [
            node("triage"),
            node("review/inner/check", "review/inner", limit=3),
            node("review/collect", "review"),
            {**node("review/inner/say"), "cluster": "review/inner", "label": 'say "hi" \\ there'},
            node("report"),
        ],
        "edges": [
            edge("triage", "review/collect", 'needs "review"'),
            edge("triage", "report", "trivial"),
            edge("review/collect", "review/inner/check"),
            edge("review/inner/check", "review/inner/say", "ok"),
            edge("review/inner/check", "review/inner/check", "retry"),
            edge("review/inner/say", "report"),
            edge("report", "__end__"),
        ],
        "clusters": [
            {"path": "review", "label": "review", "parent": None},
            {"path": "review/inner", "label": 'inner "checks"', "parent": "review"},
        ],
    }
