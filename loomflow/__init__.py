"""loomflow: an agent SDK whose every run is an explicit graph you can draw, resume, fork, replay and
snapshot-test.

Importing ``loomflow`` is cheap and does no I/O: public names load on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # agents
    "Agent": "loomflow.agent",
    "AgentState": "loomflow.agent",
    "Ask": "loomflow.agent",
    "ContextProtocol": "loomflow.agent",
    "ContinuityPolicy": "loomflow.agent",
    "Deny": "loomflow.agent",
    "Generation": "loomflow.agent",
    "MemorySessionStore": "loomflow.agent",
    "RunContext": "loomflow.agent",
    "RunHandle": "loomflow.agent",
    "Runtime": "loomflow.agent",
    "RuntimeSignal": "loomflow.agent",
    "RuntimeTask": "loomflow.agent",
    "SQLiteSessionStore": "loomflow.agent",
    "Session": "loomflow.agent",
    "SessionConfig": "loomflow.agent",
    "SessionRestorePolicy": "loomflow.agent",
    "SessionStore": "loomflow.agent",
    # models, messages and tools
    "Model": "loomflow.model",
    "ModelProvider": "loomflow.providers",
    "ScriptedModel": "loomflow.providers",
    "FilePart": "loomflow.messages",
    "ImagePart": "loomflow.messages",
    "Message": "loomflow.messages",
    "ModelDelta": "loomflow.messages",
    "ModelRequest": "loomflow.messages",
    "ModelResponse": "loomflow.messages",
    "TextPart": "loomflow.messages",
    "ThinkingPart": "loomflow.messages",
    "ToolCall": "loomflow.messages",
    "ToolCallPart": "loomflow.messages",
    "ToolResultPart": "loomflow.messages",
    "ToolSpec": "loomflow.messages",
    "Usage": "loomflow.messages",
    "Artifact": "loomflow.tools",
    "Tool": "loomflow.tools",
    "tool": "loomflow.tools",
    # graphs and nodes
    "END": "loomflow.graph",
    "Edge": "loomflow.graph",
    "Graph": "loomflow.graph",
    "Subgraph": "loomflow.graph",
    "FunctionNode": "loomflow.nodedef",
    "Node": "loomflow.nodedef",
    "NodeContext": "loomflow.nodedef",
    "Retry": "loomflow.nodedef",
    "node": "loomflow.nodedef",
    "End": "loomflow.outcomes",
    "Interrupt": "loomflow.outcomes",
    "Pause": "loomflow.outcomes",
    "Update": "loomflow.outcomes",
    "JournalRef": "loomflow.outcomes",
    # state
    "Channel": "loomflow.state",
    "Reducer": "loomflow.state",
    "State": "loomflow.state",
    "add": "loomflow.state",
    "append": "loomflow.state",
    "merge": "loomflow.state",
    "replace": "loomflow.state",
    # running
    "Interpreter": "loomflow.interpreter",
    "Limits": "loomflow.limits",
    "RunResult": "loomflow.interpreter",
    "Execution": "loomflow.execution",
    "Event": "loomflow.events",
    "Trace": "loomflow.trace",
    "TraceStep": "loomflow.trace",
    "RunStatus": "loomflow.lifecycle",
    # stores
    "CheckpointStore": "loomflow.checkpoint",
    "MemoryStore": "loomflow.checkpoint",
    "SQLiteStore": "loomflow.checkpoint",
    "RunRecord": "loomflow.checkpoint",
    "StepRecord": "loomflow.checkpoint",
    "JournalEntry": "loomflow.checkpoint",
    # services
    "Clock": "loomflow.clock",
    "FakeClock": "loomflow.clock",
    "SystemClock": "loomflow.clock",
    "sequential_ids": "loomflow.clock",
    # errors
    "CorruptCheckpoint": "loomflow.errors",
    "EffectSkipped": "loomflow.errors",
    "GovernanceError": "loomflow.errors",
    "GraphError": "loomflow.errors",
    "IncompatibleGraph": "loomflow.errors",
    "InvalidTransition": "loomflow.errors",
    "LoomflowError": "loomflow.errors",
    "ProviderError": "loomflow.errors",
    "ReplayDivergence": "loomflow.errors",
    "RouteError": "loomflow.errors",
    "RunBusy": "loomflow.errors",
    "RunError": "loomflow.errors",
    "RunNotFound": "loomflow.errors",
    "StoreError": "loomflow.errors",
    "StoreVersionError": "loomflow.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loomflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from loomflow.agent import (
        Agent,
        AgentState,
        Ask,
        ContextProtocol,
        ContinuityPolicy,
        Deny,
        Generation,
        MemorySessionStore,
        RunContext,
        RunHandle,
        Runtime,
        RuntimeSignal,
        RuntimeTask,
        Session,
        SessionConfig,
        SessionRestorePolicy,
        SessionStore,
        SQLiteSessionStore,
    )
    from loomflow.checkpoint import (
        CheckpointStore,
        JournalEntry,
        MemoryStore,
        RunRecord,
        SQLiteStore,
        StepRecord,
    )
    from loomflow.clock import Clock, FakeClock, SystemClock, sequential_ids
    from loomflow.errors import (
        CorruptCheckpoint,
        EffectSkipped,
        GovernanceError,
        GraphError,
        IncompatibleGraph,
        InvalidTransition,
        LoomflowError,
        ProviderError,
        ReplayDivergence,
        RouteError,
        RunBusy,
        RunError,
        RunNotFound,
        StoreError,
        StoreVersionError,
    )
    from loomflow.events import Event
    from loomflow.execution import Execution
    from loomflow.graph import END, Edge, Graph, Subgraph
    from loomflow.interpreter import Interpreter, RunResult
    from loomflow.lifecycle import RunStatus
    from loomflow.limits import Limits
    from loomflow.messages import (
        FilePart,
        ImagePart,
        Message,
        ModelDelta,
        ModelRequest,
        ModelResponse,
        TextPart,
        ThinkingPart,
        ToolCall,
        ToolCallPart,
        ToolResultPart,
        ToolSpec,
        Usage,
    )
    from loomflow.model import Model
    from loomflow.nodedef import FunctionNode, Node, NodeContext, Retry, node
    from loomflow.outcomes import End, Interrupt, JournalRef, Pause, Update
    from loomflow.providers import ModelProvider, ScriptedModel
    from loomflow.state import Channel, Reducer, State, add, append, merge, replace
    from loomflow.tools import Artifact, Tool, tool
    from loomflow.trace import Trace, TraceStep
