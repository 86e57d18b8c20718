"""Model providers: the protocol, the scripted model, and the adapters on the real SDKs.

The adapters import their SDK (``anthropic``, ``openai``) on first use; their modules, the errors and the
price table load on first attribute access (PEP 562), so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loomflow._lazy import lazy_exports
from loomflow.providers.base import ModelProvider
from loomflow.providers.scripted import ScriptedModel, ScriptExhausted

_LAZY: dict[str, str] = {
    "AnthropicModel": "loomflow.providers.anthropic",
    "OpenAIModel": "loomflow.providers.openai",
    "RetryPolicy": "loomflow.providers._http",
    "Price": "loomflow.providers.pricing",
    "cost": "loomflow.providers.pricing",
    "price_for": "loomflow.providers.pricing",
    "AuthError": "loomflow.providers.errors",
    "BadRequest": "loomflow.providers.errors",
    "ContextWindowExceeded": "loomflow.providers.errors",
    "InvalidResponse": "loomflow.providers.errors",
    "MissingAPIKey": "loomflow.providers.errors",
    "Overloaded": "loomflow.providers.errors",
    "ProviderTimeout": "loomflow.providers.errors",
    "ProviderUnavailable": "loomflow.providers.errors",
    "QuotaExceeded": "loomflow.providers.errors",
    "RateLimited": "loomflow.providers.errors",
}

__all__ = [
    "AnthropicModel",
    "AuthError",
    "BadRequest",
    "ContextWindowExceeded",
    "InvalidResponse",
    "MissingAPIKey",
    "ModelProvider",
    "OpenAIModel",
    "Overloaded",
    "Price",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "ScriptExhausted",
    "ScriptedModel",
    "cost",
    "price_for",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


if TYPE_CHECKING:
    from loomflow.providers._http import RetryPolicy
    from loomflow.providers.anthropic import AnthropicModel
    from loomflow.providers.errors import (
        AuthError,
        BadRequest,
        ContextWindowExceeded,
        InvalidResponse,
        MissingAPIKey,
        Overloaded,
        ProviderTimeout,
        ProviderUnavailable,
        QuotaExceeded,
        RateLimited,
    )
    from loomflow.providers.openai import OpenAIModel
    from loomflow.providers.pricing import Price, cost, price_for
