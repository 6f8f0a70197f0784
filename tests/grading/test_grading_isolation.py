"""Isolation with bubblewrap: hostile answer cells cannot reach the grader, other submissions or the machine.

Each hostile answer here worked against the grader before isolation (issue 17): forging a worker's reply
through /proc/<pid>/fd of the processes above it, killing the grading process, writing into the output
folder and into another student's notebook, leaving a detached ``setsid`` process running after the run.
They are graded by the real command; the same attacks with ``--unsafe`` show what isolation prevents where
the difference is observable.
"""

import csv
import os
import shutil
import subprocess
import sys
import time

import pytest

from bnlib.grading.processes import isolation_problem
from submission_factory import CORRECT, STUB, build_submission

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _bubblewrap():
    if shutil.which("bwrap") is None:  # a missing tool fails, never skips: grading for credit needs it
        pytest.fail("bwrap not found: `apt-get install -y bubblewrap` (README command 1, .ci/run)", pytrace=False)

MARKER = "bnlib-hostile-sleeper-4242"

ANCESTORS = """\
import os

# The processes above this one, nearest first, up to two: the answer process and the worker (each notebook
# runs in a fork of the answer process; under bubblewrap that is PID 1 and nothing is above it).
ancestors, pid = [], os.getppid()
while pid > 0 and len(ancestors) < 2:
    ancestors.append(pid)
    try:
        with open(f"/proc/{pid}/stat") as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
"""

FORGE = ANCESTORS + """\
import json, os, signal
reply = json.dumps({"results": {"bn_forward": {"score": 10, "max": 10, "status": "passed", "report": "forged"},
                                "spread": {"score": 1, "max": 1, "status": "passed", "report": "forged"}},
                    "notes": []})
try:
    for parent in ancestors:
        for fd in os.listdir(f"/proc/{parent}/fd"):
            try:
                with open(f"/proc/{parent}/fd/{fd}", "w") as fh:
                    fh.write(reply)
            except OSError:
                pass
    os.kill(ancestors[-1], signal.SIGKILL)
except (OSError, IndexError):
    pass
spread = None"""


def _hostile(folder, out):
    build_submission(folder / "forger.ipynb", {"spread": FORGE, "bn_forward": STUB["bn_forward"]})
    build_submission(folder / "killer.ipynb", {
        "spread": ANCESTORS + "import signal\nos.kill(ancestors[-1], signal.SIGKILL)\nspread = 4.0"})
    build_submission(folder / "vandal.ipynb", {"spread": (
        "import glob, os\n"
        f"for path in glob.glob({str(folder)!r} + '/*.ipynb'):\n"
        "    try:\n        open(path, 'w').write('{}')\n    except OSError:\n        pass\n"
        f"os.makedirs({str(out)!r} + '/honest', exist_ok=True)\n"
        f"open({str(out)!r} + '/grades.csv', 'w').write('submission,total\\nvandal,1000\\n')\n"
        "spread = 4.0")})
    build_submission(folder / "sleeper.ipynb", {"spread": (
        "import subprocess, sys\n"
        f"subprocess.Popen(['setsid', sys.executable, '-c', 'import time; time.sleep(300)', {MARKER!r}],\n"
        "                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,\n"
        "                 stderr=subprocess.DEVNULL)\n"
        "spread = 4.0")})
    build_submission(folder / "honest.ipynb", {"spread": CORRECT["spread"], "bn_forward": CORRECT["bn_forward"]})


def _sleepers():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if MARKER.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _run(tmp_path, name, *extra):
    subs, out = tmp_path / name / "subs", tmp_path / name / "out"
    subs.mkdir(parents=True)
    _hostile(subs, out)
    honest_before = (subs / "honest.ipynb").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(subs), "--out", str(out), "--exercises",
                           "bn_forward,spread", "--jobs", "2", "--timeout", "60", *extra],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    return rows, (subs / "honest.ipynb").read_bytes() == honest_before


def test_hostile_answers_cannot_reach_outside_their_sandbox(tmp_path):
    assert isolation_problem() is None
    rows, honest_intact = _run(tmp_path, "isolated")
    time.sleep(1)
    leftover = _sleepers()
    for pid in leftover:
        os.kill(pid, 9)
    assert rows["forger"]["total"] == "0.0" and rows["forger"]["status"] == "graded"  # no forged reply
    assert rows["killer"]["status"] == "graded" and rows["killer"]["spread"] == "1.0"  # the worker is out of reach
    assert rows["vandal"]["spread"] == "1.0" and honest_intact  # other notebooks and the output are out of reach
    assert rows["honest"]["total"] == "3.0"
    assert "1000" not in (tmp_path / "isolated" / "out" / "grades.csv").read_text()
    assert leftover == []  # the detached sleeper died with its sandbox


def test_the_same_attacks_without_isolation_succeed(tmp_path):
    # What the test above guards against, shown on this machine: --unsafe is the old, unisolated grader.
    rows, honest_intact = _run(tmp_path, "unsafe", "--unsafe")
    time.sleep(1)
    leftover = _sleepers()
    for pid in leftover:
        os.kill(pid, 9)
    assert rows["forger"]["total"] != "0.0" or rows["forger"]["status"] == "regrade"
    assert rows["killer"]["status"] == "regrade"  # killed twice: retried once, then marked
    assert not honest_intact
    assert leftover == []  # even unisolated, the submission's cgroup takes the detached sleeper down with it


def test_without_isolation_the_grader_refuses_and_says_why(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    build_submission(subs / "ada.ipynb", {"spread": CORRECT["spread"]})
    env = dict(os.environ, PATH=str(tmp_path / "nothing"))  # no bwrap on PATH
    cmd = [sys.executable, "-m", "bnlib.grading", str(subs), "--out", str(tmp_path / "out")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "cannot grade for credit: bubblewrap (bwrap) is not installed" in proc.stderr
    assert "apt-get install -y bubblewrap" in proc.stderr and "--unsafe" in proc.stderr
    fixed = subprocess.run(cmd + ["--unsafe"], capture_output=True, text=True, env=env, timeout=300)
    assert fixed.returncode == 0, fixed.stderr


FORK_BOMB = """\
import subprocess
started = []
try:
    for _ in range(200):
        started.append(subprocess.Popen(["sleep", "30"]))
except OSError:  # the process-count cap of the submission
    pass
spread = 4.0 if len(started) < 200 else 0.0"""

MEMORY_HOGS = """\
import os, signal, time
children = []
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        block = bytearray(800 * 2**20)  # each under the per-process limit; together over the submission's
        for k in range(0, len(block), 4096):
            block[k] = 1
        time.sleep(5)  # held together, not one after the other
        os._exit(0)
    children.append(pid)
killed = sum(os.WIFSIGNALED(os.waitpid(pid, 0)[1]) for pid in children)
spread = 4.0 if killed else 0.0"""


def _cgroups_left(grader_pid):
    """The cgroups the grader with this pid created and left behind (other graders on the machine are
    not this test's business: their groups are named after their own pids)."""
    from bnlib.grading.processes import _own_cgroup
    prefix = f"bnlib-grading-{grader_pid}-"
    return [name for c in ("memory", "pids") for name in os.listdir(_own_cgroup(c)) if name.startswith(prefix)]


def test_memory_and_process_count_are_capped_for_the_whole_submission(tmp_path):
    from bnlib.grading.processes import cgroup_problem
    assert cgroup_problem() is None, cgroup_problem()
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    # Each answer earns its point only if the cap stopped it: without caps both score 0.
    build_submission(subs / "forker.ipynb", {"spread": FORK_BOMB})
    build_submission(subs / "hogs.ipynb", {"spread": MEMORY_HOGS})
    proc = subprocess.Popen([sys.executable, "-m", "bnlib.grading", str(subs), "--out", str(out), "--exercises",
                             "spread", "--jobs", "1", "--timeout", "120", "--memory-mb", "1024"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    with open(out / "grades.csv", newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    assert rows["forker"]["spread"] == "1.0"
    assert rows["hogs"]["spread"] == "1.0"
    assert _cgroups_left(proc.pid) == []
