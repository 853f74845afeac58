"""The chapter-2 problems under examples/book/, run as scripts; their printed numbers are checked
against computations made here independently (own forward passes and central differences).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "book"


def run_example(name):
    """The script's printed "label: numbers" lines as {label: array} (other lines under "")."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    values = {"": []}
    for line in done.stdout.splitlines():
        label, _, rest = line.partition(": ")
        try:
            values[label] = np.array([float(v) for v in rest.split()])
        except ValueError:
            values[""].append(line)
    return values


def central_differences(cost, params, eps=1e-6):
    """∂cost/∂p for every entry p of the array `params` (changed in place and restored)."""
    grad = np.zeros_like(params)
    for i in np.ndindex(params.shape):
        keep = params[i]
        params[i] = keep + eps
        up = cost()
        params[i] = keep - eps
        down = cost()
        params[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_single_neuron_with_tanh():
    out = run_example("single_neuron.py")
    ref = dp.Network([3, 4, 2], activation="sigmoid", init="normal", seed=0)  # same draws
    W1, W2 = (w.copy() for w in ref.weights)
    b1, b2 = (b.copy() for b in ref.biases)
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0])

    def cost():
        z1 = W1 @ x + b1
        a1 = sigmoid(z1)
        a1[2] = np.tanh(z1[2])  # the one modified neuron
        a2 = sigmoid(W2 @ a1 + b2)
        return 0.5 * np.sum((a2 - y) ** 2)

    np.testing.assert_allclose(out["dC/dW1"], central_differences(cost, W1).ravel(), atol=1e-9)
    np.testing.assert_allclose(out["dC/db1"], central_differences(cost, b1), atol=1e-9)
    np.testing.assert_array_equal(out["delta1"], out["dC/db1"])  # one sample: ∂C/∂b = δ
    assert out["delta1_j by hand"][0] == pytest.approx(out["delta1"][2], rel=1e-12)
    assert out["gradcheck max error"][0] < 1e-7
    assert out[""] == ["reloaded: SigmoidWithOneTanh j = 2 same output: True"]


def test_linear_neurons():
    out = run_example("linear_neurons.py")
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    ref = dp.Network([3, 4, 4, 2], activation="identity", init="normal", seed=1)
    W1, W2, W3 = (w.copy() for w in ref.weights)
    b1, b2, b3 = (b.copy() for b in ref.biases)

    def cost():
        A = ((X @ W1.T + b1) @ W2.T + b2) @ W3.T + b3
        return np.mean(0.5 * np.sum((A - Y) ** 2, axis=1))

    assert out["cost"][0] == pytest.approx(cost(), rel=1e-13)
    grad_W1 = central_differences(cost, W1).ravel()
    np.testing.assert_allclose(out["dC/dW1"], grad_W1, atol=1e-9)
    np.testing.assert_allclose(out["dC/dW1 closed form"], grad_W1, atol=1e-9)
    np.testing.assert_allclose(out["dC/db3"], central_differences(cost, b3), atol=1e-9)
    A = ((X @ W1.T + b1) @ W2.T + b2) @ W3.T + b3
    np.testing.assert_allclose(out["delta1 by hand"], ((A - Y) @ W3 @ W2).ravel(), rtol=1e-12)
    assert out["max |delta by hand - backprop|"][0] == 0.0
    assert out["max |a^L - (M x + c)|"][0] < 1e-14


def test_matrix_based_minibatch():
    out = run_example("matrix_minibatch.py")
    rng = np.random.default_rng(3)
    X, Y = rng.random((20, 10)), np.eye(5)[:, rng.integers(0, 5, 10)]
    ref = dp.Network([20, 15, 5], activation="sigmoid", init="normal", seed=3)
    W1, W2 = (w.copy() for w in ref.weights)
    b1, b2 = (b.copy() for b in ref.biases)
    row = W2[0]  # a view: the differences below move W2[0, k]

    def summed_cost():
        A2 = sigmoid(W2 @ sigmoid(W1 @ X + b1[:, None]) + b2[:, None])
        return 0.5 * np.sum((A2 - Y) ** 2)

    expected = central_differences(summed_cost, row)
    np.testing.assert_allclose(out["sum dC/dW2 row 0 (loop)"], expected, atol=1e-8)
    np.testing.assert_allclose(out["sum dC/dW2 row 0 (matrix)"], expected, atol=1e-8)
    assert out["max |loop - matrix|"][0] < 1e-13
    assert out["max |matrix / m - deltaprop|"][0] < 1e-14
    timings = [line for line in out[""] if line.startswith("time per mini-batch")]
    assert len(timings) == 2 and all(line.endswith(" µs") for line in timings)
