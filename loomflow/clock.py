"""Time and ids as injected services, so tests run on fake clocks and sequential ids."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock", "sequential_ids", "uuid_ids"]


class Clock(Protocol):
    """Wall time for records, monotonic time for durations, and sleep for backoff."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock. ``now`` and ``monotonic`` are the ``time`` functions themselves: read on every
    step, they cost no Python call of their own."""

    now = staticmethod(time.time)
    monotonic = staticmethod(time.perf_counter)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when slept on or advanced: deterministic timings in tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._t = start

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        self._t += seconds
        await asyncio.sleep(0)


def uuid_ids() -> Callable[[], str]:
    """Random run ids (the default)."""
    return lambda: uuid.uuid4().hex


def sequential_ids(prefix: str = "run") -> Callable[[], str]:
    """``run-1``, ``run-2``, ...: deterministic ids for tests and snapshots."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"
