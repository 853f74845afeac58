"""Chapter 2's problem "backpropagation with a single modified neuron", run.

    python examples/book/single_neuron.py

One hidden neuron, j = 2, computes a_j = f(z_j) with f = tanh instead of σ. Backpropagation
changes in one place only: in BP2 (and BP1, were it an output neuron) that neuron's factor
σ'(z_j) becomes f'(z_j) = 1 − tanh² z_j; every other equation stays as it is.

In deltaprop the change is one Activation subclass, registered so that a model file holding it
loads again. The script prints δ^1, ∂C/∂W^1 and ∂C/∂b^1 from backprop, the same δ_j^1 by the
modified BP2 written out, and the gradient check against finite differences.
"""

import tempfile
from pathlib import Path

import numpy as np

import deltaprop as dp
from deltaprop.activations import Activation, register


@register
class SigmoidWithOneTanh(Activation):
    """σ(z) on every neuron of the layer but neuron j, which computes tanh(z)."""

    name = "sigmoid_with_one_tanh"

    def __init__(self, j=0):
        self.j = int(j)

    def forward(self, z, out=None):
        out = np.divide(1.0, 1.0 + np.exp(-z), out=out)
        out[:, self.j] = np.tanh(z[:, self.j])
        return out

    def derivative(self, z, a):
        d = a * (1.0 - a)  # σ' = a(1 − a)
        d[:, self.j] = 1.0 - a[:, self.j] ** 2  # f' = 1 − tanh² z
        return d

    def config(self):
        return {"name": self.name, "j": self.j}


def show(name, values):
    print(f"{name}:", " ".join(repr(float(v)) for v in np.ravel(values)))


net = dp.Network([3, 4, 2], activation=SigmoidWithOneTanh(j=2), output_activation="sigmoid",
                 loss="quadratic", init="normal", seed=0)  # fmt: skip
x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0])
g = net.backprop(x, y)
show("delta1", g.deltas[0])
show("dC/dW1", g.weights[0])
show("dC/db1", g.biases[0])

# The modified BP2 for neuron j, by hand: δ_j^1 = ((W^2)ᵀ δ^2)_j · (1 − tanh² z_j^1)
j, z1 = 2, g.zs[0][0]
delta_j = (net.weights[1].T @ g.deltas[1][0])[j] * (1.0 - np.tanh(z1[j]) ** 2)
show("delta1_j by hand", delta_j)

report = dp.gradcheck(net, x[None, :], y[None, :])
show("gradcheck max error", report.max_error)

with tempfile.TemporaryDirectory() as tmp:
    net.save(Path(tmp) / "one_tanh.npz")
    back = dp.load(Path(tmp) / "one_tanh.npz")
print("reloaded:", type(back.layer_activations[0]).__name__, "j =", back.layer_activations[0].j,
      "same output:", bool(np.array_equal(back.forward(x), net.forward(x))))  # fmt: skip
