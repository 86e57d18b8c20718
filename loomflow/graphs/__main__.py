"""``python -m loomflow.graphs [--check]``: rewrite (or check) the Mermaid pictures in graph docstrings."""

from __future__ import annotations

import sys

from loomflow.graphs._docs import refresh_docstrings, stale_docstrings


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_docstrings()
        for name in stale:
            print(f"loomflow/graphs/{name}.py: docstring picture is stale; run `python -m loomflow.graphs`")
        return 1 if stale else 0
    for name in refresh_docstrings():
        print(f"rewrote the picture in loomflow/graphs/{name}.py")
    return 0


raise SystemExit(main(sys.argv[1:]))
