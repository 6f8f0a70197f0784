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

__all__ = ["KerasReplicaBN", "keras_replica_batchnorm"]


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
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, *[np.asarray(s, dtype=np.float64) for s in shards],
                 config=np.array([float(synchronized), eps, momentum]))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
        proc = subprocess.run([sys.executable, "-m", __name__, str(src), str(dst)], capture_output=True,
                              text=True, env=env, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"Keras under MirroredStrategy failed:\n{proc.stderr[-3000:]}")
        with np.load(dst) as res:
            outs = [res[f"out{k}"] for k in range(len(shards))]
            return KerasReplicaBN(outs=outs, moving_mean=res["moving_mean"], moving_variance=res["moving_variance"])


def _child(src, dst):
    """Run in a fresh interpreter: split the CPU, build the layer under the strategy, call it once."""
    import tensorflow as tf

    data = np.load(src)
    config = data["config"]
    shards = [data[f"arr_{k}"] for k in range(len(data.files) - 1)]
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * len(shards))
    import keras

    strategy = tf.distribute.MirroredStrategy([f"/cpu:{k}" for k in range(len(shards))])
    with strategy.scope():
        layer = keras.layers.BatchNormalization(synchronized=bool(config[0]), epsilon=float(config[1]),
                                                momentum=float(config[2]), dtype="float64")
        layer.build((None, shards[0].shape[-1]))
    inputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(shards[ctx.replica_id_in_sync_group]))
    out = strategy.run(lambda x: layer(x, training=True), args=(inputs,))
    outs = {f"out{k}": o.numpy() for k, o in enumerate(strategy.experimental_local_results(out))}
    np.savez(dst, moving_mean=layer.moving_mean.numpy(), moving_variance=layer.moving_variance.numpy(), **outs)


if __name__ == "__main__":
    _child(*sys.argv[1:3])
