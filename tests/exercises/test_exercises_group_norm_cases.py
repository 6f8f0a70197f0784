"""Exercise 9.2 (group_norm): every randomized case separates the known mistakes from the right answer.

With G = 1 or c/G = 1, channel k's group is the same whether the channels are grouped consecutively or
interleaved (k % G), and with one example pooling over the batch changes nothing: such cases passed the
interleaved answer (4 of 10 cases, 1.4 of 2 points). The mistakes are written here with numpy, not taken from
the catalogue.
"""

import numpy as np
import pytest

from bnlib.exercises.catalogue import EXERCISES
from bnlib.exercises.student import PUBLIC_SEED

EXERCISE = EXERCISES["group_norm"]


def group_norm(a, groups, gamma, beta, eps, interleaved=False, over_batch=False):
    m, h, w, c = a.shape
    if interleaved:  # channel k in group k % groups
        g = a.reshape(m, h, w, c // groups, groups).transpose(0, 1, 2, 4, 3)
    else:
        g = a.reshape(m, h, w, groups, c // groups)
    axes = (0, 1, 2, 4) if over_batch else (1, 2, 4)
    out = (g - g.mean(axes, keepdims=True)) / np.sqrt(g.var(axes, keepdims=True) + eps)
    out = out.transpose(0, 1, 2, 4, 3) if interleaved else out
    return gamma * out.reshape(m, h, w, c) + beta


def random_cases():
    cases = [c for c in EXERCISE.cases(PUBLIC_SEED) if not c.public]
    for seed in range(20):
        cases += EXERCISE.hidden_cases(seed)
    return cases


def test_the_written_out_answer_is_the_reference():
    for case in random_cases()[:20]:
        np.testing.assert_allclose(group_norm(*case.args), EXERCISE.expected(case), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mistake", ["interleaved", "over_batch"])
def test_every_random_case_fails_the_mistake(mistake):
    for case in random_cases():
        right = EXERCISE.expected(case)
        wrong = group_norm(*case.args, **{mistake: True})
        gap = np.max(np.abs(wrong - right)) / np.max(np.abs(right))
        assert gap > 1e-3, f"{case.label}: the {mistake} answer passes (relative gap {gap:.1e})"
