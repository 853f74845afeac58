"""Network: the matrix path of BP1–BP4 against the textbook's per-sample loop, the shapes and
contents of what backprop returns, writable parameters, float32, initialisers, numerical
stability, and the errors raised for bad input."""

import zlib

import numpy as np
import pytest

import deltaprop
from conftest import HIDDEN, OUTPUTS, PAIRS, PROBABILITY_OUTPUTS
from deltaprop import Network
from deltaprop import init as dinit
from deltaprop.activations import ACTIVATIONS


# --------------------------------------------------------------------------- the book's loop
# Functions of z (column vectors), their derivatives from z, and the costs: written from the
# definitions, independently of deltaprop.
def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


REF_F = {
    "identity": lambda z: z,
    "sigmoid": _logistic,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "swish": lambda z: z * _logistic(z),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(),
}
REF_FPRIME = {
    "identity": lambda z: np.ones_like(z),
    "sigmoid": lambda z: _logistic(z) * (1 - _logistic(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0) * 1.0,
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
    "swish": lambda z: _logistic(z) + z * _logistic(z) * (1 - _logistic(z)),
    "softplus": _logistic,
}
REF_COST = {
    "quadratic": lambda a, y: 0.5 * np.sum((y - a) ** 2),
    "mse": lambda a, y: np.mean((a - y) ** 2),
    "binary_cross_entropy": lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)),
    "cross_entropy": lambda a, y: -np.sum(y * np.log(a)),
}
REF_GRAD_A = {
    "quadratic": lambda a, y: a - y,
    "mse": lambda a, y: 2 * (a - y) / a.shape[0],
    "binary_cross_entropy": lambda a, y: (a - y) / (a * (1 - a)),
    "cross_entropy": lambda a, y: -y / a,
}


def book_backprop(weights, biases, acts, loss, x, y):
    """One sample, as the textbook's network.py does it: x, y are column vectors (n, 1).

    Returns (C_x, nabla_w, nabla_b, deltas) with deltas[l] the column δ^{l+1}.
    """
    activation = x
    activations = [x]
    zs = []
    for W, b, name in zip(weights, biases, acts):
        z = np.dot(W, activation) + b.reshape(-1, 1)
        zs.append(z)
        activation = REF_F[name](z)
        activations.append(activation)
    a = activations[-1]
    grad_a = REF_GRAD_A[loss](a, y)
    if acts[-1] == "softmax":
        # BP1 with the full Jacobian J_ij = ∂a_i/∂z_j = a_i(δ_ij − a_j): δ = Jᵀ ∇_a C
        J = np.diag(a[:, 0]) - np.dot(a, a.T)
        delta = np.dot(J.T, grad_a)
    else:
        delta = grad_a * REF_FPRIME[acts[-1]](zs[-1])  # BP1
    L = len(weights)
    nabla_w = [None] * L
    nabla_b = [None] * L
    deltas = [None] * L
    deltas[-1] = delta
    nabla_b[-1] = delta  # BP3
    nabla_w[-1] = np.dot(delta, activations[-2].T)  # BP4
    for l in range(2, L + 1):
        delta = np.dot(weights[-l + 1].T, delta) * REF_FPRIME[acts[-l]](zs[-l])  # BP2
        deltas[-l] = delta
        nabla_b[-l] = delta
        nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
    return REF_COST[loss](a, y), nabla_w, nabla_b, deltas


def book_batch(net, acts, loss, X, Y):
    """The book's loop over a mini-batch, gradients and costs averaged."""
    Ws = [w.copy() for w in net.weights]
    bs = [b.copy() for b in net.biases]
    m = len(X)
    cost = 0.0
    sum_w = [np.zeros_like(w) for w in Ws]
    sum_b = [np.zeros((b.size, 1)) for b in bs]
    deltas = [np.zeros((m, b.size)) for b in bs]
    for i in range(m):
        c, nw, nb, ds = book_backprop(Ws, bs, acts, loss, X[i].reshape(-1, 1), Y[i].reshape(-1, 1))
        cost += c
        sum_w = [s + n for s, n in zip(sum_w, nw)]
        sum_b = [s + n for s, n in zip(sum_b, nb)]
        for l, d in enumerate(ds):
            deltas[l][i] = d[:, 0]
    return cost / m, [s / m for s in sum_w], [s[:, 0] / m for s in sum_b], deltas


def targets(loss, rng, m, n):
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, (m, n))
    if loss == "cross_entropy":
        return np.eye(n)[rng.integers(0, n, m)]
    return rng.normal(size=(m, n))


def assert_agree(actual, reference, tol=1e-12):
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(actual, reference, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("output, loss", PAIRS, ids=[f"{o}-{l}" for o, l in PAIRS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_matrix_path_matches_per_sample_loop(hidden, output, loss):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}{output}{loss}".encode()))
    net = Network(
        [4, 5, 3, 3],
        activation=hidden,
        output_activation=output,
        loss=loss,
        init="scaled_normal",
        seed=rng,
    )
    X = rng.normal(size=(6, 4))
    Y = targets(loss, rng, 6, 3)
    g = net.backprop(X, Y)
    cost, dW, db, deltas = book_batch(net, [hidden, hidden, output], loss, X, Y)
    assert_agree(g.cost, cost)
    for l in range(3):
        assert_agree(g.weights[l], dW[l])
        assert_agree(g.biases[l], db[l])
        assert_agree(g.deltas[l], deltas[l])


@pytest.mark.parametrize("m", [1, 2, 9])
def test_per_sample_loop_with_mixed_layers(m):
    rng = np.random.default_rng(m)
    acts = ["swish", "tanh", "softplus", "softmax"]
    net = Network(
        [3, 6, 5, 4, 3],
        activation=acts[:3],
        output_activation="softmax",
        loss="quadratic",
        init="scaled_normal",
        seed=rng,
    )
    X = rng.normal(size=(m, 3))
    Y = rng.normal(size=(m, 3))
    g = net.backprop(X, Y)
    cost, dW, db, deltas = book_batch(net, acts, "quadratic", X, Y)
    assert_agree(g.cost, cost)
    for l in range(4):
        assert_agree(g.weights[l], dW[l])
        assert_agree(g.biases[l], db[l])
        assert_agree(g.deltas[l], deltas[l])


def test_softmax_quadratic_uses_the_full_jacobian():
    net = Network([2, 3], activation="softmax", loss="quadratic")
    net.weights[0] = [[1.0, -2.0], [0.5, 0.3], [-1.0, 2.0]]
    net.biases[0] = [0.1, 0.2, -0.3]
    x = np.array([[0.7, -0.4]])
    y = np.array([[1.0, 0.0, 0.0]])
    g = net.backprop(x, y)
    a = g.activations[-1][0]
    J = np.diag(a) - np.outer(a, a)
    np.testing.assert_allclose(g.deltas[-1][0], J @ (a - y[0]), rtol=1e-14, atol=1e-16)
    diagonal = (a - y[0]) * a * (1 - a)
    assert np.abs(g.deltas[-1][0] - diagonal).max() > 1e-2


def test_deltas_are_per_sample_before_the_mean():
    rng = np.random.default_rng(0)
    net = Network(
        [3, 4, 2],
        activation="tanh",
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        seed=1,
    )
    X = rng.normal(size=(5, 3))
    Y = rng.uniform(0, 1, (5, 2))
    g = net.backprop(X, Y)
    for i in range(5):
        gi = net.backprop(X[i], Y[i])
        for l in range(2):
            np.testing.assert_allclose(g.deltas[l][i], gi.deltas[l][0], rtol=1e-14, atol=1e-16)
    # BP3 and BP4 are means over the batch of the per-sample quantities
    for l in range(2):
        np.testing.assert_allclose(g.biases[l], g.deltas[l].mean(axis=0), rtol=1e-14)
        np.testing.assert_allclose(g.weights[l], g.deltas[l].T @ g.activations[l] / 5, rtol=1e-14)


# --------------------------------------------------------------------------- forward and results
def test_forward_matches_manual_computation():
    rng = np.random.default_rng(3)
    net = Network([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=2)
    X = rng.normal(size=(5, 3))
    X_before = X.copy()
    W1, b1, W2, b2 = net.weights[0], net.biases[0], net.weights[1], net.biases[1]
    expected = 1 / (1 + np.exp(-(np.tanh(X @ W1.T + b1) @ W2.T + b2)))
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-14)
    np.testing.assert_allclose(net.feedforward(X), expected, rtol=1e-14)
    np.testing.assert_array_equal(X, X_before)
    # one sample of shape (n_0,) gives shape (n_L,)
    single = net.forward(X[2])
    assert single.shape == (2,)
    np.testing.assert_allclose(single, expected[2], rtol=1e-14)
    # lists work as well as arrays
    np.testing.assert_allclose(net.forward(X.tolist()), expected, rtol=1e-14)


def test_backprop_result_shapes_and_contents():
    rng = np.random.default_rng(4)
    net = Network([3, 5, 4, 2], activation="relu", output_activation="identity", seed=0)
    X = rng.normal(size=(7, 3))
    Y = rng.normal(size=(7, 2))
    g = net.backprop(X, Y)
    assert isinstance(g, deltaprop.Gradients)
    assert [w.shape for w in g.weights] == [(5, 3), (4, 5), (2, 4)]
    assert [b.shape for b in g.biases] == [(5,), (4,), (2,)]
    assert [d.shape for d in g.deltas] == [(7, 5), (7, 4), (7, 2)]
    assert [z.shape for z in g.zs] == [(7, 5), (7, 4), (7, 2)]
    assert [a.shape for a in g.activations] == [(7, 3), (7, 5), (7, 4), (7, 2)]
    np.testing.assert_array_equal(g.activations[0], X)
    np.testing.assert_allclose(g.activations[-1], net.forward(X), rtol=1e-15)
    np.testing.assert_allclose(g.activations[1], np.maximum(g.zs[0], 0))
    np.testing.assert_allclose(
        g.zs[1], g.activations[1] @ net.weights[1].T + net.biases[1], rtol=1e-14
    )
    # cost is the batch mean of ½‖y − a‖²
    expected_cost = np.mean(0.5 * ((Y - net.forward(X)) ** 2).sum(axis=1))
    assert isinstance(g.cost, float)
    assert g.cost == pytest.approx(expected_cost, rel=1e-14)
    assert net.cost(X, Y) == pytest.approx(expected_cost, rel=1e-14)
    # identity output with quadratic cost: δ^L = a − y
    np.testing.assert_allclose(g.deltas[-1], net.forward(X) - Y, rtol=1e-14)
    # never unpacks: the book's ``nabla_b, nabla_w = ...`` would get them swapped
    with pytest.raises(TypeError, match=r"cannot be unpacked.*g\.weights.*g\.biases"):
        nabla_b, nabla_w = g


def test_class_labels_equal_one_hot_rows():
    rng = np.random.default_rng(5)
    net = Network(
        [3, 4, 3], activation="tanh", output_activation="softmax", loss="cross_entropy", seed=0
    )
    X = rng.normal(size=(6, 3))
    labels = np.array([0, 2, 1, 2, 0, 1])
    onehot = np.eye(3)[labels]
    a, b = net.backprop(X, labels), net.backprop(X, onehot)
    assert a.cost == b.cost
    for l in range(2):
        np.testing.assert_array_equal(a.weights[l], b.weights[l])
    # float labels with integral values and label lists are accepted too
    assert net.cost(X, labels.astype(float)) == b.cost
    assert net.cost(X, labels.tolist()) == b.cost
    # a single sample with its label
    assert net.cost(X[1], [2]) == pytest.approx(-np.log(net.forward(X[1])[2]), rel=1e-14)


def test_single_output_network_takes_flat_targets():
    rng = np.random.default_rng(6)
    net = Network([2, 3, 1], activation="tanh", output_activation="identity", seed=0)
    X = rng.normal(size=(4, 2))
    y = rng.normal(size=4)
    assert net.cost(X, y) == pytest.approx(net.cost(X, y.reshape(4, 1)), rel=1e-15)


def test_predict():
    net = Network([2, 3], activation="identity")
    net.weights[0] = [[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]
    net.biases[0] = [0.0, 0.0, -5.0]
    # z = (3, 0.5, 2), (0, 2, −1), (4, 4, 11)
    np.testing.assert_array_equal(net.predict([[3.0, 0.5], [0.0, 2.0], [4.0, 4.0]]), [0, 1, 2])
    binary = Network([1, 1], activation="sigmoid")
    binary.weights[0] = [[1.0]]
    binary.biases[0] = [0.0]
    np.testing.assert_array_equal(binary.predict([[-2.0], [0.5], [3.0]]), [0, 1, 1])


# --------------------------------------------------------------------------- parameters
def test_in_place_writes_change_forward():
    net = Network([2, 2, 1], activation="identity", seed=0)
    x = np.array([[1.0, 2.0]])
    net.weights[0][...] = [[1.0, 0.0], [0.0, 1.0]]
    net.biases[0][:] = 0.0
    net.weights[1][...] = [[1.0, 1.0]]
    net.biases[1][...] = 0.5
    assert net.forward(x)[0, 0] == pytest.approx(3.5, abs=1e-15)  # 1 + 2 + 0.5
    net.weights[0][1, 0] = 10.0  # w_21^1
    assert net.forward(x)[0, 0] == pytest.approx(13.5, abs=1e-15)  # 1 + (10 + 2) + 0.5


def test_item_assignment_changes_forward():
    net = Network([2, 2, 1], activation="identity", seed=0)
    x = np.array([[1.0, 2.0]])
    net.weights[0] = [[2.0, 0.0], [0.0, 3.0]]
    net.biases[0] = np.array([1.0, -1.0])
    net.weights[1] = np.array([[1.0, -1.0]])
    net.biases[1] = [0.25]
    # hidden: (2·1 + 1, 3·2 − 1) = (3, 5); output: 3 − 5 + 0.25
    assert net.forward(x)[0, 0] == pytest.approx(-1.75, abs=1e-15)
    # the whole list at once
    net.weights = [np.eye(2), [[1.0, 1.0]]]
    net.biases = [[0.0, 0.0], [0.0]]
    assert net.forward(x)[0, 0] == pytest.approx(3.0, abs=1e-15)
    # item assignment copies: later changes to the source do not leak in
    W = np.eye(2)
    net.weights[0] = W
    W[0, 0] = 100.0
    assert net.weights[0][0, 0] == 1.0


def test_parameters_are_views_of_one_flat_vector():
    net = Network([3, 4, 2], seed=0)
    flat = net.get_flat()
    assert flat.size == net.num_parameters == 3 * 4 + 4 * 2 + 4 + 2
    np.testing.assert_array_equal(flat[:12], net.weights[0].ravel())
    np.testing.assert_array_equal(flat[12:20], net.weights[1].ravel())
    np.testing.assert_array_equal(flat[20:24], net.biases[0])
    np.testing.assert_array_equal(flat[24:], net.biases[1])
    net.set_flat(np.arange(26.0))
    np.testing.assert_array_equal(net.weights[1], np.arange(12.0, 20.0).reshape(2, 4))
    np.testing.assert_array_equal(net.biases[1], [24.0, 25.0])
    # get_flat returns a copy
    f = net.get_flat()
    f[:] = 0
    assert net.weights[0][0, 1] == 1.0


def test_gradient_step_through_the_views():
    rng = np.random.default_rng(7)
    net = Network([3, 4, 2], activation="sigmoid", seed=0)
    X, Y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    before = [w.copy() for w in net.weights]
    g = net.backprop(X, Y)
    for l in range(2):
        net.weights[l] -= 0.5 * g.weights[l]
        net.biases[l] -= 0.5 * g.biases[l]
    for l in range(2):
        np.testing.assert_allclose(net.weights[l], before[l] - 0.5 * g.weights[l], rtol=1e-15)
    assert net.cost(X, Y) < g.cost


def test_copy_is_independent():
    net = Network([2, 3, 1], seed=0)
    other = net.copy()
    x = np.array([[0.3, -0.2]])
    np.testing.assert_array_equal(other.forward(x), net.forward(x))
    other.weights[0][...] = 0.0
    assert not np.array_equal(other.forward(x), net.forward(x))
    assert np.abs(net.weights[0]).max() > 0


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("output, loss", PAIRS, ids=[f"{o}-{l}" for o, l in PAIRS])
def test_float32_network(output, loss):
    rng = np.random.default_rng(8)
    net32 = Network(
        [3, 4, 3], activation="tanh", output_activation=output, loss=loss, dtype="float32", seed=3
    )
    net64 = Network(
        [3, 4, 3], activation="tanh", output_activation=output, loss=loss, dtype="float64", seed=3
    )
    assert net32.dtype == np.float32 and net32.weights[0].dtype == np.float32
    # same draws, rounded to float32
    np.testing.assert_array_equal(net32.get_flat(), net64.get_flat().astype(np.float32))
    net64.set_flat(net32.get_flat().astype(np.float64))
    X = rng.normal(size=(5, 3))  # float64 input is cast
    Y = targets(loss, rng, 5, 3)
    out = net32.forward(X)
    assert out.dtype == np.float32
    g32, g64 = net32.backprop(X, Y), net64.backprop(X, Y)
    for arr in (*g32.weights, *g32.biases, *g32.deltas, *g32.zs, *g32.activations):
        assert arr.dtype == np.float32
    assert isinstance(g32.cost, float)
    assert g32.cost == pytest.approx(g64.cost, rel=1e-5)
    for a, b in zip([*g32.weights, *g32.biases], [*g64.weights, *g64.biases]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_float32_with_labels_and_single_sample():
    net = Network(
        [2, 3, 3],
        activation="relu",
        output_activation="softmax",
        loss="cross_entropy",
        dtype="float32",
        seed=0,
    )
    g = net.backprop(np.array([0.5, -0.5]), [1])
    assert g.deltas[-1].dtype == np.float32 and g.deltas[-1].shape == (1, 3)
    assert net.forward([0.5, -0.5]).dtype == np.float32


# --------------------------------------------------------------------------- initialisers
EXPECTED_VARIANCE = {
    # name: (weight variance as a function of (n_out, n_in), bias variance)
    "normal": (lambda o, i: 1.0, 1.0),
    "scaled_normal": (lambda o, i: 1.0 / i, 1.0),
    "glorot_uniform": (lambda o, i: 2.0 / (i + o), 0.0),
    "glorot_normal": (lambda o, i: 2.0 / (i + o), 0.0),
    "he_normal": (lambda o, i: 2.0 / i, 0.0),
    "he": (lambda o, i: 2.0 / i, 0.0),
    "he_uniform": (lambda o, i: 2.0 / i, 0.0),
}


def test_every_initialiser_has_an_expected_variance():
    assert set(EXPECTED_VARIANCE) == set(dinit.INITIALIZERS)


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANCE))
def test_initialiser_variance(name):
    n_out, n_in = 500, 300
    W, b = np.empty((n_out, n_in)), np.empty(n_out)
    dinit.get(name)(np.random.default_rng(0), W, b)
    w_var, b_var = EXPECTED_VARIANCE[name]
    expected = w_var(n_out, n_in)
    # 150 000 draws: the sample variance is within 1% of the true one with overwhelming probability
    assert W.var() == pytest.approx(expected, rel=0.03)
    assert abs(W.mean()) < 5 * np.sqrt(expected / W.size)
    if b_var == 0.0:
        np.testing.assert_array_equal(b, 0.0)
    else:
        assert b.var() == pytest.approx(b_var, rel=0.25)
    if name.endswith("uniform"):
        bound = np.sqrt(3 * expected)  # U(−r, r) has variance r²/3
        assert np.abs(W).max() <= bound
        assert np.abs(W).max() > 0.99 * bound


@pytest.mark.parametrize(
    "alias, name",
    [
        ("xavier", "glorot_uniform"),
        ("xavier_normal", "glorot_normal"),
        ("lecun", "scaled_normal"),
        ("book", "normal"),
    ],
)
def test_initialiser_aliases(alias, name):
    assert dinit.get(alias) is dinit.get(name)


def test_initialisers_reproducible_from_seed():
    for name in dinit.INITIALIZERS:
        W1, b1, W2, b2 = np.empty((4, 3)), np.empty(4), np.empty((4, 3)), np.empty(4)
        dinit.get(name)(np.random.default_rng(42), W1, b1)
        dinit.get(name)(np.random.default_rng(42), W2, b2)
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)
    a = Network([5, 7, 3], seed=11)
    b = Network([5, 7, 3], seed=11)
    c = Network([5, 7, 3], seed=12)
    np.testing.assert_array_equal(a.get_flat(), b.get_flat())
    assert not np.array_equal(a.get_flat(), c.get_flat())
    d = Network([5, 7, 3], seed=np.random.default_rng(11))
    e = Network([5, 7, 3], seed=np.random.default_rng(11))
    np.testing.assert_array_equal(d.get_flat(), e.get_flat())


def test_network_init_choices():
    # "auto": He normal for ReLU-like layers, Glorot uniform otherwise
    net = Network([400, 300, 200], activation="relu", output_activation="sigmoid", seed=0)
    assert net.weights[0].var() == pytest.approx(2 / 400, rel=0.03)
    assert net.weights[1].var() == pytest.approx(2 / 500, rel=0.03)
    assert np.abs(net.weights[1]).max() <= np.sqrt(6 / 500)
    np.testing.assert_array_equal(net.biases[0], 0.0)
    book = Network([400, 300], init="normal", seed=0)
    assert book.weights[0].var() == pytest.approx(1.0, rel=0.03)
    assert book.biases[0].var() == pytest.approx(1.0, rel=0.25)
    scaled = Network([400, 300], init="scaled_normal", seed=0)
    assert scaled.weights[0].var() == pytest.approx(1 / 400, rel=0.03)
    # a callable initialiser is used as is
    net = Network([2, 3], init=lambda rng, W, b: (W.fill(0.5), b.fill(-1.0)))
    np.testing.assert_array_equal(net.weights[0], 0.5)
    np.testing.assert_array_equal(net.biases[0], -1.0)


def test_unknown_initialiser_lists_names():
    with pytest.raises(
        ValueError,
        match=r"init='glorious' is unknown; expected one of: .*glorot_uniform.*he_normal",
    ):
        Network([2, 3], init="glorious")


# --------------------------------------------------------------------------- architecture
def test_architecture_and_repr():
    net = Network(
        [4, 6, 5, 3], activation=["relu", "tanh"], output_activation="softmax", loss="cross_entropy"
    )
    assert net.sizes == [4, 6, 5, 3] and net.num_layers == 3
    assert [a.name for a in net.layer_activations] == ["relu", "tanh", "softmax"]
    assert [w.shape for w in net.weights] == [(6, 4), (5, 6), (3, 5)]
    assert [b.shape for b in net.biases] == [(6,), (5,), (3,)]
    assert "cross_entropy" in repr(net) and "softmax" in repr(net)
    default = Network([2, 3, 1], activation="tanh")
    assert [a.name for a in default.layer_activations] == ["tanh", "tanh"]
    assert default.loss.name == "quadratic"
    assert Network([2, 2]).layer_activations[0].name == "sigmoid"
    assert Network(np.array([2, 3, 1])).sizes == [2, 3, 1]


# --------------------------------------------------------------------------- stability
@pytest.mark.parametrize("output, loss", PAIRS, ids=[f"{o}-{l}" for o, l in PAIRS])
def test_huge_weighted_inputs_give_finite_results_without_warnings(output, loss, strict_numerics):
    # z^1 has entries ±1e3 and ±700; z^2 then reaches 1e3 as well
    net = Network([2, 3, 3], activation="tanh", output_activation=output, loss=loss)
    net.weights[0] = [[1e3, -1e3], [-1e3, 1e3], [700.0, -700.0]]
    net.biases[0] = [0.0, 0.0, 0.0]
    net.weights[1] = [[500.0, -500.0, 0.0], [-500.0, 500.0, 0.0], [0.0, 0.0, 0.0]]
    net.biases[1] = [0.0, 0.0, 0.0]
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    Y = (
        np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        if loss != "quadratic"
        else np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.5]])
    )
    with strict_numerics():
        g = net.backprop(X, Y)
        out = net.forward(X)
        cost = net.cost(X, Y)
        proba = net.predict_proba(X)
    assert np.abs(g.zs[-1]).max() == pytest.approx(1e3)
    assert np.isfinite(g.cost) and np.isfinite(cost) and cost == pytest.approx(g.cost)
    assert np.isfinite(out).all() and np.isfinite(proba).all()
    for arr in (*g.weights, *g.biases, *g.deltas):
        assert np.isfinite(arr).all()


@pytest.mark.parametrize("hidden", HIDDEN)
def test_huge_hidden_inputs_without_warnings(hidden, strict_numerics):
    net = Network([1, 4, 2], activation=hidden, output_activation="softmax", loss="cross_entropy")
    net.weights[0] = [[1e3], [-1e3], [800.0], [-710.0]]
    net.biases[0] = [0.0, 0.0, 0.0, 0.0]
    net.weights[1] = np.full((2, 4), 1e-3)
    net.biases[1] = [0.0, 0.0]
    X = np.array([[1.0], [-1.0]])
    with strict_numerics():
        g = net.backprop(X, [0, 1])
    assert np.isfinite(g.cost)
    for arr in (*g.weights, *g.biases, *g.deltas, *g.activations):
        assert np.isfinite(arr).all()


def test_fused_costs_exact_for_saturated_outputs(strict_numerics):
    # sigmoid output, z = 1000 against target 0: C_x = ln(1 + e^{1000}) = 1000 (to rounding)
    net = Network([1, 1], activation="sigmoid", loss="binary_cross_entropy")
    net.weights[0] = [[1.0]]
    net.biases[0] = [0.0]
    with strict_numerics():
        g = net.backprop([[1e3], [-1e3]], [[0.0], [0.0]])
    assert g.cost == pytest.approx(500.0, rel=1e-15)  # (1000 + 0) / 2
    np.testing.assert_array_equal(g.deltas[0], [[1.0], [0.0]])  # a − y
    # softmax output, logits (1000, 0) against class 1: C_x = 1000
    net = Network([1, 2], activation="softmax", loss="cross_entropy")
    net.weights[0] = [[1.0], [0.0]]
    net.biases[0] = [0.0, 0.0]
    with strict_numerics():
        g = net.backprop([[1e3]], [1])
    assert g.cost == pytest.approx(1000.0, rel=1e-15)
    np.testing.assert_array_equal(g.deltas[0], [[1.0, -1.0]])


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def net():
    return Network([4, 3, 2], activation="tanh", output_activation="sigmoid", seed=0)


X_OK = np.zeros((3, 4))
Y_OK = np.zeros((3, 2))


def test_wrong_input_width(net):
    with pytest.raises(
        ValueError,
        match=r"X has 5 columns \(features\) but the network's input layer has 4 neurons",
    ):
        net.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="X has 3 columns"):
        net.backprop(np.zeros((3, 3)), Y_OK)
    with pytest.raises(ValueError, match="X has 2 columns"):
        net.forward(np.zeros(2))


def test_wrong_number_of_dimensions(net):
    with pytest.raises(
        ValueError, match=r"X has shape \(2, 3, 4\) \(3-D\); expected a 1-D or 2-D array"
    ):
        net.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 4\)\)"):
        net.forward(np.zeros((0, 4)))


def test_y_rows_differ_from_x_rows(net):
    with pytest.raises(
        ValueError, match=r"Y has shape \(2, 2\); expected \(3, 2\) to match 3 samples"
    ):
        net.backprop(X_OK, np.zeros((2, 2)))


def test_wrong_y_width(net):
    with pytest.raises(
        ValueError,
        match=r"Y has shape \(3, 5\); expected \(3, 2\) to match 3 samples and the output "
        r"layer's 2 neurons",
    ):
        net.backprop(X_OK, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"Y has shape \(3, 5\); expected \(3, 2\)"):
        net.cost(X_OK, np.zeros((3, 5)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x(net, bad):
    X = X_OK.copy()
    X[1, 2] = bad
    with pytest.raises(
        ValueError, match=rf"X contains {bad} at index \(1, 2\); expected finite numbers"
    ):
        net.forward(X)
    with pytest.raises(ValueError, match=rf"X contains {bad} at index \(1, 2\)"):
        net.backprop(X, Y_OK)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_y(net, bad):
    Y = np.full((3, 2), 0.5)
    Y[2, 0] = bad
    with pytest.raises(
        ValueError, match=rf"Y contains {bad} at index \(2, 0\); expected finite numbers"
    ):
        net.backprop(X_OK, Y)


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (np.array([["a", "b", "c", "d"]]), r"X has dtype <U1 .*expected an array of real numbers"),
        (
            np.array([[1, None, 2, 3]], dtype=object),
            r"X has dtype object .*expected an array of real numbers",
        ),
        (np.ones((1, 4), dtype=complex), r"X has complex dtype complex128; expected real numbers"),
        (np.ones((1, 4), dtype=bool), r"X has boolean dtype; expected numbers"),
        (None, r"X is None; expected an array of numbers"),
    ],
)
def test_non_numeric_x(net, bad, pattern):
    with pytest.raises(TypeError, match=pattern):
        net.forward(bad)


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (np.array([["a", "b"]] * 3), r"Y has dtype <U1 .*expected an array of real numbers"),
        (np.ones((3, 2), dtype=complex), r"Y has complex dtype"),
        (np.ones((3, 2), dtype=bool), r"Y has boolean dtype"),
    ],
)
def test_non_numeric_y(net, bad, pattern):
    with pytest.raises(TypeError, match=pattern):
        net.backprop(X_OK, bad)


def test_ragged_input(net):
    with pytest.raises(ValueError, match="X could not be read as a numeric array"):
        net.forward([[1.0, 2.0, 3.0, 4.0], [1.0]])


def test_unknown_activation_lists_valid_names():
    with pytest.raises(
        ValueError,
        match=r"activation='sigmoidal' is unknown; expected one of: identity, leaky_relu, .*tanh",
    ) as info:
        Network([2, 3, 1], activation="sigmoidal")
    for name in ACTIVATIONS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="activation='rleu' is unknown"):
        Network([2, 3, 1], activation="relu", output_activation="rleu")


def test_unknown_loss_lists_valid_names():
    with pytest.raises(
        ValueError,
        match=r"loss='hinge' is unknown; expected one of: binary_cross_entropy, cross_entropy, "
        r"mse, quadratic",
    ):
        Network([2, 3, 1], loss="hinge")


@pytest.mark.parametrize(
    "sizes, error, pattern",
    [
        ([5], ValueError, r"sizes=\[5\] has 1 entries; expected at least 2"),
        ([], ValueError, r"sizes=\[\] has 0 entries; expected at least 2"),
        ([3, 0, 2], ValueError, r"sizes\[1\]=0 is invalid; expected an integer >= 1"),
        ([3, -4, 2], ValueError, r"sizes\[1\]=-4 is invalid; expected an integer >= 1"),
        ([3, 4, 2.5], ValueError, r"sizes\[2\]=2.5 is invalid; expected an integer >= 1"),
        ([3, "4", 2], ValueError, r"sizes\[1\]='4' is invalid; expected an integer >= 1"),
        ([True, 2], ValueError, r"sizes\[0\]=True is invalid; expected an integer >= 1"),
        (7, TypeError, r"sizes=7 is invalid; expected a list of layer widths"),
        ("784,30,10", TypeError, r"sizes='784,30,10' is invalid; expected a list of layer widths"),
    ],
)
def test_bad_sizes(sizes, error, pattern):
    with pytest.raises(error, match=pattern):
        Network(sizes)


def test_softmax_on_a_hidden_layer():
    with pytest.raises(
        ValueError,
        match=r"activation 'softmax' on hidden layer 1 is not allowed; .*output layer only",
    ):
        Network([3, 4, 2], activation="softmax")
    with pytest.raises(ValueError, match=r"activation 'softmax' on hidden layer 2 is not allowed"):
        Network([3, 4, 4, 2], activation=["relu", "softmax"], output_activation="softmax")


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
@pytest.mark.parametrize("output", sorted(set(OUTPUTS) - PROBABILITY_OUTPUTS))
def test_cross_entropy_needs_probability_outputs(loss, output):
    with pytest.raises(
        ValueError,
        match=rf"loss='{loss}' needs outputs in \(0.0, 1.0\) but output_activation='{output}'"
        r".*expected output_activation 'sigmoid' or 'softmax'",
    ):
        Network([3, 4, 2], activation="relu", output_activation=output, loss=loss)


@pytest.mark.parametrize("output", sorted(PROBABILITY_OUTPUTS))
@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_cross_entropy_accepts_probability_outputs(output, loss):
    assert (
        Network([3, 4, 2], activation="relu", output_activation=output, loss=loss).loss.name == loss
    )


def test_activation_list_length_and_output():
    with pytest.raises(
        ValueError, match="activation is a list of 1 names but the network has 2 hidden layers"
    ):
        Network([3, 4, 4, 2], activation=["relu"], output_activation="identity")
    with pytest.raises(ValueError, match="output_activation is required when activation is a list"):
        Network([3, 4, 2], activation=["relu"])


@pytest.mark.parametrize("dtype", ["float16", "int32", "complex128", "half-precision"])
def test_unsupported_dtype(dtype):
    with pytest.raises(
        ValueError, match=rf"dtype='{dtype}' is not supported; expected 'float32' or 'float64'"
    ):
        Network([2, 2], dtype=dtype)


def test_class_labels_out_of_range():
    net = Network([2, 3], activation="softmax", loss="cross_entropy", seed=0)
    X = np.zeros((3, 2))
    with pytest.raises(
        ValueError,
        match=r"Y contains class label 3 but the output layer has 3 neurons; expected labels "
        r"in \[0, 2\]",
    ):
        net.backprop(X, [0, 3, 1])
    with pytest.raises(
        ValueError, match=r"Y contains class label -1 but the output layer has 3 neurons"
    ):
        net.cost(X, [0, -1, 1])
    with pytest.raises(
        ValueError, match=r"Y contains 1.5; expected integer class labels in \[0, 2\]"
    ):
        net.backprop(X, [0, 1.5, 1])


def test_targets_outside_the_loss_domain():
    bce = Network([2, 2], activation="sigmoid", loss="binary_cross_entropy", seed=0)
    with pytest.raises(
        ValueError, match=r"Y contains 1.2; binary_cross_entropy expects targets in \[0, 1\]"
    ):
        bce.backprop(np.zeros((2, 2)), [[0.0, 1.2], [1.0, 0.0]])
    ce = Network([2, 2], activation="softmax", loss="cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"Y contains -1.0; cross_entropy expects targets >= 0"):
        ce.backprop(np.zeros((2, 2)), [[2.0, -1.0], [1.0, 0.0]])


def test_wrong_shaped_parameter_assignment(net):
    before = net.get_flat()
    with pytest.raises(ValueError, match=r"weights\[0\] has shape \(4, 3\); expected \(3, 4\)"):
        net.weights[0] = np.zeros((4, 3))
    with pytest.raises(
        ValueError, match=r"weights\[1\] has shape \(6,\) \(1-D\); expected a 2-D array"
    ):
        net.weights[1] = np.zeros(6)
    with pytest.raises(ValueError, match=r"biases\[0\] has shape \(4,\); expected \(3,\)"):
        net.biases[0] = np.zeros(4)
    with pytest.raises(ValueError, match=r"weights\[0\] contains nan at index \(0, 0\)"):
        net.weights[0] = np.full((3, 4), np.nan)
    with pytest.raises(TypeError, match=r"weights\[0\] has dtype <U1"):
        net.weights[0] = np.full((3, 4), "x")
    with pytest.raises(ValueError, match="weights has 1 arrays; expected 2"):
        net.weights = [np.zeros((3, 4))]
    with pytest.raises(TypeError, match="cannot be assigned by slice"):
        net.weights[0:1] = [np.zeros((3, 4))]
    with pytest.raises(ValueError, match=r"theta has 5 entries; expected 23"):
        net.set_flat(np.zeros(5))
    np.testing.assert_array_equal(net.get_flat(), before)


# ---------------------------------------------------------------------- the predicted-label rule
@pytest.mark.parametrize("output", ["tanh", "identity", "sigmoid", "relu", "leaky_relu"])
def test_one_output_labels_are_the_same_in_predict_evaluate_and_predicted_labels(output):
    # One rule: a single output predicts class 1 where a ≥ 0.5 (the midpoint of the labels 0
    # and 1). Checked against a threshold written here, for outputs on both sides of 0 and 0.5.
    rng = np.random.default_rng(3)
    net = Network([2, 4, 1], activation="tanh", output_activation=output, loss="quadratic", seed=2)
    X = rng.normal(size=(200, 2)) * 3
    a = net.predict_proba(X)[:, 0]
    expected = (a >= 0.5).astype(int)
    np.testing.assert_array_equal(net.predicted_labels(a[:, None]), expected)
    y = rng.integers(0, 2, size=200)
    _, acc = net.evaluate(X, y)
    assert acc == pytest.approx(np.mean(expected == y))
    if net.is_classifier:
        np.testing.assert_array_equal(net.predict(X), expected)
    else:
        np.testing.assert_allclose(net.predict(X), a)


def test_tanh_output_between_zero_and_half_counts_as_class_zero():
    # a = 0.3 is below the midpoint 0.5 of the labels: class 0 (a threshold at 0 said class 1).
    net = Network([1, 1], activation="tanh", loss="quadratic")
    net.weights[0][...] = 0.0
    net.biases[0][...] = np.arctanh(0.3)
    assert net.predicted_labels(net.predict_proba([[1.0]])) == 0
    assert net.evaluate([[1.0]], [0])[1] == 1.0
    assert net.evaluate([[1.0]], [1])[1] == 0.0
