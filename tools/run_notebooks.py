"""Execute chapter notebooks in place, top to bottom, in a fresh kernel each.

    python tools/run_notebooks.py                       # every chapter
    python tools/run_notebooks.py chapters/02_*.ipynb   # some

Notebooks are committed executed (nbval compares their stored outputs with a fresh run),
so run this after changing a chapter or the bnlib code it calls, then commit the result.
"""

import argparse
import pathlib
import sys

import nbclient
import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(path, timeout=600):
    nb = nbformat.read(path, as_version=4)
    # Strip stale outputs first, so nothing from an earlier run survives in a skipped cell.
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        print(f"executing {path} ...", flush=True)
        run(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
