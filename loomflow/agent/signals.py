"""Runtime signals: external events (a gateway message, a cron tick, an alert) entering a session.

``await session.receive(RuntimeSignal.create("Deploy health check is due", source="cron"))`` queues the
signal in the session store; the session's next run shows every pending signal in its working
dashboard and consumes it (exactly once, journaled, so a resumed run sees the same signals).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuntimeSignal"]


class RuntimeSignal(BaseModel):
    """One external event, normalised. ``dedupe_key`` makes a redelivered event a no-op."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    summary: str
    source: str = "app"
    type: str = "event"
    urgency: Literal["low", "normal", "high"] = "normal"
    payload: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = Field(default_factory=time.time)

    @classmethod
    def create(
        cls,
        summary: str,
        *,
        source: str = "app",
        type: str = "event",
        urgency: Literal["low", "normal", "high"] = "normal",
        payload: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> RuntimeSignal:
        fields: dict[str, Any] = {"summary": summary, "source": source, "type": type, "urgency": urgency}
        if payload is not None:
            fields["payload"] = payload
        if dedupe_key is not None:
            fields["dedupe_key"] = dedupe_key
        return cls(**fields)

    def line(self) -> str:
        return f"[{self.urgency}] {self.source}/{self.type}: {self.summary}"
