"""Run chapter notebooks the way Google Colab runs them: bnlib comes only from the setup cell's %pip.

    # In Colab's runtime image (the weekly CI job): the real google.colab, bnlib from the real repository
    python3 tools/run_as_colab.py chapters/*.ipynb

    # The student edition as students open it: stubs unfilled, then with the worked solutions pasted in
    python3 tools/run_as_colab.py students/*.ipynb
    python3 tools/run_as_colab.py --with-solutions students/*.ipynb

    # Elsewhere (tests/colab/test_colab.py): another Python, a stand-in google.colab, bnlib from a local clone
    python tools/run_as_colab.py --python VENV/bin/python --stand-in \
        --install-from "bnlib @ git+file:///tmp/clone@<commit>" chapters/01_normalizing_inputs.ipynb

For each notebook: a copy goes into an empty temporary directory, which is also the kernel's working
directory, so the notebook can read no file but what the install brings. A fresh kernel of the given
Python imports ``google.colab`` before the first cell, as Colab's kernel does, so the setup cell's
``if "google.colab" in sys.modules:`` branch runs its ``%pip install``. With ``--install-from`` the copy's
setup cell installs that requirement instead of the repository's; the committed notebook is never changed.
One cell is appended to report where ``bnlib`` was imported from. A cell that raises fails the run.
Each ``check(...)`` cell's score is printed.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import nbclient
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

import student_edition  # the student edition and its solutions notebooks (tools/student_edition.py)
from booktools import install_spec  # the single source of the setup cell's requirement (tools/booktools.py)

WHERE_IS_BNLIB = "import bnlib\nprint('bnlib imported from', bnlib.__file__)"
STAND_IN = '''"""Stand-in for Colab's google.colab: importing it is what marks a kernel as Colab's."""
'''


def find_python(version):
    """The path of a Python ``version`` ("3.13") interpreter: pythonX.Y on PATH, else under pyenv; or None."""
    root = pathlib.Path(os.environ.get("PYENV_ROOT", pathlib.Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        # pyenv's shim exists on PATH for every installed version but runs only the selected ones.
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def colab_copy(nb, install_from=None):
    """The notebook as it runs in Colab: ``install_from`` swapped into the setup cell, a last cell added."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    if install_from is not None:
        setup = nb.cells[0]
        if setup.cell_type != "code" or f'"{install_spec()}"' not in setup.source:
            raise ValueError(f"cell 0 is not the setup cell installing {install_spec()!r}; see tools/booktools.py")
        setup.source = setup.source.replace(f'"{install_spec()}"', f'"{install_from}"')
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.append(nbformat.v4.new_code_cell(WHERE_IS_BNLIB))
    return nb


def write_kernel(kernels_dir, python, stand_in_dir=None):
    """A kernelspec 'colab' whose kernel is ``python`` with google.colab already imported."""
    spec_dir = pathlib.Path(kernels_dir) / "colab"
    spec_dir.mkdir(parents=True, exist_ok=True)
    launcher = "import google.colab; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    spec = {"argv": [str(python), "-c", launcher, "-f", "{connection_file}"],
            "display_name": "Python 3 (Colab)", "language": "python", "env": {}}
    if stand_in_dir is not None:
        package = pathlib.Path(stand_in_dir) / "google" / "colab"
        package.mkdir(parents=True, exist_ok=True)
        # No google/__init__.py: `google` stays a namespace package, so google.protobuf (TensorFlow) still imports.
        (package / "__init__.py").write_text(STAND_IN)
        spec["env"]["PYTHONPATH"] = str(stand_in_dir)
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return KernelSpecManager(kernel_dirs=[str(kernels_dir)])


def run(path, python=sys.executable, install_from=None, stand_in=False, env=None, timeout=600,
        with_solutions=False):
    """Execute one notebook as Colab would. Returns (executed notebook, the file bnlib was imported from).
    ``with_solutions``: ``path`` is a student notebook (students/), run with its worked solutions pasted
    into its answer cells, as a student who solved every exercise would."""
    nb = nbformat.read(path, as_version=4)
    if with_solutions:
        nb = student_edition.with_solutions(nb, nbformat.read(student_edition.solutions_of(path), as_version=4))
    nb = colab_copy(nb, install_from)
    with tempfile.TemporaryDirectory(prefix="colab-") as tmp:
        tmp = pathlib.Path(tmp)
        workdir = tmp / "content"  # Colab's working directory is /content
        workdir.mkdir()
        nbformat.write(nb, workdir / pathlib.Path(path).name)
        ksm = write_kernel(tmp / "kernels", python, tmp / "stand-in" if stand_in else None)
        km = KernelManager(kernel_name="colab", kernel_spec_manager=ksm)
        client = nbclient.NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(workdir)}})
        client.execute(**({"env": env} if env is not None else {}))
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    location = printed.split("bnlib imported from", 1)[-1].strip()
    return nb, location


def check_reports(nb):
    """{exercise id: what its check cell showed} of an executed notebook (``check("<id>", ...)`` cells)."""
    reports = {}
    for cell in nb.cells:
        match = re.match(r'\s*check\("(\w+)"', cell.source) if cell.cell_type == "code" else None
        if match:
            reports[match[1]] = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                                        for o in cell.outputs)
    return reports


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--python", default=sys.executable, help="the kernel's Python (default: this one)")
    parser.add_argument("--install-from", help="pip requirement the setup cell installs instead of the repository's")
    parser.add_argument("--stand-in", action="store_true", help="provide a stand-in google.colab module")
    parser.add_argument("--with-solutions", action="store_true",
                        help="student notebooks (students/*.ipynb): paste their worked solutions in first")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        print(f"running {path} as in Colab ...", flush=True)
        try:
            nb, location = run(path, args.python, args.install_from, args.stand_in,
                               with_solutions=args.with_solutions)
        except Exception as err:  # a failing cell, or a kernel that died or never started: report, go on
            failed.append(path)
            print(f"FAILED {path}:\n{err}", flush=True)
        else:
            # Each report's first line: "<id>: 10 of 10 cases passed.", "<id>: correct.", ...
            heads = [r.splitlines()[0] if r else "(no report)" for r in check_reports(nb).values()]
            print(f"ok {path} (bnlib from {location})" + "".join(f"; {h}" for h in heads), flush=True)
    print(f"{len(args.notebooks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
