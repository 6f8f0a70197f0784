"""Helpers the tests share: the book's configuration and its notebooks."""

import json
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"


def config():
    """The parsed _config.yml."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_files():
    """The files listed in _toc.yml, in order (without extension), root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def notebooks():
    """Every chapter notebook, sorted by name."""
    return sorted(p for p in CHAPTERS.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def load(path):
    return json.loads(pathlib.Path(path).read_text())


def install_spec(url=None, branch=None):
    """The pip requirement Colab installs bnlib from, derived from _config.yml's repository."""
    repo = config()["repository"]
    url = url or repo["url"]
    branch = branch or repo.get("branch", "main")
    return f"bnlib @ git+{url}@{branch}"


def setup_cell_source(url=None, branch=None):
    """The exact source every notebook's first cell must have."""
    return (
        "# Setup: in Google Colab, install the course package bnlib; elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{install_spec(url, branch)}"'
    )
