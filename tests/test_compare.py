"""bnlib.compare: a stable table on agreement, MismatchError on disagreement."""

import numpy as np
import pytest

from bnlib import MismatchError, compare


def test_match_prints_table_and_tick(capsys):
    compare(np.array([0.0, -1.4142135]), np.array([0.0, -1.4142136]), name="a_std")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bnlib vs Keras: a_std")
    assert "-1.414214" in out[3] and out[-1].endswith("✓ bnlib matches Keras")
    assert "max |diff| < 1e-06" in out[-1]  # 1e-7 falls in the (1e-9, 1e-6] bucket


def test_output_is_identical_for_tiny_noise(capsys):
    # what nbval sees must not depend on the last bits of the reference
    compare([1.0, 2.0], [1.0 + 3e-9, 2.0], name="x")
    first = capsys.readouterr().out
    compare([1.0, 2.0], [1.0 + 4e-9, 2.0], name="x")
    assert capsys.readouterr().out == first


def test_negative_zero_prints_as_zero(capsys):
    compare([-1e-12], [0.0], name="z")
    assert "-0.000" not in capsys.readouterr().out


def test_mismatch_raises_and_marks_rows(capsys):
    with pytest.raises(MismatchError, match=r"differ in 1 of 3 values; worst at index \(1,\)"):
        compare([1.0, 2.0, 3.0], [1.0, 2.1, 3.0], name="v")
    out = capsys.readouterr().out
    assert "✗" in out and "MISMATCH in 1 of 3" in out


def test_shape_mismatch_raises():
    with pytest.raises(MismatchError, match=r"shape \(4, 1\) but Keras has shape \(4,\)"):
        compare(np.zeros((4, 1)), np.zeros(4), name="out")


def test_nan_is_a_mismatch():
    with pytest.raises(MismatchError):
        compare([np.nan], [1.0])


def test_tolerance_is_respected():
    compare([1.0], [1.0 + 9e-6], atol=1e-5, rtol=0)
    with pytest.raises(MismatchError):
        compare([1.0], [1.0 + 2e-5], atol=1e-5, rtol=0)


def test_long_arrays_are_truncated_but_fully_checked(capsys):
    a = np.arange(20.0)
    b = a.copy()
    b[-1] += 1
    with pytest.raises(MismatchError):
        compare(a, b, max_rows=3)
    assert "(17 more not shown, all checked)" in capsys.readouterr().out


def test_custom_labels(capsys):
    compare(1.0, 1.0, labels=("numpy", "by hand"))
    assert capsys.readouterr().out.splitlines()[-1].endswith("✓ numpy matches by hand")


def test_round_off_residue_prints_as_zero(capsys):
    compare([1e-17, 2.0], [0.0, 2.0], name="r")
    assert "e-17" not in capsys.readouterr().out


def test_small_values_keep_their_digits(capsys):
    compare([2.5e-6], [2.5e-6], name="tiny")
    assert "2.500000e-06" in capsys.readouterr().out
