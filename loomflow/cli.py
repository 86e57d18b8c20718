"""The ``loomflow`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loomflow", description="Agent runs as explicit graphs.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo_cmd = sub.add_parser("demo", help="run the demo on the embedded defaults (SQLite, offline)")
    demo_cmd.add_argument(
        "--model", help="a real model, e.g. anthropic:<model> (key from ANTHROPIC_API_KEY / OPENAI_API_KEY)"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from loomflow.demo import main as demo

        return demo(sys.stdout, model=args.model)
    parser.error(f"unknown command {args.command!r}")
    return 2
