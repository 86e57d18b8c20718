"""Model prices in USD per million tokens, and the cost of one call's ``Usage``.

A model missing from the table costs ``None``: never a guess. Pass ``price=Price(...)`` to a factory for a
model the table does not know (a fine-tune, a self-hosted model, a negotiated rate).

Usage is normalised before it is priced: ``input_tokens`` counts every prompt token, of which
``cache_read_tokens`` were read from the prompt cache and ``cache_write_tokens`` written to it;
``output_tokens`` counts every generated token, reasoning included. So

    cost = (input - cache_read - cache_write) * input_price + cache_read * cache_read_price
         + cache_write * cache_write_price + output * output_price

Standard tier, short-context list prices, from the providers' pricing pages (platform.claude.com model pages
and pricing page; OpenAI's API pricing page), checked 2026-10. Anthropic cache writes are the 5-minute
rate. Long-context surcharges, batch discounts and priority tiers are not modelled.

>>> price_for("anthropic", "claude-sonnet-4-5-20250929").output
15.0
>>> price_for("anthropic", "claude-unknown") is None
True
"""

from __future__ import annotations

import dataclasses
import re

from loomflow.messages import Usage

__all__ = ["ANTHROPIC_PRICES", "OPENAI_PRICES", "Price", "cost", "price_for"]


@dataclasses.dataclass(frozen=True)
class Price:
    """USD per million tokens. ``cache_read`` / ``cache_write`` default to the input price when a provider
    has no separate rate (OpenAI charges nothing extra to write its cache)."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


def _claude(inp: float, out: float, read: float, write: float) -> Price:
    return Price(input=inp, output=out, cache_read=read, cache_write=write)


def _gpt(inp: float, out: float, cached: float | None) -> Price:
    return Price(input=inp, output=out, cache_read=cached)


ANTHROPIC_PRICES: dict[str, Price] = {
    "claude-fable-5-1": _claude(10.0, 50.0, 0.25, 12.5),
    "claude-mythos-5-1": _claude(10.0, 50.0, 0.25, 12.5),
    "claude-fable-5": _claude(10.0, 50.0, 1.0, 12.5),
    "claude-mythos-5": _claude(10.0, 50.0, 1.0, 12.5),
    "claude-opus-5-5": _claude(4.0, 20.0, 0.20, 5.0),
    "claude-opus-5": _claude(5.0, 25.0, 0.50, 6.25),
    # The model page lists a 0.20 cache read; third-party trackers report a cut to 0.10 (2026-10-07).
    "claude-sonnet-5-5": _claude(2.0, 10.0, 0.20, 2.5),
    "claude-sonnet-5": _claude(2.0, 10.0, 0.20, 2.5),
    "claude-opus-4-8": _claude(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-7": _claude(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-6": _claude(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-5": _claude(5.0, 25.0, 0.50, 6.25),
    "claude-opus-4-1": _claude(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4-0": _claude(15.0, 75.0, 1.50, 18.75),
    "claude-opus-4": _claude(15.0, 75.0, 1.50, 18.75),
    "claude-sonnet-4-6": _claude(3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4-5": _claude(3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4-0": _claude(3.0, 15.0, 0.30, 3.75),
    "claude-sonnet-4": _claude(3.0, 15.0, 0.30, 3.75),
    "claude-3-7-sonnet": _claude(3.0, 15.0, 0.30, 3.75),
    "claude-haiku-4-5": _claude(1.0, 5.0, 0.10, 1.25),
    "claude-3-5-haiku": _claude(0.80, 4.0, 0.08, 1.0),
    "claude-3-haiku": _claude(0.25, 1.25, 0.03, 0.30),
}

OPENAI_PRICES: dict[str, Price] = {
    "gpt-5.5": _gpt(5.0, 30.0, 0.50),
    "gpt-5.4": _gpt(2.50, 15.0, 0.25),
    "gpt-5.4-mini": _gpt(0.75, 4.50, 0.075),
    "gpt-5.4-nano": _gpt(0.20, 1.25, 0.02),
    "gpt-5.2": _gpt(1.75, 14.0, 0.175),
    "gpt-5.1": _gpt(1.25, 10.0, 0.125),
    "gpt-5": _gpt(1.25, 10.0, 0.125),
    "gpt-5-mini": _gpt(0.25, 2.0, 0.025),
    "gpt-5-nano": _gpt(0.05, 0.40, 0.005),
    "gpt-4.1": _gpt(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _gpt(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _gpt(0.10, 0.40, 0.025),
    "gpt-4o": _gpt(2.50, 10.0, 1.25),
    "gpt-4o-mini": _gpt(0.15, 0.60, 0.075),
    "o3": _gpt(2.0, 8.0, 0.50),
    "o4-mini": _gpt(1.10, 4.40, 0.275),
}

_TABLES = {"anthropic": ANTHROPIC_PRICES, "openai": OPENAI_PRICES}
# A dated snapshot of a listed model costs what the model costs: "claude-sonnet-4-5-20250929",
# "gpt-4.1-2025-04-14". Nothing else is stripped, so "gpt-4o-mini" never matches "gpt-4o".
_SNAPSHOT = re.compile(r"^(?P<base>.+?)(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-latest)$")


def price_for(provider: str, model: str) -> Price | None:
    """The listed price of ``model`` at ``provider`` ("anthropic" or "openai"), or ``None``."""
    table = _TABLES.get(provider)
    if table is None:
        return None
    if model in table:
        return table[model]
    match = _SNAPSHOT.match(model)
    return table.get(match.group("base")) if match else None


def cost(usage: Usage, price: Price | None) -> float | None:
    """The USD cost of ``usage`` at ``price`` (``None`` without a price)."""
    if price is None:
        return None
    read = usage.cache_read_tokens
    write = usage.cache_write_tokens
    fresh = max(usage.input_tokens - read - write, 0)
    total = (
        fresh * price.input
        + read * (price.input if price.cache_read is None else price.cache_read)
        + write * (price.input if price.cache_write is None else price.cache_write)
        + usage.output_tokens * price.output
    )
    return round(total / 1_000_000, 10)
