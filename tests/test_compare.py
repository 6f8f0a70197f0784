"""bnlib.compare: one quiet line on agreement, a table and MismatchError on disagreement."""

import numpy as np
import pytest

from bnlib import MismatchError, compare


def test_match_prints_one_line_with_count_difference_and_tolerance(capsys):
    compare(np.array([0.0, -1.4142135]), np.array([0.0, -1.4142136]), name="a_std")
    out = capsys.readouterr().out.splitlines()
    assert out == ["✓ a_std: bnlib matches Keras (2 values, max |diff| 1e-07 ≤ 1e-05 + 1e-05·|Keras|)"]


def test_the_printed_difference_is_the_real_one_not_a_bucket(capsys):
    # The old footer printed "< 1e+01" for a difference of about 1: the magnitude must be the true one.
    compare([10.0], [11.2], atol=2.0, rtol=0)
    assert "max |diff| 1e+00 ≤ 2 + 0·|Keras|" in capsys.readouterr().out


def test_round_off_prints_as_a_bound_so_output_is_stable(capsys):
    # What nbval sees must not depend on the last bits of a float64 sum.
    compare([1.0, 2.0], [1.0 + 1e-13, 2.0], name="x")
    first = capsys.readouterr().out
    compare([1.0, 2.0], [1.0 + 3e-13, 2.0], name="x")
    assert capsys.readouterr().out == first and "max |diff| < 2e-12" in first


def test_table_on_request(capsys):
    compare([0.0, -1.4142135], [0.0, -1.4142136], name="a_std", table=True)
    out = capsys.readouterr().out.splitlines()
    assert "-1.414214" in out[2] and out[-1].startswith("✓ a_std")


def test_negative_zero_prints_as_zero(capsys):
    compare([-1e-12], [0.0], name="z", table=True)
    assert "-0.000" not in capsys.readouterr().out


def test_mismatch_prints_the_table_and_raises(capsys):
    with pytest.raises(MismatchError, match=r"differ in 1 of 3 values; worst at index \(1,\)"):
        compare([1.0, 2.0, 3.0], [1.0, 2.1, 3.0], name="v")
    out = capsys.readouterr().out
    assert "2.100000   ✗" in out and "MISMATCH in 1 of 3" in out


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
    assert capsys.readouterr().out.splitlines()[-1].startswith("✓ value: numpy matches by hand (1 value,")


def test_round_off_residue_prints_as_zero_in_a_table(capsys):
    compare([1e-17, 2.0], [0.0, 2.0], name="r", table=True)
    assert "e-17" not in capsys.readouterr().out


def test_small_values_keep_their_digits(capsys):
    compare([2.5e-6], [2.5e-6], name="tiny", table=True)
    assert "2.500000e-06" in capsys.readouterr().out


def test_several_arrays_checked_together_on_one_line(capsys):
    compare({"moving mean": [0.02], "moving variance": [1.01]},
            {"moving mean": [0.02], "moving variance": [1.01]}, name="after one call")
    out = capsys.readouterr().out.splitlines()
    assert out == ["✓ after one call (moving mean, moving variance): bnlib matches Keras (2 values, "
                   "max |diff| 0 ≤ 1e-05 + 1e-05·|Keras|)"]


def test_a_mismatch_in_one_part_names_the_part():
    with pytest.raises(MismatchError, match="after one call, moving variance"):
        compare({"moving mean": [0.02], "moving variance": [1.01]},
                {"moving mean": [0.02], "moving variance": [1.5]}, name="after one call")


def test_dict_against_array_is_a_clear_error_and_the_fix_works():
    with pytest.raises(TypeError, match="both dicts with the same keys"):
        compare({"mean": [1.0]}, [1.0])
    compare({"mean": [1.0]}, {"mean": [1.0]})  # the fix the message suggests
