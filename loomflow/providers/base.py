"""The provider protocol: one request in, one response out; or a stream of deltas ending with the response.

Nodes depend on this protocol only, never on a concrete provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from loomflow.messages import ModelDelta, ModelRequest, ModelResponse

__all__ = ["ModelProvider"]


@runtime_checkable
class ModelProvider(Protocol):
    """A model. ``name`` identifies it in usage records and errors (never a key or secret)."""

    @property
    def name(self) -> str: ...

    async def request(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        """Deltas as they arrive, then the complete ``ModelResponse`` as the last item."""
        ...
