"""File tools confined to one directory: ``read_file``, ``write_file``, ``edit_file``, ``glob``, ``grep``.

    Capability.files(root="workspace", read_only=True)   # read_file, glob, grep only

Every path is relative to the root. A path that is absolute, contains ``..``, or resolves (through a
symlink) outside the root is refused: the model sees an error result saying so, nothing is read or
written. The check resolves symlinks at call time; it is a fence for a model's mistakes and ordinary
prompt injection, not a sandbox against a hostile process racing the tool on the same disk.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import Field

from loomflow.tools.tool import Tool, tool

__all__ = ["PathOutsideRoot", "files_tools"]

MAX_READ_CHARS = 100_000
MAX_MATCHES = 200
MAX_GREP_FILE_BYTES = 2_000_000


class PathOutsideRoot(PermissionError):
    """A path that leaves the files root (absolute, ``..``, or a symlink pointing out)."""


class _Root:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.path = Path(root).resolve()

    def resolve(self, relative: str) -> Path:
        pure = PurePosixPath(relative.replace("\\", "/"))
        if pure.is_absolute() or Path(relative).is_absolute() or re.match(r"^[A-Za-z]:", relative):
            raise PathOutsideRoot(f"{relative!r} is an absolute path; use a path relative to the files root")
        if ".." in pure.parts:
            raise PathOutsideRoot(f"{relative!r} contains '..'; paths must stay inside the files root")
        target = (self.path / pure).resolve()
        if target != self.path and not target.is_relative_to(self.path):
            raise PathOutsideRoot(f"{relative!r} leads outside the files root (through a symlink); refused")
        return target

    def show(self, path: Path) -> str:
        return path.relative_to(self.path).as_posix()

    def walk(self, pattern: str) -> list[Path]:
        """Files under the root matching ``pattern`` (fnmatch on the relative path, so ``*`` also crosses
        folders), skipping anything a symlink would take outside the root."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.path, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")  # .github and .gitlab are searched
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(self.path).as_posix()
                if not (fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.replace("**/", ""))):
                    continue
                resolved = full.resolve()
                if resolved.is_relative_to(self.path) and resolved.is_file():
                    found.append(full)
        return found


def files_tools(root: str | os.PathLike[str] = ".", *, read_only: bool = False) -> list[Tool]:
    """The file tools for ``root`` (without the writing ones when ``read_only``)."""
    base = _Root(root)

    @tool(read_only=True)
    def read_file(path: str, offset: Annotated[int, Field(ge=0)] = 0, limit: Annotated[int, Field(ge=1)] = 2000) -> str:
        """Read a text file under the files root, as numbered lines.

        Args:
            path: the file's path relative to the files root
            offset: the first line to show (0-based)
            limit: how many lines to show at most
        """
        target = base.resolve(path)
        if not target.is_file():
            raise FileNotFoundError(f"{path!r} is not a file under the files root")
        lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
        shown = lines[offset : offset + limit]
        text = "\n".join(f"{offset + i + 1:>6}\t{line}" for i, line in enumerate(shown))
        if len(text) > MAX_READ_CHARS:
            text = text[:MAX_READ_CHARS] + "\n[... cut: read fewer lines with offset/limit]"
        rest = len(lines) - offset - len(shown)
        return text + (f"\n[{rest} more lines; continue with offset={offset + len(shown)}]" if rest > 0 else "")

    @tool(read_only=True)
    def glob(pattern: str) -> str:
        """List the files under the files root whose relative path matches a glob pattern (``**/*.py``).

        Args:
            pattern: a glob pattern relative to the files root
        """
        matches = [base.show(p) for p in base.walk(pattern)]
        more = f"\n[{len(matches) - MAX_MATCHES} more not shown]" if len(matches) > MAX_MATCHES else ""
        return "\n".join(matches[:MAX_MATCHES]) + more if matches else f"no files match {pattern!r}"

    @tool(read_only=True)
    def grep(pattern: str, glob: str = "**/*") -> str:
        """Search the files under the files root for a regular expression; answers ``path:line: text``.

        Args:
            pattern: a Python regular expression
            glob: which files to search (a glob pattern relative to the files root)
        """
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        hits: list[str] = []
        for file in base.walk(glob):
            if file.stat().st_size > MAX_GREP_FILE_BYTES:
                continue
            data = file.read_bytes()
            if b"\0" in data[:4096]:
                continue  # binary
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{base.show(file)}:{number}: {line[:300]}")
                    if len(hits) > MAX_MATCHES:
                        return "\n".join(hits[:MAX_MATCHES]) + "\n[more matches not shown; narrow the search]"
        return "\n".join(hits) if hits else f"no matches for {pattern!r}"

    tools = [read_file, glob, grep]
    if read_only:
        return tools

    @tool(idempotent=True)
    def write_file(path: str, content: str) -> str:
        """Write a text file under the files root (creating folders; replacing the file if it exists).

        Args:
            path: the file's path relative to the files root
            content: the whole new content
        """
        target = base.resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return f"wrote {len(content)} characters to {base.show(target)}"

    @tool
    def edit_file(path: str, old: str, new: str, replace_all: bool = False) -> str:
        """Replace text in a file under the files root; ``old`` must occur exactly once unless replace_all.

        Args:
            path: the file's path relative to the files root
            old: the exact text to replace
            new: the text to put in its place
            replace_all: replace every occurrence instead of exactly one
        """
        target = base.resolve(path)
        if not target.is_file():
            raise FileNotFoundError(f"{path!r} is not a file under the files root")
        text = target.read_text(encoding="utf-8")
        count = text.count(old) if old else 0
        if count == 0:
            raise ValueError(f"the text to replace was not found in {path!r}")
        if count > 1 and not replace_all:
            raise ValueError(f"the text to replace occurs {count} times in {path!r}; give more context or replace_all")
        target.write_text(text.replace(old, new) if replace_all else text.replace(old, new, 1), encoding="utf-8")
        return f"replaced {count if replace_all else 1} occurrence(s) in {base.show(target)}"

    return [*tools, write_file, edit_file]
