"""Real digit images for the training experiments of chapters 5 and 6, available offline.

The default is scikit-learn's bundled ``load_digits``: 1797 handwritten digits of 8x8 pixels
(grey levels 0..16), shipped inside the installed package, so nothing is downloaded.
In Colab, ``load_dataset("mnist")`` switches to the 70,000 28x28 MNIST digits of Ioffe & Szegedy's
Figure 1 through Keras (:func:`load_mnist`, a download; never used by the tests or by default).

Arrays are batch-first, as everywhere in bnlib: images are flattened to ``X`` of shape (m, n) with
values in [0, 1], labels ``y`` are integers of shape (m,).
"""

from dataclasses import dataclass

import numpy as np

from .keras_ref import keras
from .validation import check_number

__all__ = ["Dataset", "load_dataset", "load_digits", "load_mnist", "train_test_split"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split of flattened images.

    X_train: (m_train, n) float64 in [0, 1];  y_train: (m_train,) int64 class labels.
    X_test:  (m_test, n);                     y_test:  (m_test,).
    name: where the data came from, e.g. "digits (scikit-learn)".
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str

    @property
    def n_features(self):
        """n, the number of pixels per image."""
        return self.X_train.shape[1]

    @property
    def n_classes(self):
        """The number of classes (10 digits)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def summary(self):
        """One deterministic line describing the split (for printing in a chapter)."""
        return (f"{self.name}: {len(self.y_train)} training and {len(self.y_test)} test images, "
                f"{self.n_features} pixels each in [0, 1], {self.n_classes} classes")


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Deterministic stratified split: the same ``seed`` gives the same split on every machine.

    X: (m, n) features;  y: (m,) integer labels.
    test_fraction: float in (0, 1), the share of each class that goes to the test set (rounded).
    seed: int for ``np.random.default_rng``.
    Returns (X_train, y_train, X_test, y_test); each part is shuffled.
    Stratified so that every class keeps its share in both parts, as it would in a careful split.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be (m, n) and y (m,) with the same m; got shapes {X.shape} and {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}; use y.astype(int).")
    check_number(test_fraction, "test_fraction", low=0, high=1, low_open=True, high_open=True,
                 hint=" (the share of each class held out for testing)")
    rng = np.random.default_rng(seed)
    test_idx, train_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * len(idx)))
        test_idx.append(idx[:k])
        train_idx.append(idx[k:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]


def load_digits(test_fraction=0.25, seed=0):
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1] and split deterministically.

    test_fraction: share of each class held out for testing (default 0.25: 1347 train, 450 test).
    seed: int, fixes the split.
    Returns a :class:`Dataset` with X of shape (m, 64), float64 pixel values / 16.
    Raises ImportError with the install command if scikit-learn is missing.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError(
            "bnlib.data.load_digits needs scikit-learn, which ships the digits inside the package "
            "(no download). Install it with `pip install scikit-learn` (or `pip install bnlib[data]`)."
        ) from None
    digits = _sk_load_digits()
    X = digits.data.astype(np.float64) / 16.0  # grey levels 0..16
    y = digits.target.astype(np.int64)
    return Dataset(*train_test_split(X, y, test_fraction=test_fraction, seed=seed), name="digits (scikit-learn)")


def load_dataset(name="digits", seed=0):
    """The switch the chapters use: "digits" (default, offline) or "mnist" (Keras download, for Colab).

    name: "digits" or "mnist".
    seed: fixes the digits split (MNIST comes with its own 60,000/10,000 split).
    Returns a :class:`Dataset`; MNIST images are flattened to (m, 784) and scaled to [0, 1].
    """
    if name == "digits":
        return load_digits(seed=seed)
    if name == "mnist":
        return load_mnist()
    raise ValueError(f'name must be "digits" (offline, bundled with scikit-learn) or "mnist" (downloads), '
                     f"got {name!r}.")


def load_mnist():
    """MNIST through ``keras.datasets.mnist`` (downloads about 11 MB on first use; meant for Colab).

    Returns a :class:`Dataset` with Keras's own 60,000/10,000 split: X float64 (60000, 784) and
    (10000, 784), pixel values / 255 in [0, 1]; y int64 labels. Used by ``load_dataset("mnist")``,
    never by the tests or by default (the book builds offline with scikit-learn's digits).
    Keras comes through :func:`bnlib.keras_ref.keras`, the course's one door to TensorFlow, which
    loads only now.
    """
    (X_train, y_train), (X_test, y_test) = keras().datasets.mnist.load_data()

    def flat(X):
        return X.reshape(len(X), -1).astype(np.float64) / 255.0

    return Dataset(flat(X_train), y_train.astype(np.int64), flat(X_test), y_test.astype(np.int64),
                   name="MNIST (Keras)")
