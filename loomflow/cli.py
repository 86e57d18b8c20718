"""The ``loomflow`` command: run agents and graphs, and inspect, draw, resume, fork and replay their runs.

    loomflow demo                                    the demo, offline
    loomflow run app:agent "Summarise the repo"     run an agent (a line per step on stderr)
    loomflow runs list [--status S] [--limit N]      the runs in the store, newest first
    loomflow runs show RUN                           status, steps, usage, the interrupt it waits at
    loomflow trace RUN                               its canonical trace
    loomflow draw RUN|app:graph|app:agent -o x.svg   .svg .png .pdf (Graphviz), .mmd .dot .txt
    loomflow resume RUN --value approve --agent app:agent
    loomflow fork RUN --at 4 --set key=value --graph app:graph
    loomflow replay RUN --agent app:agent            re-run from the journal, offline
    loomflow lint app:graph|app:agent
    loomflow diff RUN@3 RUN@7                        state difference between two checkpoints

Global options (before or after the command): ``--db PATH`` (default ``.loomflow/loomflow.db``) and
``--json`` (one JSON document on stdout; progress and errors stay on stderr).

Exit codes: 0 ok or run completed; 1 run failed, cancelled or reached a limit (or ``lint`` found
problems); 2 usage error or refused operation (bad arguments, unknown run or target, a transition the
run's status forbids); 3 the run waits at an interrupt (answer it with ``loomflow resume``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from loomflow.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Out,
    UsageError,
    load_target,
    parse_assignments,
    parse_at,
    parse_value as _value,
)
from loomflow.lifecycle import STATUSES

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given after the command, the option must not be reset by the subparser's default.
    common.add_argument("--db", default=argparse.SUPPRESS, help="the SQLite store (default .loomflow/loomflow.db)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")
    parser = argparse.ArgumentParser(
        prog="loomflow",
        description="Agent runs as explicit graphs: run, inspect, draw, resume, fork and replay them.",
        epilog="exit codes: 0 ok/completed, 1 failed/limit reached, 2 usage error, 3 waiting at an interrupt",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common])

    demo_cmd = command("demo", "run the demo on the embedded defaults (SQLite, offline)")
    demo_cmd.add_argument(
        "--model", help="a real model, e.g. anthropic:<model> (key from ANTHROPIC_API_KEY / OPENAI_API_KEY)"
    )

    run_cmd = command("run", "run an agent (MODULE:AGENT PROMPT) or a graph (MODULE:GRAPH --input JSON)")
    run_cmd.add_argument("target", metavar="MODULE:AGENT", help="e.g. app.agents:agent or examples/hello.py:agent")
    run_cmd.add_argument("prompt", nargs="?", help="the task for an agent")
    run_cmd.add_argument("--input", help="a graph's input channels as a JSON object")
    run_cmd.add_argument("--run-id", help="the id of the new run (default: a fresh uuid)")
    run_cmd.add_argument("--session", help="run inside this session (it sees the session's earlier turns)")
    run_cmd.add_argument("-q", "--quiet", action="store_true", help="no line per step on stderr")

    runs_cmd = command("runs", "list runs, or show one")
    runs_sub = runs_cmd.add_subparsers(dest="runs_command", required=True, metavar="list|show")
    list_cmd = runs_sub.add_parser("list", help="the runs in the store, newest first", parents=[common])
    list_cmd.add_argument("--status", choices=STATUSES, help="only runs with this status (e.g. interrupted, failed)")
    list_cmd.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20)")
    show_cmd = runs_sub.add_parser("show", help="one run: status, steps, usage, interrupt, error", parents=[common])
    show_cmd.add_argument("run_id", metavar="RUN")

    trace_cmd = command("trace", "a run's canonical trace: one line per step, nothing volatile")
    trace_cmd.add_argument("run_id", metavar="RUN")

    draw_cmd = command("draw", "draw a graph, an agent's graph, or stored runs (from the store alone)")
    draw_cmd.add_argument("targets", nargs="+", metavar="RUN|MODULE:GRAPH|MODULE:AGENT")
    draw_cmd.add_argument("-o", "--output", help="file to write; its suffix picks the format (default: text on stdout)")
    draw_cmd.add_argument("--format", help="svg, png, pdf, mmd, dot or txt (overrides the suffix)")
    draw_cmd.add_argument("--origin", action="store_true", help="draw a fork beside the run it was forked from")

    def executes(cmd: argparse.ArgumentParser) -> None:
        group = cmd.add_mutually_exclusive_group(required=True)
        group.add_argument("--graph", metavar="MODULE:GRAPH", help="the graph the run belongs to")
        group.add_argument("--agent", metavar="MODULE:AGENT", help="the agent the run belongs to")

    resume_cmd = command("resume", "continue a run: answer its interrupt, retry its failure, or rewind it")
    resume_cmd.add_argument("run_id", metavar="RUN")
    resume_cmd.add_argument("--value", help="the answer to its one interrupt (JSON, or plain text)")
    resume_cmd.add_argument("--values", help='answers by interrupt id, as JSON: {"ID": value, ...}')
    resume_cmd.add_argument("--at", help="rewind: re-run this step (a number or a node path)")
    resume_cmd.add_argument("--budget", action="append", default=[], metavar="NAME=N", help="raise a budget")
    executes(resume_cmd)

    fork_cmd = command("fork", "start a new run from a step of RUN, optionally changing state")
    fork_cmd.add_argument("run_id", metavar="RUN")
    fork_cmd.add_argument("--at", required=True, help="the step to re-run (a number or a node path)")
    fork_cmd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a state write")
    fork_cmd.add_argument("--budget", action="append", default=[], metavar="NAME=N", help="raise a budget")
    executes(fork_cmd)

    replay_cmd = command("replay", "re-execute a run with every effect served from its journal (offline)")
    replay_cmd.add_argument("run_id", metavar="RUN")
    executes(replay_cmd)

    lint_cmd = command("lint", "check a graph (or an agent's graph) beyond what construction checks")
    lint_cmd.add_argument("target", metavar="MODULE:GRAPH|MODULE:AGENT")

    diff_cmd = command("diff", "the state difference between two checkpoints, per channel")
    diff_cmd.add_argument("a", metavar="RUN@STEP")
    diff_cmd.add_argument("b", metavar="RUN@STEP")
    group = diff_cmd.add_mutually_exclusive_group()
    group.add_argument("--graph", metavar="MODULE:GRAPH", help="read states with this graph's state class")
    group.add_argument("--agent", metavar="MODULE:AGENT", help="read states with this agent's state class")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Out(json_mode=getattr(args, "json", False))
    if args.command == "demo":
        from loomflow.demo import main as demo

        return demo(sys.stdout, model=args.model)
    from loomflow.errors import GraphError, LoomflowError
    from loomflow.viz import DotNotFoundError

    try:
        return asyncio.run(_dispatch(args, out))
    except UsageError as exc:
        out.progress(f"loomflow {args.command}: {exc}")
        return EXIT_USAGE
    except GraphError as exc:
        out.progress(f"loomflow {args.command}: {exc}")
        return EXIT_FAILED if args.command == "lint" else EXIT_USAGE
    except (LoomflowError, DotNotFoundError) as exc:
        out.progress(f"loomflow {args.command}: {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        out.progress("interrupted; the run keeps its last checkpoint: `loomflow resume RUN` continues it")
        return 130
    except BrokenPipeError:  # the reader went away (`loomflow trace RUN | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush stays quiet
        return EXIT_OK


async def _dispatch(args: argparse.Namespace, out: Out) -> int:
    from loomflow import cli_exec, cli_runs
    from loomflow.checkpoint.sqlite import SQLiteStore
    from loomflow.cli_common import store_path

    db: str | None = getattr(args, "db", None)
    stored = args.command == "draw" and (not _imports(args.targets) or await _all_stored(db, args.targets))
    if args.command in ("runs", "trace", "diff") or stored:
        store = SQLiteStore(store_path(db, must_exist=True))
        try:
            if args.command == "runs" and args.runs_command == "list":
                return await cli_runs.runs_list(store, out, status=args.status, limit=args.limit)
            if args.command == "runs":
                return await cli_runs.runs_show(store, out, args.run_id)
            if args.command == "trace":
                return await cli_runs.trace(store, out, args.run_id)
            if args.command == "draw":
                drawing = await cli_runs.stored_drawing(store, args.targets, origin=args.origin)
                structure, overlays, histories, parents = drawing
                return cli_runs.draw(
                    structure,
                    out,
                    output=args.output,
                    format=args.format,
                    overlays=overlays,
                    histories=histories,
                    parents=parents,
                )
            spec = args.graph or args.agent
            state_cls = _graph_of(load_target(spec), spec).state if spec else None
            return await cli_runs.diff(store, out, args.a, args.b, state_cls)
        finally:
            await store.close()
    if args.command == "draw":
        if len(args.targets) != 1 or args.origin:
            raise UsageError("draw one graph or agent at a time (several targets, or --origin, are for stored runs)")
        graph = _graph_of(load_target(args.targets[0]), args.targets[0])
        return cli_runs.draw(graph.structure(), out, output=args.output, format=args.format)
    if args.command == "lint":
        return cli_exec.lint(load_target(args.target), out, args.target)
    spec = args.target if args.command == "run" else args.graph or args.agent
    target = cli_exec.Target(spec, load_target(spec), db)
    try:
        if args.command == "run":
            input = _json_object(args.input, "--input") if args.input else None
            return await cli_exec.run(
                target, out, prompt=args.prompt, input=input, run_id=args.run_id, session=args.session, quiet=args.quiet
            )
        limits = _limits(args.budget) if getattr(args, "budget", None) else None
        if args.command == "resume":
            values = _json_object(args.values, "--values") if args.values else None
            kwargs: dict[str, Any] = {"values": values, "limits": limits}
            if args.value is not None:
                kwargs["value"] = _value(args.value)
            if args.at is not None:
                kwargs["at"] = parse_at(args.at)
            return await cli_exec.resume(target, out, args.run_id, **kwargs)
        if args.command == "fork":
            update = parse_assignments(args.set, "--set")
            result = await target.fork(args.run_id, parse_at(args.at), update, limits)
            return cli_exec.report(target, out, result)
        return cli_exec.report(target, out, await target.replay(args.run_id))
    finally:
        await target.close()


def _imports(targets: Sequence[str]) -> bool:
    """Whether ``draw`` may name code (``module:attr``) rather than stored runs."""
    return any(":" in t for t in targets)


async def _all_stored(db: str | None, targets: Sequence[str]) -> bool:
    """Whether every target is a run of the store (a run id may hold a ':', like ``job:1``)."""
    from loomflow.checkpoint.sqlite import SQLiteStore
    from loomflow.cli_common import store_path

    try:
        path = store_path(db, must_exist=True)
    except UsageError:  # no store: the targets can only be code
        return False
    store = SQLiteStore(path)
    try:
        return all([await store.get_run(t) is not None for t in targets])
    finally:
        await store.close()


def _graph_of(obj: Any, spec: str) -> Any:
    from loomflow.agent import Agent
    from loomflow.graph import Graph

    if isinstance(obj, Agent):
        return obj.graph
    if isinstance(obj, Graph):
        return obj
    raise UsageError(f"{spec} is a {type(obj).__name__}, not an Agent or a Graph")


def _json_object(text: str, flag: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{flag} takes a JSON object, e.g. '{{\"key\": 1}}' ({exc})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag} takes a JSON object, not {type(value).__name__}")
    return value


def _limits(items: Sequence[str]) -> Any:
    from loomflow.limits import Limits

    budgets = parse_assignments(items, "--budget")
    bad = [k for k, v in budgets.items() if not isinstance(v, int | float) or isinstance(v, bool)]
    if bad:
        raise UsageError(f"--budget takes numbers, e.g. --budget max_iterations=100 (not {', '.join(bad)})")
    return Limits(budgets={k: float(v) for k, v in budgets.items()})
