"""``@tool``: a Python function the model can call, with a schema from its signature and docstring.

    @tool(description="Search documentation", read_only=True)
    async def search_docs(query: str, limit: int = 5) -> str:
        ...

Arguments are validated with pydantic before the call; a sync function runs in a worker thread so it
never blocks the event loop; a ``timeout`` turns a slow call into an error result the model sees.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import inspect
import json
import os
import queue
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from loomflow.messages import ToolSpec

__all__ = ["Artifact", "Tool", "ToolArgumentError", "ToolTimeout", "in_worker_thread", "tool"]

T = TypeVar("T")
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A file-like product of a tool (a report, a patch): kept with the run, listed by ``artifacts()``.

    Return one from a tool; the model is told the artifact was saved, and the content is stored once.
    """

    name: str
    content: str
    media_type: str = "text/plain"
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ToolTimeout(TimeoutError):
    """The tool ran past its ``timeout`` and was stopped (not a timeout the tool itself raised)."""


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool's schema; the message is shown to the model."""


@dataclasses.dataclass(frozen=True, eq=False)
class Tool:
    """A callable tool and the facts governance and dispatch need about it."""

    name: str
    description: str
    fn: Callable[..., Any]
    args_model: type[BaseModel]
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    parallel_safe: bool = True
    timeout: float | None = None
    require_approval: bool = False
    #: the arguments' JSON schema as given (a tool from an MCP server); ``None``: from ``args_model``
    schema: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"tool name {self.name!r} must match {_NAME.pattern} (providers require it)")
        if self.read_only and self.destructive:
            raise ValueError(f"tool {self.name!r} cannot be both read_only and destructive")
        # checked here, not per call: a bad timeout would make every call of the tool fail
        timeout = self.timeout
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise ValueError(
                f"tool {self.name!r}: timeout must be a positive number of seconds, or None for no limit; "
                f"not {timeout!r}"
            )

    @classmethod
    def from_schema(
        cls, name: str, description: str, parameters: Mapping[str, Any], fn: Callable[..., Any], **flags: Any
    ) -> Tool:
        """A tool described by a JSON schema instead of a Python signature (MCP tools): the schema is
        shown to the model unchanged, and ``fn`` receives the arguments as keyword arguments."""
        model: type[BaseModel] = create_model(f"{name}_arguments", __config__=ConfigDict(extra="allow"))
        return cls(name=name, description=description, fn=fn, args_model=model, schema=dict(parameters), **flags)

    @property
    def parameters(self) -> dict[str, Any]:
        if self.schema is not None:
            return dict(self.schema)
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return schema

    @functools.cached_property
    def _spec(self) -> ToolSpec:
        # building the JSON schema with pydantic costs more than a whole step: once per tool is enough
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def spec(self) -> ToolSpec:
        return self._spec

    def validate(self, arguments: dict[str, Any]) -> BaseModel:
        try:
            return self.args_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ToolArgumentError(f"invalid arguments for tool {self.name!r}: {problems}") from None

    def _check_schema(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The shallow checks a JSON-schema tool gets here (its server checks the rest)."""
        schema = self.schema or {}
        problems = [f"{name}: Field required" for name in schema.get("required", ()) if name not in arguments]
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            problems += [f"{name}: Extra inputs are not permitted" for name in arguments if name not in props]
        if problems:
            raise ToolArgumentError(f"invalid arguments for tool {self.name!r}: {'; '.join(problems)}")
        return dict(arguments)

    async def invoke(self, arguments: dict[str, Any]) -> tuple[str, Artifact | None]:
        """Validate, call (in a thread if sync), and render the result as text (and the artifact, if any)."""
        if self.schema is not None:
            kwargs = self._check_schema(arguments)
        else:
            args = self.validate(arguments)
            kwargs = {name: getattr(args, name) for name in type(args).model_fields}
        try:
            if inspect.iscoroutinefunction(self.fn):
                result = await _limited(self.fn(**kwargs), self.timeout)
            else:
                result = await _limited(self._started(kwargs), self.timeout)
        except TimeoutError as exc:
            if self.timeout is None or isinstance(exc, ToolTimeout) or not _expired(exc):
                raise
            raise ToolTimeout(f"tool {self.name!r} ran longer than its timeout of {self.timeout}s") from None
        if isinstance(result, Artifact):
            note = result.summary or f"{len(result.content)} characters"
            return f"saved artifact {result.name!r} ({result.media_type}, {note})", result
        return render_result(result), None

    def _started(self, kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        """The sync function's call on a worker thread, returned once its body has begun, so a timeout
        measures the tool's own running time. Waiting blocks the loop only for a thread's wake-up (the
        pool never queues a call): the pause ``Thread.start()`` makes anyway."""
        began = threading.Event()

        def run() -> Any:
            began.set()
            return self.fn(**kwargs)

        done = asyncio.wrap_future(_workers.submit(run))
        began.wait()
        return done

    async def __call__(self, **kwargs: Any) -> Any:
        """Call the underlying function directly (for tests and reuse), without validation."""
        result = self.fn(**kwargs)
        return await result if inspect.isawaitable(result) else result


class _Workers:
    """The daemon threads sync tools run on, instead of the event loop's default executor.

    A sync call cannot be stopped, so a timed-out tool keeps its thread. On the default executor that
    thread is joined when ``asyncio.run`` (``run_sync``) closes the loop, so the run returns only when the
    hung tool ends, and it holds one of a few workers, so a handful of hung tools starve later calls. Here
    nobody joins the threads (daemons) and nothing queues: a call takes an idle thread or starts a new one.
    The pool is process-wide because a hung thread outlives the loop, and the run, that started it.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        if self._pid != os.getpid():  # a forked child inherits the idle count but none of the threads
            self._reset()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, fn))
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._work, name="loomflow-tool", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            future, fn = self._jobs.get()
            if future.set_running_or_notify_cancel():  # False: cancelled while queued, so never run
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)
            del future, fn  # an idle thread holds no result
            with self._lock:
                self._idle += 1


_workers = _Workers()


async def in_worker_thread(fn: Callable[..., T], /, *args: Any) -> T:
    """``fn(*args)`` on loomflow's worker threads (see ``_Workers``), for blocking work inside an async tool."""
    return await asyncio.wrap_future(_workers.submit(functools.partial(fn, *args)))


def _limited(call: Awaitable[T], timeout: float | None) -> Awaitable[T]:
    return call if timeout is None else asyncio.wait_for(call, timeout)


def _expired(exc: TimeoutError) -> bool:
    """True when ``wait_for`` itself expired (its TimeoutError wraps the cancellation), not the tool."""
    return isinstance(exc.__cause__, asyncio.CancelledError) or isinstance(exc.__context__, asyncio.CancelledError)


def render_result(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:  # models and dataclasses nested in lists and dicts become JSON too, not their repr
        return json.dumps(to_jsonable_python(result, fallback=str), ensure_ascii=False)
    except (TypeError, ValueError):  # e.g. bytes that are not UTF-8
        return str(result)


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The summary and the per-argument descriptions of a Google- or Sphinx-style docstring."""
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n\n", 1)[0].strip()
    params: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        sphinx = re.match(r":param\s+(\w+):\s*(.*)", stripped)
        if sphinx:
            params[sphinx.group(1)] = sphinx.group(2)
            continue
        if in_args:
            m = re.match(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)", stripped)
            if m and line.startswith((" ", "\t")):
                params[m.group(1)] = m.group(2)
            elif stripped and not line.startswith((" ", "\t")):
                in_args = False
    return summary, params


def _args_model(fn: Callable[..., Any], name: str, docs: dict[str, str]) -> type[BaseModel]:
    hints = get_type_hints(fn, include_extras=True)  # keeps Annotated[int, Field(ge=0)] constraints
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name!r}: *args/**kwargs cannot be described to a model; name each argument")
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"tool {name!r}: argument {pname!r} is positional-only, but tools are called with keyword "
                f"arguments; remove the '/' from the signature"
            )
        if pname == "model_config":
            raise TypeError(
                f"tool {name!r}: an argument cannot be named 'model_config' (pydantic reserves it for the "
                f"arguments model); rename it"
            )
        annotation = hints.get(pname, Any)
        default = param.default if param.default is not param.empty else ...
        fields[pname] = (annotation, Field(default, description=docs.get(pname)))
    model: type[BaseModel] = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    return model


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    parallel_safe: bool = True,
    timeout: float | None = None,
    require_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    parallel_safe: bool = True,
    timeout: float | None = None,
    require_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a tool from a function (sync or async); usable bare or with options.

    ``read_only`` tools are safe to repeat and never need approval; ``destructive`` marks an effect that
    cannot be undone; ``idempotent`` lets a call interrupted by a crash be re-run automatically;
    ``parallel_safe=False`` makes the tool run alone; ``require_approval`` pauses the run for a human
    decision before each call.
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        # the schema is read from a def's signature and type hints, which other callables do not all carry
        if not (inspect.isfunction(f) or inspect.ismethod(f)):
            raise TypeError(f"@tool decorates a function (got {type(f).__name__}); write a def and decorate it")
        tool_name = name or f.__name__
        summary, docs = _docstring(f)
        desc = description or summary
        if not desc:
            raise ValueError(f"tool {tool_name!r} needs a description: pass description= or write a docstring")
        return Tool(
            name=tool_name,
            description=desc,
            fn=f,
            args_model=_args_model(f, tool_name, docs),
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent or read_only,
            parallel_safe=parallel_safe,
            timeout=timeout,
            require_approval=require_approval,
        )

    return wrap(fn) if fn is not None else wrap
