"""The price table and ``cost``: listed models and their dated snapshots, ``None`` for anything else."""

from __future__ import annotations

import pytest

from loomflow.messages import Usage
from loomflow.providers.pricing import ANTHROPIC_PRICES, OPENAI_PRICES, Price, cost, price_for


@pytest.mark.parametrize(
    ("provider", "model", "output"),
    [
        ("anthropic", "claude-sonnet-4-5", 15.0),
        ("anthropic", "claude-sonnet-4-5-20250929", 15.0),
        ("anthropic", "claude-haiku-4-5-20251001", 5.0),
        ("anthropic", "claude-opus-5-5", 20.0),
        ("openai", "gpt-4o", 10.0),
        ("openai", "gpt-4o-mini", 0.60),
        ("openai", "gpt-4.1-2025-04-14", 8.0),
        ("openai", "gpt-5.4-mini", 4.50),
    ],
)
def test_listed_models_and_snapshots(provider: str, model: str, output: float) -> None:
    price = price_for(provider, model)
    assert price is not None
    assert price.output == output


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-sonnet-9"),
        ("anthropic", "claude-sonnet-4-5-preview"),
        ("openai", "gpt-4o-mini-tts"),
        ("openai", "claude-sonnet-4-5"),  # another provider's table is never consulted
        ("openai-compatible", "gpt-4o"),
        ("openai", "ft:gpt-4o:acme"),
    ],
)
def test_unknown_models_have_no_price(provider: str, model: str) -> None:
    assert price_for(provider, model) is None
    assert cost(Usage(input_tokens=10, output_tokens=10), price_for(provider, model)) is None


def test_cost_splits_fresh_cached_and_written_input() -> None:
    price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    usage = Usage(input_tokens=10_000, cache_read_tokens=6_000, cache_write_tokens=3_000, output_tokens=1_000)
    assert cost(usage, price) == pytest.approx((1_000 * 3 + 6_000 * 0.3 + 3_000 * 3.75 + 1_000 * 15) / 1e6)
    # no separate cache rates: cached tokens cost what input costs
    assert cost(usage, Price(input=1.0, output=2.0)) == pytest.approx((10_000 * 1 + 1_000 * 2) / 1e6)


def test_every_listed_price_is_complete_and_positive() -> None:
    for table in (ANTHROPIC_PRICES, OPENAI_PRICES):
        for name, price in table.items():
            assert 0 < price.input <= price.output, name
            assert (price.cache_read or price.input) < price.input, name
    assert all(p.cache_write is not None and p.cache_write > p.input for p in ANTHROPIC_PRICES.values())
