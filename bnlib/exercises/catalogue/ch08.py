"""Chapter 8's exercises: batch renormalization's r and d; combine replicas' statistics; debug a masked mean;
predict a float16 mean."""

import numpy as np

from ...batchnorm import batchnorm_forward
from ...renorm import batch_renorm_forward
from ...sync import combine_moments
from ..model import Exercise, Mistake
from .common import KERAS_REF, scale_label

__all__ = ["COMBINE_MOMENTS", "FLOAT16_MEAN", "MASKED_MOMENTS", "RENORM_R_D"]


# ---- combine_moments: per-replica (count, mean, biased variance) -> the whole batch's ----


def _ref_combine_moments(counts, means, variances):
    return combine_moments(counts, means, variances)


def _combine_variant(weighted=True, between=True, ddof=0):
    def variant(counts, means, variances):
        counts = np.asarray(counts, dtype=float)
        w = counts / counts.sum() if weighted else np.full(counts.size, 1.0 / counts.size)
        mu = w @ means
        var = w @ (variances + (means - mu) ** 2 if between else variances)
        total = counts.sum()
        return mu, var * total / (total - ddof) if ddof else var
    return variant


def _public_combine():
    return [
        ("2 replicas of 4 and 6 values, 1 feature", (np.array([4.0, 6.0]), np.array([[1.0], [3.0]]),
                                                     np.array([[2.0], [0.5]]))),
        ("3 replicas, 2 features", (np.array([2.0, 5.0, 3.0]), np.array([[0.0, 10.0], [1.0, 12.0], [-2.0, 11.0]]),
                                    np.array([[1.0, 4.0], [0.25, 1.0], [2.0, 9.0]]))),
        ("equal means: no spread between replicas", (np.array([3.0, 9.0]), np.array([[5.0, -1.0], [5.0, -1.0]]),
                                                      np.array([[1.0, 2.0], [3.0, 0.5]]))),
    ]


def _random_combine(rng):
    R, n = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    scale = float(10.0 ** rng.uniform(-1, 2))
    counts = rng.integers(1, 13, R).astype(float)
    means = rng.normal(0, scale, (R, n))
    variances = rng.uniform(0.0, 2.0, (R, n)) * scale**2
    return (f"{R} replicas, n {n}, {scale_label(scale)}", (counts, means, variances))

COMBINE_MOMENTS = Exercise(
    "combine_moments", 8, "function", "Combine the replicas' statistics", _ref_combine_moments,
    ("counts", "means", "variances"), ("tuple", 2, ("mu", "var")), _public_combine, _random_combine,
    mistakes=(
        Mistake("your variance is the weighted mean of the replicas' variances: it leaves out the spread BETWEEN "
                "the replicas' means. Add sum_k (m_k / N) (mu_k - mu)^2: var = sum_k (m_k / N) (var_k + "
                "(mu_k - mu)^2).", _combine_variant(between=False)),
        Mistake("your answer averages the replicas with equal weights; a replica with more examples counts "
                "more: weight replica k by m_k / N, N = sum of counts.", _combine_variant(weighted=False)),
        Mistake("your answer averages the replicas with equal weights and leaves out the spread between their "
                "means: weight replica k by m_k / N and add (mu_k - mu)^2 to its variance.",
                _combine_variant(weighted=False, between=False)),
        Mistake("your variance matches the combined variance divided by N - 1. The replicas' variances are "
                "biased (divide by m_k), and so is the combined one (divide by N).", _combine_variant(ddof=1)),
    ),
    forbidden=("bnlib.sync:*", "bnlib.batchnorm:*", "bnlib.stats:*", KERAS_REF),
)


# ---- masked_moments: debug a masked mean that divides by every step, padding included ----


def _ref_masked_moments(a, mask):
    _, cache = batchnorm_forward(a, np.ones(a.shape[-1]), np.zeros(a.shape[-1]), mask=np.asarray(mask, bool))
    return cache.mu, cache.var


def _masked_variant(count_mu="valid", count_var="valid", centre_padding=False, ddof=0, per_sequence=False):
    def variant(a, mask):
        mask = np.asarray(mask, bool)
        if per_sequence:  # each sequence's mean, then the mean of those
            lengths = mask.sum(axis=1)
            seq_mu = np.where(mask[..., None], a, 0).sum(axis=1) / lengths[:, None]
            mu = seq_mu.mean(axis=0)
            return mu, (np.where(mask[..., None], a - mu, 0) ** 2).sum(axis=(0, 1)) / mask.sum()
        counts = {"valid": mask.sum(), "all": mask.size}
        x = np.where(mask[..., None], a, 0.0)
        mu = x.sum(axis=(0, 1)) / counts[count_mu]
        centred = x - mu if centre_padding else np.where(mask[..., None], a - mu, 0.0)
        return mu, (centred**2).sum(axis=(0, 1)) / (counts[count_var] - ddof)
    return variant


def _lengths_batch(rng, lengths, T, c, scale):
    mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    a = rng.normal(rng.normal(0, 2, c) * scale, scale, (len(lengths), T, c)) * mask[..., None]
    return a, mask


def _public_masked():
    a = np.zeros((2, 5, 1))
    a[0, :, 0] = [1.0, 2.0, 3.0, 4.0, 5.0]
    a[1, :2, 0] = [2.0, 4.0]
    mask = np.arange(5)[None, :] < np.array([5, 2])[:, None]
    return [
        ("lengths 5 and 2, 1 feature", (a, mask)),
        ("lengths 3, 1, 4, 2 features", _lengths_batch(np.random.default_rng(8), [3, 1, 4], 4, 2, 1.0)),
        ("no padding at all", _lengths_batch(np.random.default_rng(9), [3, 3], 3, 2, 5.0)),
    ]


def _random_masked(rng):
    m, T, c = int(rng.integers(2, 6)), int(rng.integers(2, 9)), int(rng.integers(1, 4))
    lengths = rng.integers(1, T + 1, m)
    lengths[0] = max(lengths[0], 2)  # at least two real steps in all
    scale = float(10.0 ** rng.uniform(-1, 2))
    a, mask = _lengths_batch(rng, lengths, T, c, scale)
    return f"lengths {', '.join(map(str, lengths))} of T {T}, c {c}, {scale_label(scale)}", (a, mask)

MASKED_MOMENTS = Exercise(
    "masked_moments", 8, "function", "Debug a masked mean and variance", _ref_masked_moments,
    ("a", "mask"), ("tuple", 2, ("mu", "var")), _public_masked, _random_masked,
    mistakes=(
        Mistake("your statistics divide by m * T, every step of the padded array: the padding still counts. "
                "Divide the sums over the real steps by their number, mask.sum().",
                _masked_variant(count_mu="all", count_var="all", centre_padding=True)),
        Mistake("your mean divides by m * T; divide the sum over the real steps by their number, mask.sum().",
                _masked_variant(count_mu="all")),
        Mistake("your mean is right but the variance still sums (0 - mu)^2 over the padded steps: keep only the "
                "real steps in the squared deviations too, e.g. np.where(mask[..., None], a - mu, 0).",
                _masked_variant(centre_padding=True)),
        Mistake("your mean averages each sequence's mean, so a short sequence weighs as much as a long one. "
                "Pool the real steps of all sequences: every (example, step) pair counts once.",
                _masked_variant(per_sequence=True)),
        Mistake("your variance divides by the number of real steps minus 1; batch normalization (and Keras with "
                "a mask) divides by the count itself (biased variance).", _masked_variant(ddof=1)),
    ),
    forbidden=("bnlib.batchnorm:*", "bnlib.stats:*", "bnlib.layer:*", "bnlib.backprop:*", KERAS_REF),
)


# ---- renorm_r_d: batch renormalization's corrections, clipped as in the paper ----


def _ref_renorm_r_d(a, renorm_mean, renorm_std, rmax, dmax, eps):
    n = a.shape[1]
    _, cache = batch_renorm_forward(a, np.ones(n), np.zeros(n), renorm_mean, renorm_std, rmax=rmax,
                                    rmin=1.0 / rmax, dmax=dmax, eps=eps)
    return cache.r, cache.d


def _renorm_variant(clip=True, rmin_zero=False, inverted=False, eps_in=True, d_scale="moving", ddof=0):
    def variant(a, renorm_mean, renorm_std, rmax, dmax, eps):
        mu = a.mean(axis=0)
        sigma_b = np.sqrt(a.var(axis=0, ddof=ddof) + (eps if eps_in else 0.0))
        r = renorm_std / sigma_b if inverted else sigma_b / renorm_std
        d = (mu - renorm_mean) / {"moving": renorm_std, "batch": sigma_b, "none": 1.0}[d_scale]
        if clip:
            r = np.clip(r, 0.0 if rmin_zero else 1.0 / rmax, rmax)
            d = np.clip(d, -dmax, dmax)
        return r, d
    return variant


def _public_renorm():
    a = np.array([[2.0, 1.0], [0.0, 1.5], [2.0, 0.5], [4.0, 1.0]])
    return [
        ("the notes' batch and a second feature, no clipping active",
         (a, np.array([2.2, 1.0]), np.array([1.5, 0.4]), 3.0, 5.0, 1e-3)),
        ("r and d clipped", (a, np.array([0.0, 1.0]), np.array([0.2, 4.0]), 2.0, 1.0, 1e-3)),
        ("a 6x1, r below 1 / rmax", (np.array([[0.1], [0.3], [0.2], [0.0], [0.2], [0.4]]), np.array([0.5]),
                                     np.array([3.0]), 1.5, 0.5, 1e-3)),
    ]


def _random_renorm(rng):
    m, n = int(rng.integers(2, 9)), int(rng.integers(1, 5))
    scale = float(10.0 ** rng.uniform(-1, 2))
    eps = float(rng.choice([1e-3, 1e-2, 1e-5]))
    a = rng.normal(rng.normal(0, 2, n) * scale, scale, (m, n))
    sigma_b = np.sqrt(a.var(axis=0) + eps)
    renorm_std = np.maximum(sigma_b * np.exp(rng.uniform(-1.5, 1.5, n)), 3 * np.sqrt(eps))
    renorm_mean = a.mean(axis=0) + rng.normal(0, 2, n) * renorm_std
    rmax, dmax = float(rng.choice([1.5, 2.0, 3.0])), float(rng.choice([0.5, 1.0, 2.0, 5.0]))
    return (f"a {m}x{n}, {scale_label(scale)}, rmax {rmax:g}, dmax {dmax:g}, eps {eps:g}",
            (a, renorm_mean, renorm_std, rmax, dmax, eps))

RENORM_R_D = Exercise(
    "renorm_r_d", 8, "function", "Batch renormalization's r and d", _ref_renorm_r_d,
    ("a", "renorm_mean", "renorm_std", "rmax", "dmax", "eps"), ("tuple", 2, ("r", "d")), _public_renorm,
    _random_renorm,
    mistakes=(
        Mistake("your r and d are not clipped: r = clip(sigma_B / sigma, 1 / rmax, rmax) and "
                "d = clip((mu_B - mu) / sigma, -dmax, dmax).", _renorm_variant(clip=False)),
        Mistake("your r is clipped only from above (Keras's default rmin = 0); the paper clips r to "
                "[1 / rmax, rmax].", _renorm_variant(rmin_zero=True)),
        Mistake("your r is upside down: r = sigma_B / sigma (the batch's spread over the moving one), so that "
                "a_std * r = (a - mu_B) / sigma.", _renorm_variant(inverted=True)),
        Mistake("your sigma_B leaves out eps: sigma_B = sqrt(var_B + eps), the divisor batch normalization uses.",
                _renorm_variant(eps_in=False)),
        Mistake("your d divides by the batch's sigma_B; d measures the mean's shift in units of the MOVING "
                "standard deviation: d = (mu_B - mu) / sigma.", _renorm_variant(d_scale="batch")),
        Mistake("your d is not divided by sigma: d = (mu_B - mu) / sigma, then clipped.",
                _renorm_variant(d_scale="none")),
        Mistake("your answer matches the batch variance divided by m - 1; batch normalization's var_B divides "
                "by m.", _renorm_variant(ddof=1)),
    ),
    forbidden=("bnlib.renorm:*", "bnlib.batchnorm:*", KERAS_REF),
)


# ---- float16_mean: predict what a float16 running sum makes of a mean ----

F16_COUNT = 3000  # values of 1.0 summed one after the other in float16


def _float16_mean(count=F16_COUNT, dtype=np.float16, divide_by=None):
    def value():
        total = np.cumsum(np.ones(count, dtype=dtype), dtype=dtype)[-1]
        return float(total) / (count if divide_by is None else divide_by)
    return value

FLOAT16_MEAN = Exercise(
    "float16_mean", 8, "value", "Predict a float16 mean", _float16_mean(), output=("scalar", ()),
    mistakes=(
        Mistake("your answer is the exact mean. float16 cannot hold every integer above 2048: from 2048 on its "
                "numbers are 2 apart, so 2048 + 1 rounds back to 2048 and the running sum stalls there.",
                _float16_mean(dtype=np.float64)),
        Mistake("your answer divides the stalled sum by 4096, the chapter's count; here 3000 values were summed.",
                _float16_mean(divide_by=4096)),
        Mistake("your answer is what float16 would give if the sum overflowed; 3000 is far below float16's "
                "largest value 65504: the sum does not overflow, it stalls.", lambda: float("inf")),
    ),
)
