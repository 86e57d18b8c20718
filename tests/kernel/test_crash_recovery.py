"""Crash recovery with real processes and a real SQLite file.

A worker process (``crash_worker.py``) runs a 30-step graph whose every step appends ``step-<k>`` to a
file through the journal (a non-idempotent effect) and writes an ``add`` counter and an ``append`` log.
The test SIGKILLs it at chosen points (between steps, inside the effect before or after its write, at
random sub-millisecond offsets after a progress line) and resumes the run from fresh processes until
it completes. Then: the state equals an uninterrupted run's, every effect happened exactly once, and a
kill that landed mid-call surfaced as an ``uncertain_call`` interrupt that the test answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import crash_worker as cw  # the worker script beside this file (pytest puts its folder on sys.path)
import pytest

from loomflow import Interpreter, SQLiteStore

RUN = "crash-run"
STEPS: int = cw.STEPS


@dataclasses.dataclass(frozen=True)
class Kill:
    """SIGKILL the worker ``delay`` seconds after it prints ``after`` (e.g. ``"call 7"``).

    ``flags`` go to the worker meant to be killed (e.g. ``("--hang", "7:before")``), not to the ones
    that resume after it.
    """

    after: str
    delay: float = 0.0
    flags: tuple[str, ...] = ()

    @property
    def step(self) -> int:
        return int(self.after.split()[1])


@dataclasses.dataclass(frozen=True)
class Uncertain:
    """An ``uncertain_call`` interrupt the test saw, what the files held then, and its answer."""

    step: int
    lines: int  # copies of the step's line in the effects file: did the cut-off call take effect?
    calls: int  # times the effect function had started (0: the kill came between intent and call)
    decision: str


@dataclasses.dataclass
class Recovery:
    result: dict[str, Any]
    uncertain: list[Uncertain]
    kills: int
    workers: int


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The final state of the same graph run once without interruption."""
    where = tmp_path_factory.mktemp("reference")
    result = cw.Worker(where / "run.db", RUN, where / "effects.txt", "go").result()
    assert result["status"] == "completed"
    assert result["values"]["count"] == STEPS
    values: dict[str, Any] = result["values"]
    return values


def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "run.db", tmp_path / "effects.txt"


def copies(path: Path) -> Counter[int]:
    """How often each step's line appears in an effects (or calls) file."""
    if not path.exists():
        return Counter()
    return Counter(int(line.removeprefix("step-")) for line in path.read_text().splitlines())


def calls(effects: Path) -> Counter[int]:
    return copies(Path(f"{effects}.calls"))


def recover(
    tmp_path: Path,
    kills: list[Kill],
    answer: dict[int, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Recovery:
    """Run the graph in worker processes, killing each at the next planned point, until it completes.

    ``answer`` decides an ``uncertain_call`` interrupt by step ("retry" or "skip"); before answering,
    the test records whether the uncertain call's line had reached the file.
    """
    db, effects = paths(tmp_path)
    pending = list(kills)
    mode, killed, workers = "go", 0, 0
    uncertain: list[Uncertain] = []
    for _ in range(4 * len(kills) + 10):
        target = pending[0] if pending else None
        worker = cw.Worker(db, RUN, effects, mode, *extra, *(target.flags if target else ()))
        workers += 1
        mode = "go"
        if target is not None and any(line == target.after for line in worker.lines()):
            if target.delay:
                # time.sleep has ~0.1 ms resolution: enough to land inside a 5 ms effect or past it
                time.sleep(target.delay)
            worker.kill()
            pending.pop(0)
            killed += 1
            continue
        result = worker.result()
        if result["status"] == "completed":
            return Recovery(result, uncertain, killed, workers)
        assert result["status"] == "interrupted", result
        (intr,) = result["interrupts"]
        assert intr["kind"] == "uncertain_call", intr
        assert intr["payload"]["name"] == "append", intr
        assert intr["allowed"] == ["retry", "skip"]
        step = int(intr["payload"]["request"]["line"].removeprefix("step-"))
        seen = Uncertain(step, copies(effects)[step], calls(effects)[step], "")
        assert seen.lines in (0, 1), f"step {step}'s line is in the file {seen.lines} times before any retry"
        assert seen.calls in (0, 1), f"step {step}'s effect started {seen.calls} times before any retry"
        assert seen.lines <= seen.calls
        assert answer is not None, f"unexpected uncertain call at step {step}"
        assert step in answer, f"unexpected uncertain call at step {step}"
        mode = answer[step]
        uncertain.append(dataclasses.replace(seen, decision=mode))
        # a kill inside the answered call itself is a different story (see test_killed_retry_asks_again)
        pending = [k for k in pending if k.step > step]
    raise AssertionError(f"the run did not complete after {workers} workers")


def expected(uncertain: list[Uncertain], field: str) -> dict[int, int]:
    """Copies of each step's line (``lines``) or starts of its effect (``calls``) after recovery: one,
    except for an uncertain call: what it had done when cut off, plus one if a human chose retry."""
    want = dict.fromkeys(range(1, STEPS + 1), 1)
    for u in uncertain:
        want[u.step] = getattr(u, field) + (1 if u.decision == "retry" else 0)
    return {k: n for k, n in want.items() if n}


def check_history(tmp_path: Path, final: dict[str, Any], uncertain: list[Uncertain]) -> None:
    """Every step number appears once; each k's log line was committed by exactly one ``ok`` step; the
    stored state (folded from the deltas) is the one the last worker returned."""

    async def read() -> tuple[list[Any], dict[str, Any], str]:
        db, _ = paths(tmp_path)
        store = SQLiteStore(db)
        interp = Interpreter(cw.inspection_graph(), store=store)
        try:
            history = await interp.history(RUN)
            state = (await interp.state(RUN)).values()
            status = (await interp.get_run(RUN)).status
            assert await store.lease(RUN) is None, "a completed run still holds its lease"
        finally:
            await store.close()
        return history, state, status

    history, state, status = asyncio.run(read())
    assert status == "completed"
    numbers = [r.step for r in history]
    assert numbers == list(range(1, len(history) + 1)), numbers
    assert [r.parent_step for r in history] == [None, *numbers[:-1]]
    committed = [line for r in history if r.status == "ok" for line in cw.loads(r.writes)["log"]]
    assert committed == [f"step-{k}" for k in range(1, STEPS + 1)]
    # a worker killed just as it re-asked leaves an interrupted step and the next one asks again: compare sets
    asked = {i.payload["request"]["line"] for r in history if r.status == "interrupted" for i in r.interrupts}
    assert asked == {f"step-{u.step}" for u in uncertain}
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in state.items()} == final["values"]


def finish_checks(tmp_path: Path, rec: Recovery, reference: dict[str, Any]) -> None:
    _, effects = paths(tmp_path)
    skipped = sorted(u.step for u in rec.uncertain if u.decision == "skip")
    assert rec.result["values"] == {**reference, "skipped": skipped}
    assert dict(copies(effects)) == expected(rec.uncertain, "lines")
    assert dict(calls(effects)) == expected(rec.uncertain, "calls")
    check_history(tmp_path, rec.result, rec.uncertain)


async def read_lease(db: Path) -> tuple[str, float] | None:
    store = SQLiteStore(db)
    try:
        return await store.lease(RUN)
    finally:
        await store.close()


# ---------------------------------------------------------------------- deterministic kill points
def test_kill_between_steps_resumes_at_once_without_repeating(tmp_path: Path, reference: dict[str, Any]) -> None:
    db, effects = paths(tmp_path)
    worker = cw.Worker(db, RUN, effects, "go", "--stop-after", "10")
    worker.wait_for("committed 10")
    worker.kill()

    lease = asyncio.run(read_lease(db))
    assert lease is not None, "the killed worker never released its lease"
    owner, expires = lease
    assert owner.split(":")[1] == str(worker.proc.pid)
    # an hour-long lease held by a dead process: the resume below succeeds only because the kernel
    # sees that pid is gone, not because the lease ran out
    assert expires > time.time() + 600

    result = cw.Worker(db, RUN, effects, "go").result()
    assert result["status"] == "completed"
    rec = Recovery(result, [], 1, 2)
    finish_checks(tmp_path, rec, reference)


def test_kill_mid_call_before_its_write_then_retry(tmp_path: Path, reference: dict[str, Any]) -> None:
    rec = recover(tmp_path, [Kill("call 7", flags=("--hang", "7:before"))], {7: "retry"})
    assert rec.kills == 1
    assert rec.uncertain == [Uncertain(7, lines=0, calls=1, decision="retry")]
    finish_checks(tmp_path, rec, reference)
    _, effects = paths(tmp_path)
    assert copies(effects)[7] == 1


def test_kill_mid_call_after_its_write_then_skip(tmp_path: Path, reference: dict[str, Any]) -> None:
    rec = recover(tmp_path, [Kill("wrote 7", flags=("--hang", "7:after"))], {7: "skip"})
    assert rec.uncertain == [Uncertain(7, lines=1, calls=1, decision="skip")]
    finish_checks(tmp_path, rec, reference)
    assert rec.result["values"]["skipped"] == [7]


def test_kill_mid_call_after_its_write_then_retry_repeats_it(tmp_path: Path, reference: dict[str, Any]) -> None:
    """The one case an effect may happen twice: a human explicitly retried a call that had happened."""
    rec = recover(tmp_path, [Kill("wrote 7", flags=("--hang", "7:after"))], {7: "retry"})
    assert rec.uncertain == [Uncertain(7, lines=1, calls=1, decision="retry")]
    finish_checks(tmp_path, rec, reference)
    _, effects = paths(tmp_path)
    assert copies(effects)[7] == 2


def test_kill_mid_call_before_its_write_then_skip(tmp_path: Path, reference: dict[str, Any]) -> None:
    rec = recover(tmp_path, [Kill("call 12", flags=("--hang", "12:before"))], {12: "skip"})
    assert rec.uncertain == [Uncertain(12, lines=0, calls=1, decision="skip")]
    finish_checks(tmp_path, rec, reference)
    _, effects = paths(tmp_path)
    assert 12 not in copies(effects)


def test_idempotent_call_killed_mid_call_is_rerun_without_asking(tmp_path: Path, reference: dict[str, Any]) -> None:
    db, effects = paths(tmp_path)
    worker = cw.Worker(db, RUN, effects, "go", "--idempotent", "--hang", "7:after")
    worker.wait_for("wrote 7")
    worker.kill()
    result = cw.Worker(db, RUN, effects, "go", "--idempotent").result()
    assert result["status"] == "completed"
    assert result["interrupts"] == []
    assert result["values"] == reference
    assert calls(effects)[7] == 2  # re-run automatically ...
    assert dict(copies(effects)) == dict.fromkeys(range(1, STEPS + 1), 1)  # ... and, being idempotent, once
    check_history(tmp_path, result, [])


def test_killed_retry_asks_again(tmp_path: Path) -> None:
    db, effects = paths(tmp_path)
    first = cw.Worker(db, RUN, effects, "go", "--hang", "7:before")
    first.wait_for("call 7")
    first.kill()
    asked = cw.Worker(db, RUN, effects, "go").result()
    assert asked["interrupts"][0]["kind"] == "uncertain_call"

    retried = cw.Worker(db, RUN, effects, "retry", "--hang", "7:after")
    retried.wait_for("wrote 7")  # the retried call took effect; its result never reached the journal
    retried.kill()
    assert copies(effects)[7] == 1

    again = cw.Worker(db, RUN, effects, "go").result()
    assert calls(effects)[7] == 2, "the call ran a third time although nobody answered 'retry' for this attempt"
    assert again["status"] == "interrupted"
    assert again["interrupts"][0]["kind"] == "uncertain_call"


# ---------------------------------------------------------------------- many kill points, by seed
def schedule(seed: int) -> tuple[list[Kill], dict[int, str]]:
    """Three kills at increasing steps, each after a random progress line plus a random offset of up
    to 3 ms (every fourth step's effect sleeps 5 ms before and after its write, so some kills land
    mid-call, before or after the write); and the answer this seed gives to any uncertain call."""
    rng = random.Random(seed)
    steps = sorted(rng.sample(range(2, STEPS - 1), 3))
    kills = []
    for step in steps:
        kind = rng.choice(["begin", "call", "call", "wrote", "wrote", "committed"])
        delay = rng.choice([0.0, rng.uniform(0.0, 0.003)])
        kills.append(Kill(f"{kind} {step}", delay))
    decision = rng.choice(["retry", "skip"])
    return kills, dict.fromkeys(range(1, STEPS + 1), decision)


@pytest.mark.parametrize("seed", range(8))
def test_random_kills_recover_exactly_once(tmp_path: Path, reference: dict[str, Any], seed: int) -> None:
    kills, answers = schedule(seed)
    rec = recover(tmp_path, kills, answers, extra=("--slow-every", "4"))
    assert rec.kills >= 1
    finish_checks(tmp_path, rec, reference)


@pytest.mark.parametrize("seed", [100, 101])
def test_random_kills_of_an_idempotent_effect_never_ask(tmp_path: Path, reference: dict[str, Any], seed: int) -> None:
    kills, _ = schedule(seed)
    rec = recover(tmp_path, kills, None, extra=("--slow-every", "4", "--idempotent"))
    assert rec.uncertain == []
    _, effects = paths(tmp_path)
    assert rec.result["values"] == reference
    assert dict(copies(effects)) == dict.fromkeys(range(1, STEPS + 1), 1)
    check_history(tmp_path, rec.result, [])
