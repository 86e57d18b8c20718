"""Nodes: a stable name and one async method from a context to an outcome.

    from loomflow import Update, node

    @node(max_visits=10)
    async def count(ctx):
        if ctx.state.count >= 3:
            return Update(route="done")
        return Update({"count": 1}, route="again")

A node reads ``ctx.state`` (immutable), makes effectful calls through ``ctx.effect`` (journaled, so a
resumed run never repeats them), and returns ``Update``, ``ctx.interrupt(...)`` or ``End``. Nodes keep
no per-run attributes: everything a run needs is in its state or its journal.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from loomflow.outcomes import Interrupt, JournalRef, Outcome, Pause

if TYPE_CHECKING:
    from loomflow.clock import Clock
    from loomflow.journal import Journal

__all__ = ["FunctionNode", "Node", "NodeContext", "Retry", "RunView", "node"]

S = TypeVar("S")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Retry:
    """Retry a failing node up to ``attempts`` times in all, waiting ``backoff * multiplier**n`` seconds.

    Only exceptions of the ``on`` types are retried; the journal serves calls that already
    completed, so a retried node never repeats a finished effect.
    """

    attempts: int = 3
    backoff: float = 0.2
    multiplier: float = 2.0
    max_backoff: float = 10.0
    on: tuple[type[BaseException], ...] = (Exception,)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_backoff, self.backoff * self.multiplier ** (attempt - 1)))


class RunView(Protocol):
    """The run a node's context reads through (an ``Execution``)."""

    @property
    def run_id(self) -> str: ...
    @property
    def services(self) -> Mapping[str, Any]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def answers(self) -> Mapping[str, Any]: ...
    @property
    def budgets(self) -> Mapping[str, float]: ...
    @property
    def elapsed(self) -> float: ...

    def emit(self, kind: str, node_path: str | None, step: int | None, data: dict[str, Any]) -> None: ...


class NodeContext(Generic[S]):
    """What a node sees while it runs: the state, its place in the run, and the run's services.

    Built once per step, so it holds only the step's own facts and reads the rest through the run.
    """

    __slots__ = (
        "_calls",
        "_results",
        "_run",
        "_usage",
        "attempt",
        "node_path",
        "recorded_before",
        "state",
        "step",
        "visit",
    )

    def __init__(
        self, run: RunView, state: S, step: int, visit: int, node_path: str, recorded_before: bool = True
    ) -> None:
        self._run = run
        self.state = state
        self.step = step
        #: the step that first entered this node visit; stays the same across pause/resume and crashes
        self.visit = visit
        self.node_path = node_path
        self.attempt = 1
        self._calls = 0
        self._results: dict[int, Any] | None = None  # made by the first journaled call (most steps make none)
        #: whether this visit may already have journal entries (a resumed, retried or re-run visit)
        self.recorded_before = recorded_before
        self._usage: dict[str, Any] | None = None

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def services(self) -> Mapping[str, Any]:
        """The services the interpreter was given (model clients, tools, ...)."""
        return self._run.services

    @property
    def clock(self) -> Clock:
        return self._run.clock

    @property
    def budgets(self) -> Mapping[str, float]:
        """The run's named budgets (``Limits.budgets``), e.g. ``max_iterations``."""
        return self._run.budgets

    @property
    def elapsed(self) -> float:
        """Active seconds the run spent in steps before this one."""
        return self._run.elapsed

    @property
    def _answers(self) -> Mapping[str, Any]:
        return self._run.answers

    @property
    def usage(self) -> dict[str, Any]:
        """Counts this step reports (tokens, cost, ...), stored with the step and rolled up per run."""
        if self._usage is None:
            self._usage = {}  # made when first used: most steps report none
        return self._usage

    @usage.setter
    def usage(self, value: dict[str, Any]) -> None:
        self._usage = value

    def add_usage(self, **counts: float | int | None) -> None:
        """Add to this step's usage counters (``None`` values are kept as unknown, e.g. an unpriced cost)."""
        for key, value in counts.items():
            if value is None:
                self.usage.setdefault(key, None)
            elif self.usage.get(key) is not None or key not in self.usage:
                self.usage[key] = self.usage.get(key, 0) + value

    def interrupt_id(self, key: str) -> str:
        return f"{self.node_path}@{self.visit}:{key}"

    def answer(self, key: str, default: Any = None) -> Any:
        """The value ``resume`` gave for this node's interrupt ``key`` (``default`` if none yet)."""
        return self._answers.get(self.interrupt_id(key), default)

    def answered(self, key: str) -> bool:
        return self.interrupt_id(key) in self._answers

    def interrupt(
        self,
        key: str = "input",
        *,
        kind: str = "input",
        prompt: str = "",
        payload: Any = None,
        allowed: tuple[Any, ...] | None = None,
        writes: Mapping[str, Any] | None = None,
    ) -> Pause:
        """A ``Pause`` asking for one value; after ``resume``, ``ctx.answer(key)`` holds it."""
        return Pause(
            (self.make_interrupt(key, kind=kind, prompt=prompt, payload=payload, allowed=allowed),),
            writes or {},
        )

    def make_interrupt(
        self,
        key: str,
        *,
        kind: str = "input",
        prompt: str = "",
        payload: Any = None,
        allowed: tuple[Any, ...] | None = None,
    ) -> Interrupt:
        """One interrupt record, for a node that pauses on several at once: ``Pause((a, b))``."""
        return Interrupt(self.interrupt_id(key), kind, self.node_path, self.step, prompt, payload, allowed)

    def emit(self, kind: str, **data: Any) -> None:
        """Emit a custom event (e.g. a token delta) on the run's event stream."""
        self._run.emit(kind, self.node_path, self.step, data)

    async def effect(
        self,
        name: str,
        call: Callable[[], Awaitable[T]],
        *,
        request: Any = None,
        idempotent: bool = False,
        index: int | None = None,
    ) -> Any:
        """Run ``call`` once across crashes, retries and resumes; return its (JSON-form) result.

        The intent is recorded before the call and the result after. Re-executing this node (after a
        crash, a retry or a pause) serves the recorded result. An intent with no result is re-run only
        when ``idempotent``; otherwise the run pauses with an ``uncertain_call`` interrupt.
        ``request`` describes the call; replay fails loudly if it differs from the recorded one.
        ``index`` numbers the call explicitly, for calls started concurrently (each needs a stable number).
        """
        if index is None:
            index = self._calls
        self._calls = max(self._calls, index + 1)
        result = await self._run.journal.call(self, index, name, call, request, idempotent, self._answers)
        if self._results is None:
            self._results = {}
        self._results[index] = result
        return result

    def journal_ref(self, index: int | None = None, key: str | None = None) -> JournalRef:
        """Write this (default: the latest) call's result into state without storing it twice.

        ``Update({"messages": [ctx.journal_ref(key="message")]})`` appends the ``message`` field of the
        latest call's result; the checkpoint keeps a reference to the journal entry.
        """
        if index is None:
            index = self._calls - 1
        if self._results is None or index not in self._results:
            raise IndexError(f"node {self.node_path!r} made no journaled call #{index} in this step")
        return JournalRef(index, key)

    def resolve(self, ref: JournalRef) -> Any:
        """The JSON value a reference stands for."""
        if self._results is None:
            raise KeyError(ref.index)
        return ref.pick(self._results[ref.index])


class Node(abc.ABC):
    """Base class for class-based nodes: override ``run``.

    ``max_visits`` bounds how often one run may enter the node (cycles must pass such a node);
    ``routes`` declares the routes ``run`` can return, so the graph can check them when built;
    ``interrupts`` marks a node that can pause (drawn distinctly).
    """

    name: str = ""
    retry: Retry | None = None
    timeout: float | None = None
    max_visits: int | None = None
    routes: tuple[str, ...] | None = None
    interrupts: bool = False

    @abc.abstractmethod
    async def run(self, ctx: NodeContext[Any]) -> Outcome:
        """Do the node's work and say what happens next."""

    def describe(self) -> dict[str, Any]:
        """Static facts for drawing and fingerprints."""
        return {"interrupts": self.interrupts, "limit": self.max_visits}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionNode(Node):
    """A node made from an async function by ``@node``."""

    def __init__(
        self,
        fn: Callable[[NodeContext[Any]], Awaitable[Outcome]],
        *,
        name: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        max_visits: int | None = None,
        routes: tuple[str, ...] | None = None,
        interrupts: bool = False,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.retry = retry
        self.timeout = timeout
        self.max_visits = max_visits
        self.routes = routes
        self.interrupts = interrupts
        self.__doc__ = fn.__doc__

    async def run(self, ctx: NodeContext[Any]) -> Outcome:
        return await self.fn(ctx)


NodeFn = Callable[[NodeContext[Any]], Awaitable[Outcome]]


@overload
def node(fn: NodeFn, /) -> FunctionNode: ...


@overload
def node(
    *,
    name: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    max_visits: int | None = None,
    routes: tuple[str, ...] | None = None,
    interrupts: bool = False,
) -> Callable[[NodeFn], FunctionNode]: ...


def node(
    fn: NodeFn | None = None,
    /,
    *,
    name: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    max_visits: int | None = None,
    routes: tuple[str, ...] | None = None,
    interrupts: bool = False,
) -> FunctionNode | Callable[[NodeFn], FunctionNode]:
    """Make a node from an async function ``fn(ctx) -> Update | Pause | End``; usable bare or with options."""

    def wrap(f: NodeFn) -> FunctionNode:
        return FunctionNode(
            f,
            name=name,
            retry=retry,
            timeout=timeout,
            max_visits=max_visits,
            routes=routes,
            interrupts=interrupts,
        )

    return wrap(fn) if fn is not None else wrap
