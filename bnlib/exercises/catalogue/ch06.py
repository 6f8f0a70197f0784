"""Chapter 6's exercise: count the batch-normalization weights of the Figure-1 network."""

from ...layer import BatchNorm
from ..model import Exercise, Mistake

__all__ = ["BN_PARAM_COUNT"]


def _param_count(units=(100, 100, 100), moving=True, trainable_moving=False):
    def value():
        total = trainable = 0
        for n in units:
            layer = BatchNorm()
            layer.build(n)
            gamma, beta, mean, var = layer.get_weights()
            total += gamma.size + beta.size + (mean.size + var.size if moving else 0)
            trainable += gamma.size + beta.size + (mean.size + var.size if trainable_moving else 0)
        return (total, trainable)
    return value

BN_PARAM_COUNT = Exercise(
    "bn_param_count", 6, "value", "Count the batch-normalization weights", _param_count(),
    output=("int pair", "total, trainable"),
    mistakes=(
        Mistake("your total leaves out the moving mean and moving variance: each BN layer stores 4 weights per "
                "unit (gamma, beta, moving mean, moving variance).", _param_count(moving=False)),
        Mistake("your trainable count includes the moving statistics; they are updated by the moving average, not "
                "by gradient descent, so only gamma and beta are trainable.", _param_count(trainable_moving=True)),
        Mistake("your answer counts one BN layer; the network has one after each of its 3 hidden layers.",
                _param_count(units=(100,))),
        Mistake("the tuple is (total, trainable): the total comes first.", lambda: _param_count()()[::-1]),
    ),
)
