"""``Model``: the user-side way to name a model.

    Model.scripted(["hello"])          # deterministic, offline (tests, examples, the demo)

Real providers (``Model.anthropic``, ``Model.openai``, ``Model.openai_compatible``) arrive with the
providers; each returns an object implementing ``loomflow.providers.ModelProvider``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loomflow.providers.scripted import ScriptedModel

__all__ = ["Model"]


class Model:
    """Factories for model providers."""

    def __init__(self) -> None:
        raise TypeError("use a factory: Model.scripted([...])")

    @staticmethod
    def scripted(responses: Sequence[Any], *, name: str = "scripted", chunk: int = 0) -> ScriptedModel:
        """A deterministic model answering model call *n* of a run with ``responses[n]``."""
        return ScriptedModel(responses, name=name, chunk=chunk)
