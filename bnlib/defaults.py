"""The default hyperparameters of the conventions the course compares, in one place (chapters 2, 4 and 7).

Every signature in bnlib reads its default from here, so a default is changed (or checked against
the framework) once. The values are the frameworks' own, checked against Keras in the tests:

* Keras ``BatchNormalization``: ``momentum = 0.99`` weights the OLD moving value; ``epsilon = 1e-3``.
  ``LayerNormalization`` and ``GroupNormalization`` use the same epsilon.
* PyTorch ``BatchNorm1d`` (from its documentation): ``momentum = 0.1`` weights the NEW value;
  ``eps = 1e-5``.
* Keras ``BatchNormalization(renorm=True)``: ``renorm_momentum = 0.99``, the weight of the OLD
  renorm statistics that r and d are measured against.
* Keras ``RMSNormalization``: ``epsilon = 1e-6`` (added to the mean square, not to a variance).
* Dropout (chapter 7): rate ``p = 0.5``, Srivastava et al.'s choice for hidden units and Li et al.'s
  (2019) worst case for the variance shift (Keras's ``Dropout`` has no default rate).
* Weight decay (chapter 7): ``0``, no decay, as Keras's ``optimizers.SGD(weight_decay=None)``.
"""

__all__ = [
    "DROPOUT_RATE",
    "KERAS_EPS",
    "KERAS_MOMENTUM",
    "KERAS_RENORM_MOMENTUM",
    "RMS_EPS",
    "TORCH_EPS",
    "TORCH_MOMENTUM",
    "WEIGHT_DECAY",
]

KERAS_MOMENTUM = 0.99  # weight of the old moving value
KERAS_EPS = 1e-3
TORCH_MOMENTUM = 0.1  # weight of the new batch value
TORCH_EPS = 1e-5
RMS_EPS = 1e-6
KERAS_RENORM_MOMENTUM = 0.99  # batch renormalization: weight of the old renorm_mean / renorm_stddev
DROPOUT_RATE = 0.5  # probability of dropping a value (inverted dropout)
WEIGHT_DECAY = 0.0  # L2 coefficient: no decay
