"""The notebooks run top to bottom (nbmake, in a subprocess, as CI would run them by hand) and are kept
without outputs, so a diff of a notebook is a diff of its code."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_runnable_as_written(path: Path) -> None:
    book = json.loads(path.read_text())
    code = [c for c in book["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") == [] and c.get("execution_count") is None for c in code), "strip the outputs"
    assert book["metadata"]["kernelspec"]["name"] == "python3"
    # A notebook's event loop is already running: asyncio.run() in a cell fails there.
    assert not any("asyncio.run(" in "".join(c["source"]) for c in code)


def test_notebooks_execute(tmp_path: Path) -> None:
    missing = [m for m in ("nbmake", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("LOOMFLOW_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing} missing, and LOOMFLOW_REQUIRE_ALL=1 requires them (the dev extra has them)")
        pytest.skip(f"{missing} not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        env.pop(key, None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbmake",
            "--nbmake-timeout=120",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            *map(str, NOTEBOOKS),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(NOTEBOOKS)} passed" in done.stdout
