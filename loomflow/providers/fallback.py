"""``Model.fallback(primary, *others)``: try each model in turn when one fails.

A failure that says the request itself is wrong (``BadRequest``) is raised at once: another model would
refuse it too. Anything else (rate limits after retries, overloads, outages, auth on one provider) moves on
to the next model. The response names the model that answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from loomflow.errors import ProviderError
from loomflow.messages import ModelDelta, ModelRequest, ModelResponse
from loomflow.providers.base import ModelProvider
from loomflow.providers.errors import BadRequest

__all__ = ["FallbackModel"]


class FallbackModel:
    """Models tried in order; the first answer wins."""

    def __init__(self, models: Sequence[ModelProvider]) -> None:
        if len(models) < 2:
            raise ValueError("Model.fallback needs at least two models")
        self.models = list(models)

    @property
    def name(self) -> str:
        return "fallback(" + ", ".join(m.name for m in self.models) + ")"

    async def request(self, request: ModelRequest) -> ModelResponse:
        errors: list[str] = []
        for model in self.models:
            try:
                return await model.request(request)
            except BadRequest:
                raise
            except ProviderError as exc:
                errors.append(f"{model.name}: {exc}")
        raise ProviderError("every fallback model failed: " + "; ".join(errors))

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelDelta | ModelResponse]:
        errors: list[str] = []
        for model in self.models:
            started = False
            try:
                async for item in model.stream(request):
                    started = True
                    yield item
                return
            except BadRequest:
                raise
            except ProviderError as exc:
                if started:  # deltas already went out: switching models mid-answer would splice two answers
                    raise
                errors.append(f"{model.name}: {exc}")
        raise ProviderError("every fallback model failed: " + "; ".join(errors))

    def __repr__(self) -> str:
        return f"FallbackModel({self.name})"
