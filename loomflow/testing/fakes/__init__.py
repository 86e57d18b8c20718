"""Fake Anthropic and OpenAI servers for tests; see ``loomflow.testing.fake_providers``."""

from __future__ import annotations

from loomflow.testing.fakes.script import Fail, Received, Reply, ToolUse, Turn
from loomflow.testing.fakes.server import FakeProvider

__all__ = ["Fail", "FakeProvider", "Received", "Reply", "ToolUse", "Turn"]
