"""deltaprop.book against the book's own per-sample code (tests/book_original).

With the same ``np.random.seed`` and ``random.seed`` both start from identical parameters and
shuffle identically; deltaprop.book then sends each mini-batch through the engine as one matrix,
so parameters agree to rounding (~1e-15 per step) and the printed lines match.
"""

import contextlib
import copy
import io
import json
import pickle
import random
import re
from pathlib import Path

import numpy as np
import pytest

from book_original import network as original
from book_original import network2 as original2
from deltaprop import DeltapropError
from deltaprop import datasets as ds
from deltaprop.book import mnist_loader, network, network2

# Where the shared MNIST copy lives, as tests/test_datasets.py looks for it.
REPO = Path(__file__).resolve().parents[1]
SHARED_CANDIDATES = [
    Path("/work/shared/datasets/mnist"),
    REPO.parent / "shared" / "datasets" / "mnist",
]


def _shared_mnist_dir():
    for d in SHARED_CANDIDATES:
        if all((d / (spec.name + ".gz")).is_file() for spec in ds.MNIST_FILES.values()):
            return d
    return None


@pytest.fixture(scope="module")
def mnist():
    d = _shared_mnist_dir()
    if d is None:
        pytest.skip("the shared MNIST copy is absent")
    return mnist_loader.load_data_wrapper(d, download=False)


# ----------------------------------------------------------------------------- helpers


def _pair(seed, sizes=(4, 5, 3)):
    """The book's network and deltaprop.book's, made after the same np.random.seed."""
    np.random.seed(seed)
    ref = original.Network(list(sizes))
    np.random.seed(seed)
    mine = network.Network(list(sizes))
    return ref, mine


def _toy(seed, n, n_in=4, n_out=3, labels=False):
    """n pairs of a (n_in, 1) column and a one-hot (n_out, 1) column (or an integer label)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in, 1))
    digits = rng.integers(0, n_out, size=n)
    if labels:
        return [(x, int(d)) for x, d in zip(X, digits)]
    return [(x, np.eye(n_out)[:, [d]]) for x, d in zip(X, digits)]


def _max_diff(a, b):
    return max(np.abs(p - q).max() for p, q in zip(a.weights + a.biases, b.weights + b.biases))


def _run(fn, *args, **kwargs):
    """(fn's return value, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


def _train_both(ref, mine, seed, data, *args, **kwargs):
    """SGD on both with the same random.seed; ((result, printed) of each, the two lists)."""
    data_ref, data_mine = list(data), list(data)
    random.seed(seed)
    r = _run(ref.SGD, data_ref, *args, **kwargs)
    random.seed(seed)
    m = _run(mine.SGD, data_mine, *args, **kwargs)
    return r, m, data_ref, data_mine


_NUMBER = re.compile(r"\d+\.\d+(e-?\d+)?")


def _rounded(text):
    """Printed text with every decimal number rounded to 9 significant digits."""
    return _NUMBER.sub(lambda m: f"{float(m.group()):.9g}", text)


# ----------------------------------------------------------------------------- chapter 1


def test_the_constructor_draws_the_books_parameters():
    ref, mine = _pair(7, (6, 4, 5, 2))
    assert mine.num_layers == 4 == ref.num_layers  # the input layer counts, as in the book
    assert mine.sizes == [6, 4, 5, 2]
    assert [w.shape for w in mine.weights] == [(4, 6), (5, 4), (2, 5)]
    assert [b.shape for b in mine.biases] == [(4, 1), (5, 1), (2, 1)]
    for p, q in zip(ref.weights + ref.biases, mine.weights + mine.biases):
        np.testing.assert_array_equal(p, q)
    # exactly the book's draws: the stream goes on from the same place
    np.random.seed(7)
    original.Network([6, 4, 5, 2])
    after_book = np.random.randn()
    np.random.seed(7)
    network.Network([6, 4, 5, 2])
    assert np.random.randn() == after_book


def test_backprop_returns_the_books_nabla_b_nabla_w():
    ref, mine = _pair(3)
    x, y = _toy(0, 1)[0]
    nabla_b, nabla_w = mine.backprop(x, y)  # the book's line, in the book's order
    ref_b, ref_w = ref.backprop(x, y)
    assert [b.shape for b in nabla_b] == [(5, 1), (3, 1)]
    assert [w.shape for w in nabla_w] == [(5, 4), (3, 5)]
    for p, q in zip(ref_b + ref_w, nabla_b + nabla_w):
        np.testing.assert_allclose(q, p, rtol=1e-13, atol=1e-16)


def test_one_mini_batch_is_the_books_step():
    ref, mine = _pair(4)
    batch = _toy(1, 10)
    ref.update_mini_batch(batch, 3.0)
    mine.update_mini_batch(batch, 3.0)
    assert _max_diff(ref, mine) < 1e-14


@pytest.mark.parametrize("n, batch", [(60, 10), (57, 10), (23, 1), (9, 20)])
def test_sgd_follows_the_book_epoch_by_epoch(n, batch):
    ref, mine = _pair(5)
    data, test = _toy(2, n), _toy(3, 40, labels=True)
    (r, r_out), (m, m_out), data_ref, data_mine = _train_both(
        ref, mine, 11, data, 4, batch, 3.0, test_data=test
    )
    assert r is None and m is None
    assert m_out == r_out and len(m_out.splitlines()) == 4
    assert re.fullmatch(r"(Epoch \d: \d+ / 40\n){4}", m_out)
    assert _max_diff(ref, mine) < 1e-12
    # the caller's list is shuffled in place, as the book's random.shuffle does
    assert [id(p) for p in data_mine] == [id(p) for p in data_ref]


def test_sgd_without_test_data_prints_epoch_complete():
    ref, mine = _pair(6)
    (_, r_out), (_, m_out), _, _ = _train_both(ref, mine, 1, _toy(4, 30), 2, 7, 1.5)
    assert m_out == r_out == "Epoch 0 complete\nEpoch 1 complete\n"


def test_python3_zip_objects_are_accepted_as_the_book_data():
    ref, mine = _pair(8)
    data = _toy(5, 20)
    test = _toy(6, 10, labels=True)
    random.seed(2)
    _run(ref.SGD, list(data), 2, 5, 2.0, test_data=list(test))
    random.seed(2)
    _, printed = _run(mine.SGD, zip(*zip(*data)), 2, 5, 2.0, test_data=zip(*zip(*test)))
    assert printed.count("/ 10") == 2 and _max_diff(ref, mine) < 1e-13


def test_feedforward_and_evaluate_are_the_books():
    ref, mine = _pair(9)
    test = _toy(7, 50, labels=True)
    x = test[0][0]
    np.testing.assert_allclose(mine.feedforward(x), ref.feedforward(x), rtol=1e-14)
    assert mine.feedforward(x).shape == (3, 1)
    many = np.hstack([x for x, _ in test[:5]])  # columns, as np.dot(w, a) + b broadcasts them
    np.testing.assert_allclose(mine.feedforward(many), ref.feedforward(many), rtol=1e-14)
    assert mine.evaluate(test) == ref.evaluate(test)
    assert isinstance(mine.evaluate(test), int) and mine.evaluate([]) == 0
    np.testing.assert_array_equal(mine.cost_derivative(np.ones((3, 1)), np.zeros((3, 1))), 1.0)
    z = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(network.sigmoid(z), original.sigmoid(z))
    np.testing.assert_array_equal(network.sigmoid_prime(z), original.sigmoid_prime(z))


def test_weights_and_biases_stay_the_networks_parameters():
    _, mine = _pair(10)
    x = _toy(8, 1)[0][0]
    before = mine.feedforward(x)
    mine.weights[1][0, 0] += 1.0  # in place
    assert not np.allclose(mine.feedforward(x), before)
    # the book's style: whole lists replaced
    mine.weights = [np.zeros_like(w) for w in mine.weights]
    mine.biases = [np.full(b.shape, 2.0) for b in mine.biases]
    np.testing.assert_allclose(mine.feedforward(x), network.sigmoid(np.full((3, 1), 2.0)))
    mine.biases[1] = np.zeros((3, 1))  # one item
    np.testing.assert_allclose(mine.feedforward(x), np.full((3, 1), 0.5))
    # training changes what the lists show, and a kept reference too
    kept = mine.weights[0]
    mine.update_mini_batch(_toy(9, 5), 1.0)
    assert kept is mine.weights[0] and np.abs(mine.biases[1]).max() > 0


def test_copies_and_pickles_keep_their_lists_bound_to_their_own_parameters():
    _, mine = _pair(15)
    twin, thawed = copy.deepcopy(mine), pickle.loads(pickle.dumps(mine))
    batch = _toy(12, 8)
    before = [w.copy() for w in mine.weights]
    for other in (twin, thawed):
        other.update_mini_batch(batch, 2.0)
        assert np.abs(other.weights[0] - before[0]).max() > 0  # its lists show its training
        assert not np.shares_memory(other.weights[0], mine.weights[0])
    for p, q in zip(mine.weights, before):
        np.testing.assert_array_equal(p, q)  # the original is untouched
    mine.update_mini_batch(batch, 2.0)
    assert _max_diff(mine, twin) == 0.0 and _max_diff(mine, thawed) == 0.0


@pytest.mark.parametrize(
    "assign, message",
    [
        (lambda n: setattr(n, "weights", [np.zeros((5, 4))]), r"weights has 1 arrays; expected 2"),
        (lambda n: n.weights.__setitem__(0, np.zeros((4, 5))), r"weights\[0\] has shape \(4, 5\); expected \(5, 4\)"),  # noqa: E501
        (lambda n: n.biases.__setitem__(1, np.zeros((2, 1))), r"biases\[1\] has shape \(2, 1\); expected \(3, 1\)"),  # noqa: E501
        (lambda n: n.weights.__setitem__(slice(0, 1), []), r"cannot be assigned by slice"),
    ],
)  # fmt: skip
def test_wrong_shapes_are_refused(assign, message):
    _, mine = _pair(11)
    with pytest.raises(DeltapropError, match=message):
        assign(mine)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda n: n.feedforward(np.zeros((5, 1))), r"a has shape \(5, 1\); expected \(4, 1\)"),
        (lambda n: n.backprop(np.zeros(4), np.zeros((3, 1))), r"x of shape \(4,\) .*\(4, 1\)"),
        (lambda n: n.update_mini_batch([(np.zeros((4, 1)), 3)], 1.0), r"mini_batch\[0\]: y has shape \(\); expected \(3, 1\)"),  # noqa: E501
        (lambda n: n.update_mini_batch([], 1.0), r"mini_batch is empty"),
        (lambda n: n.evaluate([(np.zeros((4, 1)), np.zeros((3, 1)))]), r"integer labels"),
        (lambda n: n.SGD([], 1, 0, 1.0), r"mini_batch_size=0 is invalid"),
    ],
)  # fmt: skip
def test_misuse_gets_a_clear_message(call, message):
    _, mine = _pair(12)
    with pytest.raises(DeltapropError, match=message):
        call(mine)


def test_a_subclass_with_its_own_backprop_gets_the_books_loop():
    calls = []

    class Halved(network.Network):
        def backprop(self, x, y):
            calls.append(1)
            nabla_b, nabla_w = super().backprop(x, y)
            return [b / 2 for b in nabla_b], [w / 2 for w in nabla_w]

    np.random.seed(13)
    ref = original.Network([4, 5, 3])
    np.random.seed(13)
    mine = Halved([4, 5, 3])
    batch = _toy(10, 6)
    ref.update_mini_batch(batch, 1.5)  # η/2 with the full gradient = η with the halved one
    mine.update_mini_batch(batch, 3.0)
    assert len(calls) == 6 and _max_diff(ref, mine) < 1e-14


def test_a_subclass_with_its_own_feedforward_is_evaluated_with_it():
    class Reversed(network.Network):
        def feedforward(self, a):
            return 1.0 - super().feedforward(a)  # the smallest output wins

    np.random.seed(14)
    mine = Reversed([4, 5, 3])
    plain = network.Network([4, 5, 3])
    plain.weights, plain.biases = mine.weights, mine.biases
    # labelled with the plain network's own answers: it scores 30, the reversed one 0
    test = [(x, int(np.argmax(plain.feedforward(x)))) for x, _ in _toy(11, 30, labels=True)]
    assert plain.evaluate(test) == 30
    assert mine.evaluate(test) == 0


# ----------------------------------------------------------------------------- chapter 3


def _pair2(seed, sizes=(4, 6, 10), cost_ref=None, cost_mine=None, large=False):
    np.random.seed(seed)
    ref = original2.Network(list(sizes), cost=cost_ref or original2.CrossEntropyCost)
    if large:
        ref.large_weight_initializer()
    np.random.seed(seed)
    mine = network2.Network(list(sizes), cost=cost_mine or network2.CrossEntropyCost)
    if large:
        mine.large_weight_initializer()
    return ref, mine


@pytest.mark.parametrize("large", [False, True])
def test_network2_initialisers_draw_the_books_parameters(large):
    ref, mine = _pair2(20, (7, 5, 2), large=large)
    assert mine.num_layers == 3 and mine.cost is network2.CrossEntropyCost
    for p, q in zip(ref.weights + ref.biases, mine.weights + mine.biases):
        np.testing.assert_array_equal(p, q)


MONITORS = dict(
    monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
    monitor_training_cost=True, monitor_training_accuracy=True,
)  # fmt: skip


@pytest.mark.parametrize("cost", ["CrossEntropyCost", "QuadraticCost"])
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_network2_sgd_follows_the_book(cost, lmbda):
    ref, mine = _pair2(21, cost_ref=getattr(original2, cost), cost_mine=getattr(network2, cost))
    data, evaluation = _toy(12, 45, n_out=10), _toy(13, 25, n_out=10, labels=True)
    (r, r_out), (m, m_out), _, _ = _train_both(
        ref, mine, 3, data, 3, 10, 0.5, lmbda=lmbda, evaluation_data=evaluation, **MONITORS
    )
    assert _max_diff(ref, mine) < 1e-12
    assert _rounded(m_out) == _rounded(r_out)
    assert "Epoch 2 training complete\nCost on training data: " in m_out and m_out.endswith("\n\n")
    assert len(m) == 4 and all(len(lst) == 3 for lst in m)
    for mine_list, ref_list in zip(m, r):
        np.testing.assert_allclose(mine_list, ref_list, rtol=1e-12)
    assert all(isinstance(c, int) for c in m[1] + m[3])


def test_network2_monitors_default_to_empty_lists():
    ref, mine = _pair2(22)
    (r, r_out), (m, m_out), _, _ = _train_both(ref, mine, 4, _toy(14, 20, n_out=10), 2, 5, 0.5)
    assert m == r == ([], [], [], [])
    assert m_out == r_out == "Epoch 0 training complete\n\nEpoch 1 training complete\n\n"


def test_network2_early_stopping_stops_where_the_book_does():
    ref, mine = _pair2(23)
    data, evaluation = _toy(15, 40, n_out=10), _toy(16, 30, n_out=10, labels=True)
    (r, _), (m, m_out), _, _ = _train_both(
        ref, mine, 5, data, 50, 10, 4.0, evaluation_data=evaluation,
        monitor_evaluation_accuracy=True, early_stopping_n=3,
    )  # fmt: skip
    assert m == r and 3 < len(m[1]) < 50
    assert m_out.count("training complete") == len(m[1])
    assert _max_diff(ref, mine) < 1e-12
    with pytest.raises(DeltapropError, match="early_stopping_n=2 watches the accuracy"):
        mine.SGD(data, 1, 10, 1.0, early_stopping_n=2)


def test_network2_a_cost_class_of_ones_own_trains_as_matrices():
    class Quartic:  # the reader's own cost, defined where it is used
        @staticmethod
        def fn(a, y):
            return 0.25 * np.sum((a - y) ** 4)

        @staticmethod
        def delta(z, a, y):
            return (a - y) ** 3 * original2.sigmoid_prime(z)

    ref, mine = _pair2(24, cost_ref=Quartic, cost_mine=Quartic)
    data, evaluation = _toy(17, 30, n_out=10), _toy(18, 10, n_out=10, labels=True)
    (r, _), (m, _), _, _ = _train_both(
        ref, mine, 6, data, 2, 10, 3.0, lmbda=1.0, evaluation_data=evaluation,
        monitor_evaluation_cost=True, monitor_training_cost=True,
    )  # fmt: skip
    assert _max_diff(ref, mine) < 1e-12
    np.testing.assert_allclose(m[0] + m[2], r[0] + r[2], rtol=1e-12)
    x, y = data[0]
    for p, q in zip(sum(ref.backprop(x, y), []), sum(mine.backprop(x, y), [])):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-18)


def test_network2_cost_and_accuracy_with_convert():
    ref, mine = _pair2(25)
    train, labelled = _toy(19, 33, n_out=10), _toy(20, 21, n_out=10, labels=True)
    assert mine.accuracy(train, convert=True) == ref.accuracy(train, convert=True)
    assert mine.accuracy(labelled) == ref.accuracy(labelled)
    assert mine.total_cost(train, 2.0) == pytest.approx(ref.total_cost(train, 2.0), rel=1e-13)
    assert mine.total_cost(labelled, 2.0, convert=True) == pytest.approx(
        ref.total_cost(labelled, 2.0, convert=True), rel=1e-13
    )
    assert network2.QuadraticCost.fn(np.ones((3, 1)), np.zeros((3, 1))) == pytest.approx(1.5)
    np.testing.assert_array_equal(network2.vectorized_result(3), original2.vectorized_result(3))


def test_network2_files_are_interchangeable_with_the_books(tmp_path):
    ref, mine = _pair2(26, cost_ref=original2.QuadraticCost, cost_mine=network2.QuadraticCost)
    mine.update_mini_batch(_toy(21, 4, n_out=10), 0.5, 0.1, 100)
    mine.save(tmp_path / "mine.json")
    ref.save(tmp_path / "ref.json")
    a = json.loads((tmp_path / "mine.json").read_text())
    b = json.loads((tmp_path / "ref.json").read_text())
    assert list(a) == list(b) == ["sizes", "weights", "biases", "cost"]
    assert a["cost"] == b["cost"] == "QuadraticCost" and a["sizes"] == b["sizes"]
    back_in_book = original2.load(tmp_path / "mine.json")
    back_here = network2.load(tmp_path / "ref.json")
    assert back_here.cost is network2.QuadraticCost
    for p, q in zip(back_in_book.weights + back_in_book.biases, mine.weights + mine.biases):
        np.testing.assert_array_equal(p, q)
    for p, q in zip(back_here.weights + back_here.biases, ref.weights + ref.biases):
        np.testing.assert_array_equal(p, q)


def test_network2_load_looks_cost_names_up_only(tmp_path):
    path = tmp_path / "net.json"
    network2.Network([2, 2]).save(path)
    data = json.loads(path.read_text())
    data["cost"] = "__import__('os').system"
    path.write_text(json.dumps(data))
    with pytest.raises(DeltapropError, match=r"is not one of CrossEntropyCost, QuadraticCost"):
        network2.load(path)
    assert network2.load(path, cost=network2.CrossEntropyCost).sizes == [2, 2]
    path.write_text("[1, 2]")
    with pytest.raises(DeltapropError, match="expected a JSON object with sizes"):
        network2.load(path)


# ----------------------------------------------------------------------------- MNIST


def test_mnist_loader_returns_the_books_structures(mnist):
    training_data, validation_data, test_data = mnist
    assert (len(training_data), len(validation_data), len(test_data)) == (50000, 10000, 10000)
    x, y = training_data[0]
    assert x.shape == (784, 1) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    assert y.shape == (10, 1) and y.sum() == 1.0 and y[5, 0] == 1.0  # MNIST's first image: 5
    xv, label = validation_data[0]
    assert xv.shape == (784, 1) and isinstance(label, np.integer)
    assert sorted({int(lab) for _, lab in test_data}) == list(range(10))
    tr_d, va_d, te_d = mnist_loader.load_data(_shared_mnist_dir(), download=False)
    assert tr_d[0].shape == (50000, 784) and tr_d[1].shape == (50000,)
    assert va_d[0].shape == te_d[0].shape == (10000, 784)
    np.testing.assert_array_equal(va_d[0][0], xv[:, 0])


def test_chapter1_on_mnist_matches_the_book(mnist):
    """The book's chapter-1 run on 1,000 training images for 2 epochs, counted on the test set."""
    training_data, _, test_data = mnist
    ref, mine = _pair(3, (784, 30, 10))
    (_, r_out), (_, m_out), _, _ = _train_both(
        ref, mine, 3, training_data[:1000], 2, 10, 3.0, test_data=test_data
    )
    assert m_out == r_out == "Epoch 0: 4331 / 10000\nEpoch 1: 5607 / 10000\n"
    assert _max_diff(ref, mine) < 1e-10


def test_chapter3_on_mnist_matches_the_book(mnist):
    """network2 with cross-entropy, λ = 5, η = 0.5 on 1,000 images, monitored on 1,000 more."""
    training_data, validation_data, _ = mnist
    ref, mine = _pair2(4321, (784, 30, 10))
    (r, r_out), (m, m_out), _, _ = _train_both(
        ref, mine, 4321, training_data[:1000], 2, 10, 0.5, lmbda=5.0,
        evaluation_data=validation_data[:1000], **MONITORS,
    )  # fmt: skip
    assert m[1] == r[1] and m[3] == r[3]
    np.testing.assert_allclose(m[0] + m[2], r[0] + r[2], rtol=1e-10)
    assert _rounded(m_out) == _rounded(r_out)
    assert _max_diff(ref, mine) < 1e-10
