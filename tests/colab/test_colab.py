"""Every notebook run as Google Colab runs it, in an environment that has only what Colab has.

Colab ships numpy, matplotlib, TensorFlow/Keras, scikit-learn, IPython 7.34 and ipykernel, and not
bnlib nor any test tool. So this test builds a clean virtual environment with exactly those packages
(the versions pinned in requirements.txt, and IPython at Colab's 7.34), cached under
~/.cache/bn-course/colab-venv-<hash of the pins> so that only the first run pays for the install.
Each session then lays a throw-away environment on top of it, for the setup cells to install bnlib
into, so the cached one stays pristine and concurrent runs do not collide.

bnlib is installed the way students get it: the setup cell's `%pip install` runs (a stand-in
google.colab module is imported at kernel start, which is what the cell looks for) with the
repository URL swapped for a fresh `git clone` of this repository, pinned to the commit of HEAD.
So the simulation sees what is committed: uncommitted or untracked changes to bnlib are NOT seen
(commit first; the test warns when bnlib/ has such changes). Each notebook runs top to bottom in a
fresh kernel whose working directory is an empty temporary directory (tools/run_as_colab.py), so it
cannot read any repository file the install does not bring.
"""

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import warnings

import pytest

import run_as_colab
from booktools import ROOT, install_spec, notebooks

# Colab's own IPython (the notes: Colab pins 7.34); the rest are pinned in requirements.txt.
COLAB_EXTRA_PINS = ["ipython==7.34.0"]
# Colab's Pythons: the one it moved to in 2026 (3.13) and the oldest the course supports (3.11).
COLAB_PYTHONS = ("3.11", "3.13")
COLAB_PACKAGES = ["numpy", "matplotlib", "scikit-learn", "tensorflow-cpu", "keras", "ipykernel"]
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "bn-course"
NOTEBOOKS = notebooks()
# The student edition (tools/student_edition.py): what students open in Colab.
STUDENT_NOTEBOOKS = sorted((ROOT / "students").glob("*.ipynb"))
# A report's first line: "not attempted yet (score 0/10)", "7 of 10 cases passed", "correct" or "not correct yet".
SCORE = re.compile(r"\(score (\d+)/(\d+)\)|(\d+) of (\d+) cases passed|: (correct|not correct yet)\.")


def colab_pins():
    """The requirement lines of the Colab environment: requirements.txt's pins of Colab's packages."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+).*", line)
        if match and match[1].lower() in COLAB_PACKAGES:
            pins[match[1].lower()] = f"{match[1]}=={match[2]}"
    missing = sorted(set(COLAB_PACKAGES) - set(pins))
    assert not missing, f"requirements.txt pins no version of {missing}"
    return [pins[name] for name in COLAB_PACKAGES] + COLAB_EXTRA_PINS


def _venv_python(venv):
    return pathlib.Path(venv) / "bin" / "python"


def _site_packages(python):
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="session", params=COLAB_PYTHONS, ids=[f"py{v}" for v in COLAB_PYTHONS])
def base_python(request):
    """The interpreter of one of Colab's Pythons (found on PATH or under pyenv)."""
    python = run_as_colab.find_python(request.param)
    if python is None:
        pytest.fail(f"no Python {request.param} interpreter found (tried python{request.param} on PATH and "
                    f"pyenv's versions); install it (e.g. `pyenv install {request.param}`), or run the suite "
                    'without the Colab simulation: python -m pytest -m "not colab"', pytrace=False)
    return python


@pytest.fixture(scope="session")
def colab_base(base_python):
    """The cached clean environment with Colab's packages; built once per Python and set of pins."""
    pins = colab_pins()
    version = subprocess.run([base_python, "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = hashlib.sha256("\n".join([version, *pins]).encode()).hexdigest()[:16]
    venv = CACHE / f"colab-venv-{key}"
    if not (venv / "complete").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        # Built under a private name and renamed when complete, so a concurrent run never sees half of it
        # (only bin/python is used, a symlink to the base interpreter, so the rename is safe).
        building = CACHE / f"colab-venv-{key}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([base_python, "-m", "venv", str(building)], check=True)
        proc = subprocess.run([str(_venv_python(building)), "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", *pins], capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            pytest.fail(f"could not install Colab's packages {pins}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}",
                        pytrace=False)
        (building / "complete").write_text("\n".join(pins) + "\n")
        try:
            building.rename(venv)
        except OSError:  # another run finished first: use its environment
            shutil.rmtree(building, ignore_errors=True)
    return venv


@pytest.fixture(scope="session")
def colab_python(colab_base, base_python, tmp_path_factory):
    """This session's Python: an empty environment that sees the cached one's packages, for bnlib to go into."""
    overlay = tmp_path_factory.mktemp("colab-env")
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(overlay)], check=True)
    python = _venv_python(overlay)
    # `import site; site.addsitedir(...)` also processes the base's own .pth files, as its own Python would.
    (pathlib.Path(_site_packages(python)) / "colab_base.pth").write_text(
        f"import site; site.addsitedir({_site_packages(_venv_python(colab_base))!r})\n")
    probe = subprocess.run([str(python), "-c", "import bnlib"], capture_output=True, text=True, cwd=overlay,
                           env=colab_env())
    assert probe.returncode != 0, "bnlib is importable before any setup cell ran: the environment is not clean"
    return python


@pytest.fixture(scope="session")
def install_from(tmp_path_factory):
    """The pip requirement for bnlib from a fresh clone of this repository, at HEAD's commit."""
    changed = subprocess.run(["git", "status", "--porcelain", "--", "bnlib", "pyproject.toml"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    if changed.strip():
        warnings.warn("bnlib has uncommitted changes; the Colab simulation installs the committed HEAD and does "
                      f"not see them:\n{changed}", stacklevel=1)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    clone = tmp_path_factory.mktemp("repo") / "batchnorm-book"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    # file://localhost/...: pip rejects a git+file URL without a host (git+file:///...) as an invalid requirement.
    return install_spec(url=f"file://localhost{clone.as_posix()}", branch=commit)


def colab_env():
    """The kernel's environment: this one without anything that would not be set in Colab."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "VIRTUAL_ENV") and not k.startswith("TF_")}
    return env


def test_colab_environment_has_no_course_or_test_tools(colab_python, base_python):
    code = ("import importlib.util as u, json, sys, IPython; print(json.dumps([IPython.__version__, "
            "'%d.%d' % sys.version_info[:2], "
            "[m for m in ('bnlib', 'pytest', 'nbval', 'hypothesis', 'selenium') if u.find_spec(m)]]))")
    out = subprocess.run([str(colab_python), "-c", code], capture_output=True, text=True, check=True,
                         cwd=colab_python.parent, env=colab_env()).stdout
    ipython, version, present = json.loads(out)
    assert present == [], f"the Colab environment has {present}, which Colab does not"
    assert ipython == "7.34.0", f"IPython {ipython}, not Colab's 7.34.0"
    assert base_python.endswith(version) or version in base_python, (version, base_python)


def test_setup_cell_swap_keeps_everything_else():
    nb = run_as_colab.nbformat.read(NOTEBOOKS[0], as_version=4)
    copy = run_as_colab.colab_copy(nb, "bnlib @ git+file:///x@abc")
    assert copy.cells[0].source == nb.cells[0].source.replace(install_spec(), "bnlib @ git+file:///x@abc")
    assert [c.source for c in copy.cells[1:-1]] == [c.source for c in nb.cells[1:]]
    assert copy.cells[-1].source == run_as_colab.WHERE_IS_BNLIB


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_as_in_colab(path, colab_python, install_from):
    nb, location = run_as_colab.run(path, python=colab_python, install_from=install_from, stand_in=True,
                                    env=colab_env())
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # bnlib came from the setup cell's install into this session's environment, not from the repository.
    env_root = colab_python.parent.parent
    assert location.startswith(str(env_root)), f"bnlib was imported from {location!r}, not from {env_root}"
    assert not location.startswith(str(ROOT)), location


def _scores(nb):
    reports = run_as_colab.check_reports(nb)
    assert reports, "no check cell ran"
    return {exercise: (_cases(report), report) for exercise, report in reports.items()}


def _cases(report):
    """(cases passed, cases) from a report's first line, or None."""
    match = SCORE.search(report.splitlines()[0])
    if match is None:
        return None
    if match[5]:
        return (1, 1) if match[5] == "correct" else (0, 1)
    return (int(match[1]), int(match[2])) if match[1] else (int(match[3]), int(match[4]))


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.name for p in STUDENT_NOTEBOOKS])
def test_student_notebook_runs_as_in_colab_stubs_not_attempted(path, colab_python, install_from):
    nb, _ = run_as_colab.run(path, python=colab_python, install_from=install_from, stand_in=True, env=colab_env())
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    for exercise, (score, report) in _scores(nb).items():
        assert "not attempted" in report and score and score[0] == 0, f"{exercise}: {report}"


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.name for p in STUDENT_NOTEBOOKS])
def test_student_notebook_with_solutions_pasted_scores_full_marks(path, colab_python, install_from):
    nb, _ = run_as_colab.run(path, python=colab_python, install_from=install_from, stand_in=True, env=colab_env(),
                             with_solutions=True)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    for exercise, (score, report) in _scores(nb).items():
        assert score and score[0] == score[1] != 0, f"{exercise}: {report}"
