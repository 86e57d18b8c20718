"""The agent layer: ``Agent``, its configuration, sessions and hooks."""

from __future__ import annotations

from loomflow.agent.agent import Agent
from loomflow.agent.config import (
    ContextProtocol,
    ContinuityPolicy,
    Generation,
    RunContext,
    Runtime,
    RuntimeTask,
    SessionRestorePolicy,
)
from loomflow.agent.delegation import DelegationPolicy, OrchestrationConfig
from loomflow.agent.harness import Harness, HarnessCandidate, HarnessOutcome, HarnessRequest
from loomflow.agent.hooks import Ask, Deny
from loomflow.agent.quality import QualityGate, Verdict
from loomflow.agent.session import RunHandle, Session, SessionConfig
from loomflow.agent.session_store import MemorySessionStore, SessionStore, SQLiteSessionStore
from loomflow.agent.signals import RuntimeSignal
from loomflow.agent.state import AgentState

__all__ = [
    "Agent",
    "AgentState",
    "Ask",
    "ContextProtocol",
    "ContinuityPolicy",
    "DelegationPolicy",
    "Deny",
    "Generation",
    "Harness",
    "HarnessCandidate",
    "HarnessOutcome",
    "HarnessRequest",
    "MemorySessionStore",
    "OrchestrationConfig",
    "QualityGate",
    "RunContext",
    "RunHandle",
    "Runtime",
    "RuntimeSignal",
    "RuntimeTask",
    "SQLiteSessionStore",
    "Session",
    "SessionConfig",
    "SessionRestorePolicy",
    "SessionStore",
    "Verdict",
]
