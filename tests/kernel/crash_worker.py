"""A separate process that runs or resumes one loomflow run on an SQLite file, for crash and race tests.

    python crash_worker.py DB RUN_ID EFFECTS_FILE MODE [--hang K:before|after] [--stop-after K]
                                                       [--idempotent] [--slow-every N]
                                                       [--value V] [--hold S] [--barrier FILE]

Modes of the counter graph (30 steps; each appends ``step-<k>`` to EFFECTS_FILE through the journal):

- ``go``: start the run if it does not exist yet, else ``resume`` it without a value;
- ``retry`` / ``skip``: ``resume`` it answering its pending ``uncertain_call`` interrupt.

The gate graph (``ask`` pauses for a value, then ``slow`` sleeps ``--hold`` seconds); the test
creates its runs in-process:

- ``gate-resume``: print ``ready``, wait for ``--barrier`` to exist, then ``resume`` (with ``--value``
  when given). Exits 0 when the run completed, 3 on ``RunBusy``, 4 on another ``LoomflowError``.

Progress lines let the parent kill this process at chosen points: ``begin k`` (node started),
``call k`` (inside the effect: its intent is already journaled), ``wrote k`` (the line is in the
file, the result is not yet journaled), ``committed k`` (the step record is committed). The last
line is ``result {json}`` or ``outcome ...``. ``--hang`` makes the effect of step K stall (two minutes)
before or after its write, and ``--stop-after`` stalls once step K is committed, so a kill lands
mid-call, or between two steps, deterministically.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from loomflow import (
    END,
    EffectSkipped,
    Graph,
    Interpreter,
    LoomflowError,
    NodeContext,
    Pause,
    RunBusy,
    SQLiteStore,
    State,
    StepRecord,
    Update,
    add,
    append,
    node,
)
from loomflow.checkpoint.codec import loads

STEPS = 30
HOUR = 3600.0
#: how long a deliberately stalled worker sleeps: long enough to be killed, short enough that an orphan
#: left by an aborted test session goes away by itself
STALL = 120.0
#: seconds the parent waits for any one line or exit before failing the test (a hang fails, never blocks)
TIMEOUT = 60.0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Counter(State):
    count: Annotated[int, add] = 0
    log: Annotated[tuple[str, ...], append] = ()
    skipped: Annotated[tuple[int, ...], append] = ()


class TracingStore(SQLiteStore):
    """The real SQLite store, announcing each committed step so the parent can kill right after it
    (and, with ``stop_after``, stalling there so the kill lands between two steps for sure)."""

    stop_after = 0

    async def append_step(self, record: StepRecord) -> None:
        await super().append_step(record)
        for line in loads(record.writes).get("log", ()):
            k = int(line.removeprefix("step-"))
            say(f"committed {k}")
            if k == self.stop_after:
                await asyncio.sleep(STALL)


def counter_graph(effects: Path, opts: argparse.Namespace) -> Graph[Counter]:
    hang_step, _, hang_where = (opts.hang or "0:").partition(":")

    @node(max_visits=STEPS, routes=("again", "done"))
    async def work(ctx: NodeContext[Counter]) -> Update:
        k = ctx.state.count + 1
        line = f"step-{k}\n".encode()
        slow = opts.slow_every > 0 and k % opts.slow_every == 0
        say(f"begin {k}")

        async def append_line() -> int:
            _append(Path(f"{effects}.calls"), line)  # counted before announced: "call k" means it started
            say(f"call {k}")
            if int(hang_step) == k and hang_where == "before":
                await asyncio.sleep(STALL)
            if slow:
                await asyncio.sleep(0.005)
            if not (opts.idempotent and line in _lines(effects)):
                _append(effects, line)
            say(f"wrote {k}")
            if int(hang_step) == k and hang_where == "after":
                await asyncio.sleep(STALL)
            if slow:
                await asyncio.sleep(0.005)
            return k

        skipped: list[int] = []
        try:
            await ctx.effect("append", append_line, request={"line": f"step-{k}"}, idempotent=opts.idempotent)
        except EffectSkipped:
            skipped = [k]
        return Update({"count": 1, "log": [f"step-{k}"], "skipped": skipped}, route="done" if k == STEPS else "again")

    return Graph(
        "crash_counter",
        state=Counter,
        nodes=[work],
        edges=[("work", "work", "again"), ("work", END, "done")],
        start="work",
    )


def _append(path: Path, line: bytes) -> None:
    """One small O_APPEND write: a kill lands before or after it, never inside it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _await_barrier(path: str | None) -> None:
    deadline = time.monotonic() + TIMEOUT
    while path and not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier {path} never appeared")
        time.sleep(0.0005)


def _lines(path: Path) -> list[bytes]:
    try:
        with open(path, "rb") as f:
            return f.readlines()
    except FileNotFoundError:
        return []


class Gate(State):
    answer: str = ""
    passes: Annotated[int, add] = 0


def gate_graph(opts: argparse.Namespace) -> Graph[Gate]:
    @node(interrupts=True)
    async def ask(ctx: NodeContext[Gate]) -> Update | Pause:
        if not ctx.answered("go"):
            return ctx.interrupt("go", prompt="go on?")
        return Update({"answer": str(ctx.answer("go"))})

    @node
    async def slow(ctx: NodeContext[Gate]) -> Update:
        say("slow")
        await asyncio.sleep(opts.hold)
        return Update({"passes": 1})

    return Graph("gate", state=Gate, nodes=[ask, slow], edges=[("ask", "slow"), ("slow", END)], start="ask")


def _result_line(result: Any) -> str:
    data = {
        "status": result.status,
        "step": result.step,
        "error": result.error,
        "interrupts": [i.to_json() for i in result.interrupts],
        "values": {k: list(v) if isinstance(v, tuple) else v for k, v in result.state.values().items()},
        "pid": os.getpid(),
    }
    return "result " + json.dumps(data)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("run_id")
    parser.add_argument("effects")
    parser.add_argument("mode", choices=["go", "retry", "skip", "gate-resume"])
    parser.add_argument("--hang", default=None)
    parser.add_argument("--stop-after", type=int, default=0)
    parser.add_argument("--idempotent", action="store_true")
    parser.add_argument("--slow-every", type=int, default=4)
    parser.add_argument("--value", default=None)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--barrier", default=None)
    opts = parser.parse_args(argv)

    store = TracingStore(opts.db, synchronous="normal")
    store.stop_after = opts.stop_after
    # A lease TTL of an hour: resuming after a kill works only because the dead holder is detected.
    if opts.mode == "gate-resume":
        interp: Interpreter[Any] = Interpreter(gate_graph(opts), store=store, durability="sync", lease_ttl=HOUR)
    else:
        interp = Interpreter(counter_graph(Path(opts.effects), opts), store=store, durability="sync", lease_ttl=HOUR)

    if opts.mode == "gate-resume":
        say("ready")
        _await_barrier(opts.barrier)
        try:
            if opts.value is not None:
                result = await interp.resume(opts.run_id, value=opts.value)
            else:
                result = await interp.resume(opts.run_id)
        except RunBusy as exc:
            say(f"outcome busy {exc}")
            return 3
        except LoomflowError as exc:
            say(f"outcome error {type(exc).__name__}: {exc}")
            return 4
        say(f"outcome {result.status}")
        say(_result_line(result))
        return 0 if result.status == "completed" else 5

    try:
        run = await store.get_run(opts.run_id)
        if run is None:
            result = await interp.run(run_id=opts.run_id)
        elif run.status == "completed":  # the parent's kill came after this run had already finished
            result = await interp.result(opts.run_id)
        elif opts.mode in ("retry", "skip"):
            result = await interp.resume(opts.run_id, value=opts.mode)
        else:
            result = await interp.resume(opts.run_id)
    except RunBusy as exc:
        say(f"busy {exc}")
        return 3
    say(_result_line(result))
    return 0


# ---------------------------------------------------------------------- the parent's side
class Worker:
    """A running worker process seen from the test: its progress lines, its result, and SIGKILL."""

    def __init__(self, *args: str | os.PathLike[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: list[str] = []
        self._errors: list[str] = []
        self._eof = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self.proc.stdout.close()
        self._queue.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._errors.append(line)
        self.proc.stderr.close()

    def lines(self) -> Iterator[str]:
        """Each line the worker prints, as it prints it, until it exits."""
        while not self._eof:
            try:
                line = self._queue.get(timeout=TIMEOUT)
            except queue.Empty:
                self.kill()
                raise AssertionError(f"worker printed nothing for {TIMEOUT:.0f}s after {self.seen[-5:]}") from None
            if line is None:
                self._eof = True
                return
            self.seen.append(line)
            yield line

    def wait_for(self, wanted: str) -> None:
        """Read lines until ``wanted``; fail if the worker exits first."""
        for line in self.lines():
            if line == wanted:
                return
        raise AssertionError(f"worker exited before printing {wanted!r}: {self.seen[-5:]}\n{self.stderr()}")

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup, no lease release, no final commit
        self.proc.wait(timeout=TIMEOUT)

    def finish(self) -> int:
        """Read everything the worker prints and return its exit code."""
        for _ in self.lines():
            pass
        return self.proc.wait(timeout=TIMEOUT)

    def result(self) -> dict[str, Any]:
        """The ``result`` line of a worker that ran to a pause or end; any other ending fails the test."""
        code = self.finish()
        found = [json.loads(x.removeprefix("result ")) for x in self.seen if x.startswith("result ")]
        if code != 0 or len(found) != 1:
            raise AssertionError(f"worker exited {code}: {self.seen[-5:]}\n{self.stderr()}")
        data: dict[str, Any] = found[0]
        return data

    def stderr(self) -> str:
        return "".join(self._errors)


def inspection_graph() -> Graph[Counter]:
    """The counter graph for reading stored runs in the test process (its nodes never run there)."""
    return counter_graph(Path(os.devnull), argparse.Namespace(hang=None, slow_every=0, idempotent=False))


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
