"""Chapter 2's problem "fully matrix-based approach to backpropagation over a mini-batch", run.

    python examples/book/matrix_minibatch.py

The book's update_mini_batch calls backprop once per sample and adds the results. The matrix
form puts the m samples side by side as the columns of X = [x_1 ... x_m] and runs BP1–BP4 once:

    Z^l = W^l A^{l−1} + b^l 1ᵀ,  A^l = σ(Z^l)
    Δ^L = (A^L − Y) ⊙ σ'(Z^L),  Δ^l = ((W^{l+1})ᵀ Δ^{l+1}) ⊙ σ'(Z^l)
    Σ_x ∂C_x/∂W^l = Δ^l (A^{l−1})ᵀ,  Σ_x ∂C_x/∂b^l = Δ^l 1

The script computes the summed gradient of a mini-batch of ten both ways (and with deltaprop's
Network.backprop, which keeps samples as rows and returns the mean), prints a few entries and
the largest differences, then times the two.
"""

import time

import numpy as np

import deltaprop as dp


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def per_sample(Ws, bs, X, Y):
    """The book's loop: one column-vector sample at a time, the gradients added up."""
    nabla_w = [np.zeros(W.shape) for W in Ws]
    for x, y in zip(X.T, Y.T):
        acts = [x[:, None]]
        for W, b in zip(Ws, bs):
            acts.append(sigmoid(W @ acts[-1] + b[:, None]))
        delta = (acts[-1] - y[:, None]) * acts[-1] * (1 - acts[-1])
        for l in range(len(Ws) - 1, -1, -1):
            nabla_w[l] += delta @ acts[l].T  # BP4
            if l > 0:
                delta = (Ws[l].T @ delta) * acts[l] * (1 - acts[l])  # BP2
    return nabla_w


def matrix(Ws, bs, X, Y):
    """The same sums from one pass of m columns at once."""
    acts = [X]
    for W, b in zip(Ws, bs):
        acts.append(sigmoid(W @ acts[-1] + b[:, None]))
    delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1])
    nabla_w = [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        nabla_w[l] = delta @ acts[l].T  # BP4, summed over the columns by the product
        if l > 0:
            delta = (Ws[l].T @ delta) * acts[l] * (1 - acts[l])  # BP2, all columns at once
    return nabla_w


def show(name, values):
    print(f"{name}:", " ".join(repr(float(v)) for v in np.ravel(values)))


rng = np.random.default_rng(3)
m = 10
X, Y = rng.random((20, m)), np.eye(5)[:, rng.integers(0, 5, m)]  # samples as columns
net = dp.Network([20, 15, 5], activation="sigmoid", loss="quadratic", init="normal", seed=3)
Ws, bs = list(net.weights), list(net.biases)

loop, mat = per_sample(Ws, bs, X, Y), matrix(Ws, bs, X, Y)
mean = net.backprop(X.T, Y.T).weights  # rows are samples; the batch mean
show("sum dC/dW2 row 0 (loop)", loop[1][0])
show("sum dC/dW2 row 0 (matrix)", mat[1][0])
print("max |loop - matrix|:", max(np.abs(a - b).max() for a, b in zip(loop, mat)))
print("max |matrix / m - deltaprop|:", max(np.abs(a / m - b).max() for a, b in zip(mat, mean)))

for name, fn in (("per-sample loop", per_sample), ("matrix", matrix)):
    start = time.perf_counter()
    for _ in range(200):
        fn(Ws, bs, X, Y)
    print(f"time per mini-batch, {name}: {(time.perf_counter() - start) / 200 * 1e6:.0f} µs")
