"""The run status machine: exactly the transition table of CONTRACTS.md, every other change refused."""

from __future__ import annotations

import itertools
from typing import get_args

import pytest

from loomflow import InvalidTransition, RunStatus
from loomflow.lifecycle import FINAL, STATUSES, Lifecycle, LifecycleMachine

# CONTRACTS.md, "Run status: one vocabulary, one transition table"
ALLOWED = {
    ("created", "running"),
    ("running", "interrupted"),
    ("running", "completed"),
    ("running", "failed"),
    ("running", "cancelled"),
    ("running", "limit_reached"),
    ("interrupted", "running"),
    ("failed", "running"),
    ("limit_reached", "running"),
    ("interrupted", "cancelled"),
    ("failed", "cancelled"),
    ("limit_reached", "cancelled"),
}
# Not a transition: a run whose process died mid-step is still ``running`` in the store, and resuming
# it re-enters ``running`` (lifecycle.py keeps this one case as a no-op).
CRASH_RESUME = ("running", "running")
PAIRS = list(itertools.product(STATUSES, STATUSES))
REFUSED = [p for p in PAIRS if p not in ALLOWED and p != CRASH_RESUME]


def test_one_vocabulary() -> None:
    assert STATUSES == ("created", "running", "interrupted", "completed", "failed", "cancelled", "limit_reached")
    assert set(get_args(RunStatus)) == set(STATUSES)
    assert set(FINAL) == {"completed", "cancelled"}


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_transitions_pass(source: str, target: str) -> None:
    life = Lifecycle("r1", source)
    assert life.may(target)
    LifecycleMachine().to(life, target)
    assert life.status == target


@pytest.mark.parametrize(("source", "target"), REFUSED)
def test_every_other_transition_raises(source: str, target: str) -> None:
    life = Lifecycle("r1", source)
    assert not life.may(target)
    with pytest.raises(InvalidTransition, match=f"run 'r1' cannot go from '{source}' to '{target}'"):
        LifecycleMachine().to(life, target)
    assert life.status == source  # a refused change leaves the status as it was


def test_resuming_a_run_that_never_left_running() -> None:
    life = Lifecycle("r1", "running")
    LifecycleMachine().to(life, "running")
    assert life.status == "running"


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_statuses_point_at_fork(final: str) -> None:
    with pytest.raises(InvalidTransition, match=f"a {final} run is final; fork it"):
        LifecycleMachine().to(Lifecycle("r1", final), "running")


def test_one_machine_drives_many_runs() -> None:
    machine = LifecycleMachine()
    runs = [Lifecycle(f"r{i}", "created") for i in range(3)]
    for life in runs:
        machine.to(life, "running")
    machine.to(runs[0], "interrupted")
    machine.to(runs[1], "completed")
    assert [r.status for r in runs] == ["interrupted", "completed", "running"]
    machine.to(runs[0], "running")
    machine.to(runs[0], "cancelled")
    assert runs[0].status == "cancelled"
