"""A session: several runs that continue one conversation. Each run sees the earlier turns, read back from
the earlier runs' checkpoints (the session stores only which runs belong to it).

    python examples/multi_task_session.py
"""

from __future__ import annotations

import asyncio

from loomflow import Agent, MemoryStore, Model, ModelRequest, SessionConfig


def recall(request: ModelRequest) -> str:
    """The scripted model's second answer: it quotes the earlier turn the session restored."""
    earlier = [m.text for m in request.messages if m.role == "assistant"]
    return f"Earlier I said: {earlier[-1]!r}. In one sentence: APIs should be small and predictable."


agent = Agent(
    model=Model.scripted(["A good API is small, consistent and hard to misuse.", recall]),
    checkpoint_store=MemoryStore(),
)


async def main() -> None:
    session = agent.session(SessionConfig(id="demo-user"))
    first = await session.run("List three qualities of a good API")
    second = await session.run("Summarise the previous answer in one sentence")
    print(f"run 1 ({first.status}): {first.output}")
    print(f"run 2 ({second.status}): {second.output}")
    print("\nthe session's transcript:")
    for message in await session.transcript():
        print(f"  {message.role:>9}: {message.text}")
    print(
        f"\nruns in the session: {len(await session.runs())}; tokens: {(await session.usage())['input_tokens']:.0f} in"
    )


if __name__ == "__main__":
    asyncio.run(main())
