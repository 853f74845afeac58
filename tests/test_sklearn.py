"""Tests of deltaprop.sklearn: scikit-learn's conformance suite, parity with scikit-learn's MLP,
the ecosystem (pipelines, searches, pickling, Dask), streaming with partial_fit, bad input."""

import pickle
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from deltaprop import optimizers  # noqa: E402
from deltaprop.sklearn import EXPECTED_FAILED_CHECKS, MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(autouse=True, scope="module")
def _single_blas_thread():
    # The matrices here are at most 200 x 100: BLAS threads add only synchronisation, which
    # on a loaded machine costs more than the arithmetic.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------- conformance suite
# The defaults are checked (scikit-learn's checks also build estimators from default
# parameters), plus configurations that exercise deltaprop's extras.
_CHECKED = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
    MLPClassifier(
        (8, 8), activation=["tanh", "relu"], solver="sgd", learning_rate_init=0.05, random_state=0
    ),
    MLPClassifier((16,), dtype="float32", learning_rate_init=0.01, random_state=0),
    MLPRegressor(
        hidden_layer_sizes=(16,),
        activation="tanh",
        solver="nesterov",
        learning_rate_init=0.01,
        dropout=0.1,
        l1=1e-4,
        schedule="cosine",
        random_state=0,
    ),
]


def _expected_failures(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@parametrize_with_checks(_CHECKED, expected_failed_checks=_expected_failures)
def test_sklearn_conformance(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_expected_failed_checks_is_empty():
    assert EXPECTED_FAILED_CHECKS == {"MLPClassifier": {}, "MLPRegressor": {}}


def test_import_deltaprop_does_not_import_sklearn():
    code = (
        "import sys, deltaprop, deltaprop.training, deltaprop.network; "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------- parity with sklearn
@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression2"])
@pytest.mark.parametrize(
    "solver, extra",
    [
        ("sgd", {"momentum": 0.0}),
        ("sgd", {"momentum": 0.9}),  # Nesterov, sklearn's default
        ("sgd", {"momentum": 0.9, "nesterovs_momentum": False}),
        ("adam", {"epsilon": 1e-15}),
    ],
)
def test_same_steps_as_sklearn_from_same_weights(iris, kind, solver, extra):
    # From identical weights, unshuffled batches and the same hyperparameters (alpha > 0 with
    # several batches per epoch), one more epoch must give scikit-learn's weights: this pins
    # the alpha → λ = alpha·n/m mapping, the solver mapping and the losses' gradients.
    X, y = iris
    if kind == "binary":
        y = (y == 1).astype(int)
    elif kind == "regression2":
        y = np.c_[2 * X[:, 0], X[:, 1] - X[:, 2]]
    Ours, Sk = (
        (MLPRegressor, SkMLPRegressor)
        if kind.startswith("regression")
        else (MLPClassifier, SkMLPClassifier)
    )
    params = dict(
        hidden_layer_sizes=(7,),
        activation="tanh",
        solver=solver,
        alpha=0.5,
        batch_size=30,
        learning_rate_init=0.05,
        shuffle=False,
        max_iter=3,
        **extra,
    )
    ours = _quiet(Ours(random_state=0, **params).fit, X, y)
    sk = _quiet(Sk(random_state=0, warm_start=True, **params).fit, X, y)
    sk.coefs_ = [c.copy() for c in ours.coefs_]
    sk.intercepts_ = [b.copy() for b in ours.intercepts_]
    _quiet(ours.set_params(warm_start=True).fit, X, y)
    _quiet(sk.fit, X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if kind != "regression2":
        # Same data term; the L2 term is taken with end-of-epoch weights here, per batch there.
        assert ours.loss_curve_[-1] == pytest.approx(sk.loss_curve_[-1], rel=0.01)


def test_adam_differs_from_sklearn_only_by_epsilon_placement(iris):
    # deltaprop adds ε to √v̂ (Kingma & Ba's algorithm), scikit-learn to √v: with ε = 1e-8
    # the weights still agree to a few parts in 10⁵.
    X, y = iris
    params = dict(
        hidden_layer_sizes=(7,),
        activation="tanh",
        alpha=0.5,
        batch_size=30,
        learning_rate_init=0.05,
        shuffle=False,
        max_iter=3,
    )
    ours = _quiet(MLPClassifier(random_state=0, **params).fit, X, y)
    sk = _quiet(SkMLPClassifier(random_state=0, warm_start=True, **params).fit, X, y)
    sk.coefs_ = [c.copy() for c in ours.coefs_]
    sk.intercepts_ = [b.copy() for b in ours.intercepts_]
    _quiet(ours.set_params(warm_start=True).fit, X, y)
    _quiet(sk.fit, X, y)
    diff = max(np.abs(a - b).max() for a, b in zip(ours.coefs_, sk.coefs_))
    assert 0 < diff < 1e-3


@pytest.mark.parametrize(
    "params",
    [
        dict(tol=1e9, n_iter_no_change=3),  # stops at 3 + 2
        dict(tol=1e9, n_iter_no_change=2, solver="sgd", learning_rate="adaptive"),  # η /= 5 ×5
        dict(tol=0.0, max_iter=7),  # runs to max_iter
    ],
)
def test_stopping_rule_matches_sklearn(iris, params):
    X, y = iris
    ours = _quiet(MLPClassifier((5,), random_state=0, **params).fit, X, y)
    sk = _quiet(SkMLPClassifier((5,), random_state=0, **params).fit, X, y)
    assert ours.n_iter_ == sk.n_iter_
    assert len(ours.loss_curve_) == ours.n_iter_


def test_convergence_warning_only_when_max_iter_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((5,), max_iter=50, tol=1e9, n_iter_no_change=1, random_state=0).fit(
            X, y
        )
    assert clf.n_iter_ == 3


def test_accuracy_on_digits_matches_sklearn(digits):
    X_train, X_test, y_train, y_test = digits
    params = dict(
        hidden_layer_sizes=(64,),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=1e-3,
        max_iter=30,
    )
    ours, theirs = [], []
    for seed in (0, 1):
        ours.append(
            _quiet(MLPClassifier(random_state=seed, **params).fit, X_train, y_train).score(
                X_test, y_test
            )
        )
        theirs.append(
            _quiet(SkMLPClassifier(random_state=seed, **params).fit, X_train, y_train).score(
                X_test, y_test
            )
        )
    assert np.mean(ours) > 0.92
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.03, (ours, theirs)


# ---------------------------------------------------------------------- targets and outputs
def test_binary_string_labels(iris):
    X, y = iris
    labels = np.where(y == 0, "setosa", "other")
    clf = MLPClassifier((8,), learning_rate_init=0.01, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["other", "setosa"]
    assert clf.network_.sizes[-1] == 1 and clf.out_activation_ == "logistic"
    assert clf.network_.loss.name == "binary_cross_entropy"
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= {"other", "setosa"}
    np.testing.assert_array_equal(pred, clf.classes_[np.argmax(proba, axis=1)])
    assert clf.score(X, labels) == 1.0


def test_binary_with_softmax_output_uses_two_neurons(iris):
    X, y = iris
    yb = (y == 0).astype(int)
    clf = MLPClassifier(
        (8,), output_activation="softmax", learning_rate_init=0.01, random_state=0
    ).fit(X, yb)
    assert clf.network_.sizes[-1] == 2 and clf.network_.loss.name == "cross_entropy"
    assert clf.predict_proba(X).shape == (150, 2)
    assert clf.score(X, yb) == 1.0


def test_multiclass_softmax_and_one_vs_rest_sigmoid(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    soft = MLPClassifier((16,), learning_rate_init=0.01, max_iter=300, random_state=0)
    _quiet(soft.fit, X, names)
    assert soft.out_activation_ == "softmax" and soft.n_outputs_ == 3
    assert soft.score(X, names) > 0.95
    ovr = MLPClassifier(
        (16,), output_activation="logistic", learning_rate_init=0.01, max_iter=300, random_state=0
    )
    _quiet(ovr.fit, X, names)
    assert ovr.network_.loss.name == "binary_cross_entropy"
    proba = ovr.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    raw = ovr.network_.forward(X)
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True))
    assert ovr.score(X, names) > 0.95


def test_multilabel_indicator(iris):
    X, y = iris
    Y = np.c_[y == 0, y == 2, X[:, 0] > 0].astype(int)
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=400, random_state=0)
    _quiet(clf.fit, X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.shape == (150, 3) and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (clf.predict_proba(X) > 0.5).astype(int))
    assert (pred == Y).mean() > 0.95
    with pytest.raises(ValueError, match="softmax makes the labels compete"):
        MLPClassifier(output_activation="softmax").fit(X, Y)


def test_regressor_single_and_multiple_outputs():
    X, y = make_regression(n_samples=300, n_features=5, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    reg = _quiet(
        MLPRegressor(
            hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300, random_state=0
        ).fit,
        X,
        y,
    )
    assert reg.predict(X).shape == (300, 2) and reg.score(X, y) > 0.97
    assert reg.out_activation_ == "identity" and reg.network_.loss.name == "quadratic"
    one = _quiet(
        MLPRegressor(
            hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300, random_state=0
        ).fit,
        X,
        y[:, 0],
    )
    assert one.predict(X).shape == (300,) and one.score(X, y[:, 0]) > 0.97


def test_regressor_mse_loss_and_output_activation():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    y = 1 / (1 + np.exp(-3 * X[:, 0] * X[:, 1]))
    reg = _quiet(
        MLPRegressor(
            loss="mse",
            hidden_layer_sizes=(16,),
            activation="tanh",
            output_activation="sigmoid",
            learning_rate_init=0.02,
            max_iter=300,
            random_state=0,
        ).fit,
        X,
        y,
    )
    assert reg.network_.loss.name == "mse" and reg.out_activation_ == "logistic"
    assert ((reg.predict(X) > 0) & (reg.predict(X) < 1)).all()
    assert reg.score(X, y) > 0.8


def test_coefs_layout_is_sklearns(iris):
    X, y = iris
    clf = _quiet(MLPClassifier((6, 4), activation="tanh", max_iter=5, random_state=0).fit, X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 6), (6, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(6,), (4,), (3,)]
    for c, W in zip(clf.coefs_, clf.network_.weights):
        np.testing.assert_array_equal(c, W.T)
    # scikit-learn's forward pass, written with its layout: a = act(a @ coef + intercept).
    a = X
    for c, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        a = np.tanh(a @ c + b)
    z = a @ clf.coefs_[-1] + clf.intercepts_[-1]
    soft = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        clf.predict_proba(X), soft / soft.sum(axis=1, keepdims=True), rtol=1e-12
    )
    assert clf.n_layers_ == 4 and clf.n_features_in_ == 4
    # Writing through coefs_ changes the network.
    clf.coefs_[0][0, 0] = 123.0
    assert clf.network_.weights[0][0, 0] == 123.0
    new = [np.zeros_like(c) for c in clf.coefs_]
    clf.coefs_ = new
    assert all(not W.any() for W in clf.network_.weights)


def test_float32(iris):
    X, y = iris
    clf = _quiet(MLPClassifier((8,), max_iter=20, random_state=0).fit, X.astype(np.float32), y)
    assert clf.network_.dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    clf64 = _quiet(MLPClassifier((8,), max_iter=20, random_state=0).fit, X, y)
    assert clf64.network_.dtype == np.float64
    forced = _quiet(MLPClassifier((8,), dtype="float32", max_iter=20, random_state=0).fit, X, y)
    assert forced.network_.dtype == np.float32


def test_deltaprop_extras_reach_the_network(iris):
    X, y = iris
    clf = MLPClassifier(
        (6, 5),
        activation=["leaky_relu", "logistic"],
        init="glorot_normal",
        solver="momentum",
        momentum=0.5,
        dropout=[0.1, 0.0],
        l1=1e-3,
        schedule={"name": "step", "every": 2, "factor": 0.5},
        max_iter=4,
        learning_rate_init=0.1,
        random_state=0,
    )
    _quiet(clf.fit, X, y)
    names = [a.name for a in clf.network_.layer_activations]
    assert names == ["leaky_relu", "sigmoid", "softmax"]
    assert isinstance(clf._optimizer, optimizers.Momentum)
    assert not isinstance(clf._optimizer, optimizers.Nesterov)
    assert clf._optimizer.momentum == 0.5
    assert clf.network_.training_config["dropout"] == [0.1, 0.0]
    # The step schedule (every 2 epochs, factor 0.5) ran epochs 3 and 4 with η₀/2.
    assert clf._optimizer.lr == pytest.approx(0.05)
    assert clf.network_.training_config["l1"] == pytest.approx(1e-3 * 150 / 150)


def test_solver_mapping():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    kinds = {}
    for solver, extra in [
        ("adam", {}),
        ("sgd", {}),
        ("sgd", {"nesterovs_momentum": False}),
        ("sgd", {"momentum": 0.0}),
        ("nesterov", {}),
        ("momentum", {}),
    ]:
        clf = _quiet(
            MLPClassifier((3,), solver=solver, max_iter=1, random_state=0, **extra).fit, X, y
        )
        kinds[(solver, tuple(extra.items()))] = type(clf._optimizer)
    assert kinds[("adam", ())] is optimizers.Adam
    assert kinds[("sgd", ())] is optimizers.Nesterov
    assert kinds[("sgd", (("nesterovs_momentum", False),))] is optimizers.Momentum
    assert kinds[("sgd", (("momentum", 0.0),))] is optimizers.SGD
    assert kinds[("nesterov", ())] is optimizers.Nesterov
    assert kinds[("momentum", ())] is optimizers.Momentum


def test_invscaling_learning_rate(iris):
    X, y = iris
    clf = _quiet(
        MLPClassifier(
            (5,),
            solver="sgd",
            learning_rate="invscaling",
            power_t=0.5,
            learning_rate_init=0.1,
            max_iter=3,
            random_state=0,
        ).fit,
        X,
        y,
    )
    # After epoch 2 (t = 300 samples seen) the third epoch ran with η₀ / (300 + 1)^0.5.
    assert clf._optimizer.lr == pytest.approx(0.1 / 301**0.5)


def test_diagnostics(iris):
    pytest.importorskip("deltaprop.diagnostics")
    X, y = iris
    clf = _quiet(
        MLPClassifier(
            (5,), activation="logistic", diagnostics=True, max_iter=4, random_state=0
        ).fit,
        X,
        y,
    )
    assert [r["epoch"] for r in clf.diagnostics_] == [1, 2, 3, 4]
    assert len(clf.diagnostics_[0]["grad_w_norm"]) == 2
    assert clf.diagnostics_[0]["saturated"][0] is not None


def test_verbose_prints_the_loss(iris, capsys):
    X, y = iris
    _quiet(MLPClassifier((5,), verbose=True, max_iter=2, random_state=0).fit, X, y)
    out = capsys.readouterr().out
    assert re.search(r"Iteration 1, loss = \d+\.\d{8}", out) and "Iteration 2" in out


# ---------------------------------------------------------------------- training behaviour
def test_early_stopping_restores_best_validation_weights(digits):
    X, _, y, _ = digits
    clf = MLPClassifier(
        (32,),
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.2,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    )
    _quiet(clf.fit, X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ < 100
    # The held-out split is train_test_split's, seeded by the first draw of random_state.
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    _, X_val, _, y_val = train_test_split(X, y, random_state=seed, test_size=0.2, stratify=y)
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)


def test_warm_start_continues(iris):
    X, y = iris
    clf = _quiet(MLPClassifier((8,), warm_start=True, max_iter=5, random_state=0).fit, X, y)
    first = list(clf.loss_curve_)
    before = clf.network_.get_flat()
    _quiet(clf.fit, X, y)
    assert len(clf.loss_curve_) == 10 and clf.n_iter_ == 5
    assert clf.loss_curve_[5] < first[0]
    assert not np.array_equal(before, clf.network_.get_flat())
    with pytest.raises(ValueError, match="warm_start=True needs y with the classes"):
        clf.fit(X[y < 2], y[y < 2])
    cold = _quiet(MLPClassifier((8,), max_iter=5, random_state=0).fit, X, y)
    _quiet(cold.fit, X, y)
    assert cold.loss_curve_ == first  # without warm_start, fit starts afresh


def test_partial_fit_matches_one_epoch_of_fit(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(6,), shuffle=False, random_state=0)
    a = MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    a.partial_fit(X, y)
    b = _quiet(MLPClassifier(max_iter=2, **params).fit, X, y)
    np.testing.assert_allclose(a.network_.get_flat(), b.network_.get_flat(), rtol=1e-12)
    assert a.t_ == 300 and a.n_iter_ == 1 and len(a.loss_curve_) == 2


def test_partial_fit_classes(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier((4,), random_state=0).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2] and clf.n_outputs_ == 3
    with pytest.raises(ValueError, match=r"y has classes \[7\]"):
        clf.partial_fit(X[:2], [0, 7])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    # A first call that fails leaves nothing behind: the next first call needs classes again.
    fresh = MLPClassifier((4,))
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fresh.partial_fit(Xb, y, classes=[0, 1, 2])
    assert not hasattr(fresh, "classes_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    with pytest.raises(ValueError, match="classes must be passed"):
        fresh.partial_fit(X, y)


def _memmap_digits(tmp_path, X, y):
    path = tmp_path / "digits_X.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    return np.memmap(path, dtype=np.float32, mode="r", shape=X.shape), y


def test_partial_fit_on_memmap_chunks(tmp_path, digits):
    X_train, X_test, y_train, y_test = digits
    Xm, ym = _memmap_digits(tmp_path, X_train, y_train)
    clf = MLPClassifier((64,), learning_rate_init=0.01, random_state=0)
    classes = np.arange(10)
    for _ in range(8):
        for start in range(0, Xm.shape[0], 256):
            clf.partial_fit(Xm[start : start + 256], ym[start : start + 256], classes=classes)
    full = _quiet(
        MLPClassifier((64,), learning_rate_init=0.01, max_iter=8, random_state=0).fit,
        X_train,
        y_train,
    )
    streamed, whole = clf.score(X_test, y_test), full.score(X_test, y_test)
    assert clf.network_.dtype == np.float32 and clf.t_ == 8 * Xm.shape[0]
    assert streamed > 0.93 and abs(streamed - whole) < 0.03, (streamed, whole)


def test_partial_fit_on_dask_array_blocks(digits):
    da = pytest.importorskip("dask.array")
    X_train, X_test, y_train, y_test = digits
    Xd = da.from_array(X_train, chunks=(300, -1))
    yd = da.from_array(y_train, chunks=300)
    assert Xd.numblocks[0] > 3
    classes = np.unique(y_train)
    clf = MLPClassifier((64,), learning_rate_init=0.01, random_state=0)
    for _ in range(8):
        for i in range(Xd.numblocks[0]):
            Xb, yb = Xd.blocks[i].compute(), yd.blocks[i].compute()
            clf.partial_fit(Xb, yb, classes=classes)
    full = _quiet(
        MLPClassifier((64,), learning_rate_init=0.01, max_iter=8, random_state=0).fit,
        X_train,
        y_train,
    )
    streamed, whole = clf.score(X_test, y_test), full.score(X_test, y_test)
    assert streamed > 0.93 and abs(streamed - whole) < 0.03, (streamed, whole)


def test_regressor_partial_fit():
    X, y = make_regression(n_samples=400, n_features=4, noise=0.1, random_state=1)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    for _ in range(60):
        for start in range(0, 400, 100):
            reg.partial_fit(X[start : start + 100], y[start : start + 100])
    assert reg.score(X, y) > 0.95


# ---------------------------------------------------------------------- ecosystem
def test_pipeline_with_standard_scaler(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=20, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    _quiet(pipe.fit, X_train * 16, y_train)
    assert pipe.score(X_test * 16, y_test) > 0.93
    scaler = StandardScaler().fit(X_train * 16)
    alone = _quiet(clone(clf).fit, scaler.transform(X_train * 16), y_train)
    np.testing.assert_array_equal(
        pipe.predict_proba(X_test * 16), alone.predict_proba(scaler.transform(X_test * 16))
    )


def test_grid_and_randomized_search(iris):
    X, y = iris
    base = MLPClassifier((8,), max_iter=40, learning_rate_init=0.01, random_state=0)
    grid = GridSearchCV(base, {"alpha": [1e-4, 1e-1], "activation": ["relu", "tanh"]}, cv=3)
    _quiet(grid.fit, X, y)
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ > 0.85
    assert isinstance(grid.best_estimator_, MLPClassifier)
    rand = RandomizedSearchCV(
        base,
        {"hidden_layer_sizes": [(4,), (8,), (16,)], "learning_rate_init": [0.003, 0.01, 0.03]},
        n_iter=3,
        cv=3,
        random_state=0,
    )
    _quiet(rand.fit, X, y)
    assert len(rand.cv_results_["params"]) == 3 and rand.best_score_ > 0.85


def test_cross_val_score_and_clone(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=60, learning_rate_init=0.01, random_state=0)
    scores = _quiet(cross_val_score, clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    _quiet(clf.fit, X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "network_")
    _quiet(twin.fit, X, y)
    np.testing.assert_array_equal(twin.network_.get_flat(), clf.network_.get_flat())


def test_pickle_round_trip_keeps_predictions_and_training_state(iris):
    X, y = iris
    clf = MLPClassifier((8,), random_state=0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.loss_curve_ == clf.loss_curve_
    # The copy's weights are still the network's parameters: training it moves its
    # predictions exactly as it moves the original's (same optimizer state and generator).
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.coefs_[0], clf.coefs_[0])
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.network_.weights[0].base is copy.network_.parameters


@pytest.mark.slow
def test_grid_search_on_dask_local_cluster(iris):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    X, y = iris
    search = GridSearchCV(
        MLPClassifier((8,), max_iter=30, learning_rate_init=0.01, random_state=0),
        {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(4,), (8,)]},
        cv=3,
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_backend("dask"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        ran_on = client.run(lambda: True)
    assert len(ran_on) == 2
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.8
    # The same search run locally gives the same scores: the cluster changed where, not what.
    local = _quiet(clone(search).fit, X, y)
    np.testing.assert_allclose(
        local.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_bad_input_messages(Est, iris):
    X, y = iris
    est = Est(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.predict(X)
    for bad, what in [(np.nan, "NaN"), (np.inf, "infinity")]:
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match=f"Input X contains {what}"):
            est.fit(Xb, y)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="requires y to be passed"):
        est.fit(X, None)
    _quiet(est.fit, X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        est.predict(X[0])
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(Xb)


def test_signatures_follow_sklearn():
    import inspect

    for ours, theirs in [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)]:
        mine = inspect.signature(ours).parameters
        sk = inspect.signature(theirs).parameters
        # The same leading positional parameters, and every shared parameter's default.
        positional = [n for n, p in sk.items() if p.kind == p.POSITIONAL_OR_KEYWORD]
        assert [n for n, p in mine.items() if p.kind == p.POSITIONAL_OR_KEYWORD] == positional
        shared = set(mine) & set(sk)
        assert set(sk) - shared <= {"max_fun"}  # L-BFGS only
        for name in shared:
            assert mine[name].default == sk[name].default or name == "loss", name


def test_unknown_loss_lists_the_choices(iris):
    X, y = iris
    with pytest.raises(
        ValueError,
        match="loss='poisson' is unknown; expected one of: 'squared_error', 'binary_cross_entropy'",
    ):
        MLPRegressor(loss="poisson").fit(X, y)
    with pytest.raises(ValueError, match="loss='hinge' is unknown; expected one of: 'log_loss'"):
        MLPClassifier(loss="hinge").fit(X, y)


def test_classifier_rejects_continuous_targets(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, 150))


def test_unfitted_attributes_raise_attribute_error():
    clf = MLPClassifier()
    for attr in ("coefs_", "intercepts_", "n_layers_", "out_activation_"):
        with pytest.raises(AttributeError, match="before fit"):
            getattr(clf, attr)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "lbfgs"}, "L-BFGS is not available"),
        ({"solver": "rmsprop"}, "solver='rmsprop' is invalid"),
        ({"hidden_layer_sizes": (10, 0)}, r"has 0 at position 1; expected positive integers"),
        ({"hidden_layer_sizes": "big"}, "hidden_layer_sizes='big' is invalid"),
        ({"activation": "swoosh"}, "activation='swoosh' is unknown"),
        ({"activation": ["relu", "tanh"]}, "activation has 2 names but hidden_layer_sizes has 1"),
        ({"alpha": -1.0}, r"alpha=-1.0 is invalid; expected a number in \[0, inf\)"),
        ({"alpha": np.inf}, r"alpha=inf is invalid"),
        ({"learning_rate_init": 0.0}, r"learning_rate_init=0.0 is invalid"),
        ({"momentum": 1.0}, r"momentum=1.0 is invalid; expected a number in \[0, 1\)"),
        ({"batch_size": 0}, "batch_size=0 is invalid; expected 'auto' or an integer >= 1"),
        ({"max_iter": 0}, "max_iter=0 is invalid"),
        ({"learning_rate": "fast"}, "learning_rate='fast' is invalid"),
        (
            {"early_stopping": True, "validation_fraction": 1.0},
            "validation_fraction=1.0 is invalid",
        ),
        ({"dropout": [0.1, 0.2]}, "dropout has 2 rates but hidden_layer_sizes has 1"),
        ({"dtype": "float16"}, "dtype='float16' is invalid"),
        ({"output_activation": "tanh"}, "invalid for a classifier"),
        ({"schedule": "sometimes"}, "schedule='sometimes' is unknown"),
    ],
)
def test_invalid_parameters_are_named(iris, params, match):
    X, y = iris
    clf = MLPClassifier(**params)  # constructing never validates (sklearn's rule)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_batch_size_larger_than_data_warns(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="batch_size=500 is larger than the 150 training"):
        _quiet(MLPClassifier((4,), batch_size=500, max_iter=2).fit, X, y)


def test_too_small_validation_split():
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match="leaves 1 validation samples out of 10"):
        MLPClassifier(early_stopping=True).fit(X, y)


@pytest.mark.parametrize("bias", [False, "shared", ["shared", True]], ids=str)
def test_intercepts_of_a_network_with_shared_or_absent_biases_give_the_same_outputs(bias):
    from deltaprop import Network

    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    net = Network([3, 4, 1], activation="tanh", output_activation="identity", seed=0, bias=bias)
    for b in net.biases:
        b[...] = 0.5
    est.network_ = net
    assert [b.shape for b in est.intercepts_] == [(4,), (1,)]
    a = X
    for C, b, act in zip(est.coefs_, est.intercepts_, net.layer_activations):
        a = act.forward(a @ C + b)  # scikit-learn's y = x C + b
    np.testing.assert_allclose(a, net.predict_proba(X), rtol=0, atol=1e-12)
