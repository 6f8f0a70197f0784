"""Gradescope's autograder: ``python -m bnlib.grading autograder --assignment FILE --out autograder.zip``.

The zip holds what Gradescope unpacks into ``/autograder/source`` of a fresh container per submission:

* ``setup.sh``: installs Python, numpy (the lock's version) and bubblewrap (run once, when the image is built);
* ``run_autograder``: grades ``/autograder/submission`` as ONE student's submission with the assignment
  file and writes ``/autograder/results/results.json`` (Gradescope's format); if the grader cannot run
  (bubblewrap cannot isolate in that container, say), the results say so and score nothing, never the seed;
* ``bnlib/`` (the package; an answer process sees only its own script and three support modules of it)
  and ``assignment.toml`` (with its secret seed, outside what an answer process sees).

``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AUTOGRADER_PYTHON`` (default ``python3``) let a test run
the bundle in a temporary folder standing in for ``/autograder``.
"""

import argparse
import os
import re
import stat
import zipfile

from .assignment import load_assignment

__all__ = ["RUN_AUTOGRADER", "autograder_main", "build_autograder", "setup_script"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../bnlib
_ROOT = os.path.dirname(_PACKAGE)

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission: grade /autograder/submission as one student, write results.json.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-python3}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
OUT="$(mktemp -d)"
if "$PYTHON" -m bnlib.grading "$ROOT/submission" --single --assignment assignment.toml --out "$OUT/grades" \
    >"$OUT/log" 2>&1; then
  cp "$OUT/grades/submission/results.json" "$ROOT/results/results.json"
else
  "$PYTHON" - "$OUT/log" "$ROOT/results/results.json" <<'PY'
import json, sys
log = open(sys.argv[1]).read()[-1500:]
text = "The autograder could not grade this submission; your instructor has been told.\n" + log
json.dump({"score": 0, "output": text, "visibility": "visible"}, open(sys.argv[2], "w"), indent=2)
PY
fi
"""


def setup_script(numpy_version):
    """Gradescope's setup.sh: Python, numpy and bubblewrap (Debian/Ubuntu packages and pip)."""
    pin = f"numpy=={numpy_version}" if numpy_version else "numpy"
    return ("#!/usr/bin/env bash\n"
            "# Gradescope runs this once when it builds the autograder image.\n"
            "set -euo pipefail\n"
            "apt-get update\n"
            "DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-pip bubblewrap\n"
            f"python3 -m pip install '{pin}' || python3 -m pip install --break-system-packages '{pin}'\n")


def _numpy_version():
    lock = os.path.join(_ROOT, "requirements.txt")
    if os.path.exists(lock):
        with open(lock) as fh:
            match = re.search(r"^numpy==(\S+)", fh.read(), re.M)
            if match:
                return match.group(1)
    return None


def _add(zf, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same bundle every time
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_autograder(assignment_path, out_path):
    """Write Gradescope's autograder zip for the assignment file ``assignment_path`` to ``out_path``."""
    load_assignment(assignment_path)  # a bad file is named now, not on Gradescope
    with open(assignment_path, "rb") as fh:
        assignment = fh.read()
    with zipfile.ZipFile(out_path, "w") as zf:
        _add(zf, "setup.sh", setup_script(_numpy_version()), executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add(zf, "assignment.toml", assignment)
        for folder, dirs, files in sorted(os.walk(_PACKAGE)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(folder, f)
                    with open(path, "rb") as fh:
                        _add(zf, os.path.relpath(path, _ROOT), fh.read())
    return out_path


def autograder_main(argv):
    """``python -m bnlib.grading autograder --assignment FILE --out autograder.zip``."""
    parser = argparse.ArgumentParser(prog="python -m bnlib.grading autograder",
                                     description="Write the autograder zip that Gradescope runs per submission.",
                                     epilog="Example: python -m bnlib.grading autograder --assignment hw2.toml "
                                            "--out autograder.zip")
    parser.add_argument("--assignment", required=True, help="the assignment file (write one with "
                        "`python -m bnlib.grading assignment new FILE`)")
    parser.add_argument("--out", required=True, help="the zip to write, e.g. autograder.zip")
    args = parser.parse_args(argv)
    try:
        build_autograder(args.assignment, args.out)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {args.out}: upload it as the assignment's autograder on Gradescope (setup.sh, run_autograder)")
    return 0
