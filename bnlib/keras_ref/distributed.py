"""Keras's BatchNormalization under ``tf.distribute.MirroredStrategy`` on two logical CPU devices.

TensorFlow fixes its devices when it first touches them, so splitting the one CPU into logical
devices (``tf.config.set_logical_device_configuration``) must happen before anything else in the
process: :func:`keras_replica_batchnorm` runs the layer in a fresh interpreter (this module as a
script) and reads the results back from a file. The chapter and the tests stay in one process.
"""

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM

__all__ = ["KerasReplicaBN", "ReplicaRun", "keras_replica_batchnorm", "start_replica_batchnorm"]


@dataclass(frozen=True)
class KerasReplicaBN:
    """One training call of a BatchNormalization layer under MirroredStrategy.

    outs: one output per replica, each of its shard's shape;  moving_mean, moving_variance: (n,)
    the layer's (mirrored) moving statistics after the call.
    """

    outs: list
    moving_mean: np.ndarray
    moving_variance: np.ndarray


def keras_replica_batchnorm(shards, synchronized, eps=KERAS_EPS, momentum=KERAS_MOMENTUM, timeout=300):
    """One training call of ``BatchNormalization(synchronized=...)`` with shard k on replica k.

    shards: a list of float64 arrays (m_k, n), one per replica (as many logical CPUs are made).
    synchronized: True for cross-replica statistics, False for each replica's own.
    Returns KerasReplicaBN. Raises RuntimeError with the child's stderr if TensorFlow fails.
    """
    run = start_replica_batchnorm(shards, (synchronized,), eps=eps, momentum=momentum, timeout=timeout)
    return run.result()[bool(synchronized)]


class ReplicaRun:
    """A child interpreter running BatchNormalization layers under MirroredStrategy (see
    :func:`start_replica_batchnorm`); :meth:`result` waits for it."""

    def __init__(self, shards, synchronized, eps, momentum, timeout):
        self._tmp = tempfile.TemporaryDirectory()
        self._src, self._dst = Path(self._tmp.name) / "in.npz", Path(self._tmp.name) / "out.npz"
        self._n_shards, self._flags, self._timeout = len(shards), tuple(bool(s) for s in synchronized), timeout
        np.savez(self._src, *[np.asarray(s, dtype=np.float64) for s in shards],
                 config=np.array([eps, momentum, *map(float, self._flags)]))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        self._proc = subprocess.Popen([sys.executable, "-m", __name__, str(self._src), str(self._dst)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)

    def result(self):
        """{synchronized: KerasReplicaBN} for each flag of the run, once the child has finished.

        Raises RuntimeError with the child's stderr if TensorFlow fails, TimeoutExpired after ``timeout`` s.
        """
        try:
            _, stderr = self._proc.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            raise
        try:
            if self._proc.returncode != 0:
                raise RuntimeError(f"Keras under MirroredStrategy failed:\n{stderr[-3000:]}")
            with np.load(self._dst) as res:
                return {flag: KerasReplicaBN(outs=[res[f"out{j}_{k}"] for k in range(self._n_shards)],
                                             moving_mean=res[f"moving_mean{j}"],
                                             moving_variance=res[f"moving_variance{j}"])
                        for j, flag in enumerate(self._flags)}
        finally:
            self._tmp.cleanup()


def start_replica_batchnorm(shards, synchronized=(True, False), eps=KERAS_EPS, momentum=KERAS_MOMENTUM,
                            timeout=300):
    """Start, in a child interpreter, one training call per flag of ``synchronized`` (shard k on replica k).

    TensorFlow's start-up in the child is the slow part, so one child runs every layer, and it runs in
    the background: call ``.result()`` on the returned :class:`ReplicaRun` when the outputs are needed.
    shards: a list of float64 arrays (m_k, n);  synchronized: a tuple of bools, one fresh
    ``BatchNormalization(synchronized=flag)`` layer each.
    """
    if not isinstance(synchronized, (tuple, list)) or not synchronized:
        raise ValueError(f"synchronized must be a non-empty tuple of bools, e.g. (True, False), got {synchronized!r}.")
    return ReplicaRun(shards, synchronized, eps, momentum, timeout)


def _child(src, dst):
    """Run in a fresh interpreter: split the CPU, build the layers under the strategy, call each once."""
    import tensorflow as tf

    data = np.load(src)
    eps, momentum, *flags = data["config"]
    shards = [data[f"arr_{k}"] for k in range(len(data.files) - 1)]
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * len(shards))
    import keras

    strategy = tf.distribute.MirroredStrategy([f"/cpu:{k}" for k in range(len(shards))])
    inputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(shards[ctx.replica_id_in_sync_group]))
    results = {}
    for j, flag in enumerate(flags):
        with strategy.scope():
            layer = keras.layers.BatchNormalization(synchronized=bool(flag), epsilon=float(eps),
                                                    momentum=float(momentum), dtype="float64")
            layer.build((None, shards[0].shape[-1]))
        out = strategy.run(lambda x, layer=layer: layer(x, training=True), args=(inputs,))
        results.update({f"out{j}_{k}": o.numpy() for k, o in enumerate(strategy.experimental_local_results(out))})
        results[f"moving_mean{j}"] = layer.moving_mean.numpy()
        results[f"moving_variance{j}"] = layer.moving_variance.numpy()
    np.savez(dst, **results)


if __name__ == "__main__":
    _child(*sys.argv[1:3])
