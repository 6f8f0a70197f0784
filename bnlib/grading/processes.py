"""Process helpers of the grader: a fresh isolated interpreter, resource limits, killing a process group."""

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time

__all__ = ["ANSWER_DIR", "HIDDEN_PACKAGES", "INSTALL_HINT", "SubmissionCgroup", "cgroup_problem", "hidden_folders",
           "isolated_command", "isolation_problem", "kill_group", "python_command", "set_limits"]

INSTALL_HINT = ("install bubblewrap (Debian: apt-get install -y bubblewrap) on a machine where it may create "
                "namespaces, or pass --unsafe to grade without isolation (not for credit)")

# The folder that holds the bnlib package: the worker finds bnlib there, not on its own sys.path.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Where the answer process's own files appear inside bubblewrap (the only course files it sees).
ANSWER_DIR = "/answer"
# The packages whose folders an answer process must not see: the references (bnlib's maths, Keras, TensorFlow).
HIDDEN_PACKAGES = ("keras", "tensorflow", "tf_keras")


def set_limits(memory_mb, cpu_seconds):
    """Limit this process and its children: data segment, CPU seconds, file size, no core dumps."""
    import resource  # Unix only: imported here, so that reading this module works anywhere

    limits = [(resource.RLIMIT_DATA, memory_mb * 2**20), (resource.RLIMIT_CPU, int(cpu_seconds)),
              (resource.RLIMIT_FSIZE, 256 * 2**20), (resource.RLIMIT_CORE, 0)]
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def kill_group(pid):
    """SIGKILL the process group of ``pid`` (a child started with start_new_session), if it still exists."""
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def python_command(entry):
    """The command line of a fresh ``python -I`` that runs ``entry`` with this bnlib importable."""
    # -I: no user site, no PYTHON* variables, no current directory on sys.path (a notebook may write
    # a numpy.py into its working directory); bnlib is found from its own location.
    return [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {_ROOT!r}); {entry}"]


@functools.cache
def hidden_folders():
    """The folders of bnlib and of Keras and TensorFlow as installed here (found without importing them)."""
    found = [os.path.join(_ROOT, "bnlib")]
    for name in HIDDEN_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            found += list(spec.submodule_search_locations)
    return tuple(dict.fromkeys(os.path.realpath(p) for p in found))


def _bwrap_args(scratch, files=()):
    """bubblewrap's arguments for a process that runs student code, ``scratch`` its only writable folder.

    New namespaces for everything (PID, network off, IPC, mount, UTS, user, cgroup), its own /proc, a private
    /tmp, a new session (no terminal to inject into), killed with its parent. Only the system's folders and
    the Python environment are visible, read-only, with an empty folder over bnlib's, Keras's and
    TensorFlow's packages wherever they are installed (:func:`hidden_folders`), plus ``files`` ((source,
    destination) pairs: the answer process's own script and support modules), read-only. The course checkout,
    the submissions, the grader's output folder and working files and other students' files do not exist there.
    """
    # --as-pid-1: the answer process is the PID namespace's init, which the processes it forks cannot kill
    # (a notebook cannot take the others down with it), and everything left in the namespace dies with it.
    args = ["bwrap", "--unshare-all", "--as-pid-1", "--die-with-parent", "--new-session", "--proc", "/proc",
            "--dev", "/dev", "--tmpfs", "/tmp"]
    bound = []
    for path in ("/usr", "/etc", "/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            bound.append(os.path.realpath(path))
    for path in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))):
        path = os.path.realpath(path)
        if path not in bound and not path.startswith(("/usr/", "/etc/")):
            bound.append(path)
            args += ["--ro-bind", path, path]
    if sys.prefix != os.path.realpath(sys.prefix):
        args += ["--ro-bind", os.path.realpath(sys.prefix), sys.prefix]
        bound.append(sys.prefix)
    for folder in hidden_folders():
        if any(folder == b or folder.startswith(b.rstrip("/") + "/") for b in bound):
            args += ["--tmpfs", folder]
    for source, destination in files:
        args += ["--ro-bind", source, destination]
    args += ["--bind", scratch, scratch, "--chdir", scratch, "--setenv", "HOME", scratch, "--setenv", "TMPDIR", "/tmp"]
    return args


def isolated_command(command, scratch, files=()):
    """``command`` run inside bubblewrap (see :func:`_bwrap_args`), ``scratch`` its only writable folder."""
    return _bwrap_args(scratch, files) + ["--"] + list(command)


@functools.cache
def isolation_problem():
    """None if bubblewrap can isolate a Python child here, else why not (for the error message)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    scratch = os.path.realpath(os.environ.get("TMPDIR", "/tmp"))
    probe = isolated_command([sys.executable, "-I", "-c", "import numpy; print('ok')"], scratch)
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start ({exc})"
    if proc.returncode != 0 or proc.stdout.strip() != "ok":
        return f"bubblewrap cannot create namespaces here ({proc.stderr.strip()[:200] or proc.returncode})"
    return None


_CGROUP_ROOT = "/sys/fs/cgroup"
_CONTROLLERS = ("memory", "pids")


def _own_cgroup(controller):
    """This process's cgroup v1 folder for ``controller`` (nested groups go under it, never above)."""
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            if controller in names.split(","):
                return os.path.join(_CGROUP_ROOT, controller, path.lstrip("/"))
    raise OSError(f"no cgroup v1 {controller} controller")


class SubmissionCgroup:
    """A memory and process-count cap on everything one submission's grading starts (cgroup v1).

    One group per controller (memory, pids), nested under this process's own groups so that any limit
    already placed on the grader still applies. :meth:`add` moves the worker in before it starts anything;
    everything it forks (the answer process, whatever it detaches) stays in the group; :meth:`close` kills every
    process left in it and removes it. :func:`cgroup_problem` says why this is unavailable (then each process
    keeps only its own ``RLIMIT_DATA``).
    """

    def __init__(self, memory_mb, max_processes):
        tag = f"bnlib-grading-{os.getpid()}-{os.urandom(4).hex()}"
        self.paths = []
        try:
            for controller in _CONTROLLERS:
                path = os.path.join(_own_cgroup(controller), tag)
                os.mkdir(path)
                self.paths.append(path)
            self._write("memory", "memory.limit_in_bytes", str(memory_mb * 2**20))
            self._write("pids", "pids.max", str(max_processes))
        except OSError:
            self.close()
            raise

    def _write(self, controller, name, value):
        path = next(p for p in self.paths if f"/{controller}/" in p)
        with open(os.path.join(path, name), "w") as fh:
            fh.write(value)

    def add(self, pid):
        """Move process ``pid`` (and so whatever it starts from now on) into the groups."""
        for path in self.paths:
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write(str(pid))

    def close(self):
        """Kill every process still in the groups, then remove them (retried while the killed processes exit:
        a loaded machine can take seconds to free a few GiB)."""
        deadline = time.monotonic() + 15
        for path in self.paths:
            while True:
                try:
                    with open(os.path.join(path, "cgroup.procs")) as fh:
                        pids = [int(p) for p in fh.read().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
        self.paths = []


@functools.cache
def cgroup_problem():
    """None if a :class:`SubmissionCgroup` can be made here, else why not (for a note to the instructor)."""
    try:
        SubmissionCgroup(64, 8).close()
    except (OSError, ValueError, StopIteration) as exc:
        return f"no writable cgroup v1 memory and pids controllers ({exc})"
    return None
