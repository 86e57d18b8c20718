"""loomflow's pytest plugin (registered by the package's ``pytest11`` entry point): the ``trace_snapshot``
fixture.

    def test_agent_path(trace_snapshot):
        result = agent.run_sync("Summarise the repo")
        assert result.trace == trace_snapshot

The fixture is syrupy's ``snapshot`` using ``TraceSnapshotExtension``; ``pytest --snapshot-update`` writes
the ``.ambr`` files. This module imports only pytest at load time, so the plugin costs nothing in a test
session that never asks for the fixture, and a project without syrupy gets a clear error only if it does.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["trace_snapshot"]


@pytest.fixture
def trace_snapshot(request: pytest.FixtureRequest) -> Any:
    """A syrupy snapshot that stores a run's trace (or a graph's Mermaid) as readable text."""
    try:
        snapshot = request.getfixturevalue("snapshot")
    except pytest.FixtureLookupError:
        pytest.fail(
            "the trace_snapshot fixture needs syrupy, which is not installed; "
            "`pip install 'syrupy>=4'` (it is in loomflow's dev extra)",
            pytrace=False,
        )
    from loomflow.testing.snapshots import TraceSnapshotExtension

    return snapshot.use_extension(TraceSnapshotExtension)
