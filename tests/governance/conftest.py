"""The agent tests' helpers (``agent_helpers``: a recording model, ``make_agent``, result lookups)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "agent"))
