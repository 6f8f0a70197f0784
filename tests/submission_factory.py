"""Answer sources for the exercise and grading tests: correct, differently written, wrong, hostile.

Every source is what a student would type in an answer cell (without the ``# ANSWER:`` line). They are
written independently of bnlib (plain numpy, hand derivations), so the tests compare bnlib's checks
with an independent reference. :func:`build_submission` writes them into a submission notebook (with
nbformat, a test dependency: bnlib itself reads notebooks as plain JSON).
"""

import nbformat

from bnlib.exercises.catalogue import EXERCISES
from bnlib.grading.contract import check_source

# ---- one canonical correct answer per exercise (what a worked solution looks like) ----
CORRECT = {
    "standardize": """\
def standardize(X):
    mu = X.mean(axis=0)
    sd = X.std(axis=0, ddof=1)
    return (X - mu) / sd""",
    "condition_number": """\
x = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
H = np.array([[1.0, x.mean()], [x.mean(), (x**2).mean()]])
lam = np.linalg.eigvalsh(H)
condition_number = lam[-1] / lam[0]""",
    "bn_forward": """\
def bn_forward(a, gamma, beta, eps=1e-3):
    mu = a.mean(axis=0)
    var = ((a - mu) ** 2).mean(axis=0)
    return beta + gamma * (a - mu) / np.sqrt(var + eps)""",
    "spread": "spread = 4.0  # |gamma| * std(a_std), and std(a_std) = 1 at eps = 0",
    "bn_backward": """\
def bn_backward(dout, a, gamma, eps=1e-3):
    mu = a.mean(axis=0)
    var = a.var(axis=0)
    s = np.sqrt(var + eps)
    a_std = (a - mu) / s
    dgamma = (dout * a_std).sum(axis=0)
    dbeta = dout.sum(axis=0)
    da = gamma / s * (dout - dout.mean(axis=0) - a_std * (dout * a_std).mean(axis=0))
    return da, dgamma, dbeta""",
    "da_seed": """\
# By hand: mu = 2, var = 2, s = sqrt(2.001), a_std = [0, -2, 0, 2] / s, mean(dout) = 1/4, mean(dout * a_std) = 0,
# so da = gamma / s * (dout - 1/4).
s = np.sqrt(2.001)
da_seed = 2.0 / s * (np.array([[1.0], [0.0], [0.0], [0.0]]) - 0.25)""",
    "update_moving_stats": """\
def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum=0.99):
    mean = momentum * moving_mean + (1 - momentum) * batch_mean
    var = momentum * moving_var + (1 - momentum) * batch_var
    return mean, var""",
    "bn_inference": """\
def bn_inference(a, moving_mean, moving_var, gamma, beta, eps=1e-3):
    return beta + gamma * (a - moving_mean) / np.sqrt(moving_var + eps)""",
    "fold_batchnorm": """\
def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps=1e-3):
    scale = gamma / np.sqrt(moving_var + eps)
    return W * scale, (b - moving_mean) * scale + beta""",
    "invariance_gap": """\
# Closed form: outputs +-2/sqrt(2 + eps) for a, +-200/sqrt(20000 + eps) for 100 a; the zeros stay 0.
eps = 1e-3
invariance_gap = 200 / np.sqrt(20000 + eps) - 2 / np.sqrt(2 + eps)""",
    "inference_moments": """\
# Closed form: after T updates the moving statistics keep 0.99^T of their initial 0 and 1.
a, eps, kept = np.array([2.0, 0.0, 2.0, 4.0]), 1e-3, 0.99**100
moving_mean = (1 - kept) * 2.0               # batch mean 2
moving_var = kept * 1.0 + (1 - kept) * 2.0   # biased batch variance 2
out = (a - moving_mean) / np.sqrt(moving_var + eps)
inference_moments = np.array([out.mean(), out.std()])""",
    "variance_shift": """\
def variance_shift(mean, var, p):
    train_var = (var + mean**2) / (1 - p) - mean**2  # E[y^2] - E[y]^2 with y = x * keep / (1 - p)
    return var / train_var""",
    "decayed_sgd_step": """\
def decayed_sgd_step(W, gamma, beta, dW, dgamma, dbeta, lr, weight_decay):
    return W - lr * (dW + weight_decay * W), gamma - lr * dgamma, beta - lr * dbeta""",
    "batch_noise": "batch_noise = np.sqrt((1 + 2.0**2 / 2) / 32)  # (1 + u^2 (kurtosis - 1) / 4) / m",
    "bn_param_count": "bn_param_count = (3 * 4 * 100, 3 * 2 * 100)  # gamma, beta, moving mean, moving var",
    "torch_to_keras": """\
def torch_to_keras(running_mean, running_var, momentum, a):
    keras_momentum = 1 - momentum  # PyTorch's momentum weights the new value, Keras's the old
    mean = keras_momentum * running_mean + (1 - keras_momentum) * a.mean(axis=0)
    var = keras_momentum * running_var + (1 - keras_momentum) * a.var(axis=0)  # biased
    return mean, var""",
    "renorm_r_d": """\
def renorm_r_d(a, renorm_mean, renorm_std, rmax, dmax, eps):
    sigma_b = np.sqrt(a.var(axis=0) + eps)
    r = np.clip(sigma_b / renorm_std, 1 / rmax, rmax)
    d = np.clip((a.mean(axis=0) - renorm_mean) / renorm_std, -dmax, dmax)
    return r, d""",
    "combine_moments": """\
def combine_moments(counts, means, variances):
    w = np.asarray(counts, dtype=float)[:, None] / np.sum(counts)
    mu = (w * means).sum(axis=0)
    return mu, (w * (variances + (means - mu) ** 2)).sum(axis=0)""",
    "masked_moments": """\
def masked_moments(a, mask):
    keep = mask[:, :, None]
    mu = np.where(keep, a, 0.0).sum(axis=(0, 1)) / mask.sum()
    return mu, (np.where(keep, a - mu, 0.0) ** 2).sum(axis=(0, 1)) / mask.sum()""",
    "float16_mean": """\
total = np.float16(0.0)
for _ in range(3000):
    total = np.float16(total + np.float16(1.0))  # stalls at 2048: float16's spacing there is 2
float16_mean = float(total) / 3000""",
    "layer_norm": """\
def layer_norm(a, gamma, beta, eps=1e-3):
    mu = a.mean(axis=1, keepdims=True)
    var = a.var(axis=1, keepdims=True)
    return beta + gamma * (a - mu) / np.sqrt(var + eps)""",
    "group_norm": """\
def group_norm(a, groups, gamma, beta, eps=1e-3):
    m, h, w, c = a.shape
    x = a.reshape(m, h, w, groups, c // groups)
    mu = x.mean(axis=(1, 2, 4), keepdims=True)
    var = x.var(axis=(1, 2, 4), keepdims=True)
    return beta + gamma * ((x - mu) / np.sqrt(var + eps)).reshape(a.shape)""",
}

# ---- a differently written correct answer per exercise ----
ALTERNATIVE = {
    "standardize": """\
import math


def standardize(X):
    m, n = X.shape
    out = np.empty((m, n))
    for j in range(n):
        col = [float(v) for v in X[:, j]]
        mu = sum(col) / m
        sd = math.sqrt(sum((v - mu) ** 2 for v in col) / (m - 1))
        out[:, j] = [(v - mu) / sd for v in col]
    return out""",
    "condition_number": """\
x = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
A = np.column_stack([np.ones_like(x), x])
sv = np.linalg.svd(A, compute_uv=False)
condition_number = float((sv[0] / sv[-1]) ** 2)  # H = A^T A / m squares the singular values""",
    "bn_forward": """\
def bn_forward(a, gamma, beta, eps):
    m = a.shape[0]
    mu = np.einsum("ij->j", a) / m
    centered = a - mu[None, :]
    var = np.einsum("ij,ij->j", centered, centered) / m
    return centered * (gamma / np.sqrt(var + eps))[None, :] + beta[None, :]""",
    "spread": """\
a = np.array([2.0, 0.0, 2.0, 4.0])
a_std = (a - a.mean()) / np.sqrt(a.var())
spread = np.std(1.0 + 4.0 * a_std)""",
    "bn_backward": """\
def bn_backward(dout, a, gamma, eps):
    # The paper's staged chain rule.
    m = a.shape[0]
    mu = np.sum(a, axis=0) / m
    xc = a - mu
    var = np.sum(xc ** 2, axis=0) / m
    inv = 1.0 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv ** 3
    dmu = np.sum(-dxhat * inv, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
    da = dxhat * inv + dvar * 2.0 * xc / m + dmu / m
    return da, np.sum(dout * xc * inv, axis=0), np.sum(dout, axis=0)""",
    "da_seed": """\
# Finite differences of L = sum(dout * BN(a)), an independent route.
def out(a, eps=1e-3):
    return 2.0 * (a - a.mean()) / np.sqrt(a.var() + eps)

a0 = np.array([2.0, 0.0, 2.0, 4.0])
dout = np.array([1.0, 0.0, 0.0, 0.0])
h = 1e-6
grads = [(np.sum(dout * out(a0 + h * e)) - np.sum(dout * out(a0 - h * e))) / (2 * h) for e in np.eye(4)]
da_seed = np.array(grads).reshape(4, 1)""",
    "update_moving_stats": """\
def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):
    step = 1.0 - momentum
    return moving_mean + step * (batch_mean - moving_mean), moving_var + step * (batch_var - moving_var)""",
    "bn_inference": """\
def bn_inference(a, moving_mean, moving_var, gamma, beta, eps):
    scale = gamma / np.sqrt(moving_var + eps)
    shift = beta - moving_mean * scale
    return a * scale + shift""",
    "fold_batchnorm": """\
def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps):
    D = np.diag(gamma / np.sqrt(moving_var + eps))
    return W @ D, (b - moving_mean) @ D + beta""",
    "invariance_gap": """\
a = np.array([[2.0], [0.0], [2.0], [4.0]])


def bn(z, eps=1e-3):
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)

invariance_gap = float(np.abs(bn(100 * a) - bn(a)).max())""",
    "inference_moments": """\
# Step by step, as the layer does it: 100 training calls, then one inference call.
a = np.array([[2.0], [0.0], [2.0], [4.0]])
moving_mean, moving_var = np.zeros(1), np.ones(1)
for _ in range(100):
    moving_mean = 0.99 * moving_mean + 0.01 * a.mean(axis=0)
    moving_var = 0.99 * moving_var + 0.01 * ((a - a.mean(axis=0)) ** 2).mean(axis=0)
out = (a - moving_mean) / np.sqrt(moving_var + 1e-3)
inference_moments = [float(out.mean()), float(np.sqrt(((out - out.mean()) ** 2).mean()))]""",
    "variance_shift": """\
def variance_shift(mean, var, p):
    q = 1.0 - p  # keep probability
    return q * var / (var + p * mean * mean)""",
    "decayed_sgd_step": """\
def decayed_sgd_step(W, gamma, beta, dW, dgamma, dbeta, lr, weight_decay):
    shrunk = (1.0 - lr * weight_decay) * W
    return shrunk - lr * dW, gamma - lr * dgamma, beta - lr * dbeta""",
    "batch_noise": """\
z, w = np.polynomial.hermite_e.hermegauss(8)  # exact Gaussian moments up to order 15
w = w / w.sum()
u, m = 2.0, 32
var_mu, var_v, cov = 1 / m, (np.sum(w * z**4) - 1) / m, np.sum(w * z**3) / m
batch_noise = float(np.sqrt(var_mu + u**2 / 4 * var_v + u * cov))""",
    "bn_param_count": """\
units, per_unit, trainable_per_unit = 100, 4, 2
bn_param_count = [3 * units * per_unit, 3 * units * trainable_per_unit]""",
    "torch_to_keras": """\
def torch_to_keras(running_mean, running_var, momentum, a):
    m = a.shape[0]
    mu = np.sum(a, axis=0) / m
    var = np.sum((a - mu) ** 2, axis=0) / m
    step = momentum  # = 1 - Keras's momentum
    return running_mean + step * (mu - running_mean), running_var + step * (var - running_var)""",
    "renorm_r_d": """\
def renorm_r_d(a, renorm_mean, renorm_std, rmax, dmax, eps):
    m = a.shape[0]
    mu_b = a.sum(axis=0) / m
    sigma_b = np.sqrt(((a - mu_b) ** 2).sum(axis=0) / m + eps)
    r = np.minimum(np.maximum(sigma_b / renorm_std, 1.0 / rmax), rmax)
    d = np.minimum(np.maximum((mu_b - renorm_mean) / renorm_std, -dmax), dmax)
    return r, d""",
    "combine_moments": """\
def combine_moments(counts, means, variances):
    # sums and sums of squares, as an all-reduce would exchange them
    counts = np.asarray(counts, dtype=float)[:, None]
    total = counts.sum()
    s1 = (counts * means).sum(axis=0)
    s2 = (counts * (variances + means**2)).sum(axis=0)
    mu = s1 / total
    return mu, s2 / total - mu**2""",
    "masked_moments": """\
def masked_moments(a, mask):
    values = a[mask]  # (M, c): the real steps only
    return values.mean(axis=0), values.var(axis=0)""",
    "float16_mean": "float16_mean = 2048 / 3000  # 2^11 + 1 is not a float16 number: the sum stops at 2^11",
    "layer_norm": """\
def layer_norm(a, gamma, beta, eps):
    rows = []
    for row in a:
        mu = row.mean()
        rows.append(gamma * (row - mu) / np.sqrt(((row - mu) ** 2).mean() + eps) + beta)
    return np.array(rows)""",
    "group_norm": """\
def group_norm(a, groups, gamma, beta, eps):
    out = np.empty_like(a, dtype=float)
    size = a.shape[-1] // groups
    for i in range(a.shape[0]):
        for g in range(groups):
            block = a[i, :, :, g * size:(g + 1) * size]
            mu = block.mean()
            sd = np.sqrt(((block - mu) ** 2).mean() + eps)
            out[i, :, :, g * size:(g + 1) * size] = (block - mu) / sd
    return out * gamma + beta""",
}

STUB = {
    ex.id: (f"def {ex.id}({', '.join(ex.params)}):\n    raise NotImplementedError(\"your code here\")"
            if ex.kind == "function" else f"{ex.id} = None  # replace None with your answer")
    for ex in EXERCISES.values()
}

# ---- known mistakes, written as a student would: (exercise id, answer source, fragment of the hint) ----
_BN = "def bn_forward(a, gamma, beta, eps):\n    mu = a.mean(axis=0)\n"
_LN = "def layer_norm(a, gamma, beta, eps):\n    mu = a.mean(axis=1, keepdims=True)\n"
_BWD = """\
def bn_backward(dout, a, gamma, eps):
    m = a.shape[0]
    mu = a.mean(axis=0)
    var = a.var(axis=0)
    s = np.sqrt(var + eps)
    a_std = (a - mu) / s
    g = dout * gamma
    path_var = (np.sum(g * (a - mu), axis=0) * -0.5 * s ** -3) * 2 * (a - mu) / m
    path_mu = -np.sum(g / s, axis=0) / m
"""
_INF = "def bn_inference(a, moving_mean, moving_var, gamma, beta, eps):\n"
_FOLD = "def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps):\n"
_VS = "def variance_shift(mean, var, p):\n"
_DSS = "def decayed_sgd_step(W, gamma, beta, dW, dgamma, dbeta, lr, weight_decay):\n"
_UMS = "def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):\n"
_T2K = "def torch_to_keras(running_mean, running_var, momentum, a):\n    mu, var = a.mean(axis=0), a.var(axis=0)\n"
_GN = """\
def group_norm(a, groups, gamma, beta, eps):
    m, h, w, c = a.shape
    x = a.reshape(m, h, w, groups, c // groups)
    example, batch = (1, 2, 4), (0, 1, 2, 4)
"""
_IM = """\
a, kept = np.array([2.0, 0.0, 2.0, 4.0]), 0.99**100
"""
_RRD = ("def renorm_r_d(a, renorm_mean, renorm_std, rmax, dmax, eps):\n"
        "    mu_b, sigma_b = a.mean(axis=0), np.sqrt(a.var(axis=0) + eps)\n")

MISTAKES = [
    ("standardize", "def standardize(X):\n    return (X - X.mean(axis=0)) / X.std(axis=0)", "divided by m."),
    ("standardize", "def standardize(X):\n    return (X - X.mean(axis=1, keepdims=True)) / "
                    "X.std(axis=1, ddof=1, keepdims=True)", "wrong axis"),
    ("standardize", "def standardize(X):\n    return (X - X.mean(0)) / X.var(0, ddof=1)", "divides by the variance"),
    ("condition_number", "condition_number = 1.0  # standardized", "standardized"),
    ("condition_number", "x = np.arange(10.0, 60.0, 10.0)\nH = np.array([[1, x.mean()], [x.mean(), (x**2).mean()]])\n"
                         "lam = np.linalg.eigvalsh(H)\ncondition_number = lam[0] / lam[-1]", "largest/smallest"),
    ("condition_number", "x = np.arange(10.0, 60.0, 10.0)\nA = np.column_stack([np.ones(5), x])\n"
                         "condition_number = np.linalg.cond(A)", "singular values"),
    ("bn_forward", _BN + "    return beta + gamma * (a - mu) / np.sqrt(a.var(axis=0, ddof=1) + eps)", "m - 1"),
    ("bn_forward", _BN + "    return beta + gamma * (a - mu) / a.std(axis=0)", "without eps"),
    ("bn_forward", _BN + "    return beta + gamma * (a - mu) / (a.std(axis=0) + eps)", "outside the square root"),
    ("bn_forward", "def bn_forward(a, gamma, beta, eps):\n    mu = a.mean(axis=1, keepdims=True)\n"
                   "    return beta + gamma * (a - mu) / np.sqrt(a.var(axis=1, keepdims=True) + eps)", "wrong axis"),
    ("bn_forward", _BN + "    return (a - mu) / np.sqrt(a.var(axis=0) + eps)", "a_std alone"),
    ("bn_forward", _BN + "    return gamma + beta * (a - mu) / np.sqrt(a.var(axis=0) + eps)", "swapped"),
    ("bn_forward", "def bn_forward(a, gamma, beta, eps):\n    moving_mean, moving_var = 0.0, 1.0\n"
                   "    return beta + gamma * (a - moving_mean) / np.sqrt(moving_var + eps)",
     "fresh layer's moving statistics"),
    ("bn_forward", _BN + "    return beta + np.sqrt(gamma) * (a - mu) / np.sqrt(a.var(axis=0) + eps)", "sqrt(gamma)"),
    ("spread", "spread = np.sqrt(4.0)", "sqrt(gamma)"),
    ("spread", "spread = 16.0", "variance"),
    ("spread", "spread = 4.0 * np.std([0.0, -1.0, 0.0, 1.0], ddof=1) / np.std([0.0, -1.0, 0.0, 1.0])", "1/(m - 1)"),
    ("bn_backward", _BWD + "    return g / s + path_var, (dout * a_std).sum(0), dout.sum(0)", "path through mu"),
    ("bn_backward", _BWD + "    return g / s + path_mu, (dout * a_std).sum(0), dout.sum(0)", "path through sigma^2"),
    ("bn_backward", _BWD + "    return g / s, (dout * a_std).sum(0), dout.sum(0)", "as constants"),
    ("bn_backward", _BWD + "    return g / s + path_var + path_mu, dout.sum(0), (dout * a_std).sum(0)", "swapped"),
    ("da_seed", "da_seed = 2.0 / np.sqrt(2.001) * np.array([[1.0], [0.0], [0.0], [0.0]])", "mu and sigma^2"),
    ("da_seed", "da_seed = 2.0 / np.sqrt(2.0) * (np.array([[1.0], [0.0], [0.0], [0.0]]) - 0.25)", "without eps"),
    ("update_moving_stats", _UMS + "    return ((1 - momentum) * moving_mean + momentum * batch_mean,\n"
                            "            (1 - momentum) * moving_var + momentum * batch_var)", "PyTorch way"),
    ("update_moving_stats", _UMS + "    return batch_mean, batch_var", "returns the batch statistics"),
    ("update_moving_stats", _UMS + "    return (momentum * moving_var + (1 - momentum) * batch_var,\n"
                            "            momentum * moving_mean + (1 - momentum) * batch_mean)", "(var, mean)"),
    ("bn_inference", _INF + "    mu, var = a.mean(axis=0), a.var(axis=0)\n"
                     "    return beta + gamma * (a - mu) / np.sqrt(var + eps)", "batch's own statistics"),
    ("bn_inference", _INF + "    return beta + gamma * (a - moving_mean) / np.sqrt(moving_var)", "without eps"),
    ("bn_inference", _INF + "    return beta + gamma * (a - moving_mean) / (np.sqrt(moving_var) + eps)",
     "outside the square root"),
    ("bn_inference", _INF + "    return gamma + beta * (a - moving_mean) / np.sqrt(moving_var + eps)", "swapped"),
    ("bn_inference", _INF + "    return (a - moving_mean) / np.sqrt(moving_var + eps)", "a_std alone"),
    ("fold_batchnorm", _FOLD + "    s = gamma / np.sqrt(moving_var + eps)\n    return W * s, b * s + beta",
     "forgets the moving mean"),
    ("fold_batchnorm", _FOLD + "    s = gamma / np.sqrt(moving_var)\n    return W * s, (b - moving_mean) * s + beta",
     "without eps"),
    ("fold_batchnorm", _FOLD + "    s = gamma / np.sqrt(moving_var + eps)\n    return W * s[:, None], "
                       "(b - moving_mean) * s + beta", "rows of W"),
    ("invariance_gap", "invariance_gap = 0.0  # BN(100 a) = BN(a)", "eps = 0"),
    ("bn_param_count", "bn_param_count = (600, 600)", "moving mean and moving variance"),
    ("bn_param_count", "bn_param_count = (1200, 1200)", "only gamma and beta are trainable"),
    ("inference_moments", "inference_moments = [0.0, np.sqrt(2 / 2.001)]  # pinned", "training mode gives"),
    ("inference_moments", "inference_moments = [0.0, 1.0]  # pinned", "exactly [0, 1]"),
    ("inference_moments", _IM + "mean, var = (1 - kept) * 2.0, kept + (1 - kept) * 8 / 3\n"
                          "out = (a - mean) / np.sqrt(var + 1e-3)\ninference_moments = [out.mean(), out.std()]",
     "divided by m - 1"),
    ("inference_moments", _IM + "mean, var = 0.01 * 2.0, 0.99 + 0.01 * 2.0\n"
                          "out = (a - mean) / np.sqrt(var + 1e-3)\ninference_moments = [out.mean(), out.std()]",
     "updates the moving statistics once"),
    ("inference_moments", _IM + "mean, var = (1 - kept) * 2.0, (1 - kept) * 2.0\n"
                          "out = (a - mean) / np.sqrt(var + 1e-3)\ninference_moments = [out.mean(), out.std()]",
     "starts at 0"),
    ("inference_moments", _IM + "mean, var = (1 - kept) * 2.0, kept + (1 - kept) * 2.0\n"
                          "out = (a - mean) / np.sqrt(var + 1e-3)\n"
                          "inference_moments = [out.mean(), out.std(ddof=1)]", "np.std's default"),
    ("torch_to_keras", _T2K + "    return (momentum * running_mean + (1 - momentum) * mu,\n"
                       "            momentum * running_var + (1 - momentum) * var)", "1 - momentum_torch"),
    ("torch_to_keras", _T2K + "    m = a.shape[0]\n    return ((1 - momentum) * running_mean + momentum * mu,\n"
                       "            (1 - momentum) * running_var + momentum * var * m / (m - 1))",
     "that is PyTorch's update"),
    ("torch_to_keras", _T2K + "    m = a.shape[0]\n    return ((1 - momentum) * running_mean + momentum * mu,\n"
                       "            (1 - momentum) * running_var * (m - 1) / m + momentum * var)", "as it is"),
    ("torch_to_keras", _T2K + "    return running_mean, running_var", "a training call updates them"),
    ("variance_shift", _VS + "    return np.full_like(var, 1 - p)", "only for a zero-mean unit"),
    ("variance_shift", _VS + "    return (var + mean**2) / (1 - p) / var - mean**2 / var", "training / inference"),
    ("variance_shift", _VS + "    return var / (var / p + mean**2 * (1 - p) / p)", "swaps p and 1 - p"),
    ("variance_shift", _VS + "    return var / ((var + mean**2) / (1 - p))", "subtract the squared mean"),
    ("variance_shift", _VS + "    return np.sqrt(var / ((var + mean**2) / (1 - p) - mean**2))",
     "ratio of the spreads"),
    ("decayed_sgd_step", _DSS + "    decay = 1 - lr * weight_decay\n"
                         "    return decay * W - lr * dW, decay * gamma - lr * dgamma, decay * beta - lr * dbeta",
     "still decays gamma and beta"),
    ("decayed_sgd_step", _DSS + "    return W - lr * dW - weight_decay * W, gamma - lr * dgamma, beta - lr * dbeta",
     "not multiplied by the learning rate"),
    ("decayed_sgd_step", _DSS + "    return W - lr * (dW - weight_decay * W), gamma - lr * dgamma, beta - lr * dbeta",
     "wrong sign"),
    ("decayed_sgd_step", _DSS + "    return W - lr * dW, gamma - lr * dgamma, beta - lr * dbeta", "no decay at all"),
    ("batch_noise", "batch_noise = 1 / np.sqrt(32)", "noise of the batch mean alone"),
    ("batch_noise", "batch_noise = np.sqrt((1 + 2.0**2) / 32)", "not u^2"),
    ("batch_noise", "batch_noise = (1 + 2.0**2 / 2) / 32", "variance, not the standard deviation"),
    ("batch_noise", "batch_noise = np.sqrt((1 + 2.0**2 / 4) / 32)", "factor kurtosis - 1 is missing"),
    ("batch_noise", "batch_noise = np.sqrt((1 + 3 * 2.0**2 / 4) / 32)", "your variance term is u^2 kurtosis / 4"),
    ("batch_noise", "batch_noise = np.sqrt((1 + 2.0**2 / 2) / 31)", "m, not m - 1"),
    ("renorm_r_d", _RRD + "    r = sigma_b / renorm_std\n    d = (mu_b - renorm_mean) / renorm_std\n    return r, d",
     "not clipped"),
    ("renorm_r_d", _RRD + "    r = np.clip(renorm_std / sigma_b, 1 / rmax, rmax)\n"
                   "    return r, np.clip((mu_b - renorm_mean) / renorm_std, -dmax, dmax)", "upside down"),
    ("renorm_r_d", _RRD + "    r = np.clip(sigma_b / renorm_std, 0, rmax)\n"
                   "    return r, np.clip((mu_b - renorm_mean) / renorm_std, -dmax, dmax)", "[1 / rmax, rmax]"),
    ("combine_moments", "def combine_moments(counts, means, variances):\n"
                        "    w = np.asarray(counts, dtype=float)[:, None] / np.sum(counts)\n"
                        "    return (w * means).sum(axis=0), (w * variances).sum(axis=0)", "BETWEEN"),
    ("combine_moments", "def combine_moments(counts, means, variances):\n"
                        "    mu = means.mean(axis=0)\n"
                        "    return mu, (variances + (means - mu) ** 2).mean(axis=0)", "equal weights"),
    ("masked_moments", "def masked_moments(a, mask):\n    m, T, c = a.shape\n"
                       "    x = np.where(mask[:, :, None], a, 0.0)\n    mu = x.sum(axis=(0, 1)) / (m * T)\n"
                       "    var = ((x - mu) ** 2).sum(axis=(0, 1)) / (m * T)\n    return mu, var",
     "padding still counts"),
    ("masked_moments", "def masked_moments(a, mask):\n    x = np.where(mask[:, :, None], a, 0.0)\n"
                       "    mu = x.sum(axis=(0, 1)) / mask.sum()\n"
                       "    return mu, ((x - mu) ** 2).sum(axis=(0, 1)) / mask.sum()", "(0 - mu)^2"),
    ("float16_mean", "float16_mean = 1.0", "numbers are 2 apart"),
    ("float16_mean", "float16_mean = 0.5", "4096"),
    ("layer_norm", "def layer_norm(a, gamma, beta, eps):\n    mu = a.mean(axis=0)\n"
                   "    return beta + gamma * (a - mu) / np.sqrt(a.var(axis=0) + eps)", "that is batch normalization"),
    ("layer_norm", _LN + "    return beta + gamma * (a - mu) / np.sqrt(a.var(axis=1, ddof=1, keepdims=True) + eps)",
     "divided by n - 1"),
    ("layer_norm", _LN + "    return beta + gamma * (a - mu) / (a.std(axis=1, keepdims=True) + eps)",
     "outside the square root"),
    ("layer_norm", _LN + "    return gamma + beta * (a - mu) / np.sqrt(a.var(axis=1, keepdims=True) + eps)",
     "swapped"),
    ("group_norm", "def group_norm(a, groups, gamma, beta, eps):\n    m, h, w, c = a.shape\n"
                   "    x = a.reshape(m, h, w, c // groups, groups)\n"
                   "    mu, var = x.mean(axis=(1, 2, 3), keepdims=True), x.var(axis=(1, 2, 3), keepdims=True)\n"
                   "    return beta + gamma * ((x - mu) / np.sqrt(var + eps)).reshape(a.shape)", "k % groups"),
    ("group_norm", _GN + "    mu, var = x.mean(axis=4, keepdims=True), x.var(axis=4, keepdims=True)\n"
                   "    return beta + gamma * ((x - mu) / np.sqrt(var + eps)).reshape(a.shape)", "ALL h*w positions"),
    ("group_norm", _GN + "    mu, var = x.mean(axis=batch, keepdims=True), x.var(axis=batch, keepdims=True)\n"
                   "    return beta + gamma * ((x - mu) / np.sqrt(var + eps)).reshape(a.shape)", "over the batch"),
    ("group_norm", _GN + "    mu, var = x.mean(example, keepdims=True), x.var(example, ddof=1, keepdims=True)\n"
                   "    return beta + gamma * ((x - mu) / np.sqrt(var + eps)).reshape(a.shape)", "ddof=0"),
    ("group_norm", _GN + "    mu, sd = x.mean(axis=example, keepdims=True), x.std(axis=example, keepdims=True)\n"
                   "    return beta + gamma * ((x - mu) / (sd + eps)).reshape(a.shape)", "outside the square root"),
]

# ---- answers that call bnlib's reference instead of answering ----
REFERENCE_CALLERS = {
    "standardize": "from bnlib import standardize as _s\n\ndef standardize(X):\n    return _s(X)[0]",
    "bn_forward": "from bnlib import batchnorm_forward\n\ndef bn_forward(a, gamma, beta, eps):\n"
                  "    return batchnorm_forward(a, gamma, beta, eps)[0]",
    "bn_backward": "import bnlib.backprop\nfrom bnlib import batchnorm_forward\n\n"
                   "def bn_backward(dout, a, gamma, eps):\n"
                   "    _, cache = batchnorm_forward(a, gamma, np.zeros_like(gamma), eps)\n"
                   "    return bnlib.backprop.batchnorm_backward(dout, cache)",
    "update_moving_stats": "from bnlib.layer import update_moving_stats as ums\n\n"
                           "def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):\n"
                           "    return ums(moving_mean, moving_var, batch_mean, batch_var, momentum)",
    "bn_inference": "import bnlib\n\ndef bn_inference(a, moving_mean, moving_var, gamma, beta, eps):\n"
                    "    return bnlib.batchnorm_inference(a, moving_mean, moving_var, gamma, beta, eps)",
    "fold_batchnorm": "from bnlib.folding import fold_batchnorm as f\n\n"
                      "def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, eps):\n"
                      "    return f(W, b, gamma, beta, moving_mean, moving_var, eps)",
    "renorm_r_d": "import bnlib\n\ndef renorm_r_d(a, renorm_mean, renorm_std, rmax, dmax, eps):\n"
                  "    n = a.shape[1]\n"
                  "    c = bnlib.batch_renorm_forward(a, np.ones(n), np.zeros(n), renorm_mean, renorm_std,\n"
                  "                                   rmax=rmax, rmin=1 / rmax, dmax=dmax, eps=eps)[1]\n"
                  "    return c.r, c.d",
    "combine_moments": "from bnlib import combine_moments as cm\n\n"
                       "def combine_moments(counts, means, variances):\n    return cm(counts, means, variances)",
    "masked_moments": "from bnlib import batchnorm_forward\n\ndef masked_moments(a, mask):\n"
                      "    ones, zeros = np.ones(a.shape[-1]), np.zeros(a.shape[-1])\n"
                      "    _, c = batchnorm_forward(a, ones, zeros, mask=mask)\n    return c.mu, c.var",
    "layer_norm": "import importlib\n\ndef layer_norm(a, gamma, beta, eps):\n"
                  "    return importlib.import_module('bnlib.alternatives').layer_norm(a, gamma, beta, eps)",
    "torch_to_keras": "import bnlib\n\ndef torch_to_keras(running_mean, running_var, momentum, a):\n"
                      "    return bnlib.update_moving_stats(running_mean, running_var, a.mean(0), a.var(0),\n"
                      "                                     1 - momentum)",
    "group_norm": "from bnlib import group_norm as gn\n\ndef group_norm(a, groups, gamma, beta, eps):\n"
                  "    return gn(a, groups, gamma, beta, eps)",
}


def answers(kind="correct", ids=None):
    """{id: source} of one kind ("correct", "alternative", "stub") for ``ids`` (default: all, in order)."""
    table = {"correct": CORRECT, "alternative": ALTERNATIVE, "stub": STUB}[kind]
    return {i: table[i] for i in (ids or EXERCISES)}


def build_submission(path, answers, *, before=(), after=(), imports=None):
    """Write a minimal submission notebook: an imports cell, then per exercise its answer and check cells.

    path:    where to write the .ipynb.
    answers: {exercise_id: source of the answer cell WITHOUT its "# ANSWER:" line}, in order.
    before:  extra code cells (sources) placed before the exercises; after: after them.
    imports: the imports cell's source (default: numpy and ``check``).
    Returns the path.
    """
    imports = imports if imports is not None else "import numpy as np\nfrom bnlib.exercises import check"
    cells = [nbformat.v4.new_code_cell(imports)]
    cells += [nbformat.v4.new_code_cell(src) for src in before]
    for exercise_id, source in answers.items():
        cells.append(nbformat.v4.new_code_cell(f"# ANSWER: {exercise_id}\n{source}"))
        cells.append(nbformat.v4.new_code_cell(check_source(exercise_id)))
    cells += [nbformat.v4.new_code_cell(src) for src in after]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path
