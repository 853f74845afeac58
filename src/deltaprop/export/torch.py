"""Weights in and out of PyTorch: a Network as ``torch.nn.Sequential`` and back.

The two libraries store a dense layer the same way: ``nn.Linear.weight`` has shape
(out_features, in_features), the textbook's W^l of shape (n_l, n_{l−1}), and y = x Wᵀ + b.
So the weights are copied as they are. Importing this module does not import torch; the
functions do (``pip install torch``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from .. import losses as _losses
from .._validation import DeltapropError, DeltapropTypeError
from ..network import Network

__all__ = ["to_torch", "from_torch", "default_loss"]


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "weights in and out of PyTorch need torch, which is not installed; expected "
            "`pip install 'deltaprop[torch]'` (or `pip install torch`)"
        ) from exc
    return torch


def _torch_activation(nn, act, dtype):
    """The torch.nn module computing σ (DeltapropError when there is none)."""
    config = act.config()
    name = config["name"]
    if name == "swish" and config["beta"] == 1.0:
        return nn.SiLU()
    if name == "softplus":
        # torch returns z itself above `threshold`; ln(1 + e^{−z}) < 1e-17 beyond 40
        return nn.Softplus(beta=1.0, threshold=40.0 if dtype == np.float64 else 20.0)
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=config["alpha"])
    if name == "softmax":
        return nn.Softmax(dim=-1)
    plain = {"identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
    if name in plain and len(config) == 1:
        return plain[name]()
    raise DeltapropError(
        f"activation {act!r} has no torch.nn module; expected identity, sigmoid, tanh, relu, "
        f"leaky_relu, swish with beta=1 (nn.SiLU), softplus or softmax"
    )


def to_torch(net: Network) -> Any:
    """The network as ``torch.nn.Sequential``: ``nn.Linear`` and σ's module per layer.

    Parameters
    ----------
    net : Network

    Returns
    -------
    torch.nn.Sequential
        In the network's dtype, in eval mode; ``model(torch.from_numpy(X))`` equals
        ``net.predict_proba(X)``. The weights are copies. A layer without bias becomes
        ``nn.Linear(..., bias=False)``; a bias shared by the layer becomes n_l equal entries
        of ``Linear.bias`` (the same forward pass; training in torch would move them apart).

    Examples
    --------
    >>> net = Network([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    >>> to_torch(net)                                               # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
      (3): Sigmoid()
    )
    """
    torch = _torch()
    nn, dtype = torch.nn, getattr(torch, net.dtype.name)
    layers = []
    for W, b, act in zip(net.weights, net.biases, net.layer_activations):
        linear = nn.Linear(W.shape[1], W.shape[0], bias=b.size > 0, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(W)))
            if b.size:  # a shared b^l becomes n_l equal entries: the same forward pass
                linear.bias.copy_(torch.from_numpy(np.broadcast_to(b, (W.shape[0],)).copy()))
        layers += [linear, _torch_activation(nn, act, net.dtype)]
    return nn.Sequential(*layers).eval()


def _deltaprop_activation(nn, module, index):
    """The Activation of a torch.nn activation module (DeltapropError naming the layer)."""
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return _activations.get("softplus")
    if isinstance(module, nn.Softmax) and module.dim in (-1, 1):
        return _activations.get("softmax")
    if isinstance(module, nn.LeakyReLU):
        return _activations.get({"name": "leaky_relu", "alpha": module.negative_slope})
    plain = {nn.Identity: "identity", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu",
             nn.SiLU: "swish"}  # fmt: skip
    if type(module) in plain:
        return _activations.get(plain[type(module)])
    raise DeltapropError(
        f"layer {index} of the Sequential, {module!r}, has no deltaprop form; expected "
        f"nn.Linear, nn.Identity, Sigmoid, Tanh, ReLU, LeakyReLU, SiLU, Softplus(beta=1) or "
        f"Softmax(dim=-1)"
    )


def _layers(nn, module):
    """[(Linear, Activation)] from the Sequential's children."""
    layers = []
    for index, child in enumerate(module):
        if isinstance(child, nn.Linear):
            layers.append([child, None])
        elif not layers:
            raise DeltapropError(
                f"layer 0 of the Sequential is {child!r}; expected nn.Linear first"
            )
        elif layers[-1][1] is not None:
            raise DeltapropError(
                f"layer {index} of the Sequential, {child!r}, follows another activation; "
                f"expected one activation after each nn.Linear"
            )
        else:
            layers[-1][1] = _deltaprop_activation(nn, child, index)
    if not layers:
        raise DeltapropError("the Sequential has no nn.Linear layer; expected at least one")
    return [(lin, act or _activations.get("identity")) for lin, act in layers]


def default_loss(output: _activations.Activation) -> str:
    """The loss a network with this output activation trains with: the one whose δ^L fuses
    with it (cross-entropy after softmax, binary cross-entropy after sigmoid), else quadratic."""
    for name in _losses.LOSSES:
        if output.name in _losses.get(name).fused:
            return name
    return "quadratic"


def from_torch(module: Any, loss: Any = None) -> Network:
    """A Network with the weights of a ``torch.nn.Sequential`` of Linear and activations.

    Parameters
    ----------
    module : torch.nn.Sequential
        ``nn.Linear`` layers, each followed by at most one of nn.Identity, Sigmoid, Tanh,
        ReLU, LeakyReLU, SiLU (swish, β = 1), Softplus(beta=1), Softmax(dim=−1); a Linear
        with no activation after it gets the identity.
    loss : str or Loss, optional
        Default: ``default_loss`` of the output activation.

    Returns
    -------
    Network
        In the weights' dtype (float32 or float64); the weights are copies. An
        ``nn.Linear(..., bias=False)`` gives a layer without bias (``bias=False``).
    """
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise DeltapropTypeError(
            f"module is a {type(module).__name__}; expected a torch.nn.Sequential of "
            f"nn.Linear layers and activations"
        )
    layers = _layers(nn, module)
    dtype = str(layers[0][0].weight.dtype).removeprefix("torch.")
    if dtype not in ("float32", "float64") or any(
        lin.weight.dtype != layers[0][0].weight.dtype for lin, _ in layers
    ):
        raise DeltapropError(
            f"the Sequential's weights are {dtype} (or mixed); expected float32 or float64"
        )
    sizes = [layers[0][0].in_features] + [lin.out_features for lin, _ in layers]
    acts = [act for _, act in layers]
    loss = default_loss(acts[-1]) if loss is None else loss
    bias = [lin.bias is not None for lin, _ in layers]  # nn.Linear(bias=False): no bias here
    net = Network(sizes, activation=acts[:-1], output_activation=acts[-1], loss=loss,
                  dtype=dtype, bias=bias)  # fmt: skip
    for l, (lin, _) in enumerate(layers):
        if sizes[l] != lin.in_features:
            raise DeltapropError(
                f"nn.Linear {l} has in_features={lin.in_features} but the layer before has "
                f"{sizes[l]} outputs; expected matching widths"
            )
        net.weights[l] = lin.weight.detach().cpu().numpy()
        if lin.bias is not None:
            net.biases[l] = lin.bias.detach().cpu().numpy()
    return net
