"""Training the Figure-1 network and sweeping its settings: the experiments of chapters 5 and 6."""

import contextlib
from dataclasses import dataclass

import numpy as np

from ..defaults import KERAS_EPS, KERAS_MOMENTUM, WEIGHT_DECAY
from ..validation import check_int
from .network import MLP, check_X, check_y, mlp_forward
from .params import check_lr

__all__ = ["PERCENTILES", "History", "Sweep", "sweep", "train"]

PERCENTILES = (15, 50, 85)
"""The percentiles of one unit's sigmoid input that Ioffe & Szegedy's Figure 1 (b, c) plot."""


@dataclass(frozen=True)
class History:
    """What :func:`train` recorded, every ``record_every`` steps (the first record is before any step).

    steps: (r,) step numbers;  test_accuracy: (r,) in inference mode;  loss: (r,) mean training-batch
    loss over the steps since the previous record (at step 0: the first batch's loss).
    percentiles: (r, L, 3) the 15th/50th/85th percentiles of the sigmoid input s^[l] of hidden unit
    ``unit`` in every hidden layer l, on a fixed probe batch.
    probes: r values returned by the ``probe`` hook (empty if none was given).
    unit: the hidden unit whose percentiles were recorded.
    """

    steps: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray
    percentiles: np.ndarray
    probes: tuple
    unit: int


def _one_blas_thread():
    """A context that runs BLAS on one thread (if threadpoolctl, which scikit-learn installs, is present).

    The matrices here are tiny (60 x 100): BLAS threads add only overhead, and on a busy machine
    they contend for the cores and slow training down about tenfold.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train(data, batchnorm, steps, lr, batch_size=60, hidden=(100, 100, 100), init_scale=0.1, seed=0,
          record_every=50, unit=0, probe_size=600, probe=None, eps=KERAS_EPS, momentum=KERAS_MOMENTUM,
          weight_decay=WEIGHT_DECAY):
    """Train the Figure-1 network with mini-batch SGD and record its progress. Deterministic.

    data: a :class:`bnlib.data.Dataset`.  batchnorm: True/False.  steps: number of SGD steps.
    lr: learning rate;  batch_size: m (60 in the paper);  hidden: sizes of the hidden layers.
    init_scale: std of the Gaussian initial weights;  seed: fixes the weights and the batch order.
    record_every: record every this many steps (and at step 0 and at the end).
    unit: the hidden unit whose sigmoid-input percentiles are recorded in every layer.
    probe_size: the first probe_size training images form the fixed probe batch for the percentiles.
    probe: None, or a hook f(model, X_batch, y_batch) -> value called at every record with the batch
           about to be trained on (at the final record: the last batch), e.g. a :func:`landscape_probe`;
           its values land in History.probes.
    weight_decay: the L2 coefficient on the Dense kernels (0: none; chapter 7).
    Returns (model, history): the trained :class:`MLP` and a :class:`History`.
    Mini-batches: each epoch is a fresh permutation of the training set, cut into batches of
    batch_size (a remainder smaller than a batch is dropped).
    """
    steps = check_int(steps, "steps", 1, " (the number of SGD steps)")
    batch_size = check_int(batch_size, "batch_size", 2 if batchnorm else 1,
                           " (BN needs at least 2 examples per batch to compute a variance)")
    record_every = check_int(record_every, "record_every", 1, " (record every this many steps)")
    lr = check_lr(lr)
    m_train = len(data.y_train)
    if batch_size > m_train:
        raise ValueError(f"batch_size={batch_size} exceeds the {m_train} training examples.")
    sizes = (data.n_features, *hidden, data.n_classes)
    model = MLP(sizes, batchnorm=batchnorm, init_scale=init_scale, seed=seed, eps=eps, momentum=momentum,
                weight_decay=weight_decay)
    unit = check_int(unit, "unit", 0, " (a hidden unit index)")
    if unit >= min(hidden):
        raise ValueError(f"unit must index a unit of every hidden layer, i.e. be < {min(hidden)}, got {unit}.")
    X_probe = data.X_train[:check_int(probe_size, "probe_size", 2, " (the size of the probe batch)")]
    for X, y, part in ((data.X_train, data.y_train, "training"), (data.X_test, data.y_test, "test")):
        try:
            check_y(y, len(check_X(X, model.params)), data.n_classes)
        except ValueError as exc:
            raise ValueError(f"data's {part} set is not usable: {exc}") from None

    with _one_blas_thread():
        return _train_loop(model, data, steps, lr, batch_size, record_every, unit, X_probe, probe, seed)


def _train_loop(model, data, steps, lr, batch_size, record_every, unit, X_probe, probe, seed):
    m_train = len(data.y_train)
    rng = np.random.default_rng([seed, 1])  # the batch order, independent of the initial weights
    per_epoch = m_train // batch_size
    order = None
    rec_steps, rec_acc, rec_loss, rec_pct, rec_probe = [], [], [], [], []
    losses = []

    def record(step, batch):
        rec_steps.append(step)
        rec_acc.append(model.accuracy(data.X_test, data.y_test))
        unit_inputs = np.stack([s_l[:, unit] for s_l in model.sigmoid_inputs(X_probe)], axis=1)  # (probe, L)
        rec_pct.append(np.percentile(unit_inputs, PERCENTILES, axis=0).T)
        if probe is not None:
            rec_probe.append(probe(model, *batch))

    for step in range(steps):
        k = step % per_epoch
        if k == 0:
            order = rng.permutation(m_train)
        idx = order[k * batch_size:(k + 1) * batch_size]
        batch = (data.X_train[idx], data.y_train[idx])
        if step % record_every == 0:
            record(step, batch)
            rec_loss.append(np.mean(losses) if losses else mlp_forward(model.params, *batch, eps=model.eps)[0])
            losses = []
        losses.append(model.step(*batch, lr))
    record(steps, batch)
    rec_loss.append(np.mean(losses))
    history = History(np.array(rec_steps), np.array(rec_acc), np.array(rec_loss), np.array(rec_pct),
                      tuple(rec_probe), unit)
    return model, history


@dataclass(frozen=True)
class Sweep:
    """Final results of :func:`sweep`: one row per value of the swept setting.

    setting: the name of the swept argument of :func:`train`;  values: (k,) its values.
    accuracy: (k, 2) final test accuracy, column 0 without BN, column 1 with BN.
    loss: (k, 2) mean training mini-batch loss over the last tenth of the run (at least one step), same
          columns.
    models: k pairs (plain MLP, BN MLP), the trained networks (e.g. for their weight norms, chapter 6).
    """

    setting: str
    values: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    models: tuple = ()


def sweep(data, setting, values, steps, **kwargs):
    """Train the plain and the BN network once for each value of one setting of :func:`train` (chapter 6).

    data: a Dataset;  setting: "lr", "batch_size", "init_scale" (or another keyword of :func:`train`).
    values: the values to try;  steps: SGD steps per run;  kwargs: the other arguments of :func:`train`
    (fixed across the sweep; ``lr`` is required unless it is the swept setting; ``record_every`` is
    chosen here). Each run records only at step 0, at the start of its last tenth and at the end: the
    sweep reports the final test accuracy and the loss averaged over the last tenth, and recording
    more often would only cost time.
    Returns a :class:`Sweep`.
    """
    if setting in ("data", "batchnorm", "steps", "record_every") or setting in kwargs:
        raise ValueError(f"setting={setting!r} cannot be swept here (or is also passed as a fixed keyword); "
                         "sweep a keyword of train such as 'lr', 'batch_size' or 'init_scale'.")
    if "record_every" in kwargs:
        raise ValueError("sweep chooses record_every itself (it reports the last tenth's loss); leave it out, "
                         "or call train for a full training curve.")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value of the swept setting.")
    kwargs["record_every"] = max(1, steps - max(1, steps // 10))
    acc, loss, models = np.zeros((len(values), 2)), np.zeros((len(values), 2)), []
    for i, v in enumerate(values):
        pair = []
        for j, bn in enumerate((False, True)):
            model, h = train(data, bn, steps, **{**kwargs, setting: v})
            acc[i, j], loss[i, j] = h.test_accuracy[-1], h.loss[-1]
            pair.append(model)
        models.append(tuple(pair))
    return Sweep(setting, np.array(values), acc, loss, tuple(models))
