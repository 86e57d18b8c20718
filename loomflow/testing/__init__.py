"""Test helpers for code built on loomflow: the scripted model, fake clocks and ids, and conformance
suites for the plug points.

``StoreConformance`` is the pytest suite every ``CheckpointStore`` implementation runs (see
``loomflow.testing.store_conformance``); ``TraceSnapshotExtension``, ``scripted_run`` and
``prebuilt_graphs`` serve snapshot tests (the ``trace_snapshot`` fixture comes with the package's pytest
plugin). Names load on first use, so importing this package imports neither pytest nor syrupy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loomflow._lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "FakeClock": "loomflow.clock",
    "ScriptExhausted": "loomflow.providers.scripted",
    "ScriptedModel": "loomflow.providers.scripted",
    "StoreConformance": "loomflow.testing.store_conformance",
    "TraceSnapshotExtension": "loomflow.testing.snapshots",
    "prebuilt_graphs": "loomflow.testing.snapshots",
    "scripted_run": "loomflow.testing.snapshots",
    "sequential_ids": "loomflow.clock",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from loomflow.clock import FakeClock as FakeClock, sequential_ids as sequential_ids
    from loomflow.providers.scripted import ScriptedModel as ScriptedModel, ScriptExhausted as ScriptExhausted
    from loomflow.testing.snapshots import (
        TraceSnapshotExtension as TraceSnapshotExtension,
        prebuilt_graphs as prebuilt_graphs,
        scripted_run as scripted_run,
    )
    from loomflow.testing.store_conformance import StoreConformance as StoreConformance
