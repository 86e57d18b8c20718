"""Model providers: the protocol, the scripted model, and (with their extras) the real SDK adapters."""

from __future__ import annotations

from loomflow.providers.base import ModelProvider
from loomflow.providers.scripted import ScriptedModel, ScriptExhausted

__all__ = ["ModelProvider", "ScriptExhausted", "ScriptedModel"]
