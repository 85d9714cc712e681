"""The lecture's opening example of what a representation is: one linear classifier (binary
logistic regression) on three representations of the same 2D points. On the raw inputs
(x1, x2, 1) it can only draw a straight line; on the quadratic features (x1², x2², x1x2, x1, x2, 1)
a circle or a hyperbola; on a code a small network learned, whatever that code made linear.

    x, y = make_data("circles", n=400, noise=0.1, seed=0)
    split = split_data(x, y, seed=0)
    fits = {name: fit_representation(name, split, seed=0) for name in FEATURES}
    fits["quadratic"].test_acc                 # held-out accuracy
    gx, gy, p = boundary_grid(fits["quadratic"], bounds(x))   # P(class 1) over the input plane
    fits["quadratic"].features(x)[:, :3]       # the three quadratic terms: circles part by a plane
    point_sentence({n: f.test_acc for n, f in fits.items()}, "circles")

Every fit is seeded and runs on one BLAS thread; the three together take well under a second on 2 cores
(benchmarks/README.md, "The representation page's redraw").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

DATASETS = ("circles", "moons", "xor", "spirals")
FEATURES = ("raw", "quadratic", "learned")
FEATURE_TITLES = {"raw": "raw inputs (x1, x2, 1)", "quadratic": "quadratic features (x1², x2², x1x2, x1, x2, 1)",
                  "learned": "learned 3-unit code (h1, h2, h3, 1)"}
# the names of each representation's columns (the intercept is the regression's own)
FEATURE_NAMES = {"raw": ("x1", "x2"), "quadratic": ("x1²", "x2²", "x1x2", "x1", "x2"),
                 "learned": ("h1", "h2", "h3")}
N_RANGE = (20, 5000)  # points: enough for a held-out part of each class, few enough to fit at once
NOISE_RANGE = (0.0, 1.0)  # the noise's standard deviation, in the units of the data (about -1.5..1.5)
TEST_SHARE = 0.3
# the learned code: a network 2 -> 32 tanh -> 3 tanh -> 2 classes, trained on the training points;
# three units so that the code can be drawn in 3D, like the quadratic terms; trained on at most
# NET_POINTS of the training points for at most NET_STEPS L-BFGS steps, so it fits in about a second
HIDDEN, CODE = 32, 3
NET_POINTS, NET_STEPS = 1000, 300


def check_data_args(name: str, n: int, noise: float) -> None:
    """Raise ValueError naming the parameter and its allowed values."""
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    if not (isinstance(n, (int, np.integer)) and N_RANGE[0] <= n <= N_RANGE[1]):
        raise ValueError(f"the number of points must be a whole number from {N_RANGE[0]:,} to {N_RANGE[1]:,}; got {n!r}")
    if not (np.isfinite(noise) and NOISE_RANGE[0] <= noise <= NOISE_RANGE[1]):
        raise ValueError(f"noise must be from {NOISE_RANGE[0]:g} to {NOISE_RANGE[1]:g}; got {noise!r}")


def _xor(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on the square [-1, 1]², class 1 where x1 and x2 have the same sign."""
    x = rng.uniform(-1, 1, (n, 2))
    return x, (x[:, 0] * x[:, 1] > 0).astype(int)


def _spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.5 turns each, radius up to 1.5 (class 1 is class 0 turned by pi)."""
    y = np.arange(n) % 2
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi  # even density along the arc
    r = 1.5 * t / (3 * np.pi)
    angle = t + np.pi * y
    return np.stack([r * np.cos(angle), r * np.sin(angle)], 1), y


def make_data(name: str, n: int = 400, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` labelled 2D points of one of DATASETS, with Gaussian noise of sd `noise` on each coordinate.

    Returns
    -------
    x : (n, 2) float64;  y : (n,) int in {0, 1}
    circles (factor 0.5) and moons are scikit-learn's; xor and spirals are drawn here.
    """
    check_data_args(name, n, noise)
    rng = np.random.default_rng(seed)
    if name == "circles":
        from sklearn.datasets import make_circles  # sklearn: heavy, only when data is drawn

        x, y = make_circles(n, factor=0.5, random_state=seed)
    elif name == "moons":
        from sklearn.datasets import make_moons  # sklearn: heavy, only when data is drawn

        x, y = make_moons(n, random_state=seed)
        x = (x - (0.5, 0.25)) * 1.2  # centred, about the other sets' size
    elif name == "xor":
        x, y = _xor(n, rng)
    else:
        x, y = _spirals(n, rng)
    x = x + rng.normal(0, noise, x.shape) if noise > 0 else x
    return np.asarray(x, np.float64), np.asarray(y, int)


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_data(x, y, seed: int = 0) -> Split:
    """TEST_SHARE of the points held out, stratified; ValueError when a class has too few points."""
    from sklearn.model_selection import train_test_split  # sklearn: heavy

    counts = np.bincount(np.asarray(y, int), minlength=2)
    if len(counts) < 2 or counts.min() < 4:
        raise ValueError(f"each class needs at least 4 points (2 to train on, 2 held out); got {counts.tolist()}")
    a, b, c, d = train_test_split(x, y, test_size=TEST_SHARE, stratify=y, random_state=seed)
    return Split(a, c, b, d)


def raw_features(x: np.ndarray) -> np.ndarray:
    """(n, 2): x1, x2 (the regression adds the 1)."""
    return np.asarray(x, np.float64)[:, :2]


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """(n, 5): x1², x2², x1x2, x1, x2 (the regression adds the 1): the lecture's quadratic map."""
    x1, x2 = np.asarray(x, np.float64)[:, 0], np.asarray(x, np.float64)[:, 1]
    return np.stack([x1 * x1, x2 * x2, x1 * x2, x1, x2], 1)


class LearnedCode:
    """The code of a small network trained to classify the points: its last hidden layer (CODE tanh
    units). `transform(x)` gives the code; the logistic regression is fitted on it afterwards."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, x, y) -> LearnedCode:
        from sklearn.exceptions import ConvergenceWarning  # sklearn: heavy
        from sklearn.neural_network import MLPClassifier

        x, y = np.asarray(x, np.float64), np.asarray(y)
        if len(x) > NET_POINTS:
            keep = np.random.default_rng(self.seed).choice(len(x), NET_POINTS, replace=False)
            x, y = x[keep], y[keep]
        # L-BFGS on the whole set, seeded; stopping at NET_STEPS is the time budget, not a failure
        self.net_ = MLPClassifier((HIDDEN, CODE), activation="tanh", solver="lbfgs", alpha=1e-3, max_iter=NET_STEPS,
                                  random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.net_.fit(x, y)
        return self

    def transform(self, x) -> np.ndarray:
        h = np.asarray(x, np.float64)
        for w, b in zip(self.net_.coefs_[:-1], self.net_.intercepts_[:-1]):
            h = np.tanh(h @ w + b)
        return h


@dataclass
class FeatureFit:
    """One representation and the logistic regression on it."""

    name: str
    features: object  # x (n, 2) -> features (n, k)
    classifier: object  # sklearn LogisticRegression on the features
    train_acc: float
    test_acc: float

    def predict(self, x) -> np.ndarray:
        return self.classifier.predict(self.features(x))

    def proba(self, x) -> np.ndarray:
        """P(class 1) of each point."""
        return self.classifier.predict_proba(self.features(x))[:, 1]


def fit_representation(name: str, split: Split, seed: int = 0) -> FeatureFit:
    """Logistic regression on representation `name` (one of FEATURES) of the training points,
    scored on the held-out ones."""
    with _one_blas_thread():
        return _fit_representation(name, split, seed)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    # the libraries scanned once, sklearn's loaded first: threadpool_limits() scans every loaded library
    # on each call, six times a setting (measured in benchmarks/README.md, "The representation page's redraw")
    import sklearn.linear_model  # noqa: F401 - sklearn: heavy; its BLAS is then loaded
    import sklearn.neural_network  # noqa: F401

    return ThreadpoolController()


def _one_blas_thread():
    """A context with one BLAS thread: on these small matrices a second one costs more than it gives,
    and on a busy machine its spin-waiting made the network's fit several times slower (benchmarks/README.md,
    "The representation page's redraw")."""
    return _blas().limit(limits=1, user_api="blas")


def _fit_representation(name: str, split: Split, seed: int) -> FeatureFit:
    from sklearn.linear_model import LogisticRegression  # sklearn: heavy

    if name == "raw":
        features = raw_features
    elif name == "quadratic":
        features = quadratic_features
    elif name == "learned":
        features = LearnedCode(seed).fit(split.x_train, split.y_train).transform
    else:
        raise ValueError(f"representation must be one of {', '.join(FEATURES)}; got {name!r}")
    # almost no penalty: the point is what a linear boundary can do in this space, not regularisation
    clf = LogisticRegression(C=1e4, max_iter=5000).fit(features(split.x_train), split.y_train)
    fit = FeatureFit(name, features, clf, 0.0, 0.0)
    fit.train_acc = float((fit.predict(split.x_train) == split.y_train).mean())
    fit.test_acc = float((fit.predict(split.x_test) == split.y_test).mean())
    return fit


def telling_pair(z, weights) -> tuple[int, int]:
    """The two of the first three columns of the features `z` (n, k) that move the regression's
    decision most, |weight| × standard deviation, in column order. Drawn in those two, the third
    (the one that matters least) along the line of sight, the plane that parts the classes in 3D
    is seen nearest to edge-on: on circles, x1² and x2², where it shows as a straight line."""
    z = np.asarray(z, np.float64)[:, :3]
    pull = np.abs(np.asarray(weights, np.float64)[: z.shape[1]]) * z.std(0)
    return tuple(sorted(int(j) for j in np.argsort(-pull, kind="stable")[:2]))


def bounds(x, margin: float = 0.15) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) around the points, `margin` of the span added on each side."""
    x = np.asarray(x, np.float64)
    lo, hi = x.min(0), x.max(0)
    pad = (hi - lo) * margin + 1e-9
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def boundary_grid(fit: FeatureFit, box, steps: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gx (steps,), gy (steps,), P(class 1) (steps, steps), row i at gy[i]) over the input plane
    `box` = (x_min, x_max, y_min, y_max): the decision boundary is its 0.5 level."""
    gx, gy = np.linspace(box[0], box[1], steps), np.linspace(box[2], box[3], steps)
    xx, yy = np.meshgrid(gx, gy)
    with _one_blas_thread():
        p = fit.proba(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(steps, steps)
    return gx, gy, p


def point_sentence(accs: dict, dataset: str) -> str:
    """The page's point in one sentence (markdown) from the held-out accuracies {representation: acc}."""
    worst, best = min(accs, key=accs.get), max(accs, key=accs.get)
    shown = ", ".join(f"{FEATURE_TITLES[n].split(' (')[0]} {accs[n]:.0%}" for n in FEATURES if n in accs)
    if accs[best] - accs[worst] < 0.05:
        return (f"On **{dataset}**, the same logistic regression does about as well on every representation "
                f"({shown} on held-out points): here the raw inputs already make the classes separable enough.")
    return (f"On **{dataset}**, the same logistic regression reaches **{accs[best]:.0%}** on the "
            f"{FEATURE_TITLES[best].split(' (')[0]} but **{accs[worst]:.0%}** on the "
            f"{FEATURE_TITLES[worst].split(' (')[0]} ({shown} on held-out points): the classifier did not "
            "change, the representation did.")
