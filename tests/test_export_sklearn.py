"""Weights in from scikit-learn: from_sklearn's network computes the estimator's
predict_proba and predict, with coefs_ transposed into the textbook's W."""

import warnings

import numpy as np
import pytest

from deltaprop import DeltapropError, DeltapropTypeError, Network

neural_network = pytest.importorskip("sklearn.neural_network")
MLPClassifier, MLPRegressor = neural_network.MLPClassifier, neural_network.MLPRegressor

TOL = {"float32": 1e-6, "float64": 1e-12}


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few iterations are enough
        return est.fit(X, y)


def _data(dtype, n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(dtype)
    return X, np.argmax(X[:, :n_classes] + 0.3 * rng.normal(size=(120, n_classes)), axis=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_a_classifier_computes_the_estimators_outputs(activation, n_classes, dtype):
    X, y = _data(dtype, n_classes)
    est = _fit(MLPClassifier((6, 5), activation=activation, max_iter=30, random_state=0), X, y)
    net = Network.from_sklearn(est)
    assert net.sizes == [4, 6, 5, 1 if n_classes == 2 else 3]
    assert net.dtype == est.coefs_[0].dtype
    np.testing.assert_array_equal(net.weights[0], est.coefs_[0].T)
    p, a = est.predict_proba(X), net.predict_proba(X)
    expected = p[:, 1:] if n_classes == 2 else p
    np.testing.assert_allclose(a, expected, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_array_equal(est.classes_[net.predict(X)], est.predict(X))
    loss = "binary_cross_entropy" if n_classes == 2 else "cross_entropy"
    assert net.loss.name == loss


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_a_regressor_computes_the_estimators_outputs(activation, n_out):
    X, _ = _data("float64", 2)
    y = X[:, :n_out] * 2.0 + 1.0
    y = y[:, 0] if n_out == 1 else y
    est = _fit(MLPRegressor(hidden_layer_sizes=(7,), activation=activation, max_iter=30,
                            random_state=0), X, y)  # fmt: skip
    net = Network.from_sklearn(est)
    assert not net.is_classifier or n_out > 1
    assert net.layer_activations[-1].name == "identity" and net.loss.name == "quadratic"
    out = net.predict(X) if n_out == 1 else net.predict_proba(X)
    np.testing.assert_allclose(out, est.predict(X), rtol=1e-12, atol=1e-12)


def test_an_unfitted_estimator_is_refused():
    with pytest.raises(DeltapropTypeError, match="has no coefs_, intercepts_, out_activation_"):
        Network.from_sklearn(MLPClassifier())


def test_an_output_without_deltaprop_form_is_refused_by_name():
    X, _ = _data("float64", 2)
    est = _fit(
        MLPRegressor(loss="poisson", hidden_layer_sizes=(3,), max_iter=5), X, np.exp(X[:, 0])
    )
    with pytest.raises(DeltapropError, match="out_activation_='exp' has no deltaprop form"):
        Network.from_sklearn(est)


def test_a_deltaprop_estimator_gives_a_copy_of_its_network():
    from deltaprop.sklearn import MLPClassifier as DeltapropMLP

    X, y = _data("float64", 3)
    est = _fit(DeltapropMLP((5,), max_iter=3, random_state=0), X, y)
    net = Network.from_sklearn(est)
    assert net is not est.network_
    np.testing.assert_array_equal(net.predict_proba(X), est.network_.predict_proba(X))
