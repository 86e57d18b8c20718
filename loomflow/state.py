"""Run state: named channels, each with a reducer that folds a node's write into the channel.

A graph declares its state once, as a class whose annotations are the channels::

    from typing import Annotated
    from loomflow import State, add, append

    class Counter(State):
        count: Annotated[int, add] = 0
        log: Annotated[tuple[str, ...], append] = ()
        note: str = ""                       # no reducer given: replace

A node never mutates state; it returns the writes (``Update({"count": 1, "log": ["x"]})``) and the
interpreter folds them in. Those writes are exactly the delta that gets persisted.

Reducers: ``replace`` (default), ``append`` (the write is a list of items), ``merge`` (dict update),
``add`` (numbers, or anything with ``+``), or any ``Reducer(fn, name)``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, get_args, get_origin

from loomflow.errors import GraphError, RunError

__all__ = [
    "Channel",
    "Reducer",
    "State",
    "add",
    "append",
    "merge",
    "replace",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Reducer:
    """A named function ``(old, write) -> new``. The name goes into the graph's fingerprint."""

    fn: Callable[[Any, Any], Any]
    name: str

    def __call__(self, old: Any, write: Any) -> Any:
        return self.fn(old, write)


def _append(old: Any, write: Any) -> Any:
    if not isinstance(write, list | tuple):
        raise TypeError(
            f"an append channel takes a list or tuple of items, got {type(write).__name__}; "
            f"wrap a single item as [item]"
        )
    return (*old, *write)


def _replace(old: Any, write: Any) -> Any:
    return write


def _merge(old: Any, write: Any) -> Any:
    if not isinstance(write, Mapping):
        raise TypeError(f"a merge channel takes a mapping, got {type(write).__name__}")
    return {**old, **write}


def _add(old: Any, write: Any) -> Any:
    return old + write


append = Reducer(_append, "append")
replace = Reducer(_replace, "replace")
merge = Reducer(_merge, "merge")
add = Reducer(_add, "add")

_JSON_NATIVE = (int, str, float, bool, type(None), Any, object)


def _decoder(tp: Any) -> Callable[[Any], Any]:
    """A function turning the JSON form of a value of type ``tp`` back into that type."""
    if tp in _JSON_NATIVE:
        return _identity
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType) and all(a in _JSON_NATIVE for a in get_args(tp)):
        return _identity  # str | None and the like: JSON gives them back as they were (no pydantic needed)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return tuple if item is _identity else _each(item)
    args = get_args(tp)
    if origin is list and all(a in _JSON_NATIVE for a in args):
        return _identity
    if origin is dict and (not args or args[0] is str) and all(a in _JSON_NATIVE for a in args):
        return _identity  # JSON keeps only str keys: dict[int, ...] is decoded (its keys turned back into ints)
    if tp in (dict, list):
        return _identity
    return _Adapted(tp)


def _each(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda v: tuple(item(x) for x in v)


def _identity(value: Any) -> Any:
    return value


class _Adapted:
    """Decodes through pydantic, imported only when a non-JSON type is first loaded."""

    __slots__ = ("_adapter", "_tp")

    def __init__(self, tp: Any) -> None:
        self._tp = tp
        self._adapter: Any = None

    def __call__(self, value: Any) -> Any:
        if self._adapter is None:
            from pydantic import TypeAdapter

            self._adapter = TypeAdapter(self._tp)
        return self._adapter.validate_python(value)


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One named slot of run state and the reducer that folds writes into it."""

    name: str
    type: Any
    reducer: Reducer
    default: Any
    decode: Callable[[Any], Any] = dataclasses.field(compare=False, repr=False)
    decode_write: Callable[[Any], Any] = dataclasses.field(compare=False, repr=False)

    @property
    def appends(self) -> bool:
        """True for append channels, which are stored as their deltas, never snapshotted."""
        return self.reducer is append

    def writer(self) -> Callable[[Any, Any], Any]:
        """The reducer, with each live write first turned into the channel's type, as a resumed run reads it
        back from JSON (a dict written to a model channel becomes the model, a list a tuple)."""
        fn, decode = self.reducer.fn, self.decode_write
        if decode is _identity:  # JSON-native values: nothing to turn
            return fn
        expected = _type_name(self.type)

        def write(old: Any, new: Any) -> Any:
            try:
                new = decode(new)
            except ValueError as exc:  # pydantic's ValidationError
                raise TypeError(f"the value does not fit {expected} ({exc})") from None
            return fn(old, new)

        return write

    def describe(self) -> str:
        return f"{self.name}: {_type_name(self.type)} [{self.reducer.name}]"


def _secret_in(tp: Any, seen: tuple[Any, ...]) -> str | None:
    """Where ``tp`` holds a pydantic secret (``SecretStr``, ``SecretBytes``), looking inside containers, unions,
    ``Annotated`` and the fields of models and dataclasses; None if it holds none."""
    if tp in seen:
        return None
    if isinstance(tp, type):
        if any(b.__module__.startswith("pydantic") and b.__name__ == "_SecretBase" for b in tp.__mro__):
            return tp.__qualname__
        fields = getattr(tp, "model_fields", None)
        if isinstance(fields, dict):  # a pydantic model (pydantic is not imported here for this)
            for field_name, info in fields.items():
                if inner := _secret_in(info.annotation, (*seen, tp)):
                    return f"{tp.__qualname__}.{field_name}: {inner}"
        elif dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            for field in dataclasses.fields(tp):
                if inner := _secret_in(hints.get(field.name), (*seen, tp)):
                    return f"{tp.__qualname__}.{field.name}: {inner}"
        return None
    for arg in get_args(tp):
        if inner := _secret_in(arg, seen):
            return inner
    return None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__
    return str(tp).replace("typing.", "")


S = TypeVar("S", bound="State")


class State:
    """Base class of a graph's state schema. Instances are immutable views of one moment of a run.

    >>> from typing import Annotated
    >>> class Counter(State):
    ...     count: Annotated[int, add] = 0
    >>> Counter(count=2).count
    2
    """

    __state_version__: ClassVar[int] = 1
    __channel_cache__: ClassVar[dict[str, Channel] | None] = None

    def __init_subclass__(cls, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__state_version__ = version
        cls.__channel_cache__ = None

    def __init__(self, **values: Any) -> None:
        channels = type(self).channels()
        unknown = sorted(set(values) - set(channels))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no channel(s) {unknown}; declared: {sorted(channels)}")
        data = {name: ch.default for name, ch in channels.items()}
        data.update(values)
        object.__setattr__(self, "__dict__", data)

    @classmethod
    def channels(cls) -> dict[str, Channel]:
        """The declared channels, parsed from the class annotations on first use."""
        cached: dict[str, Channel] | None = cls.__dict__.get("__channel_cache__")
        if cached is not None:
            return cached
        hints = typing.get_type_hints(cls, include_extras=True)
        channels: dict[str, Channel] = {}
        problems: list[str] = []
        for name, hint in hints.items():
            if name.startswith("_") or get_origin(hint) is ClassVar:
                continue
            tp, reducer = hint, replace
            if get_origin(hint) is typing.Annotated:
                tp, *meta = get_args(hint)
                found = [m for m in meta if isinstance(m, Reducer)]
                if len(found) > 1:
                    problems.append(f"channel {name!r} names {len(found)} reducers; keep one")
                if found:
                    reducer = found[0]
            default = getattr(cls, name, _missing_default(tp, reducer))
            if default is _NO_DEFAULT:
                problems.append(f"channel {name!r} has no default; give it one (e.g. `{name}: ... = ...`)")
            if where := _secret_in(tp, ()):
                problems.append(
                    f"channel {name!r} holds a secret ({where}); checkpoints are plain JSON and pydantic writes a "
                    f"secret as '**********', so it would come back masked. Keep secrets out of the state (in the "
                    f"tool or model that needs them)"
                )
            decode = _decoder(tp)
            if reducer is append:
                args = get_args(tp)
                item_tp = args[0] if args else Any
                item = _decoder(item_tp)
                decode_write: Callable[[Any], Any] = tuple if item is _identity else _each(item)
            else:
                decode_write = decode
            channels[name] = Channel(name, tp, reducer, default, decode, decode_write)
        if problems:
            raise GraphError(cls.__qualname__, problems)
        cls.__channel_cache__ = channels
        return channels

    @classmethod
    def describe(cls) -> list[str]:
        """One line per channel, for fingerprints and error messages."""
        return [ch.describe() for ch in cls.channels().values()]

    @classmethod
    def from_values(cls: type[S], values: dict[str, Any]) -> S:
        """Wrap an already-complete channel dict without copying or checking (the interpreter's path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        return obj

    def values(self) -> dict[str, Any]:
        """A shallow copy of the channel values."""
        return dict(self.__dict__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"{type(self).__name__} is immutable: return Update({{{name!r}: ...}}) from a node instead"
        )

    def __getitem__(self, name: str) -> Any:
        return self.__dict__[name]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _NoDefault:
    pass


_NO_DEFAULT = _NoDefault()


def _missing_default(tp: Any, reducer: Reducer) -> Any:
    if reducer is append:
        return ()
    if reducer is merge:
        return {}
    return _NO_DEFAULT


def apply_writes(
    channels: dict[str, Channel], values: dict[str, Any], writes: Mapping[str, Any], node_path: str
) -> dict[str, Any]:
    """Fold ``writes`` into a copy of ``values``; a bad write is a RunError naming node and channel."""
    new = dict(values)
    for key, write in writes.items():
        ch = channels.get(key)
        try:
            if ch is None:
                raise KeyError(key)
            new[key] = ch.reducer.fn(new[key], write)
        except Exception as exc:
            raise bad_write(channels, node_path, key, exc) from exc
    return new


def bad_write(channels: Mapping[str, Channel], node_path: str, key: str, exc: Exception) -> RunError:
    """The error of a write that could not be applied: to a channel the state does not declare, or one
    whose reducer refused it (the step fails; the run can be resumed once the node is fixed)."""
    if key not in channels:
        return RunError(
            f"node {node_path!r} wrote channel {key!r}, which the state does not declare "
            f"(channels: {', '.join(sorted(channels))}); declare it on the state class or fix the write"
        )
    if isinstance(exc, TypeError | RunError):
        return RunError(f"node {node_path!r} wrote channel {key!r}: {exc}")
    return RunError(f"node {node_path!r} wrote channel {key!r}: its reducer raised {type(exc).__name__}: {exc}")
