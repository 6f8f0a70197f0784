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
* **The answer cells are the submission.** Each exercise is scored in its own **sandbox child**: a
  fresh interpreter with an empty working directory that executes ONLY the notebook's answer cells up
  to that exercise's (after the notebook's import statements for numpy, math and bnlib), with the
  exercise's reference implementations replaced by blockers and a profile hook that records any call
  into them. No Jupyter kernel is started and the chapter's other cells never run, so a grade depends
  neither on the chapter's demos nor on the versions of ipykernel, jupyter_client or IPython. A
  function answer receives the case inputs (not the seed) and sends back only the outputs; a value
  answer is read right after its own answer cell ran. Both travel as plain JSON numbers on a private
  pipe, written with references to ``json.dumps`` and the pipe taken before any student code ran; the
  child's stdout and stderr go to /dev/null, so prints cannot reach the worker.
* **Sabotage** (what a submission that patches ``json.dumps``, ``builtins.print``, display hooks,
  numpy or ``bnlib.exercises.check``, or calls ``sys.exit``/``os._exit``, gets): exactly what its
  answers earn without the sabotage, except for the exercises whose own answer the sabotage breaks.
  The patch lives only in the child that ran it; the comparison with the expected outputs runs in the
  worker; an answer cell's value is read before any later cell runs, so a correct answer that ran
  before the sabotage keeps its points, and a child that dies loses only what it had not yet sent.

Isolation (bubblewrap): every sandbox child, the only process that runs student code, runs under Debian's
``bwrap`` (:func:`~bnlib.grading.processes.isolated_command`): its own PID, network (none), IPC, mount, UTS and
user namespaces, its own /proc, a private /tmp, a new session, killed with its parent; only the system's
folders, the Python environment and the bnlib package are visible, read-only, and only its scratch folder is
writable. The worker, the main process, their pipes, the submissions, the output folder and every other
student's files do not exist in there, and a forked or ``setsid`` process dies with the sandbox's PID
namespace. Where bubblewrap cannot isolate, grading refuses to run unless ``--unsafe`` (not for credit).

Each submission's worker and everything it starts share one memory and one process-count cap
(:class:`~bnlib.grading.processes.SubmissionCgroup`, cgroup v1, nested under the grader's own groups) and
are all killed when it is done; without writable controllers only the per-process ``RLIMIT_DATA`` applies
(the grader says so).

Limits, stated honestly: bnlib's reference implementations are blocked by the profile hook and blockers
inside the child, not yet made unimportable (a determined answer can still read their source inside its
sandbox, which only gains it its own exercises' points: the source stays in the notebook for the
instructor to see).

The package: ``cli`` (the command and the main process), ``writers`` (points, results.json, the
gradebook), ``worker``, ``sandbox``, ``transport`` (numbers as plain JSON), ``processes`` (isolated
interpreters, bubblewrap, limits), ``assignment`` (the assignment file: columns, points, secret seed),
``autograder`` (Gradescope's zip: ``python -m bnlib.grading autograder --assignment FILE --out ZIP``),
and ``contract``, the notebook contract (answer cells, check cells, solutions)
that the tests, the benchmark and the tools read as well.
"""

from .cli import grade_submissions, main
from .writers import POINTS

__all__ = ["POINTS", "grade_submissions", "main"]
