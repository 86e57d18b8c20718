"""The ``loomflow`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loomflow", description="Agent runs as explicit graphs.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the demo on the embedded defaults (SQLite, offline)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from loomflow.demo import main as demo

        return demo(sys.stdout)
    parser.error(f"unknown command {args.command!r}")
    return 2
