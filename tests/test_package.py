"""bnlib as a package: its public API, and that it installs light (Colab pins IPython 7.34, Python 3.11-3.13)."""

import importlib
import pkgutil
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


def _modules():
    for info in pkgutil.walk_packages(bnlib.__path__, "bnlib."):
        if not info.name.endswith("__main__"):  # running it is the grading command
            yield importlib.import_module(info.name)


def test_every_module_declares_its_public_names():
    for module in [bnlib, *_modules()]:
        names = getattr(module, "__all__", None)
        assert isinstance(names, list), f"{module.__name__} has no __all__ list"
        missing = [n for n in names if not hasattr(module, n)]
        assert not missing, f"{module.__name__}.__all__ names what it does not define: {missing}"


def test_one_import_path_per_public_name():
    # The faces a chapter imports from hand on disjoint sets of names.
    faces = [bnlib, importlib.import_module("bnlib.keras_ref"), importlib.import_module("bnlib.plots"),
             importlib.import_module("bnlib.exercises")]
    seen = {}
    for face in faces:
        for name in face.__all__:
            assert name not in seen, f"{name} is exported by both {seen[name]} and {face.__name__}"
            seen[name] = face.__name__
