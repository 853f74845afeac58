"""Weights in and out of PyTorch: to_torch's model(x) equals predict_proba, from_torch's
predict_proba equals model(x), and what has no counterpart is refused by name."""

import numpy as np
import pytest

from conftest import HIDDEN
from deltaprop import DeltapropError, Network

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = {"float32": 1e-6, "float64": 1e-12}
HIDDEN_CASES = [*HIDDEN, {"name": "leaky_relu", "alpha": 0.3}]
OUTPUT_CASES = [
    ("softmax", "cross_entropy", 3),
    ("sigmoid", "binary_cross_entropy", 1),
    ("identity", "quadratic", 2),
    ("softplus", "mse", 1),
]


def _forward(model, X):
    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


def _ids(case):
    return case if isinstance(case, str) else "-".join(f"{v}" for v in case.values())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output, loss, n_out", OUTPUT_CASES)
@pytest.mark.parametrize("hidden", HIDDEN_CASES, ids=_ids)
def test_to_torch_and_back_compute_the_same_outputs(hidden, output, loss, n_out, dtype):
    net = Network([4, 6, 5, n_out], activation=hidden, output_activation=output, loss=loss,
                  dtype=dtype, seed=2)  # fmt: skip
    X = np.random.default_rng(0).normal(0, 3, (64, 4)).astype(dtype)
    model = net.to_torch()
    assert isinstance(model, nn.Sequential) and len(model) == 6
    assert model[0].weight.dtype == getattr(torch, dtype)
    out = _forward(model, X)
    np.testing.assert_allclose(out, net.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])
    back = Network.from_torch(model, loss=loss)
    assert back.config() == net.config()
    np.testing.assert_array_equal(back.get_flat(), net.get_flat())


def test_the_weights_are_copies():
    net = Network([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    model = net.to_torch()
    with torch.no_grad():
        model[0].weight.zero_()
    assert np.abs(net.weights[0]).sum() > 0
    back = Network.from_torch(model)
    back.weights[1][:] = 0
    assert model[2].weight.abs().sum() > 0


def test_from_torch_reads_a_hand_built_sequential():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 8, bias=False),  # no bias: a layer without bias
        nn.SiLU(),
        nn.Linear(8, 7),
        nn.Linear(7, 6),  # no activation between: identity
        nn.LeakyReLU(0.05),
        nn.Linear(6, 4),
        nn.Softmax(dim=1),
    ).double()
    net = Network.from_torch(model)
    assert net.sizes == [5, 8, 7, 6, 4]
    names = [a.config() for a in net.layer_activations]
    assert names == [{"name": "swish", "beta": 1.0}, {"name": "identity"},
                     {"name": "leaky_relu", "alpha": 0.05}, {"name": "softmax"}]  # fmt: skip
    assert net.loss.name == "cross_entropy" and net.dtype == np.float64
    assert net.bias_modes == ["none", "neuron", "neuron", "neuron"]
    X = np.random.default_rng(1).normal(size=(32, 5))
    np.testing.assert_allclose(net.predict_proba(X), _forward(model, X), rtol=1e-12, atol=1e-12)


def test_from_torch_default_losses_follow_the_output():
    sig = Network.from_torch(nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()))
    lin = Network.from_torch(nn.Sequential(nn.Linear(3, 2)))
    assert sig.loss.name == "binary_cross_entropy" and sig.dtype == np.float32
    assert lin.loss.name == "quadratic" and lin.layer_activations[-1].name == "identity"


@pytest.mark.parametrize(
    "model, message",
    [
        (nn.Linear(3, 2), "expected a torch.nn.Sequential"),
        (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)), r"layer 1 of the Sequential, Dropout"),
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sigmoid()), "layer 2 .* follows another"),
        (nn.Sequential(nn.ReLU(), nn.Linear(3, 4)), "layer 0 .* expected nn.Linear first"),
        (nn.Sequential(nn.Linear(3, 4), nn.Softplus(beta=2.0)), "Softplus"),
        (nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=0)), "Softmax"),
        (nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), "in_features=5"),
        (nn.Sequential(nn.Linear(3, 4).half()), "float16"),
        (nn.Sequential(), "no nn.Linear"),
    ],
)
def test_from_torch_refuses_what_it_cannot_represent(model, message):
    with pytest.raises(DeltapropError, match=message):
        Network.from_torch(model)


def test_to_torch_refuses_swish_with_beta_other_than_one():
    net = Network([2, 3, 1], activation={"name": "swish", "beta": 2.0}, seed=0)
    with pytest.raises(DeltapropError, match=r"Swish\(beta=2.0\) has no torch.nn module"):
        net.to_torch()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_absent_and_shared_biases_export_to_torch(dtype):
    net = Network([4, 6, 5, 3], activation="tanh", output_activation="softmax",
                  loss="cross_entropy", dtype=dtype, seed=2,
                  bias=["shared", False, True])  # fmt: skip
    net.biases[0] = np.array([0.7], dtype=dtype)
    model = net.to_torch()
    assert model[0].bias is not None and model[2].bias is None and model[4].bias is not None
    # the shared b^1 becomes six equal entries
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), np.full(6, 0.7, dtype=dtype))
    X = np.random.default_rng(0).normal(0, 3, (32, 4)).astype(dtype)
    np.testing.assert_allclose(_forward(model, X), net.predict_proba(X),
                               rtol=TOL[dtype], atol=TOL[dtype])  # fmt: skip
    back = Network.from_torch(model)
    assert back.bias_modes == ["neuron", "none", "neuron"]
    np.testing.assert_allclose(back.predict_proba(X), net.predict_proba(X),
                               rtol=TOL[dtype], atol=TOL[dtype])  # fmt: skip
