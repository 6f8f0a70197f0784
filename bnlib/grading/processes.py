"""Process helpers of the grader: a fresh isolated interpreter, resource limits, killing a process group."""

import os
import signal
import sys

__all__ = ["kill_group", "python_command", "set_limits"]

# The folder that holds the bnlib package: every child finds bnlib there, not on its own sys.path.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
