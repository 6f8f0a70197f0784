"""The Keras reference: the only code of the course that imports TensorFlow/Keras.

Every function takes and returns numpy arrays; TensorFlow loads on the first call (quietly, see
:func:`keras`). Chapters import the references from here: ``from bnlib.keras_ref import keras_batchnorm``.

- ``backend``: the import of Keras and TensorFlow, and the helpers the references share.
- ``batchnorm`` (chapters 1-4): one BatchNormalization (or Normalization) layer on an array, its
  training steps and its gradients.
- ``models`` (chapters 2-4): Dense -> BatchNormalization models, called once or trained with ``fit``.
- ``mlp`` (chapters 5, 6): the Figure-1 network from Keras layers.
- ``distributed``: BatchNormalization(synchronized=...) under MirroredStrategy, in a child process.
- ``regularization`` (chapter 7): dropout before BN, SGD with weight decay, per-channel BN in a
  conv net, a residual block with zero-initialized gamma.
- ``alternatives`` (chapter 9): layer, group, instance and RMS normalization.
"""

from .alternatives import keras_group_norm, keras_layer_norm, keras_rms_norm, keras_rms_norm_op
from .backend import keras
from .batchnorm import (
    KerasBN,
    KerasRenorm,
    keras_batch_renorm_gradients,
    keras_batch_renorm_steps,
    keras_batchnorm,
    keras_batchnorm_gradients,
    keras_batchnorm_masked,
    keras_batchnorm_steps,
    keras_ghost_batchnorm,
    keras_normalization,
)
from .distributed import KerasReplicaBN, ReplicaRun, keras_replica_batchnorm, start_replica_batchnorm
from .mlp import KerasMLP, keras_mlp
from .models import (
    KerasBNAfterActivation,
    KerasDenseBN,
    KerasFineTune,
    KerasFitBN,
    KerasTrainedDenseBN,
    KerasWeight,
    keras_bn_after_activation,
    keras_conv2d,
    keras_conv2d_bn,
    keras_dense,
    keras_dense_bn,
    keras_dense_bn_kernel_gradient,
    keras_finetune,
    keras_fit_bn_dense,
    keras_train_dense_bn,
)
from .regularization import (
    KerasConvBN,
    KerasDropoutBN,
    KerasResidualRun,
    keras_conv_bn_step,
    keras_dropout_bn,
    keras_residual_digits,
    keras_sgd_weight_decay_step,
)

__all__ = [
    "keras",
    "keras_batch_renorm_gradients",
    "keras_batch_renorm_steps",
    "keras_batchnorm",
    "keras_batchnorm_gradients",
    "keras_batchnorm_masked",
    "keras_batchnorm_steps",
    "keras_bn_after_activation",
    "keras_conv2d",
    "keras_conv2d_bn",
    "keras_conv_bn_step",
    "keras_dense",
    "keras_dense_bn",
    "keras_dense_bn_kernel_gradient",
    "keras_dropout_bn",
    "keras_finetune",
    "keras_fit_bn_dense",
    "keras_ghost_batchnorm",
    "keras_group_norm",
    "keras_layer_norm",
    "keras_mlp",
    "keras_normalization",
    "keras_replica_batchnorm",
    "keras_residual_digits",
    "keras_rms_norm",
    "keras_rms_norm_op",
    "keras_sgd_weight_decay_step",
    "keras_train_dense_bn",
    "start_replica_batchnorm",
    "KerasBN",
    "KerasBNAfterActivation",
    "KerasConvBN",
    "KerasDenseBN",
    "KerasDropoutBN",
    "KerasFineTune",
    "KerasFitBN",
    "KerasMLP",
    "KerasRenorm",
    "KerasReplicaBN",
    "KerasResidualRun",
    "ReplicaRun",
    "KerasTrainedDenseBN",
    "KerasWeight",
]
