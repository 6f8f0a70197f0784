"""The course's performance benchmark: run on demand, prints tables (it is not a test).

    python benchmarks/run.py                      # everything (about 5 minutes on 2 cores)
    python benchmarks/run.py --only kernels       # some of: kernels, notebooks, site, grading

What it measures, with time.perf_counter (wall time; best of several repeats for the kernels):
- kernels: bnlib's forward (``batchnorm_forward``) and backward (``bnlib.backprop.batchnorm_backward``,
  the paper's node-by-node form, and ``batchnorm_backward_compact``, the one-expression form), and the
  fast path of chapter 3 (``bnlib.fast``: ``batchnorm_forward_fast``, ``batchnorm_backward_fast``, with
  reused ``out=`` buffers, and the forward with a new output array each call),
  in float32 at batch x features from 32 x 64 to 4096 x 1024, as a ratio to Keras's BatchNormalization
  called eagerly in this process (:func:`keras_batchnorm_callables` below: a pre-built layer on
  TensorFlow tensors, so Keras pays no numpy conversion; TensorFlow's default oneDNN kernels on, its
  fastest CPU setting, unless --onednn 0) and to a memory-copy floor (``np.copyto`` of an array of the
  same bytes). Targets at the largest size: bnlib <= 1.0x Keras and <= 3x the copy floor.
- notebooks: each chapter executed top to bottom in a fresh kernel (nbclient, as nbval runs it),
  including the kernel's start and TensorFlow's import, and the whole book (their sum).
  Budgets: <= 20 s per notebook, <= 150 s for the book, on 2 CPU cores.
- site: one clean ``jupyter-book build -W -n --keep-going`` (the README's command) into a temporary
  directory; it executes every notebook again.
- grading: ``python -m bnlib.grading`` on full-course submissions (a folder per student with every chapter's
  notebook, each answer cell holding its worked solution; two of them hostile), in submissions per minute.
Numbers depend on the machine and on what else runs on it: the header prints the machine.
"""

import argparse
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZES = [(32, 64), (128, 256), (512, 512), (1024, 1024), (4096, 1024)]
NOTEBOOK_BUDGET, BOOK_BUDGET = 20.0, 150.0
PARTS = ("kernels", "notebooks", "site", "grading")
ORIGINAL_UNSET = {k for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL") if k not in os.environ}


def best_time(fn, repeat=5, min_time=0.05):
    """Seconds per call of fn(): the best of ``repeat`` runs, each looping until ``min_time`` has passed."""
    fn()  # warm up (first-call allocations, Keras tracing)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
        number *= 2
    best = elapsed / number
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for row in rows:
        print(line(row))
    print()


def machine():
    from bnlib.keras_ref.backend import keras, tensorflow

    cpu = next((ln.split(":", 1)[1].strip() for ln in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    tf = tensorflow()
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
            f"TensorFlow {tf.__version__}, Keras {keras().__version__}")


def keras_batchnorm_callables(a, dout, eps=None, axis=-1):
    """Two zero-argument callables on one pre-built ``keras.layers.BatchNormalization``, for timing.

    a, dout: (m, n) or (m, h, w, c) numpy arrays; float64 runs a float64 layer, anything else float32.
    eps: the layer's epsilon (default: Keras's, bnlib.KERAS_EPS).
    Returns (forward, forward_backward): ``forward()`` is one eager training-mode call ``layer(a)``;
    ``forward_backward()`` is that call under ``tf.GradientTape`` plus the gradients (da, dgamma, dbeta)
    of L = sum(out * dout). The layer is built and the inputs are TensorFlow tensors beforehand, so the
    calls time Keras itself, with no numpy conversion.
    """
    from bnlib import KERAS_EPS, KERAS_MOMENTUM
    from bnlib.keras_ref.backend import layer_dtype, make_bn, tensorflow

    tf = tensorflow()
    dtype = layer_dtype(a)
    eps = KERAS_EPS if eps is None else eps
    layer = make_bn(np.shape(a), dtype, None, None, None, None, eps, KERAS_MOMENTUM, axis)
    x = tf.constant(np.asarray(a, dtype=dtype))
    d = tf.constant(np.asarray(dout, dtype=dtype))

    def forward():
        return layer(x, training=True)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * d)
        return tape.gradient(loss, [x, layer.gamma, layer.beta])

    return forward, forward_backward


def bench_kernels(sizes):
    from bnlib import (
        batchnorm_backward,
        batchnorm_backward_compact,
        batchnorm_backward_fast,
        batchnorm_forward,
        batchnorm_forward_fast,
    )

    rng = np.random.default_rng(0)
    taught, fast, ms = [], [], lambda s: f"{s * 1e3:.3f}"
    for m, n in sizes:
        a = rng.standard_normal((m, n)).astype(np.float32)
        dout = rng.standard_normal((m, n)).astype(np.float32)
        gamma, beta = np.ones(n, np.float32), np.zeros(n, np.float32)
        dst, out, da = np.empty_like(a), np.empty_like(a), np.empty_like(a)
        copy = best_time(lambda: np.copyto(dst, a))  # noqa: B023
        k_fwd, k_fwd_bwd = keras_batchnorm_callables(a, dout)
        kf, kfb = best_time(k_fwd), best_time(k_fwd_bwd)

        fwd = best_time(lambda: batchnorm_forward(a, gamma, beta))  # noqa: B023
        _, cache = batchnorm_forward(a, gamma, beta)
        bwd = best_time(lambda: batchnorm_backward(dout, cache))  # noqa: B023
        compact = best_time(lambda: batchnorm_backward_compact(dout, cache))  # noqa: B023
        taught.append([f"{m} x {n}", ms(copy), ms(fwd), ms(kf), f"{fwd / kf:.2f}x", f"{fwd / copy:.1f}x",
                       ms(bwd), ms(fwd + bwd), ms(kfb), f"{(fwd + bwd) / kfb:.2f}x", f"{bwd / copy:.1f}x",
                       ms(compact), f"{(fwd + compact) / kfb:.2f}x"])

        # The fast path as a training loop would call it: out= and da= buffers allocated once, reused.
        f_fwd = best_time(lambda: batchnorm_forward_fast(a, gamma, beta, out=out))  # noqa: B023
        _, f_cache = batchnorm_forward_fast(a, gamma, beta, out=out)
        f_bwd = best_time(lambda: batchnorm_backward_fast(dout, f_cache, out=da))  # noqa: B023
        f_new = best_time(lambda: batchnorm_forward_fast(a, gamma, beta))  # noqa: B023
        fast.append([f"{m} x {n}", ms(copy), ms(f_fwd), f"{f_fwd / kf:.2f}x", f"{f_fwd / copy:.1f}x",
                     ms(f_bwd), f"{(f_fwd + f_bwd) / kfb:.2f}x", f"{f_bwd / copy:.1f}x",
                     ms(f_new), f"{f_new / kf:.2f}x", f"{f_new / copy:.1f}x"])
    print("bnlib vs Keras BatchNormalization (eager, training mode), float32, times in ms per call")
    table(["m x n", "copy", "bnlib fwd", "Keras fwd", "fwd / Keras", "fwd / copy",
           "bnlib bwd", "bnlib fwd+bwd", "Keras fwd+bwd", "fwd+bwd / Keras", "bwd / copy",
           "compact bwd", "fwd+compact / Keras"], taught)
    print("bnlib.fast (batchnorm_forward_fast, batchnorm_backward_fast) vs the same Keras and copy times; "
          "out= reused unless 'new out'")
    table(["m x n", "copy", "fast fwd", "fwd / Keras", "fwd / copy", "fast bwd", "fwd+bwd / Keras",
           "bwd / copy", "fwd, new out", "/ Keras", "/ copy"], fast)
    return taught, fast


def bench_notebooks():
    import nbclient
    import nbformat

    # The kernels see what nbval's see (tests/conftest.py): oneDNN off, TensorFlow quiet.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    rows, total = [], 0.0
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
        seconds = time.perf_counter() - start
        total += seconds
        rows.append([path.name, f"{seconds:.1f}", "ok" if seconds <= NOTEBOOK_BUDGET else "OVER"])
    rows.append(["whole book", f"{total:.1f}", "ok" if total <= BOOK_BUDGET else "OVER"])
    print(f"Notebooks, top to bottom in a fresh kernel (budget {NOTEBOOK_BUDGET:.0f} s each, {BOOK_BUDGET:.0f} s "
          "the book)")
    table(["notebook", "seconds", "budget"], rows)
    return rows


def clean_env():
    """The environment of a fresh shell: without the TensorFlow switches this script sets for itself
    (TF_ENABLE_ONEDNN_OPTS=1 would put oneDNN's notice on the notebooks' stderr and fail the build)."""
    return {k: v for k, v in os.environ.items() if k not in ORIGINAL_UNSET}


def bench_site():
    jupyter_book = shutil.which("jupyter-book", path=str(pathlib.Path(sys.executable).parent)) or "jupyter-book"
    with tempfile.TemporaryDirectory(prefix="bench-site-") as out:
        start = time.perf_counter()
        proc = subprocess.run([jupyter_book, "build", "-W", "-n", "--keep-going", "--path-output", out, "."],
                              cwd=ROOT, capture_output=True, text=True, env=clean_env())
        seconds = time.perf_counter() - start
    status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
    print("Site: clean `jupyter-book build -W -n --keep-going .` (executes every notebook)")
    table(["build", "seconds", "status"], [["clean", f"{seconds:.1f}", status]])
    if proc.returncode != 0:
        problems = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "WARNING" in ln or "ERROR" in ln]
        print("\n".join(problems[-10:]) + "\n")
    return seconds


HOSTILE_CELL = """import os, signal, subprocess, sys
subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
"""


def bench_grading(students=6, hostile=2):
    """Full-course submissions (a folder per student with every chapter solved), hostile ones in the mix."""
    from bnlib.grading.contract import answer_cells, solved

    notebooks = sorted((ROOT / "chapters").glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        submissions, out = pathlib.Path(tmp) / "submissions", pathlib.Path(tmp) / "out"
        submissions.mkdir()
        # Every answer right, so every hidden case runs; a hostile student also forks a detached sleeper and
        # tries to kill its grader in the first answer cell of each chapter.
        for k in range(students + hostile):
            folder = submissions / f"student{k:02d}"
            folder.mkdir()
            for path in notebooks:
                nb = solved(json.loads(path.read_text()))
                if k >= students:
                    for answer in answer_cells(nb)[:1]:
                        nb["cells"][answer.index]["source"] += "\n" + HOSTILE_CELL
                (folder / path.name).write_text(json.dumps(nb))
        count = students + hostile
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bnlib.grading", str(submissions), "--out", str(out)],
                              cwd=tmp, capture_output=True, text=True, env=clean_env())
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"Grading: `python -m bnlib.grading` failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}\n")
        return None
    print(f"Grading: `python -m bnlib.grading DIR --out OUT` on {count} full-course submissions (every chapter, "
          f"{hostile} of them hostile; default --jobs, {os.cpu_count()} cores, bubblewrap isolation)")
    table(["submissions", "seconds", "per minute"], [[count, f"{seconds:.1f}", f"{count / seconds * 60:.1f}"]])
    print(proc.stdout[-1500:])
    return count / seconds * 60


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--onednn", choices=("0", "1"), default="1",
                        help="TF_ENABLE_ONEDNN_OPTS for Keras in the kernels table (default 1, TensorFlow's default)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {PARTS}")
    sys.path.insert(0, str(ROOT))
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn
    from bnlib.keras_ref import keras

    keras()  # silence TensorFlow before anything else loads it
    print(f"Machine: {machine()}; TF_ENABLE_ONEDNN_OPTS={args.onednn} for the kernels table\n")
    if "kernels" in parts:
        bench_kernels(SIZES)
    if "notebooks" in parts:
        bench_notebooks()
    if "site" in parts:
        bench_site()
    if "grading" in parts:
        bench_grading()
    return 0


if __name__ == "__main__":
    sys.exit(main())
