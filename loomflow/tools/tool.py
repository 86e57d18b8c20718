"""``@tool``: a Python function the model can call, with a schema from its signature and docstring.

    @tool(description="Search documentation", read_only=True)
    async def search_docs(query: str, limit: int = 5) -> str:
        ...

Arguments are validated with pydantic before the call; a sync function runs in a worker thread so it
never blocks the event loop; a ``timeout`` turns a slow call into an error result the model sees.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from loomflow.messages import ToolSpec

__all__ = ["Artifact", "Tool", "ToolArgumentError", "ToolTimeout", "tool"]

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
        if inspect.iscoroutinefunction(self.fn):
            call: Awaitable[Any] = self.fn(**kwargs)
        else:
            call = asyncio.to_thread(self.fn, **kwargs)
        if self.timeout is None:
            result = await call
        else:
            try:
                result = await asyncio.wait_for(call, self.timeout)
            except TimeoutError as exc:
                if isinstance(exc, ToolTimeout) or not _expired(exc):
                    raise
                raise ToolTimeout(f"tool {self.name!r} ran longer than its timeout of {self.timeout}s") from None
        if isinstance(result, Artifact):
            note = result.summary or f"{len(result.content)} characters"
            return f"saved artifact {result.name!r} ({result.media_type}, {note})", result
        return render_result(result), None

    async def __call__(self, **kwargs: Any) -> Any:
        """Call the underlying function directly (for tests and reuse), without validation."""
        result = self.fn(**kwargs)
        return await result if inspect.isawaitable(result) else result


def _expired(exc: TimeoutError) -> bool:
    """True when ``wait_for`` itself expired (its TimeoutError wraps the cancellation), not the tool."""
    return isinstance(exc.__cause__, asyncio.CancelledError) or isinstance(exc.__context__, asyncio.CancelledError)


def render_result(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(result, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
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
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {name!r}: *args/**kwargs cannot be described to a model; name each argument")
        annotation = hints.get(pname, Any)
        default = param.default if param.default is not param.empty else ...
        from pydantic import Field

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
