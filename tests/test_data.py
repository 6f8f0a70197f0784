"""bnlib.data against scikit-learn's raw digits: the split is a deterministic, stratified partition."""

import sys
import types

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

import bnlib.data
from bnlib import Dataset, load_dataset, load_digits, train_test_split


def _sorted_rows(X):
    return X[np.lexsort(X.T[::-1])]


def test_digits_is_a_partition_of_the_raw_data_scaled_to_unit_interval():
    raw = sk_load_digits()
    d = load_digits()
    assert d.X_train.shape == (1347, 64) and d.X_test.shape == (450, 64)
    assert d.X_train.dtype == np.float64 and d.y_train.dtype == np.int64
    X = np.concatenate([d.X_train, d.X_test])
    y = np.concatenate([d.y_train, d.y_test])
    # The same multiset of (image, label) rows as scikit-learn's, with grey levels 0..16 mapped to [0, 1].
    ours = _sorted_rows(np.column_stack([X * 16.0, y]))
    ref = _sorted_rows(np.column_stack([raw.data, raw.target]))
    np.testing.assert_array_equal(ours, ref)
    assert X.min() == 0.0 and X.max() == 1.0
    assert d.n_features == 64 and d.n_classes == 10


def test_split_is_stratified():
    d = load_digits(test_fraction=0.25)
    total = np.bincount(sk_load_digits().target)
    np.testing.assert_array_equal(np.bincount(d.y_test), np.round(0.25 * total).astype(int))
    np.testing.assert_array_equal(np.bincount(d.y_train) + np.bincount(d.y_test), total)


def test_split_is_deterministic_and_depends_on_the_seed():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_summary_and_default_switch():
    d = load_dataset()
    assert d.summary() == ("digits (scikit-learn): 1347 training and 450 test images, 64 pixels each in [0, 1], "
                           "10 classes")
    np.testing.assert_array_equal(d.X_train, load_digits().X_train)


def test_mnist_switch_goes_through_keras_ref(monkeypatch):
    # No download in the tests: Keras's MNIST loader is replaced by a stand-in with MNIST's layout (uint8 images).
    fake = ((np.zeros((6, 28, 28), np.uint8), np.arange(6) % 3),
            (np.full((2, 28, 28), 255, np.uint8), np.array([0, 2])))
    mnist = types.SimpleNamespace(load_data=lambda: fake)
    stand_in = types.SimpleNamespace(datasets=types.SimpleNamespace(mnist=mnist))
    monkeypatch.setattr(bnlib.data, "keras", lambda: stand_in)
    d = load_dataset("mnist")
    assert isinstance(d, Dataset) and d.name == "MNIST (Keras)" and d.X_train.shape == (6, 784)
    assert d.X_test.max() == 1.0 and d.y_train.dtype == np.int64  # pixels / 255, labels as int64


def test_missing_scikit_learn_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()


def test_bad_dataset_name():
    with pytest.raises(ValueError, match='"digits"'):
        load_dataset("cifar")


@pytest.mark.parametrize("frac, error", [(0, ValueError), (1, ValueError), (1.5, ValueError), (-0.1, ValueError),
                                         (True, TypeError), ("0.2", TypeError)])
def test_bad_test_fraction(frac, error):
    # the policy (bnlib.validation): a wrong kind of argument is a TypeError, a wrong value a ValueError
    with pytest.raises(error, match=r"test_fraction must be a (finite )?number in \(0, 1\)"):
        train_test_split(np.zeros((10, 2)), np.arange(10), test_fraction=frac)


def test_bad_shapes_and_labels():
    with pytest.raises(ValueError, match="same m"):
        train_test_split(np.zeros((10, 2)), np.arange(9))
    with pytest.raises(TypeError, match="integer class labels"):
        train_test_split(np.zeros((4, 2)), np.array([0.0, 1.0, 0.0, 1.0]))
