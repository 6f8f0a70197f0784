"""Grade submitted notebooks against hidden cases: ``python -m bnlib.grading SUBMISSION... --out DIR``.

A SUBMISSION is a notebook (one student) or a folder: each notebook and each sub-folder inside it is
one student's submission (a sub-folder's notebooks are graded together). The command writes
``DIR/grades.csv`` (one row per submission, one column per exercise of the assignment, the total and a
status), ``DIR/<submission>/results.json`` in Gradescope's format, ``DIR/students.csv`` (ids back to
names) and ``DIR/assignment.toml`` (the seed used), prints a summary table on stdout and its progress on
stderr. Points: those of the assignment file (default 2 per function exercise, times the fraction of
hidden cases passed, and 1 per value exercise).

Trust model: nothing a notebook prints, stores or computes about itself is believed
--------------------------------------------------------------------------------------
Processes (one *worker* per submission, run in parallel; each is a fresh ``python -I``):

* The **main process** reads every submission's bytes up front (a hostile notebook running later
  cannot alter another's file), starts the workers in their own sessions with a wall-clock limit and
  kills each worker's process group when it ends; it validates what a worker returns (scores within
  bounds) and writes every output file itself, atomically (temp file + ``os.replace``), as each
  submission finishes and once more at the end; a worker that crashes is run once more, then its
  submission is marked "regrade".
* The **worker** (trusted code only) finds the answer cells by their first line ``# ANSWER: <id>``,
  builds the hidden cases from a secret seed (never passed to any process that runs student code,
  not even on a command line), computes the expected outputs with bnlib's reference
  implementations, and compares. Resource limits set in the worker (address space for data,
  CPU seconds, file size) are inherited by everything it starts.
* **The answer cells are the submission.** Each notebook's answer cells run in one **answer process**
  (:mod:`~bnlib.grading.answer_process`): a fresh interpreter with an empty working directory running a
  small script that never imports bnlib. It executes ONLY the notebook's answer cells, in order, after the
  notebook's import statements for numpy, math and bnlib, and reports each graded exercise right after
  that exercise's own cell: a value answer is read there; a function answer is called there on the case
  inputs (not the seed), before any later cell runs. No Jupyter kernel is started and the chapter's other
  cells never run, so a grade depends neither on the chapter's demos nor on the versions of ipykernel,
  jupyter_client or IPython. Inputs come in and outputs go out as plain JSON numbers, on a private pipe
  written with references to ``json.dumps`` and the pipe taken before any student code ran; the process's
  stdout and stderr go to /dev/null, so prints cannot reach the worker.
* **No reference in reach.** In the answer process ``bnlib`` is a stand-in (the notebook's ``import bnlib``
  and ``from bnlib... import ...`` lines keep working): ``bnlib.exercises.check`` is a no-op returning None,
  the defaults' constants (``KERAS_EPS``, ...) are plain numbers, and every other name is a placeholder
  that raises ``BnlibUnavailable`` when called and reports the call; the worker scores a call to the
  exercise's own reference as before (0, "forbidden"), and any other call is the error it raised.
  Importing Keras or TensorFlow raises ModuleNotFoundError there, and under bubblewrap their folders and
  bnlib's are not mounted at all (an empty folder over each), so switching the import hook off, finding
  a module spec, reading or exec'ing bnlib's source, or turning off a profile hook finds nothing to call.
  The mistake formulas and the expected outputs live only in the worker.
* **Sabotage** (what a submission that patches ``json.dumps``, ``builtins.print``, display hooks,
  numpy or ``bnlib.exercises.check``, or calls ``sys.exit``/``os._exit``, gets): exactly what its
  answers earn without the sabotage, except for the exercises whose own answer the sabotage breaks.
  The patch lives only in the answer process that ran it; the comparison with the expected outputs runs
  in the worker; an exercise is reported right after its own cell, so a correct answer that ran before
  the sabotage keeps its points. A process that dies (``os._exit``, a crash, a limit, a hang past its
  time limit) loses only the exercise it was on: a new answer process runs the answer cells again and
  reports the exercises after it, so each exercise is scored after exactly the answer cells up to its own.

Isolation (bubblewrap): every answer process, the only process that runs student code, runs under Debian's
``bwrap`` (:func:`~bnlib.grading.processes.isolated_command`): its own PID, network (none), IPC, mount, UTS and
user namespaces, its own /proc, a private /tmp, a new session, killed with its parent; only the system's
folders and the Python environment are visible, read-only, with empty folders over bnlib's, Keras's and
TensorFlow's packages, plus the answer process's own script and its three support modules (none holds a
reference); only its scratch folder is writable. The worker, the main process, their pipes, the
submissions, the output folder and every other student's files do not exist in there, and a forked or
``setsid`` process dies with the sandbox's PID namespace. Where bubblewrap cannot isolate, grading refuses
to run unless ``--unsafe`` (not for credit).

Each submission's worker and everything it starts share one memory and one process-count cap
(:class:`~bnlib.grading.processes.SubmissionCgroup`, cgroup v1, nested under the grader's own groups) and
are all killed when it is done; without writable controllers only the per-process ``RLIMIT_DATA`` applies
(the grader says so).

Limits, stated honestly: without bubblewrap (``--unsafe``, not for credit) the folders are not hidden and
only the answer process's import hook keeps Keras, TensorFlow and bnlib out, which student code can remove.
An answer may still use whatever else the Python environment holds (scipy, say); the rule against library
implementations of the exercise is enforced for bnlib, Keras and TensorFlow only. A submission's answer
cells run once per notebook plus once more per exercise after one that killed its process.

The package: ``cli`` (the command and the main process), ``writers`` (points, results.json, the
gradebook), ``worker``, ``sandbox`` (the worker's side of the answer process), ``answer_process`` (the
script that runs student code), ``transport`` (numbers as plain JSON), ``processes`` (isolated
interpreters, bubblewrap, limits), ``assignment`` (the assignment file: columns, points, secret seed),
``autograder`` (Gradescope's zip: ``python -m bnlib.grading autograder --assignment FILE --out ZIP``),
and ``contract``, the notebook contract (answer cells, check cells, solutions)
that the tests, the benchmark and the tools read as well.
"""

from .cli import grade_submissions, main
from .writers import POINTS

__all__ = ["POINTS", "grade_submissions", "main"]
