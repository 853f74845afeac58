"""The book's network.py (chapter 1) on deltaprop's engine: change only the import line.

``from deltaprop.book import network`` gives the same ``Network(sizes)``, attributes, methods,
printed lines and random streams as Nielsen's network.py ("Neural Networks and Deep
Learning", chapter 1), so a script written for it runs unchanged:

>>> import deltaprop.book.mnist_loader as mnist_loader     # doctest: +SKIP
>>> from deltaprop.book import network                     # doctest: +SKIP
>>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()  # doctest: +SKIP
>>> net = network.Network([784, 30, 10])                   # doctest: +SKIP
>>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)  # doctest: +SKIP
Epoch 0: 9071 / 10000

What is the same: ``num_layers`` is len(sizes) (the input layer counts, as in the book);
``weights[i]`` has shape (sizes[i+1], sizes[i]) and ``biases[i]`` shape (sizes[i+1], 1); the
constructor draws the biases and then the weights from ``np.random.randn`` in the book's order,
and ``SGD`` shuffles the list in place with ``random.shuffle`` each epoch, so with the same
``np.random.seed`` and ``random.seed`` the run follows the book's code step by step (per-epoch
counts agree; parameters to rounding, ~1e-12). ``backprop(x, y)`` returns the book's
``(nabla_b, nabla_w)`` for one column-vector sample; ``update_mini_batch`` applies
w ← w − (η/m) Σ_x ∂C_x/∂w, with C_x = ½‖y − a‖².

What is different: each mini-batch is one matrix (its m columns stacked as rows) through
deltaprop's training kernel instead of m calls of ``backprop`` (an epoch of the chapter-1 run
took a tenth of the original's time or less: 10.6× in 8 paired rounds on a shared 2-core
machine, 9.4–12.2× round by round; tests/book_original/compare.py measures it), gathered by
rows when the pairs come from ``mnist_loader`` (or a copy of its lists);
``weights`` and ``biases`` are views into the engine's parameters (assigning the lists or an
item copies into them). A subclass that replaces ``backprop`` or ``cost_derivative`` gets the
book's per-sample loop over its own method; one that replaces ``feedforward`` is evaluated with
it.
"""

from __future__ import annotations

import numpy as np

from ._engine import BookNetwork, as_list, check_sgd_arguments, labels_of, replaced

__all__ = ["Network", "sigmoid", "sigmoid_prime"]


class Network(BookNetwork):
    """A network of sigmoid neurons with the quadratic cost, as in the book's chapter 1.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first, e.g. [784, 30, 10].

    Attributes
    ----------
    num_layers : int
        len(sizes), the input layer included (the book's count).
    sizes : list of int
    weights : list of ndarray
        weights[i] of shape (sizes[i+1], sizes[i]); entry [j, k] connects neuron k of one layer
        to neuron j of the next. Views into the engine: writable in place.
    biases : list of ndarray
        biases[i] of shape (sizes[i+1], 1). Views as well.

    Notes
    -----
    Initialisation draws N(0, 1) biases, then N(0, 1) weights, from ``np.random`` (the legacy
    global generator, in the book's order).
    """

    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input.

        Parameters
        ----------
        a : ndarray, shape (n_0, 1) (or (n_0, k): k inputs as columns)

        Returns
        -------
        ndarray, shape (n_L, 1) (or (n_L, k))
        """
        return self.engine_feedforward(a)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train by mini-batch stochastic gradient descent, as the book's ``SGD``.

        Parameters
        ----------
        training_data : list of (x, y)
            x of shape (n_0, 1), y of shape (n_L, 1). Shuffled in place each epoch with
            ``random.shuffle`` (a zip or other iterable is made a list first).
        epochs, mini_batch_size : int
        eta : float
            The learning rate η.
        test_data : list of (x, label), optional
            When given, prints "Epoch j: correct / total" after each epoch; otherwise
            "Epoch j complete".
        """
        check_sgd_arguments(epochs, mini_batch_size)
        training_data = as_list(training_data, "training_data")
        test_data = as_list(test_data, "test_data")
        if test_data:
            n_test = len(test_data)
        n = len(training_data)
        # e^{−z} → inf for z < −709 gives σ(z) = 0, the right limit: no warning
        # The book's own update_mini_batch takes the fast step: the pairs' rows can be followed.
        follow = not replaced(self, Network, "update_mini_batch", "backprop", "cost_derivative")
        with np.errstate(over="ignore"), self.training_on(training_data, follow):
            for j in range(epochs):
                self.shuffle(training_data)  # random.shuffle(training_data)
                mini_batches = [
                    training_data[k : k + mini_batch_size] for k in range(0, n, mini_batch_size)
                ]
                for mini_batch in self.batches(mini_batches):
                    self.update_mini_batch(mini_batch, eta)
                if test_data:
                    print(f"Epoch {j}: {self.evaluate(test_data)} / {n_test}")
                else:
                    print(f"Epoch {j} complete")

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on a mini-batch: w ← w − (η/m) Σ_x ∂C_x/∂w, same for b.

        Parameters
        ----------
        mini_batch : list of (x, y)
            m pairs of columns; they go through the engine as one (m, n_0) matrix.
        eta : float
        """
        if replaced(self, Network, "backprop", "cost_derivative"):
            self.per_sample_step(mini_batch, eta)
        else:
            self._fast_step(mini_batch, eta)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x for one sample (BP1–BP4).

        Parameters
        ----------
        x : ndarray, shape (n_0, 1)
        y : ndarray, shape (n_L, 1)

        Returns
        -------
        (list of (n_l, 1) arrays, list of (n_l, n_{l−1}) arrays)
            ∂C_x/∂b and ∂C_x/∂w layer by layer, like ``biases`` and ``weights``.
        """
        return self.engine_backprop(x, y)

    def evaluate(self, test_data):
        """The number of (x, label) pairs whose output's largest activation is at ``label``."""
        test_data = as_list(test_data, "test_data")
        if _replaced(self, "feedforward"):
            return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)
        if not test_data:
            return 0
        predicted = np.argmax(self.outputs(test_data, "test_data"), axis=1)
        return int(np.sum(predicted == labels_of(test_data, "test_data")))

    def cost_derivative(self, output_activations, y):
        """∂C_x/∂a for the output activations: a − y."""
        return output_activations - y


def _replaced(net, name):
    """Whether the class of `net` replaces this module's method `name`."""
    return replaced(net, Network, name)


def sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))
