"""bnlib.exercises.student: check and get_case as the student meets them; the reports."""


import numpy as np
import pytest

from bnlib.exercises import check, get_case
from booktools import ROOT
from submission_factory import MISTAKES, STUB

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def answer(exercise_id, source):
    """Run an answer cell's source the way a notebook would, and return the name it defines."""
    ns = {"np": np}
    exec(source, ns)
    return ns[exercise_id]


def bn(a, gamma, beta, eps):
    return beta + gamma * (a - a.mean(0)) / np.sqrt(a.var(0) + eps)


def test_wrong_kinds_of_answers():
    assert "got a value of type int" in repr(check("bn_forward", 3))
    assert "got a function" in repr(check("spread", lambda: 4.0))
    assert check("spread", np.float32(4.0)).passed and check("spread", [4.0]).passed
    assert "give one number" in repr(check("spread", [4.0, 1.0]))
    assert "tuple of two numbers" in repr(check("bn_param_count", 1200))
    with pytest.raises(ValueError, match="unknown exercise id"):
        check("bn_forwards", bn)


def test_reports_are_deterministic_and_free_of_addresses():
    def leaky(a, gamma, beta, eps):
        raise ValueError(f"bad {object()}")

    first, second = repr(check("bn_forward", leaky)), repr(check("bn_forward", leaky))
    assert first == second and "0x..." in first
    wrong = answer("bn_forward", MISTAKES[6][1])
    assert repr(check("bn_forward", wrong)) == repr(check("bn_forward", wrong))


def test_get_case_returns_copies_and_checks_its_arguments():
    case = get_case("bn_forward", 1)
    assert set(case) == {"a", "gamma", "beta", "eps"}
    np.testing.assert_array_equal(case["a"], [[2.0], [0.0], [2.0], [4.0]])
    case["a"][:] = 0
    assert get_case("bn_forward", 1)["a"][1, 0] == 0.0 and get_case("bn_forward", 1)["a"][0, 0] == 2.0
    with pytest.raises(ValueError, match="from 1 to 10"):
        get_case("bn_forward", 11)
    with pytest.raises(ValueError, match="value exercise"):
        get_case("spread", 1)


def test_the_guides_sample_reports_are_real():
    guide = (ROOT / "exercises_guide.md").read_text()
    assert repr(check("spread", 2.0)) in guide
    assert repr(check("bn_forward", answer("bn_forward", STUB["bn_forward"]))) in guide
