"""The house style is checked by ruff (configuration in pyproject.toml), notebooks included."""

import shutil
import subprocess
import sys

from booktools import ROOT


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or f"{sys.executable} -m ruff"
    result = subprocess.run(
        [*ruff.split(), "check", "bnlib", "tests", "tools", "benchmarks", "chapters"], cwd=ROOT, capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
