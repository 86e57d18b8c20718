"""Quality gates that really judge: ``QualityGate.criteria``, ``.pass_fail()`` and ``.evaluator(fn | model)``
at the ``quality_gate`` node of every harness. The verdict lands in ``state.verdict``, the steps and the
events; a FAIL sends the critique back to the generator, and once retries are spent the run ends
``failed`` with the critique in ``result.error``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from harness_helpers import JUDGE, ProbeModel, events_of, make_agent, text_of

from loomflow import (
    Harness,
    HarnessOutcome,
    HarnessRequest,
    QualityGate,
    Runtime,
    RuntimeTask,
    Verdict,
)
from loomflow.checkpoint.codec import loads

CRITIQUE = "mention the release date"


def dated(answer: str, criteria: Sequence[str]) -> tuple[bool, str]:
    return ("May" in answer, "" if "May" in answer else CRITIQUE)


# ---------------------------------------------------------------- the gate kinds


async def test_criteria_gate_is_judged_by_the_agents_model_with_gate_and_task_criteria() -> None:
    model = ProbeModel(["Released.", f"FAIL: {CRITIQUE}", "Released on 1 May.", "PASS: good"])
    gate = QualityGate.criteria(["names the date", "under 20 words"])
    agent = make_agent(model, runtime=Runtime(quality=gate))
    task = RuntimeTask(goal="Write the release note", criteria=["is polite"])
    result = await agent.run(task)

    assert (result.status, result.output) == ("completed", "Released on 1 May.")
    assert result.state.verdict == {"passed": True, "critique": "good"}
    first, second = model.judged()
    for criterion in ("- names the date", "- under 20 words", "- is polite"):
        assert criterion in first.messages[-1].text
    assert "Answer:\nReleased." in first.messages[-1].text
    assert "Answer:\nReleased on 1 May." in second.messages[-1].text
    # the FAIL's critique went back to the model before it generated again
    regenerate = model.generated()[1]
    assert CRITIQUE in regenerate.messages[-1].text
    verdicts = await events_of(agent, result.run_id, "quality_verdict")
    assert verdicts == [{"passed": False, "critique": CRITIQUE}, {"passed": True, "critique": "good"}]
    # each judgement is a step of the run, with its verdict in the step's writes
    gate_steps = [r for r in await agent.history(result.run_id) if r.node_path == "harness/quality_gate"]
    assert [(r.route, loads(r.writes)["verdict"]["passed"]) for r in gate_steps] == [("retry", False), ("pass", True)]
    assert [s.route for s in result.trace.steps if s.node == "harness/quality_gate"] == ["retry", "pass"]


async def test_pass_fail_gate_judges_against_the_task_criteria() -> None:
    model = ProbeModel(["Released on 1 May.", "PASS"])
    agent = make_agent(model, runtime=Runtime(quality=QualityGate.pass_fail()))
    result = await agent.run(RuntimeTask(goal="Write the release note", criteria=["names the date", "is polite"]))

    assert result.status == "completed"
    (judge,) = model.judged()
    assert JUDGE in judge.messages[0].text
    assert "Criteria:\n- names the date\n- is polite" in judge.messages[-1].text
    assert result.state.verdict == {"passed": True, "critique": ""}


async def _async_verdict(answer: str, criteria: Sequence[str]) -> Verdict:
    return Verdict("May" in answer, CRITIQUE)


def _text(answer: str, criteria: Sequence[str]) -> str:
    return "PASS" if "May" in answer else f"FAIL: {CRITIQUE}"


async def _async_text(answer: str, criteria: Sequence[str]) -> str:
    return _text(answer, criteria)


def _bool(answer: str, criteria: Sequence[str]) -> bool:
    return "May" in answer


async def _async_tuple(answer: str, criteria: Sequence[str]) -> tuple[bool, str]:
    return dated(answer, criteria)


def _verdict(answer: str, criteria: Sequence[str]) -> Verdict:
    return Verdict("May" in answer, CRITIQUE)


async def _async_bool(answer: str, criteria: Sequence[str]) -> bool:
    return "May" in answer


EVALUATORS: dict[str, tuple[Callable[..., Any], str]] = {
    "sync Verdict": (_verdict, CRITIQUE),
    "async bool": (_async_bool, "the evaluator rejected the answer"),
    "sync tuple": (dated, CRITIQUE),
    "async tuple": (_async_tuple, CRITIQUE),
    "sync bool": (_bool, "the evaluator rejected the answer"),
    "async Verdict": (_async_verdict, CRITIQUE),
    "sync text": (_text, CRITIQUE),
    "async text": (_async_text, CRITIQUE),
}


@pytest.mark.parametrize("kind", list(EVALUATORS))
async def test_evaluator_functions_judge_whatever_they_return(kind: str) -> None:
    fn, critique = EVALUATORS[kind]
    seen: list[tuple[str, Sequence[str]]] = []

    def spy(answer: str, criteria: Sequence[str]) -> Any:
        seen.append((answer, criteria))
        return fn(answer, criteria)

    model = ProbeModel(["Released.", "Released on 1 May."])
    gate = QualityGate.evaluator(spy, criteria=["names the date"])
    agent = make_agent(model, runtime=Runtime(quality=gate))
    result = await agent.run(RuntimeTask(goal="Write the release note", criteria=["is polite"]))

    assert (result.status, result.output) == ("completed", "Released on 1 May.")
    assert seen == [
        ("Released.", ["names the date", "is polite"]),
        ("Released on 1 May.", ["names the date", "is polite"]),
    ]
    assert model.judged() == []  # a function judged; the model was asked only to generate
    assert critique in model.generated()[1].messages[-1].text
    assert result.state.verdict is not None
    assert result.state.verdict["passed"] is True


async def test_another_model_can_be_the_evaluator() -> None:
    judge = ProbeModel([f"FAIL: {CRITIQUE}", "PASS"], name="judge")
    model = ProbeModel(["Released.", "Released on 1 May."])
    gate = QualityGate.evaluator(judge, criteria=["names the date"])
    agent = make_agent(model, runtime=Runtime(quality=gate))
    result = await agent.run("Write the release note")

    assert (result.status, result.output) == ("completed", "Released on 1 May.")
    assert len(model.requests) == 2  # both generations; no judgement went to the agent's model
    assert [r.metadata["call_index"] for r in judge.requests] == [0, 1]
    assert all("- names the date" in r.messages[-1].text for r in judge.requests)
    assert CRITIQUE in model.requests[1].messages[-1].text
    assert result.state.evaluations == 2


async def test_a_gate_failing_past_its_retries_fails_the_run_with_the_critique() -> None:
    model = ProbeModel(["Released.", "Still released.", "Released, really."])
    always = QualityGate.evaluator(lambda a, c: (False, CRITIQUE), max_retries=2)
    agent = make_agent(model, runtime=Runtime(quality=always))
    result = await agent.run("Write the release note")

    assert result.status == "failed"
    assert result.error is not None
    assert "failed the quality gate 3 time(s)" in result.error
    assert CRITIQUE in result.error
    assert len(model.requests) == 3  # the first try and two retries
    assert result.state.verdict == {"passed": False, "critique": CRITIQUE}


# ---------------------------------------------------------------- every harness


async def _custom(request: HarnessRequest) -> HarnessOutcome:
    out = await request.run_once()
    return HarnessOutcome(output=str(out["output"]))


PLAN = json.dumps({"steps": [{"id": "s1", "task": "Find the date"}]})

#: harness -> (runtime harness, main script, lane scripts, the lane whose retry request must show the critique)
HARNESSES: dict[str, tuple[Harness, list[Any], dict[str, list[Any]], str | None]] = {
    "single_run": (Harness.single_run(), ["Released.", "Released on 1 May."], {}, None),
    "generator_evaluator": (
        Harness.generator_evaluator(),
        ["Released.", "PASS", "Released on 1 May.", "PASS"],
        {},
        None,
    ),
    "human_gate": (Harness.human_gate(), ["Released.", "Released on 1 May."], {}, None),
    "best_of_n": (
        Harness.best_of_n(2, scorer=len),
        [],
        {"candidate-0": ["Released."], "candidate-1": ["Released now."]},
        "candidate-0",
    ),
    "custom": (Harness.custom(_custom), [], {"attempt-0": ["Released."]}, "attempt-0"),
    "orchestrated": (
        Harness.orchestrated(),
        [PLAN, "Released.", PLAN, "Released on 1 May."],
        {"step-s1": ["1 May"]},
        None,
    ),
}


def _params(names: list[str]) -> list[Any]:
    return list(names)


async def _run(harness: Harness, gate: QualityGate, model: ProbeModel) -> Any:
    agent = make_agent(model, runtime=Runtime(harness=harness, quality=gate))
    result = await agent.run(RuntimeTask(goal="Write the release note", criteria=["names the date"]))
    while result.status == "interrupted":  # the human gate: the person approves each draft
        result = await agent.resume(result.run_id, "approve")
    return agent, result


@pytest.mark.parametrize("name", _params(list(HARNESSES)))
async def test_every_harness_retries_a_failed_gate_with_the_critique(name: str) -> None:
    harness, script, lanes, lane = HARNESSES[name]
    seen: list[Sequence[str]] = []
    failed_after = 0  # how many model requests had been sent when the gate said FAIL

    def check(answer: str, criteria: Sequence[str]) -> tuple[bool, str]:
        nonlocal failed_after
        seen.append(criteria)
        if len(seen) == 1:
            failed_after = len(model.requests)
            return dated(answer, criteria)
        return (True, "")

    model = ProbeModel(script, lanes=lanes)
    agent, result = await _run(harness, QualityGate.evaluator(check, max_retries=1), model)

    assert result.status == "completed"
    assert seen == [["names the date"], ["names the date"]]  # the task's criteria feed the gate, every time
    gates = [s.route for s in result.trace.steps if s.node == "harness/quality_gate"]
    assert gates == ["retry", "pass"]
    assert result.state.verdict == {"passed": True, "critique": ""}
    judged = [
        loads(r.writes)["verdict"] for r in await agent.history(result.run_id) if r.node_path == "harness/quality_gate"
    ]
    assert judged == [{"passed": False, "critique": CRITIQUE}, {"passed": True, "critique": ""}]
    retried = [r for r in model.requests[failed_after:] if r.metadata.get("lane") == lane]
    assert retried, "the harness generated again after the FAIL"
    assert any(CRITIQUE in text_of(r) for r in retried)  # and was told why


@pytest.mark.parametrize("name", list(HARNESSES))
async def test_every_harness_fails_with_the_critique_once_retries_are_spent(name: str) -> None:
    harness, script, lanes, _ = HARNESSES[name]
    model = ProbeModel(script, lanes=lanes)
    gate = QualityGate.evaluator(lambda a, c: (False, CRITIQUE), max_retries=1)
    _, result = await _run(harness, gate, model)

    assert result.status == "failed"
    assert result.error is not None
    assert f"failed the quality gate 2 time(s); last critique: {CRITIQUE}" in result.error
    assert result.trace.steps[-1].node == "harness/quality_gate"
    assert result.trace.steps[-1].status == "failed"


@pytest.mark.parametrize("name", ["single_run", "generator_evaluator", "human_gate"])
async def test_a_run_that_failed_the_gate_keeps_the_final_verdict_in_state(name: str) -> None:
    harness, script, lanes, _ = HARNESSES[name]
    critiques = iter(["first critique", "second critique"])
    gate = QualityGate.evaluator(lambda a, c: (False, next(critiques)), max_retries=1)
    _, result = await _run(harness, gate, ProbeModel(script, lanes=lanes))

    assert result.status == "failed"
    assert result.error is not None
    assert "second critique" in result.error
    assert result.state.verdict == {"passed": False, "critique": "second critique"}


@pytest.mark.parametrize("name", ["single_run", "best_of_n", "custom", "orchestrated"])
async def test_the_gate_judges_with_the_model_in_every_harness(name: str) -> None:
    harness, script, lanes, _ = HARNESSES[name]
    if name == "single_run":
        script = ["Released on 1 May.", "PASS"]
    elif name == "orchestrated":
        script = [PLAN, "Released on 1 May.", "PASS"]
    else:
        script = ["PASS"]  # the children answer from their lanes; the run's own call 0 is the judgement
    model = ProbeModel(script, lanes=lanes)
    agent = make_agent(model, runtime=Runtime(harness=harness, quality=QualityGate.criteria(["is polite"])))
    result = await agent.run(RuntimeTask(goal="Write the release note", criteria=["names the date"]))

    assert result.status == "completed"
    (judge,) = model.judged()
    assert "Criteria:\n- is polite\n- names the date" in judge.messages[-1].text
    assert f"Answer:\n{result.output}" in judge.messages[-1].text
    assert result.state.verdict == {"passed": True, "critique": ""}


async def test_the_trace_text_shows_the_verdict_and_critique() -> None:
    model = ProbeModel(["Released.", "Released on 1 May."])
    agent = make_agent(model, runtime=Runtime(quality=QualityGate.evaluator(dated)))
    result = await agent.run("Write the release note")
    assert result.status == "completed"
    assert CRITIQUE in result.trace.to_text()


async def test_generator_evaluator_stops_after_max_rounds_and_hands_the_last_verdict_on() -> None:
    model = ProbeModel(["One.", "FAIL: more", "Two.", "FAIL: still more"])
    agent = make_agent(model, runtime=Runtime(harness=Harness.generator_evaluator(max_rounds=2)))
    result = await agent.run("Write it")

    assert (result.status, result.output) == ("completed", "Two.")  # no gate configured: the last answer stands
    assert result.state.rounds == 2
    assert result.state.verdict == {"passed": False, "critique": "still more"}
    assert [s.route for s in result.trace.steps if s.node == "harness/evaluate"] == ["fail", "exhausted"]
    assert "Evaluator, round 1: FAIL. more" in model.requests[2].messages[-1].text


async def test_generator_evaluator_can_judge_with_another_model() -> None:
    judge = ProbeModel(["FAIL: shorter", "PASS"], name="judge")
    model = ProbeModel(["A long answer.", "Short."])
    harness = Harness.generator_evaluator(evaluator=judge, instructions="You are a strict reviewer. Be terse.")
    agent = make_agent(model, runtime=Runtime(harness=harness))
    result = await agent.run(RuntimeTask(goal="Answer", criteria=["is short"]))

    assert (result.status, result.output) == ("completed", "Short.")
    assert len(judge.requests) == 2
    assert judge.requests[0].messages[0].text == "You are a strict reviewer. Be terse."
    assert "- is short" in judge.requests[0].messages[-1].text
    assert model.judged() == []
    assert "shorter" in model.requests[1].messages[-1].text


@pytest.mark.parametrize(
    "make",
    [
        lambda: Harness.generator_evaluator(max_rounds=0),
        lambda: Harness.best_of_n(0),
    ],
)
def test_harness_settings_are_validated(make: Callable[[], Harness]) -> None:
    with pytest.raises(ValueError, match=r"at least 1|n >= 1"):
        make()
