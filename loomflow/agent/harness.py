"""Harness strategies: how a run is attempted. Each is a subgraph that fills the ``harness`` slot of the run
graph (``agent.graph`` shows it as a cluster); ``Runtime(harness=...)`` swaps it.

    Harness.single_run()                                   # the model/tool loop (default)
    Harness.generator_evaluator(max_rounds=3)              # generate, judge, loop on FAIL with the critique
    Harness.best_of_n(3, scorer=len)                       # N candidate child runs, the best selected
    Harness.human_gate()                                   # a person approves the answer or sends a note back
    Harness.custom(choose_best, name="release-review")     # the seed's HarnessRequest.run_once() contract
    Harness.orchestrated(OrchestrationConfig(max_depth=2))  # plan, fan out to child runs, reduce
    Harness.subgraph(my_graph)                             # a graph of your own over AgentState
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from loomflow.agent.delegation import OrchestrationConfig
from loomflow.agent.quality import JUDGE_INSTRUCTIONS, Evaluator

if TYPE_CHECKING:
    from loomflow.agent.state import AgentState
    from loomflow.graph import Graph
    from loomflow.nodedef import Retry

__all__ = ["Harness", "HarnessCandidate", "HarnessOutcome", "HarnessRequest", "Scorer"]

Scorer = Callable[[str], float | Awaitable[float]]


@dataclasses.dataclass(frozen=True)
class HarnessCandidate:
    """One possible answer a harness considered."""

    id: str
    content: str
    score: float | None = None
    rationale: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HarnessOutcome:
    """What a custom harness returns: the output, the candidates it weighed, and which one it chose."""

    output: str
    candidates: Sequence[HarnessCandidate] = ()
    selected_candidate_id: str | None = None


class HarnessRequest:
    """What a custom harness function receives. ``await request.run_once()`` runs the task once as a child
    run (checkpointed step by step) and returns ``{"output", "status", "run_id", "error"}``."""

    def __init__(
        self,
        goal: str,
        criteria: Sequence[str],
        inputs: dict[str, Any],
        run_once: Callable[[str | None], Awaitable[dict[str, Any]]],
    ) -> None:
        self.goal = goal
        self.criteria = tuple(criteria)
        self.inputs = inputs
        self._run_once = run_once

    async def run_once(self, instructions: str | None = None) -> dict[str, Any]:
        """One more attempt at the task (``instructions`` are added to the goal, e.g. a critique)."""
        return await self._run_once(instructions)


@dataclasses.dataclass(frozen=True)
class Harness:
    """A harness strategy and its settings; ``graph()`` builds the subgraph."""

    kind: str = "single_run"
    name: str = "single_run"
    evaluator: Evaluator | None = None
    instructions: str = JUDGE_INSTRUCTIONS
    max_rounds: int = 3
    n: int = 3
    scorer: Scorer | None = None
    fn: Callable[[HarnessRequest], Awaitable[HarnessOutcome]] | None = None
    user_graph: Graph[AgentState] | None = None
    concurrency: int = 4
    orchestration: OrchestrationConfig = dataclasses.field(default_factory=OrchestrationConfig)

    @classmethod
    def single_run(cls) -> Harness:
        return cls()

    @classmethod
    def generator_evaluator(
        cls, *, evaluator: Evaluator | None = None, instructions: str = JUDGE_INSTRUCTIONS, max_rounds: int = 3
    ) -> Harness:
        """Generate with the model/tool loop, judge with ``evaluator`` (the agent's model by default, with
        ``instructions``), feed a FAIL's critique back and generate again, up to ``max_rounds`` rounds."""
        if not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"generator_evaluator needs max_rounds of at least 1 (an int), not {max_rounds!r}")
        return cls("generator_evaluator", "generator_evaluator", evaluator, instructions, max_rounds)

    @classmethod
    def best_of_n(
        cls, n: int = 3, *, scorer: Scorer | None = None, evaluator: Evaluator | None = None, concurrency: int = 4
    ) -> Harness:
        """``n`` candidates generated concurrently as child runs, scored by ``scorer(text) -> float`` or by
        ``evaluator`` (a model rating each 0-10; the agent's model when neither is given); the best wins."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"best_of_n needs n >= 1 (an int), not {n!r}")
        # checked here, not when the harness runs: concurrency=0 would make the candidates wait forever
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"best_of_n needs concurrency >= 1 (an int), not {concurrency!r}")
        if scorer is not None and not callable(scorer):
            raise TypeError(f"best_of_n(scorer=...) takes a function of the answer text, such as len; not {scorer!r}")
        return cls("best_of_n", "best_of_n", evaluator, n=n, scorer=scorer, concurrency=concurrency)

    @classmethod
    def human_gate(cls, *, max_rounds: int = 5) -> Harness:
        """After generation, a ``review`` interrupt asks a person: ``"approve"`` ends, ``{"reject": note}``
        sends the note back to the model. The wait survives restarts."""
        if not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"human_gate needs max_rounds >= 1 (an int), not {max_rounds!r}")
        return cls("human_gate", "human_gate", max_rounds=max_rounds)

    @classmethod
    def custom(cls, fn: Callable[[HarnessRequest], Awaitable[HarnessOutcome]], *, name: str = "custom") -> Harness:
        """Your strategy as a function of a ``HarnessRequest``; each ``run_once()`` is a checkpointed child run."""
        if not callable(fn):
            raise TypeError(
                f"Harness.custom takes an async function of a HarnessRequest returning a HarnessOutcome, not {fn!r}"
            )
        return cls("custom", name, fn=fn)

    @classmethod
    def orchestrated(cls, config: OrchestrationConfig | None = None) -> Harness:
        """Plan (structured output), fan the steps out to child runs, reduce their results into the answer."""
        if config is not None and not isinstance(config, OrchestrationConfig):
            raise TypeError(f"Harness.orchestrated takes an OrchestrationConfig(...), not {config!r}")
        return cls("orchestrated", "orchestrated", orchestration=config or OrchestrationConfig())

    @classmethod
    def subgraph(cls, graph: Graph[AgentState]) -> Harness:
        """Your own graph over ``AgentState`` (built-in nodes or yours) as the harness."""
        from loomflow.agent.state import AgentState

        if not issubclass(graph.state, AgentState):
            raise TypeError(f"a harness graph runs on AgentState; graph {graph.name!r} uses {graph.state.__name__}")
        return cls("subgraph", graph.name, user_graph=graph)

    def graph(self, *, model_retry: Retry | None = None) -> Graph[AgentState]:
        """The subgraph that fills the ``harness`` slot."""
        from loomflow.graphs import best_of_n, custom, generator_evaluator, human_gate, orchestrated, single_run

        if self.kind == "single_run":
            return single_run(model_retry=model_retry)
        if self.kind == "generator_evaluator":
            return generator_evaluator(max_rounds=self.max_rounds, model_retry=model_retry)
        if self.kind == "best_of_n":
            return best_of_n()
        if self.kind == "human_gate":
            return human_gate(max_rounds=self.max_rounds, model_retry=model_retry)
        if self.kind == "custom":
            return custom(self.name)
        if self.kind == "orchestrated":
            return orchestrated()
        assert self.user_graph is not None
        return self.user_graph
