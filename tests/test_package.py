"""bnlib as a package: its public API, and that it installs light (Colab pins IPython 7.34, Python 3.11-3.13)."""

import subprocess
import sys
import tomllib

import bnlib
from booktools import ROOT


def test_public_api_is_importable_and_documented():
    for name in bnlib.__all__:
        obj = getattr(bnlib, name)
        assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_importing_bnlib_does_not_import_tensorflow_or_matplotlib():
    code = "import sys, bnlib; print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_runtime_dependencies_are_light():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in project["dependencies"]]
    assert names == ["numpy", "matplotlib"]
    assert not any("ipython" in d.lower() for d in project["dependencies"])
    assert project["requires-python"] == ">=3.11,<3.14"
    assert "keras" in project["optional-dependencies"]
