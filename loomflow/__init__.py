"""loomflow: an agent SDK whose every run is an explicit graph you can draw, resume, fork, replay and
snapshot-test.

Importing ``loomflow`` is cheap and does no I/O: public names load on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loomflow._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # agents
    "Agent": "loomflow.agent",
    "AgentState": "loomflow.agent",
    "Ask": "loomflow.agent",
    "ContextProtocol": "loomflow.agent",
    "ContinuityPolicy": "loomflow.agent",
    "DelegationPolicy": "loomflow.agent",
    "Deny": "loomflow.agent",
    "Generation": "loomflow.agent",
    "GovernancePolicy": "loomflow.agent.governance",
    "RateLimit": "loomflow.agent.governance",
    "Rule": "loomflow.agent.governance",
    "Harness": "loomflow.agent",
    "HarnessCandidate": "loomflow.agent",
    "HarnessOutcome": "loomflow.agent",
    "HarnessRequest": "loomflow.agent",
    "MemorySessionStore": "loomflow.agent",
    "OrchestrationConfig": "loomflow.agent",
    "QualityGate": "loomflow.agent",
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
    "Verdict": "loomflow.agent",
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
    "Capability": "loomflow.tools",
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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # the same names, for type checkers (``X as X`` marks them re-exported)
    from loomflow.agent import (
        Agent as Agent,
        AgentState as AgentState,
        Ask as Ask,
        ContextProtocol as ContextProtocol,
        ContinuityPolicy as ContinuityPolicy,
        DelegationPolicy as DelegationPolicy,
        Deny as Deny,
        Generation as Generation,
        Harness as Harness,
        HarnessCandidate as HarnessCandidate,
        HarnessOutcome as HarnessOutcome,
        HarnessRequest as HarnessRequest,
        MemorySessionStore as MemorySessionStore,
        OrchestrationConfig as OrchestrationConfig,
        QualityGate as QualityGate,
        RunContext as RunContext,
        RunHandle as RunHandle,
        Runtime as Runtime,
        RuntimeSignal as RuntimeSignal,
        RuntimeTask as RuntimeTask,
        Session as Session,
        SessionConfig as SessionConfig,
        SessionRestorePolicy as SessionRestorePolicy,
        SessionStore as SessionStore,
        SQLiteSessionStore as SQLiteSessionStore,
        Verdict as Verdict,
    )
    from loomflow.agent.governance import (
        GovernancePolicy as GovernancePolicy,
        RateLimit as RateLimit,
        Rule as Rule,
    )
    from loomflow.checkpoint import (
        CheckpointStore as CheckpointStore,
        JournalEntry as JournalEntry,
        MemoryStore as MemoryStore,
        RunRecord as RunRecord,
        SQLiteStore as SQLiteStore,
        StepRecord as StepRecord,
    )
    from loomflow.clock import (
        Clock as Clock,
        FakeClock as FakeClock,
        SystemClock as SystemClock,
        sequential_ids as sequential_ids,
    )
    from loomflow.errors import (
        CorruptCheckpoint as CorruptCheckpoint,
        EffectSkipped as EffectSkipped,
        GovernanceError as GovernanceError,
        GraphError as GraphError,
        IncompatibleGraph as IncompatibleGraph,
        InvalidTransition as InvalidTransition,
        LoomflowError as LoomflowError,
        ProviderError as ProviderError,
        ReplayDivergence as ReplayDivergence,
        RouteError as RouteError,
        RunBusy as RunBusy,
        RunError as RunError,
        RunNotFound as RunNotFound,
        StoreError as StoreError,
        StoreVersionError as StoreVersionError,
    )
    from loomflow.events import (
        Event as Event,
    )
    from loomflow.execution import (
        Execution as Execution,
    )
    from loomflow.graph import (
        END as END,
        Edge as Edge,
        Graph as Graph,
        Subgraph as Subgraph,
    )
    from loomflow.interpreter import (
        Interpreter as Interpreter,
        RunResult as RunResult,
    )
    from loomflow.lifecycle import (
        RunStatus as RunStatus,
    )
    from loomflow.limits import (
        Limits as Limits,
    )
    from loomflow.messages import (
        FilePart as FilePart,
        ImagePart as ImagePart,
        Message as Message,
        ModelDelta as ModelDelta,
        ModelRequest as ModelRequest,
        ModelResponse as ModelResponse,
        TextPart as TextPart,
        ThinkingPart as ThinkingPart,
        ToolCall as ToolCall,
        ToolCallPart as ToolCallPart,
        ToolResultPart as ToolResultPart,
        ToolSpec as ToolSpec,
        Usage as Usage,
    )
    from loomflow.model import (
        Model as Model,
    )
    from loomflow.nodedef import (
        FunctionNode as FunctionNode,
        Node as Node,
        NodeContext as NodeContext,
        Retry as Retry,
        node as node,
    )
    from loomflow.outcomes import (
        End as End,
        Interrupt as Interrupt,
        JournalRef as JournalRef,
        Pause as Pause,
        Update as Update,
    )
    from loomflow.providers import (
        ModelProvider as ModelProvider,
        ScriptedModel as ScriptedModel,
    )
    from loomflow.state import (
        Channel as Channel,
        Reducer as Reducer,
        State as State,
        add as add,
        append as append,
        merge as merge,
        replace as replace,
    )
    from loomflow.tools import (
        Artifact as Artifact,
        Capability as Capability,
        Tool as Tool,
        tool as tool,
    )
    from loomflow.trace import (
        Trace as Trace,
        TraceStep as TraceStep,
    )
