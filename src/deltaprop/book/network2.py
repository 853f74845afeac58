"""The book's network2.py (chapter 3) on deltaprop's engine: change only the import line.

``from deltaprop.book import network2`` gives Nielsen's improved network: the cross-entropy
and quadratic cost classes, N(0, 1/n_in) weights (``default_weight_initializer``) or the
chapter-1 N(0, 1) ones (``large_weight_initializer``), L2 regularisation with the book's weight
decay w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w, four monitors, early stopping and the JSON model
file:

>>> from deltaprop.book import network2                           # doctest: +SKIP
>>> net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)  # doctest: +SKIP
>>> net.SGD(training_data, 30, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
...         monitor_evaluation_accuracy=True)                     # doctest: +SKIP

The random streams, printed lines and return values are the book's (see
``deltaprop.book.network``); each mini-batch is one matrix through deltaprop's training kernel.
``CrossEntropyCost`` trains as deltaprop's sigmoid + binary cross-entropy (δ^L = a − y),
``QuadraticCost`` as its quadratic loss; a cost class of your own (static ``fn(a, y)`` and
``delta(z, a, y)``) trains on the batch matrix too: its ``delta`` receives (n_L, m) arrays, one
column per sample.

Files written by ``save`` are the book's JSON (sizes, weights, biases, the cost's class name) and
interchangeable with it; ``load`` looks the cost's name up among this module's two classes (or
takes ``cost=``), and never imports or evaluates anything named by the file.
"""

from __future__ import annotations

import json

import numpy as np

from .._atomic import atomic_write_text
from .._validation import DeltapropError, DeltapropTypeError, check_int
from ._engine import BookCost, BookNetwork, as_list, check_sgd_arguments, labels_of, replaced

__all__ = [
    "Network",
    "QuadraticCost",
    "CrossEntropyCost",
    "load",
    "vectorized_result",
    "sigmoid",
    "sigmoid_prime",
]


class QuadraticCost:
    """C_x = ½‖a − y‖²; δ^L = (a − y) ⊙ σ'(z)."""

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for desired output ``y``."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The error δ^L of the output layer."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]; δ^L = a − y."""

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for desired output ``y``.

        ``np.nan_to_num`` turns the 0 · ln 0 = nan of a saturated output that is right into 0.
        """
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The error δ^L of the output layer (``z`` is unused)."""
        return a - y


# The book's cost classes and the engine's losses they train as; any other class goes through
# BookCost. Also the only names ``load`` accepts for a file's "cost".
_ENGINE_LOSSES = {QuadraticCost: "quadratic", CrossEntropyCost: "binary_cross_entropy"}
_COSTS_BY_NAME = {cls.__name__: cls for cls in _ENGINE_LOSSES}


class Network(BookNetwork):
    """The book's improved network: sigmoid neurons, a cost class, L2 regularisation.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first.
    cost : class, default CrossEntropyCost
        A class with static methods ``fn(a, y)`` and ``delta(z, a, y)``.

    Attributes
    ----------
    num_layers, sizes, weights, biases
        As in ``deltaprop.book.network.Network``: len(sizes); (n_l, n_{l−1}) weights and
        (n_l, 1) biases, views into the engine's parameters.
    cost : class
    """

    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.default_weight_initializer()
        self.cost = cost

    @property
    def cost(self):
        """The cost class; assigning one changes the loss the engine trains with."""
        return self.__dict__.get("_cost")

    @cost.setter
    def cost(self, cost):
        if not (hasattr(cost, "fn") and hasattr(cost, "delta")):
            raise DeltapropTypeError(
                f"cost={cost!r} has no fn and delta; expected a class such as "
                f"CrossEntropyCost or QuadraticCost"
            )
        self._cost = cost
        engine_loss = _ENGINE_LOSSES.get(cost) if isinstance(cost, type) else None
        self.use_loss(engine_loss or BookCost(cost))

    def default_weight_initializer(self):
        """Weights from N(0, 1/n_in) (n_in: the neuron's inputs), biases from N(0, 1).

        Draws the biases, then the weights, from ``np.random`` in the book's order.
        """
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [
            np.random.randn(y, x) / np.sqrt(x) for x, y in zip(self.sizes[:-1], self.sizes[1:])
        ]

    def large_weight_initializer(self):
        """Weights and biases from N(0, 1), as chapter 1 (for comparison)."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input ((n_0, 1) → (n_L, 1))."""
        return self.engine_feedforward(a)

    def SGD(
        self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
        monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
        monitor_training_cost=False, monitor_training_accuracy=False, early_stopping_n=0,
    ):  # fmt: skip
        """Train by mini-batch stochastic gradient descent with L2 regularisation.

        Parameters
        ----------
        training_data : list of (x, y)
            Columns x (n_0, 1) and one-hot y (n_L, 1); shuffled in place each epoch.
        epochs, mini_batch_size : int
        eta : float
            Learning rate η.
        lmbda : float
            Regularisation parameter λ: w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w, n the number of
            training samples.
        evaluation_data : list of (x, label), optional
        monitor_evaluation_cost, monitor_evaluation_accuracy, monitor_training_cost,
        monitor_training_accuracy : bool
            Compute (and print) these after each epoch.
        early_stopping_n : int
            When > 0, stop after this many epochs in a row without a better accuracy on
            `evaluation_data` than the best so far.

        Returns
        -------
        (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)
            Four lists with one entry per epoch (empty when not monitored).
        """
        check_sgd_arguments(epochs, mini_batch_size)
        check_int(early_stopping_n, "early_stopping_n", minimum=0)
        training_data = as_list(training_data, "training_data")
        evaluation_data = as_list(evaluation_data, "evaluation_data")
        if early_stopping_n and not evaluation_data:
            raise DeltapropError(
                f"early_stopping_n={early_stopping_n} watches the accuracy on "
                f"evaluation_data, which is empty; pass evaluation_data"
            )
        monitors = _Monitors(self, training_data, evaluation_data, lmbda)
        flags = (monitor_training_cost, monitor_training_accuracy, monitor_evaluation_cost,
                 monitor_evaluation_accuracy)  # fmt: skip
        # e^{−z} → inf for z < −709 gives σ(z) = 0, the right limit: no warning
        # The book's own update_mini_batch takes the fast step: the pairs' rows can be followed.
        follow = not replaced(self, Network, "update_mini_batch", "backprop")
        with np.errstate(over="ignore"), self.training_on(training_data, follow):
            self._epochs(training_data, epochs, mini_batch_size, eta, lmbda, monitors, flags,
                         evaluation_data, early_stopping_n)  # fmt: skip
        return monitors.results()

    def _epochs(self, training_data, epochs, mini_batch_size, eta, lmbda, monitors, flags,
                evaluation_data, early_stopping_n):  # fmt: skip
        """SGD's loop: shuffle, one step per mini-batch, the monitors, early stopping."""
        n = len(training_data)
        best, without_gain = 0, 0
        for j in range(epochs):
            self.shuffle(training_data)  # random.shuffle(training_data)
            mini_batches = [
                training_data[k : k + mini_batch_size] for k in range(0, n, mini_batch_size)
            ]
            for mini_batch in self.batches(mini_batches):
                self.update_mini_batch(mini_batch, eta, lmbda, len(training_data))
            print(f"Epoch {j} training complete")
            accuracy = monitors.epoch_end(*flags)
            if early_stopping_n > 0:
                if accuracy is None:
                    accuracy = self.accuracy(evaluation_data)
                if accuracy > best:
                    best, without_gain = accuracy, 0
                else:
                    without_gain += 1
                if without_gain == early_stopping_n:
                    break

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One step: w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w and b ← b − (η/m) Σ_x ∂C_x/∂b.

        Parameters
        ----------
        mini_batch : list of (x, y)
            m pairs; one (m, n_0) matrix through the engine.
        eta, lmbda : float
        n : int
            The size of the whole training set.
        """
        decay = 1 - eta * (lmbda / n)
        if _replaced(self, "backprop"):
            self.per_sample_step(mini_batch, eta, decay)
        else:
            self._fast_step(mini_batch, eta, decay)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x for one column-vector sample."""
        return self.engine_backprop(x, y)

    def accuracy(self, data, convert=False):
        """How many samples of `data` the network classifies right (largest output).

        Parameters
        ----------
        data : list of (x, y)
        convert : bool
            False for validation/test data (y a label), True for training data (y one-hot).
        """
        data = as_list(data, "data")
        if _replaced(self, "feedforward"):
            if convert:
                pairs = [(np.argmax(self.feedforward(x)), np.argmax(y)) for x, y in data]
            else:
                pairs = [(np.argmax(self.feedforward(x)), y) for x, y in data]
            return sum(int(a == b) for a, b in pairs)
        if not data:
            return 0
        predicted = np.argmax(self.outputs(data, "data"), axis=1)
        if convert:
            labels = np.argmax(_stack_targets(data, self.sizes[-1]), axis=1)
        else:
            labels = labels_of(data, "data")
        return int(np.sum(predicted == labels))

    def total_cost(self, data, lmbda, convert=False):
        """The mean cost over `data` plus the L2 term ½(λ/n) Σ_w ‖w‖².

        Parameters
        ----------
        data : list of (x, y)
        lmbda : float
        convert : bool
            False for training data (y one-hot), True for validation/test data (y a label).
        """
        data = as_list(data, "data")
        n = len(data)
        if n == 0:
            raise DeltapropError("data is empty; expected at least one (x, y) pair")
        if _replaced(self, "feedforward") or self.cost not in _ENGINE_LOSSES:
            cost = 0.0
            for x, y in data:
                y = vectorized_result(y, self.sizes[-1]) if convert else y
                cost += self.cost.fn(self.feedforward(x), y) / n
        else:
            A = self.outputs(data, "data")
            if convert:
                Y = np.zeros_like(A)
                Y[np.arange(n), labels_of(data, "data")] = 1.0
            else:
                Y = _stack_targets(data, self.sizes[-1])
            cost = self.cost.fn(A, Y) / n  # the book's classes sum over every entry
        cost += 0.5 * (lmbda / n) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return float(cost)

    def save(self, filename):
        """Write sizes, weights, biases and the cost's name to `filename` as the book's JSON."""
        data = {
            "sizes": [int(s) for s in self.sizes],
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "cost": str(self.cost.__name__),
        }
        atomic_write_text(filename, json.dumps(data))


class _Monitors:
    """The four per-epoch lists of SGD and the lines it prints."""

    def __init__(self, net, training_data, evaluation_data, lmbda):
        self.net, self.lmbda = net, lmbda
        self.training_data, self.evaluation_data = training_data, evaluation_data
        self.evaluation_cost, self.evaluation_accuracy = [], []
        self.training_cost, self.training_accuracy = [], []

    def epoch_end(self, training_cost, training_accuracy, evaluation_cost, evaluation_accuracy):
        """Compute, keep and print what is monitored; the evaluation accuracy or None."""
        net, train, evaluation = self.net, self.training_data, self.evaluation_data
        accuracy = None
        if training_cost:
            cost = net.total_cost(train, self.lmbda)
            self.training_cost.append(cost)
            print(f"Cost on training data: {cost}")
        if training_accuracy:
            correct = net.accuracy(train, convert=True)
            self.training_accuracy.append(correct)
            print(f"Accuracy on training data: {correct} / {len(train)}")
        if evaluation_cost:
            cost = net.total_cost(evaluation, self.lmbda, convert=True)
            self.evaluation_cost.append(cost)
            print(f"Cost on evaluation data: {cost}")
        if evaluation_accuracy:
            accuracy = net.accuracy(evaluation)
            self.evaluation_accuracy.append(accuracy)
            print(f"Accuracy on evaluation data: {accuracy} / {len(evaluation)}")
        print()
        return accuracy

    def results(self):
        return (
            self.evaluation_cost,
            self.evaluation_accuracy,
            self.training_cost,
            self.training_accuracy,
        )


def _replaced(net, name):
    """Whether the class of `net` replaces this module's method `name`."""
    return replaced(net, Network, name)


def _stack_targets(data, n_out):
    """The y columns of (x, y) pairs as the rows of an (n, n_out) matrix."""
    Y = np.empty((len(data), n_out))
    try:
        np.concatenate([y for _, y in data], axis=1, out=Y.T)
    except (ValueError, TypeError):
        raise DeltapropError(
            f"data holds targets that are not ({n_out}, 1) columns; expected training "
            f"data's one-hot columns (for (x, label) pairs pass convert=False)"
        ) from None
    return Y


def load(filename, cost=None):
    """Load a network saved by ``Network.save`` (or by the book's network2.py).

    Parameters
    ----------
    filename : str or os.PathLike
    cost : class, optional
        The cost class to use; by default the file's "cost" name, looked up among
        QuadraticCost and CrossEntropyCost only (no code named by the file is imported).

    Returns
    -------
    Network
    """
    with open(filename, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not {"sizes", "weights", "biases", "cost"} <= set(data):
        raise DeltapropError(
            f"{filename}: expected a JSON object with sizes, weights, biases and cost, as "
            f"network2's save writes"
        )
    if cost is None:
        cost = _COSTS_BY_NAME.get(data["cost"])
        if cost is None:
            raise DeltapropError(
                f"{filename}: cost {data['cost']!r} is not one of "
                f"{', '.join(sorted(_COSTS_BY_NAME))}; pass your class as load(filename, "
                f"cost=YourCost)"
            )
    sizes = data["sizes"]
    if not isinstance(sizes, list) or not all(type(s) is int and s > 0 for s in sizes):
        raise DeltapropError(f"{filename}: sizes={sizes!r}; expected a list of positive ints")
    net = Network(sizes, cost=cost)
    net.weights = [np.array(w) for w in data["weights"]]
    net.biases = [np.array(b) for b in data["biases"]]
    return net


def vectorized_result(j, n=10):
    """A (n, 1) column with 1.0 at row j and zeros elsewhere (the book's n = 10)."""
    e = np.zeros((n, 1))
    e[j] = 1.0
    return e


def sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))
