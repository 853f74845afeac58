"""Network: a stack of dense layers, its forward pass and backpropagation (BP1–BP4).

Notation (the textbook's): layer l has weights W^l of shape (n_l, n_{l−1}), entry [j, k] the
weight w_jk^l from neuron k of layer l−1 to neuron j of layer l, biases b^l of shape (n_l,) and
activation σ_l. For a mini-batch of m samples held as the rows of a matrix,

    Z^l = A^{l−1} (W^l)ᵀ + b^l,    A^l = σ_l(Z^l)                         (forward)
    Δ^L = ∇_a C ⊙ σ'(Z^L)                                               (BP1)
    Δ^l = (Δ^{l+1} W^{l+1}) ⊙ σ'(Z^l)                                    (BP2)
    ∂C/∂b^l = (1/m) Σ_rows Δ^l                                           (BP3)
    ∂C/∂W^l = (1/m) (Δ^l)ᵀ A^{l−1}                                        (BP4)

where row x of Δ^l is the per-sample δ^l of sample x and C is the batch mean of C_x.

A layer's biases come in one of three modes (``bias=``): one per neuron (the textbook's), one
shared by all the layer's neurons (b^l of shape (1,), added to every z_j^l: then
∂C/∂b^l = (1/m) Σ_rows Σ_j Δ^l, BP3 summed over the neurons it feeds), or none (Z^l =
A^{l−1} (W^l)ᵀ, and BP3 has nothing to compute). Biases that exist may be frozen
(``train_biases=False``): backprop still reports their gradient, training leaves them as they
are.

All parameters live in one flat vector (weights of every layer first, then biases) and
``weights``/``biases`` are views into it: the optimizer updates every parameter with a single
operation, and L2 decay touches the weights' contiguous slice only.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import activations as _activations
from . import init as _init
from . import losses as _losses
from ._provided import Provided
from ._validation import (
    DeltapropError,
    DeltapropTypeError,
    _short,
    check_array,
    check_dtype,
    check_int,
)

__all__ = ["Network", "Gradients"]


@dataclass
class Gradients:
    """What ``Network.backprop`` returns.

    Attributes
    ----------
    cost : float
        C, the mean over the batch of the per-sample costs C_x.
    weights : list of ndarray
        ∂C/∂W^l for l = 1..L, same shapes as ``Network.weights`` (BP4).
    biases : list of ndarray
        ∂C/∂b^l (BP3): shape (n_l,), (1,) for a shared bias, (0,) for a layer without one.
    deltas : list of ndarray
        δ^l = ∂C_x/∂z^l per sample, shape (m, n_l), before the batch mean (BP1, BP2).
    zs : list of ndarray
        Weighted inputs z^l, shape (m, n_l), l = 1..L.
    activations : list of ndarray
        a^0 = x (the input), then a^l for l = 1..L: L + 1 arrays of shape (m, n_l).
    """

    cost: float
    weights: list
    biases: list
    deltas: list
    zs: list = field(repr=False)
    activations: list = field(repr=False)

    def __iter__(self):
        # The book writes ``nabla_b, nabla_w = net.backprop(x, y)``; unpacking in any one order
        # would silently swap the two for readers who expect the other, so it is refused.
        raise DeltapropTypeError(
            "a Gradients object cannot be unpacked (as in the book's nabla_b, nabla_w = "
            "net.backprop(x, y)): read its fields by name, g = net.backprop(X, Y); g.weights "
            "(∂C/∂W^l), g.biases (∂C/∂b^l), g.cost, g.deltas; or use deltaprop.book.network, "
            "whose Network.backprop(x, y) returns the book's (nabla_b, nabla_w)"
        )

    def _repr_html_(self) -> str | None:
        # Jupyter's rich display, drawn by deltaprop._notebook (None: the plain repr).
        show = _PROVIDED.get("gradients_html")
        return None if show is None else show(self)


class _ParamList(list):
    """A list of views into the flat parameter vector.

    Item assignment copies into the view (after a shape check) instead of replacing it, so
    ``net.weights[0] = W`` and ``net.weights[0][:] = W`` both change the network.
    """

    def __init__(self, views, kind):
        super().__init__(views)
        self._kind = kind

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise DeltapropTypeError(
                f"{self._kind} cannot be assigned by slice; assign one layer at a time"
            )
        target = list.__getitem__(self, index)
        arr = check_array(
            value,
            f"{self._kind}[{index}]",
            dtype=target.dtype,
            ndim=(target.ndim,),
            allow_empty=True,
        )
        if arr.shape != target.shape:
            raise DeltapropError(
                f"{self._kind}[{index}] has shape {arr.shape}; expected {target.shape}"
            )
        target[...] = arr

    def __reduce__(self):
        return (list, (list(self),))


# Bytes per parameter a network and its training hold at once: the parameters, the gradient,
# and one more vector (initialiser temporaries, or an optimizer's state such as momentum).
_BYTES_FACTOR = 3
_CHECK_ABOVE = 64 * 2**20  # smaller networks are never refused: no need to read /proc


def _memory_limit() -> tuple[int | None, str]:
    """(bytes this process may still allocate, where the figure comes from), None if unknown."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append((int(line.split()[1]) * 1024, "available memory"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/self/limits", encoding="ascii") as f:
            fields = [line.split() for line in f if line.startswith("Max address space")]
        with open("/proc/self/status", encoding="ascii") as f:
            used = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:")]
        if fields and fields[0][3].isdigit() and used:
            limits.append((int(fields[0][3]) - used[0], "the address-space limit (RLIMIT_AS)"))
    except (OSError, ValueError, IndexError):
        pass
    return min(limits) if limits else (None, "")


def check_memory(sizes, n_params: int, itemsize: int) -> None:
    """Refuse, before allocating, a network whose training would not fit in memory."""
    need = _BYTES_FACTOR * n_params * itemsize
    if need <= _CHECK_ABOVE:
        return
    limit, source = _memory_limit()
    if limit is not None and need > limit:
        raise DeltapropError(
            f"sizes={_short(sizes)} describe {n_params:,} parameters; the network and its "
            f"training need about {need / 2**30:.3g} GiB but this process may use only "
            f"{max(limit, 0) / 2**30:.3g} GiB ({source}); expected smaller layers"
        )


class Network:
    """A fully connected feed-forward network trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    activation : str, Activation, or list of them, default "sigmoid"
        One activation for every hidden layer, or one per hidden layer (len(sizes) − 2 items).
    output_activation : str or Activation, optional
        The output layer's activation. Default: ``activation`` when that is a single one,
        otherwise required.
    loss : str or Loss, default "quadratic"
        "quadratic" (½‖y − a‖², the textbook's), "mse", "binary_cross_entropy",
        "cross_entropy".
    init : str or callable, default "auto"
        "normal" (N(0, 1), the book's chapter 1), "scaled_normal" (N(0, 1/n_in), chapter 3),
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", or "auto" (He for
        ReLU-like layers, Glorot uniform otherwise).
    dtype : {"float64", "float32"}
    seed : int or np.random.Generator, optional
        Makes initialisation (and, through ``fit``, shuffling and dropout) reproducible.
    bias : bool, "shared", or a list of them (one per layer l = 1..L), default True
        True: one bias per neuron, b^l of shape (n_l,). "shared": one bias for the whole layer,
        shape (1,), as in worked examples that write one b per layer. False: no bias, z^l =
        W^l a^{l−1}.
    train_biases : bool or list of bool (one per layer), default True
        False freezes the biases: ``fit`` leaves them unchanged (the optimizer sees a zero
        gradient for them), while ``backprop`` still reports ∂C/∂b^l.

    Examples
    --------
    >>> net = Network([2, 3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    >>> net.forward([[0.5, -1.0]]).shape
    (1, 1)
    """

    def __init__(
        self,
        sizes,
        activation="sigmoid",
        output_activation=None,
        loss="quadratic",
        init="auto",
        dtype="float64",
        seed=None,
        bias=True,
        train_biases=True,
    ):
        self.sizes = _check_sizes(sizes)
        L = len(self.sizes) - 1
        self.bias_modes = _bias_modes(bias, L)
        self.train_biases = train_biases
        self.dtype = check_dtype(dtype)
        self.layer_activations = _layer_activations(activation, output_activation, L)
        self.loss = _losses.get(loss)
        _check_loss_pair(self.loss, self.layer_activations[-1])
        _warn_idle_biases(self.bias_modes, self.layer_activations)
        if seed is not None and not isinstance(seed, np.random.Generator):
            check_int(seed, "seed", minimum=0)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.seed = None if isinstance(seed, np.random.Generator) else seed
        self.init = init
        self._allocate()
        self.reset_parameters(init)
        self.history = None
        self.training_config = {}
        # The table-to-inputs step a model trained on a user's table keeps (a
        # deltaprop.datasets.Preprocessor), or None: inputs are a^0 as given.
        self.preprocessor = None

    # ------------------------------------------------------------------ parameters
    def _allocate(self):
        shapes = list(zip(self.sizes[1:], self.sizes[:-1]))
        n_w = sum(r * c for r, c in shapes)
        n_b = sum(self._bias_sizes())
        check_memory(self.sizes, n_w + n_b, self.dtype.itemsize)
        try:
            self._theta = np.zeros(n_w + n_b, dtype=self.dtype)
        except (MemoryError, ValueError):
            raise DeltapropError(
                f"sizes={_short(self.sizes)} describe {n_w + n_b} parameters "
                f"({(n_w + n_b) * self.dtype.itemsize / 2**30:.3g} GiB), more than "
                f"can be allocated; expected smaller layers"
            ) from None
        self._n_weights = n_w
        self._weights, self._biases = self.parameter_views(self._theta)

    def parameter_views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """W^l and b^l views into a flat vector laid out like ``parameters``.

        Parameters
        ----------
        flat : ndarray, shape (num_parameters,)

        Returns
        -------
        (list of (n_l, n_{l−1}) views, list of bias views: (n_l,), (1,) shared or (0,) none)
        """
        Ws, bs, pos = [], [], 0
        for r, c in zip(self.sizes[1:], self.sizes[:-1]):
            Ws.append(flat[pos : pos + r * c].reshape(r, c))
            pos += r * c
        for r in self._bias_sizes():
            bs.append(flat[pos : pos + r])
            pos += r
        return Ws, bs

    def _bias_sizes(self):
        """Entries of b^l per layer: n_l, 1 for a shared bias, 0 for none."""
        return [_BIAS_SIZE[mode](n) for n, mode in zip(self.sizes[1:], self.bias_modes)]

    @property
    def train_biases(self) -> list[bool]:
        """Per layer l = 1..L, whether training updates b^l (False: frozen). Assign a bool or
        a list of L bools; layers without biases have nothing to train either way."""
        return list(self._train_biases)

    @train_biases.setter
    def train_biases(self, value: bool | Sequence[bool]) -> None:
        self._train_biases = _per_layer_flags(value, len(self.sizes) - 1, "train_biases")

    @property
    def trained_biases(self) -> list[bool]:
        """Per layer, whether b^l exists and training updates it."""
        return [t and m != "none" for t, m in zip(self._train_biases, self.bias_modes)]

    def __getstate__(self):
        # ``_weights``/``_biases`` are views into ``_theta``; pickled on their own they would
        # come back as detached copies that training no longer updates.
        state = self.__dict__.copy()
        del state["_weights"], state["_biases"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        # Networks pickled before bias modes existed had one trained bias per neuron.
        L = len(self.sizes) - 1
        self.__dict__.setdefault("bias_modes", ["neuron"] * L)
        self.__dict__.setdefault("_train_biases", [True] * L)
        self._weights, self._biases = self.parameter_views(self._theta)

    def reset_parameters(self, init: str = "auto") -> None:
        """Draw fresh weights and biases with the given initialiser and the network's generator."""
        for W, b, act in zip(self._weights, self._biases, self.layer_activations):
            name = _init.default_for(act) if init == "auto" else init
            _init.get(name)(self.rng, W, b)

    @property
    def weights(self) -> list[np.ndarray]:
        """W^l for l = 1..L, shape (n_l, n_{l−1}); views, writable in place."""
        return _ParamList(self._weights, "weights")

    @weights.setter
    def weights(self, values: Sequence[ArrayLike]) -> None:
        self._set_all(values, "weights")

    @property
    def biases(self) -> list[np.ndarray]:
        """b^l for l = 1..L, shape (n_l,); views, writable in place."""
        return _ParamList(self._biases, "biases")

    @biases.setter
    def biases(self, values: Sequence[ArrayLike]) -> None:
        self._set_all(values, "biases")

    def _set_all(self, values, kind):
        values = list(values)
        if len(values) != self.num_layers:
            raise DeltapropError(
                f"{kind} has {len(values)} arrays; expected {self.num_layers} "
                f"(one per layer after the input)"
            )
        target = getattr(self, kind)
        for i, v in enumerate(values):
            target[i] = v

    @property
    def num_layers(self) -> int:
        """L, the number of layers with weights (the input layer is not counted)."""
        return len(self.sizes) - 1

    @property
    def num_parameters(self) -> int:
        """How many weights and biases the network has."""
        return self._theta.size

    @property
    def num_weights(self) -> int:
        """How many of ``parameters`` are weights (they come first; the biases follow)."""
        return self._n_weights

    @property
    def parameters(self) -> np.ndarray:
        """Every weight and bias as one flat vector: the live storage, not a copy.

        The weights of layers 1..L come first (each W^l row by row), then the biases; writing
        into it changes the network, and ``weights``/``biases`` are views of it. Optimizers
        update it with one operation per step.
        """
        return self._theta

    @property
    def output_activation(self) -> _activations.Activation:
        """σ_L, the output layer's activation."""
        return self.layer_activations[-1]

    def get_flat(self) -> np.ndarray:
        """A copy of every parameter as one vector (weights of all layers, then biases)."""
        return self._theta.copy()

    def set_flat(self, theta: ArrayLike) -> None:
        """Set every parameter from a vector laid out as ``get_flat`` returns it."""
        flat = check_array(theta, "theta", dtype=self.dtype, ndim=(1,))
        if flat.size != self._theta.size:
            raise DeltapropError(f"theta has {flat.size} entries; expected {self._theta.size}")
        self._theta[...] = flat

    def copy(self) -> Network:
        """An independent network with the same architecture and parameters."""
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.layer_activations = list(self.layer_activations)
        other.bias_modes = list(self.bias_modes)
        other._train_biases = list(self._train_biases)
        other._allocate()
        other._theta[...] = self._theta
        # Copies of the generator and history: the copy's training neither advances nor
        # rewrites the original's.
        other.rng = copy.deepcopy(self.rng)
        other.history = copy.deepcopy(self.history)
        other.training_config = copy.deepcopy(self.training_config)
        other.preprocessor = copy.deepcopy(self.preprocessor)
        return other

    # ------------------------------------------------------------------ checks
    def check_inputs(self, X: ArrayLike, name: str = "X") -> tuple[np.ndarray, bool]:
        """X as a checked float array of shape (m, n_0), and whether it was one sample.

        Raises a ValueError naming `name` when X is not a finite numeric array with n_0 columns.
        """
        A = check_array(X, name, dtype=self.dtype, ndim=(1, 2))
        single = A.ndim == 1
        if single:
            A = A[None, :]
        if A.shape[1] != self.sizes[0]:
            raise DeltapropError(
                f"{name} has {A.shape[1]} columns (features) but the network's input "
                f"layer has {self.sizes[0]} neurons"
            )
        return A, single

    def check_targets(
        self, Y: ArrayLike, m: int, single: bool = False, name: str = "Y"
    ) -> np.ndarray:
        """Targets as a checked (m, n_L) float array; m integer class labels are one-hot encoded.

        `single` says the inputs were one sample (so Y may be one row or one label).
        """
        n_out = self.sizes[-1]
        T = check_array(Y, name, dtype=None, ndim=(0, 1, 2))
        if single and T.ndim <= 1 and T.size == n_out:
            T = T.reshape(1, n_out)
        elif single and T.ndim == 0:
            T = T.reshape(1)  # one sample's class label
        if T.ndim == 1 and T.shape[0] == m:
            if n_out == 1:
                T = T.reshape(m, 1)
            else:
                T = self._one_hot(T, name)
        if T.ndim != 2 or T.shape != (m, n_out):
            raise DeltapropError(
                f"{name} has shape {T.shape}; expected ({m}, {n_out}) to match "
                f"{m} samples and the output layer's {n_out} neurons (or {m} "
                f"integer class labels)"
            )
        T = check_array(T, name, dtype=self.dtype)  # also catches values beyond float32's range
        self.loss.check_targets(T, name)
        return T

    def one_hot(self, labels: ArrayLike, name: str = "y") -> np.ndarray:
        """(m, n_L) rows with a 1 in column y_x, from m integer class labels in [0, n_L)."""
        return self._one_hot(np.asarray(labels), name)

    def _one_hot(self, labels, name="y"):
        n_out = self.sizes[-1]
        if not np.all(labels == np.round(labels)):
            bad = labels[labels != np.round(labels)][0]
            raise DeltapropError(
                f"{name} contains {bad}; expected integer class labels in "
                f"[0, {n_out - 1}] or an array of shape (m, {n_out})"
            )
        # checked before the cast to int64, which would turn 2**64 − 1 into −1
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            bad = (labels.min() if labels.min() < 0 else labels.max()).item()
            raise DeltapropError(
                f"{name} contains class label {bad} but the output layer has "
                f"{n_out} neurons; expected labels in [0, {n_out - 1}]"
            )
        lab = labels.astype(np.int64)
        Y = np.zeros((lab.size, n_out), dtype=self.dtype)
        Y[np.arange(lab.size), lab] = 1.0
        return Y

    # ------------------------------------------------------------------ forward
    def forward_trace(self, X: ArrayLike) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every weighted input and activation of a batch.

        Parameters
        ----------
        X : array, shape (m, n_0)

        Returns
        -------
        (zs, activations)
            zs[l − 1] = Z^l, shape (m, n_l), l = 1..L; activations[l] = A^l with
            activations[0] = X (L + 1 arrays).
        """
        X, _ = self.check_inputs(X)
        with np.errstate(over="ignore"):
            return self._forward(X)

    def _forward(self, X):
        """zs and activations (with a^0 = X) of a checked (m, n_0) batch."""
        zs, acts = [], [X]
        a = X
        for W, b, act in zip(self._weights, self._biases, self.layer_activations):
            z = a @ W.T  # Z^l = A^{l−1} (W^l)ᵀ + b^l
            if b.size:  # (a shared b^l of shape (1,) broadcasts to every neuron)
                z += b
            a = act.forward(z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def forward(self, X: ArrayLike) -> np.ndarray:
        """Output activations a^L.

        Parameters
        ----------
        X : array, shape (m, n_0) or (n_0,)

        Returns
        -------
        ndarray, shape (m, n_L) (or (n_L,) for a single sample)
        """
        X, single = self.check_inputs(X)
        a = self._forward(X)[1][-1]
        return a[0] if single else a

    feedforward = forward

    def _output_delta(self, z, a, Y):
        """δ^L by BP1 (or the loss's fused error), per sample, shape (m, n_L)."""
        return self.loss.output_delta(z, a, Y, self.output_activation)

    def _cost_terms(self, z, a, Y):
        """Per-sample costs C_x from the output layer's z and a."""
        return self.loss.sample_costs(z, a, Y, self.output_activation)

    def sample_costs(self, X: ArrayLike, Y: ArrayLike) -> np.ndarray:
        """Per-sample costs C_x, shape (m,); their mean is ``cost(X, Y)``."""
        X, single = self.check_inputs(X)
        Y = self.check_targets(Y, X.shape[0], single)
        with np.errstate(over="ignore"):
            zs, acts = self._forward(X)
            return self._cost_terms(zs[-1], acts[-1], Y)

    def cost(self, X: ArrayLike, Y: ArrayLike) -> float:
        """C = (1/m) Σ_x C_x over the batch (X, Y)."""
        X, single = self.check_inputs(X)
        Y = self.check_targets(Y, X.shape[0], single)
        zs, acts = self._forward(X)
        return float(self._cost_terms(zs[-1], acts[-1], Y).mean())

    # ------------------------------------------------------------------ backprop
    def backprop(self, X: ArrayLike, Y: ArrayLike) -> Gradients:
        """The gradient of the batch cost by BP1–BP4.

        Parameters
        ----------
        X : array, shape (m, n_0) or (n_0,)
        Y : array, shape (m, n_L) or (n_L,), or m integer class labels

        Returns
        -------
        Gradients
            ``.cost``, ``.weights`` (∂C/∂W^l), ``.biases`` (∂C/∂b^l), ``.deltas`` (δ^l per
            sample, shape (m, n_l)), ``.zs``, ``.activations``.

        Notes
        -----
        δ^L = ∇_a C ⊙ σ'(z^L) (BP1, or the fused a − y where the loss declares it);
        δ^l = (δ^{l+1} W^{l+1}) ⊙ σ'(z^l) (BP2); ∂C/∂b^l = mean of δ^l (BP3);
        ∂C/∂W^l = (δ^l)ᵀ a^{l−1} / m (BP4). A shared bias gets BP3 summed over the layer's
        neurons, Σ_j mean(δ_j^l); a layer without bias gets an empty (0,) array. Frozen biases
        (``train_biases``) get their gradient all the same.
        """
        X, single = self.check_inputs(X)
        Y = self.check_targets(Y, X.shape[0], single)
        m = X.shape[0]
        with np.errstate(over="ignore"):
            zs, acts = self._forward(X)
            cost = float(self._cost_terms(zs[-1], acts[-1], Y).mean())
        L = self.num_layers
        deltas: list = [None] * L
        delta = self._output_delta(zs[-1], acts[-1], Y)  # BP1
        deltas[-1] = delta
        for l in range(L - 2, -1, -1):
            grad_a = deltas[l + 1] @ self._weights[l + 1]  # BP2: (W^{l+1})ᵀ δ^{l+1}
            deltas[l] = self.layer_activations[l].backward(grad_a, zs[l], acts[l + 1])  # ⊙ σ'(z^l)
        dW = [d.T @ a / m for d, a in zip(deltas, acts[:-1])]  # BP4
        db = [_bias_gradient(d, mode) for d, mode in zip(deltas, self.bias_modes)]  # BP3
        return Gradients(cost=cost, weights=dW, biases=db, deltas=deltas, zs=zs, activations=acts)

    # ------------------------------------------------------------------ public conveniences
    def is_table(self, X: Any) -> bool:
        """Whether X is a table (a pandas DataFrame or a deltaprop Table) that this model's
        preprocessor turns into inputs. Arrays are always a^0 itself."""
        return (
            self.preprocessor is not None
            and hasattr(X, "columns")
            and not isinstance(X, np.ndarray)
        )

    def inputs(self, X: Any) -> Any:
        """a^0 for X: a table through the model's preprocessor, anything else as given."""
        return self.preprocessor.transform(X) if self.is_table(X) else X

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output activations a^L for X in chunks (the class scores of a classifier).

        X is a^0 (an array), or for a model with a preprocessor also a table of raw columns.
        """
        X, single = self.check_inputs(self.inputs(X))
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        with np.errstate(over="ignore"):
            for start in range(0, X.shape[0], 4096):
                out[start : start + 4096] = self._output(X[start : start + 4096])
        return out[0] if single else out

    def _output(self, X):
        """a^L alone: each z^l is overwritten by σ(z^l), no z or a kept (inference)."""
        a = X
        for W, b, act in zip(self._weights, self._biases, self.layer_activations):
            z = a @ W.T  # Z^l = A^{l−1} (W^l)ᵀ + b^l
            if b.size:
                z += b
            a = act.forward(z, out=z)
        return a

    @property
    def is_classifier(self) -> bool:
        """Whether ``predict`` returns class labels: several outputs, or one output whose
        activation ranges over [0, 1] (a probability, e.g. sigmoid). Otherwise a^L is a value."""
        lo, hi = self.output_activation.output_range
        return self.sizes[-1] > 1 or (lo >= 0.0 and hi <= 1.0)

    def predicted_labels(self, a: ArrayLike) -> np.ndarray:
        """The one rule turning output activations into class labels.

        The argmax over several outputs; for one output, 1 where a ≥ 0.5 (the midpoint of the
        labels 0 and 1 it was trained on), else 0.

        Parameters
        ----------
        a : ndarray, shape (m, n_L) or (n_L,)

        Returns
        -------
        ndarray of int64, shape (m,) (or a scalar for one sample)

        Examples
        --------
        >>> Network([2, 3]).predicted_labels(np.array([[0.1, 0.7, 0.2]]))
        array([1])
        """
        a = np.asarray(a)
        if a.shape[-1] > 1:
            return np.argmax(a, axis=-1)
        return (a[..., 0] >= 0.5).astype(np.int64)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels (``predicted_labels``) for a classifier, a^L for a regression network.

        A network is a classifier when it has several outputs or one output in [0, 1]
        (``is_classifier``); a single unbounded output (identity, tanh, ReLU) is a value.
        A table given to a model with a preprocessor gives the original labels (or values in
        the target's own units).
        """
        table = self.is_table(X)
        a = self.predict_proba(X)
        out = self.predicted_labels(a) if self.is_classifier else a[..., 0]
        prep = self.preprocessor
        if table and prep.target is not None:
            return prep.labels(out) if prep.classes is not None else prep.values(out)
        return out

    def evaluate(self, X: ArrayLike, Y: ArrayLike) -> tuple[float, float | None]:
        """(cost, accuracy) on (X, Y); accuracy is None for a regression network.

        See ``deltaprop.training.evaluate``.
        """
        return _provided("evaluate")(self, X, Y)

    def fit(
        self, X: ArrayLike, Y: ArrayLike, epochs: int = 30, batch_size: int = 10,
        lr: float = 3.0, **kwargs: Any,
    ) -> Any:  # fmt: skip
        """Train by mini-batch gradient descent; see ``deltaprop.training.fit``."""
        return _provided("fit")(self, X, Y, epochs=epochs, batch_size=batch_size, lr=lr, **kwargs)

    def save(self, path: str | os.PathLike, **kwargs: Any) -> Any:
        """Write the network to a model file; see ``deltaprop.io.save``."""
        return _provided("save")(self, path, **kwargs)

    def to_onnx(self, path: str | os.PathLike, opset: int | None = None) -> Any:
        """Write the forward pass as an ONNX model; see ``deltaprop.export.to_onnx``."""
        return _provided("to_onnx")(self, path, opset=opset)

    def to_torch(self) -> Any:
        """The network as ``torch.nn.Sequential``; see ``deltaprop.export.to_torch``."""
        return _provided("to_torch")(self)

    @classmethod
    def from_torch(cls, module: Any, loss: Any = None) -> Network:
        """A Network from a ``torch.nn.Sequential``; see ``deltaprop.export.from_torch``."""
        return _provided("from_torch")(module, loss=loss)

    @classmethod
    def from_sklearn(cls, estimator: Any) -> Network:
        """A Network from a fitted scikit-learn MLP; see ``deltaprop.export.from_sklearn``."""
        return _provided("from_sklearn")(estimator)

    def config(self) -> dict:
        """Architecture as plain data (JSON-ready)."""
        return {
            "sizes": list(self.sizes),
            "activations": [a.config() for a in self.layer_activations],
            "loss": self.loss.config(),
            "dtype": self.dtype.name,
            "bias": list(self.bias_modes),
            "train_biases": self.train_biases,
        }

    def summary(self, print_fn: Any = print) -> None:
        """Print the layer table: each layer's neurons, activation, W shape and parameters.

        Parameters
        ----------
        print_fn : callable
            Called once with the table's text (default: ``print``); ``lines.append`` keeps it.

        Examples
        --------
        >>> Network([2, 3, 1], activation="tanh", output_activation="sigmoid").summary()
        layer     neurons  activation  W shape  parameters
        input           2  -           -                 0
        hidden 1        3  tanh        (3, 2)            9
        output          1  sigmoid     (1, 3)            4
        13 parameters (float64, 104 B); loss quadratic
        """
        rows = [("layer", "neurons", "activation", "W shape", "parameters"),
                ("input", str(self.sizes[0]), "-", "-", "0")]  # fmt: skip
        for l, (act, b) in enumerate(zip(self.layer_activations, self._biases), start=1):
            n, n_prev = self.sizes[l], self.sizes[l - 1]
            name = "output" if l == len(self.sizes) - 1 else f"hidden {l}"
            rows.append((name, str(n), act.name, f"({n}, {n_prev})", f"{n * n_prev + b.size:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        right = (False, True, False, False, True)
        lines = [
            "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right))
            for row in rows
        ]
        size = self.num_parameters * self.dtype.itemsize
        size_text = f"{size} B" if size < 1000 else f"{size / 1000:.1f} kB"
        lines.append(
            f"{self.num_parameters:,} parameters ({self.dtype.name}, {size_text}); "
            f"loss {self.loss.name}"
        )
        if self.bias_modes != ["neuron"] * self.num_layers or not all(self._train_biases):
            lines.append(f"biases: {self.bias_description()}")
        print_fn("\n".join(line.rstrip() for line in lines))

    def bias_description(self) -> str:
        """The biases in words, layer by layer: "one per neuron", "one shared", "none", each
        followed by ", frozen" where training leaves them unchanged.

        Examples
        --------
        >>> Network([2, 2, 2], bias=["shared", False]).bias_description()
        'layer 1 one shared, layer 2 none'
        """
        words = {"neuron": "one per neuron", "shared": "one shared", "none": "none"}
        return ", ".join(
            f"layer {l} {words[mode]}" + (", frozen" if mode != "none" and not trained else "")
            for l, (mode, trained) in enumerate(zip(self.bias_modes, self._train_biases), 1)
        )

    def _repr_html_(self) -> str | None:
        # Jupyter's rich display, drawn by deltaprop._notebook (None: the plain repr).
        show = _PROVIDED.get("_repr_html_")
        return None if show is None else show(self)

    def __repr__(self):
        acts = [a.name for a in self.layer_activations]
        if len(set(acts[:-1])) <= 1 and len(acts) > 1:
            act = f"activation={acts[0]!r}, output_activation={acts[-1]!r}"
        else:
            act = f"activations={acts!r}"
        extra = ""
        if self.bias_modes != ["neuron"] * self.num_layers:
            extra += f", bias={self.bias_modes!r}"
        if not all(self._train_biases):
            extra += f", train_biases={self._train_biases!r}"
        return (
            f"Network({self.sizes}, {act}, loss={self.loss.name!r}, "
            f"dtype={self.dtype.name!r}{extra})"
        )


# ``fit``, ``evaluate`` and ``save`` are implemented by deltaprop.training and deltaprop.io, the
# exports (to_onnx, to_torch, from_torch, from_sklearn) by deltaprop.export, the notebook
# displays (``_repr_html_``) by deltaprop._notebook: they sit above this
# module (they import it) and hand their functions down here when they are imported, as
# ``import deltaprop`` does: so this module imports none of them.
_PROVIDED = Provided("Network")
#: Make a function the implementation of ``Network.<name>`` (fit, evaluate, save, ...).
provide = _PROVIDED.provide
_provided = _PROVIDED


_BIAS_SIZE = {"neuron": lambda n: n, "shared": lambda n: 1, "none": lambda n: 0}


def _bias_modes(bias, L):
    """One of "neuron", "shared", "none" per layer l = 1..L from ``bias`` (a value or a list)."""
    values = list(bias) if isinstance(bias, (list, tuple)) else [bias] * L
    if len(values) != L:
        raise DeltapropError(
            f"bias has {len(values)} entries but the network has {L} layers with weights; "
            f"expected one value, or one per layer"
        )
    modes = []
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)):
            modes.append("neuron" if v else "none")
        elif isinstance(v, str) and v in _BIAS_SIZE:
            modes.append(v)
        else:
            where = f"bias[{i}]" if isinstance(bias, (list, tuple)) else "bias"
            raise DeltapropError(
                f"{where}={_short(v)} is invalid; expected True (one bias per neuron), "
                f"'shared' (one bias for the whole layer) or False (no bias)"
            )
    return modes


def _per_layer_flags(value, L, name):
    """A bool or a list of L bools, as a list of L bools."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * L
    if len(values) != L or not all(isinstance(v, (bool, np.bool_)) for v in values):
        raise DeltapropError(
            f"{name}={_short(value)} is invalid; expected True, False or a list of {L} "
            f"of them (one per layer with weights)"
        )
    return [bool(v) for v in values]


def _bias_gradient(delta, mode):
    """∂C/∂b^l by BP3 from Δ^l (m, n_l): the batch mean per neuron, summed over the neurons for
    a shared bias (b^l enters every z_j^l), empty for a layer without bias."""
    if mode == "none":
        return np.zeros(0, dtype=delta.dtype)
    db = delta.mean(axis=0)
    return db.sum(keepdims=True) if mode == "shared" else db


def _check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise DeltapropTypeError(
            f"sizes={_short(sizes)} is invalid; expected a list of layer widths "
            f"such as [784, 30, 10]"
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise DeltapropError(
            f"sizes={sizes} has {len(sizes)} entries; expected at least 2 "
            f"(an input and an output layer)"
        )
    for i, n in enumerate(sizes):
        check_int(n, f"sizes[{i}]", minimum=1)
    return [int(n) for n in sizes]


def _layer_activations(activation, output_activation, L):
    """One Activation per layer l = 1..L."""
    if isinstance(activation, (list, tuple)):
        hidden = [_activations.get(a) for a in activation]
        if len(hidden) != L - 1:
            raise DeltapropError(
                f"activation is a list of {len(hidden)} names but the network has "
                f"{L - 1} hidden layers; expected one name per hidden layer"
            )
        if output_activation is None:
            raise DeltapropError("output_activation is required when activation is a list")
    else:
        hidden = [_activations.get(activation)] * (L - 1)
        if output_activation is None:
            output_activation = activation
    try:
        output = _activations.get(output_activation)
    except ValueError as exc:  # the registry's message says activation=...; name the argument
        raise DeltapropError(f"output_activation: {exc}") from None
    for i, act in enumerate(hidden):
        if not act.elementwise:
            raise DeltapropError(
                f"activation {act.name!r} on hidden layer {i + 1} is not allowed; "
                f"softmax normalises a whole layer and belongs on the output layer "
                f"only (output_activation='softmax')"
            )
    return hidden + [output]


def _warn_idle_biases(modes, acts):
    """Warn of a shared bias under an activation that ignores a common shift (softmax): it
    changes no output, so its gradient is zero and it never moves."""
    for l, (mode, act) in enumerate(zip(modes, acts), 1):
        if mode == "shared" and act.shift_invariant:
            warnings.warn(
                f"layer {l}'s shared bias has no effect: {act.name} ignores a shift common to "
                f"every z_j, so ∂C/∂b^{l} = 0 and b^{l} keeps its initial value; expected "
                f"bias=True (one per neuron) or False for this layer",
                UserWarning,
                stacklevel=3,
            )


def _check_loss_pair(loss, output):
    lo, hi = loss.needs_output_range
    olo, ohi = output.output_range
    if olo < lo or ohi > hi:
        raise DeltapropError(
            f"loss={loss.name!r} needs outputs in ({lo}, {hi}) but "
            f"output_activation={output.name!r} ranges over ({olo}, {ohi}); expected "
            f"output_activation 'sigmoid' or 'softmax'"
        )
