"""Run overlays from stored checkpoints: the path a run took, drawn on its graph."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from loomflow.checkpoint.records import StepRecord
from loomflow.viz._structure import START, NodeStats, Overlay

__all__ = ["overlay_from_steps"]


def overlay_from_steps(
    steps: Iterable[StepRecord],
    *,
    start: str,
    status: str | None = None,
    run_id: str | None = None,
    structure: Mapping[str, Any] | None = None,
) -> Overlay:
    """Edge counts, per-node visits/time/tokens, and the failed or waiting node, from a run's steps.

    Superseded steps (a rewound branch) are left out: the overlay shows the path the run stands on.
    With ``structure``, a node that ended the run itself is counted on its declared edge to END.
    """
    declared = {(e["source"], e["target"]) for e in structure["edges"]} if structure else set()
    counts: Counter[tuple[str, str]] = Counter()
    stats: dict[str, dict[str, Any]] = {}
    failed = waiting = None
    first = True
    for rec in steps:
        if rec.superseded:
            continue
        if first:
            counts[(START, start)] += 1
            first = False
        s = stats.setdefault(rec.node_path, {"visits": 0, "seconds": 0.0})
        if rec.visit == rec.step and rec.status != "limit":
            s["visits"] += 1
        s["seconds"] += rec.duration
        tokens = sum(int(v) for k, v in (rec.usage or {}).items() if k.endswith("_tokens") and v)
        if tokens:
            s["tokens"] = s.get("tokens", 0) + tokens
        if rec.target is not None and (rec.status == "ok" or (rec.node_path, rec.target) in declared):
            counts[(rec.node_path, rec.target)] += 1
        failed = rec.node_path if rec.status == "failed" else None
        waiting = rec.node_path if rec.status == "interrupted" else None
    node_stats: dict[str, NodeStats] = {k: NodeStats(**v) for k, v in stats.items()}  # type: ignore[typeddict-item]
    return Overlay(
        edge_counts=dict(counts), node_stats=node_stats, failed=failed, waiting=waiting, status=status, run_id=run_id
    )
