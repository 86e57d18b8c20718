"""What the two loomflow workers share: W4's resume, timed the same way for an ``Interpreter`` (graph level)
and an ``Agent`` (agent level), which both load a run's state with ``state(run_id)`` and continue it with
``resume(run_id)``.

Imports nothing from loomflow (the workers pass what they opened), so importing it adds nothing to their
``T_IMPORT``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class Resumable(Protocol):
    async def state(self, run_id: str) -> Any: ...

    async def resume(self, run_id: str) -> Any: ...


R = TypeVar("R", bound=Resumable)


async def w4_resume(open_runner: Callable[[], R], res: dict[str, Any]) -> tuple[R, Any]:
    """W4's second process: open the runner (inside the total), load the crashed run ``w4`` and run it to
    the end; the load, continue and total times and the message counts go into ``res``. Returns the runner
    (to close) and the completed run's result."""
    t = time.perf_counter()
    runner = open_runner()
    t1 = time.perf_counter()
    state = await runner.state("w4")
    res["t_load"] = time.perf_counter() - t1
    res["messages_at_load"] = len(state.messages)
    t2 = time.perf_counter()
    result = await runner.resume("w4")
    res["t_continue"] = time.perf_counter() - t2
    res["t_resume_total"] = time.perf_counter() - t
    assert result.status == "completed", (result.status, result.error)
    res["final_messages"] = len(result.state.messages)
    return runner, result
