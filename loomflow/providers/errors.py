"""What a real model provider's failure becomes, whichever SDK raised it.

```
ProviderError                      (loomflow.errors)
├── AuthError                      401/403: the key is wrong or lacks permission
│   └── MissingAPIKey              no key: neither ``api_key=`` nor its environment variable
├── BadRequest                     400/404/413/422: the request is wrong; the provider's message says why
│   └── ContextWindowExceeded      the prompt does not fit the model's context window
├── QuotaExceeded                  402, or a 429 that says the quota or credit is spent (not transient)
├── RateLimited          *         429
├── Overloaded           *         529/503, or an ``overloaded_error`` mid-stream
├── ProviderUnavailable  *         other 5xx, 408/409, a dropped connection, a stream cut short
│   └── ProviderTimeout  *         no answer within ``timeout``
└── InvalidResponse                the provider answered something the SDK could not parse
```

``*`` marks transient errors: the adapter retries them with exponential backoff, honouring
``retry-after-ms`` / ``retry-after``. Messages name the provider, the model, the HTTP status, the provider's
own error type and message and its request id, and never contain the API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from loomflow.errors import ProviderError

if TYPE_CHECKING:
    from loomflow.messages import Usage

__all__ = [
    "AuthError",
    "BadRequest",
    "ContextWindowExceeded",
    "InvalidResponse",
    "MissingAPIKey",
    "Overloaded",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "QuotaExceeded",
    "RateLimited",
]


class _Detailed(ProviderError):
    """A provider error with the facts a caller may branch on."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.status = status
        self.error_type = error_type
        self.retry_after = retry_after
        self.request_id = request_id
        #: retried by the adapter? (the class default, unless the server sent ``x-should-retry``)
        self.retryable = self.transient
        #: how many attempts were made before this error was raised
        self.attempts = 1
        #: usage the failed attempts reported, if any (a stream cut after its start)
        self.usage: Usage | None = None


class AuthError(_Detailed):
    """The provider refused the credentials (401), or they lack permission (403)."""


class MissingAPIKey(AuthError):
    """No API key was given and its environment variable is unset (raised at the first call)."""


class BadRequest(_Detailed):
    """The provider rejected the request as malformed; the message carries the provider's reason."""


class ContextWindowExceeded(BadRequest):
    """The prompt is longer than the model's context window: compact the context and try again."""


class QuotaExceeded(_Detailed):
    """Billing: the account's quota or credit is spent. Retrying does not help."""


class RateLimited(_Detailed):
    """Too many requests or tokens for the account's rate limit (HTTP 429)."""

    transient = True


class Overloaded(_Detailed):
    """The provider is overloaded (Anthropic 529, HTTP 503)."""

    transient = True


class ProviderUnavailable(_Detailed):
    """A server error, a dropped connection, or a stream that ended before the response was complete."""

    transient = True


class ProviderTimeout(ProviderUnavailable):
    """No answer within the model's ``timeout``."""


class InvalidResponse(_Detailed):
    """The provider's answer could not be understood (a schema mismatch in the response)."""
