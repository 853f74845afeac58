"""Example networks for ``deltaprop.explain``: the shipped JSON/TOML files and their loader.

``load_example`` builds a network, input, target and learning rate from a small JSON or TOML
file (or a dict); ``builtin_example("mazur")`` is Matt Mazur's 2-2-2 sigmoid network and
``builtin_examples()`` lists every file shipped in this folder. An example file, with every key
(``sizes``, ``activation``, ``output_activation``, ``loss`` and ``learning_rate`` may be left
out)::

    sizes = [2, 2, 2]                 # inferred from the weights when absent
    activation = "sigmoid"            # one name, or one per layer (output included)
    # output_activation = "softmax"   # the output layer's, when it differs
    loss = "quadratic"
    weights = [ [[0.15, 0.20], [0.25, 0.30]],      # W^1, shape (n_1, n_0)
                [[0.40, 0.45], [0.50, 0.55]] ]     # W^2, shape (n_2, n_1)
    biases = [ [0.35, 0.35], [0.60, 0.60] ]
    # bias = "shared"                 # one b per layer: biases = [ [0.35], [0.60] ] (or 0.35)
    # bias = false                    # no biases: leave out the biases key
    # bias = ["shared", false]        # per layer; a layer without bias has [] in biases
    # train_biases = false            # frozen biases: the step updates the weights only
    input = [0.05, 0.10]              # or a list of up to 8 samples; alias x
    target = [0.01, 0.99]             # alias y; class labels also accepted
    learning_rate = 0.5               # alias lr; default 0.5

TOML needs Python 3.11 (tomllib) or the tomli package on 3.10; JSON always works.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import os
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .. import activations as _activations
from .. import losses as _losses
from .._atomic import open_regular
from .._validation import DeltapropError, DeltapropTypeError, _short
from ..network import Network

__all__ = [
    "load_example",
    "builtin_example",
    "builtin_examples",
    "builtin_example_path",
    "Example",
    "DEFAULT_LR",
]

#: Learning rate used when neither the call nor the example file gives one (Mazur's η).
DEFAULT_LR = 0.5

_MAX_EXAMPLE_BYTES = 16 * 2**20


class Example(NamedTuple):
    """What ``load_example`` returns: unpack as ``net, x, y, lr = load_example(path)``."""

    net: Network
    x: np.ndarray
    y: np.ndarray
    lr: float


_KEYS = {
    "sizes": "sizes",
    "weights": "weights",
    "biases": "biases",
    "bias": "bias",
    "train_biases": "train_biases",
    "activation": "activation",
    "activations": "activation",
    "output_activation": "output_activation",
    "loss": "loss",
    "input": "input",
    "x": "input",
    "target": "target",
    "y": "target",
    "learning_rate": "learning_rate",
    "lr": "learning_rate",
    "name": None,
    "description": None,
    "source": None,
}


class _SpecError(DeltapropError):
    """A mistake in an example; load_example prefixes the file's name."""


def load_example(source: str | os.PathLike[str] | Mapping[str, Any]) -> Example:
    """Build (net, x, y, lr) from an example file (JSON or TOML) or a dict.

    Parameters
    ----------
    source : str, path or mapping
        A ``.json`` or ``.toml`` file (other suffixes: JSON if the text starts with "{",
        otherwise TOML) or the parsed dict. Keys: ``weights`` (list of per-layer nested lists,
        shape (n_l, n_{l−1})), ``biases`` (unless ``bias`` is false), ``input`` (alias
        ``x``), ``target`` (alias ``y``) are required; ``bias`` (true, "shared", false or
        one per layer: see ``Network``), ``train_biases``, ``sizes`` (checked against the
        weights, inferred when absent),
        ``activation`` (one name for all layers, or a list: one per layer including the
        output, or one per hidden layer with ``output_activation``; default "sigmoid"),
        ``output_activation``, ``loss`` (default "quadratic"), ``learning_rate`` (alias ``lr``,
        default 0.5) are optional; ``name``, ``description`` and ``source`` are ignored.

    Returns
    -------
    Example
        A named tuple (net, x, y, lr): a float64 Network carrying the given parameters, the
        input and target as arrays, and the learning rate.

    Raises
    ------
    ValueError
        One line naming the key and what was expected, prefixed by the file's name, e.g.
        "ex.json: weights[1] has shape (2, 3); expected (2, 2) for sizes [2, 2, 2]".
    """
    if isinstance(source, Mapping):
        spec, where = dict(source), ""
    elif isinstance(source, (str, Path)) or hasattr(source, "__fspath__"):
        path = Path(source)
        spec, where = _read_spec(path), f"{path.name}: "
    else:
        raise DeltapropTypeError(
            f"source={_short(source)} is invalid; expected a path to a .json or "
            f".toml file, or a dict"
        )
    try:
        return _build_example(spec)
    except (_SpecError, ValueError, TypeError) as exc:
        msg = " ".join(str(exc).split("\n"))
        raise DeltapropError(f"{where}{msg}") from None


def _read_spec(path: Path) -> dict:
    """The parsed example file: JSON or TOML by suffix, else by its first character."""
    f, size = open_regular(path, "a JSON or TOML example")
    with f:
        if size > _MAX_EXAMPLE_BYTES:
            raise DeltapropError(
                f"{path.name}: {size:,} bytes; an example file holds at most "
                f"{_MAX_EXAMPLE_BYTES:,} (a small network written out by hand)"
            )
        raw = f.read(size + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeltapropError(
            f"{path.name}: not a UTF-8 text file ({exc.reason} at byte "
            f"{exc.start}); expected a JSON or TOML example"
        ) from None
    suffix = path.suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
    if as_json:
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeltapropError(
                f"{path.name}: invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from None
        except (RecursionError, ValueError) as exc:
            raise DeltapropError(f"{path.name}: {_parse_problem(exc)}") from None
    else:
        toml = _toml_module()
        if toml is None:
            raise DeltapropError(
                f"{path.name}: reading TOML needs Python 3.11 or the 'tomli' "
                f"package; install tomli or write the example as JSON"
            )
        try:
            spec = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise DeltapropError(
                f"{path.name}: invalid TOML: {' '.join(str(exc).split())}"
            ) from None
        except (RecursionError, ValueError) as exc:
            raise DeltapropError(f"{path.name}: {_parse_problem(exc)}") from None
    if not isinstance(spec, dict):
        raise DeltapropError(
            f"{path.name}: the top level is a {type(spec).__name__}; expected an "
            f"object (table) with keys such as weights, biases, input, target"
        )
    return spec


def _parse_problem(exc: BaseException) -> str:
    """What went wrong when the JSON/TOML parser itself gave up, in words for the user."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse; expected weights nested three levels at most"
    if "digits" in str(exc):
        return "a number has thousands of digits; expected ordinary numbers"
    return f"cannot be parsed ({' '.join(str(exc).split())[:120]})"


def _toml_module() -> types.ModuleType | None:
    """tomllib (Python 3.11+), else tomli when installed, else None."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # Python 3.10
        import tomli
    except ImportError:
        return None
    return tomli


def _build_example(raw: dict) -> Example:
    """Check an example's keys and values, in the order they are read, and build it."""
    spec = _canonical_spec(raw)
    sizes, Ws, origin = _example_weights(spec)
    modes = _example_bias_modes(spec.get("bias", True), len(sizes) - 1)
    bs = _example_biases(spec.get("biases"), sizes, origin, modes)
    net = _example_network(spec, sizes, Ws, bs)
    x = _numbers(spec["input"], "input", (1, 2))
    X, single = net.check_inputs(x, "input")
    y_raw = _numbers(spec["target"], "target", (0, 1, 2))
    # one sample's target must fill the output layer: check_targets would take a lone entry
    # for a class label
    if single and y_raw.size != sizes[-1]:
        raise _SpecError(
            f"target has {y_raw.size} entries; expected {sizes[-1]} (one per output "
            f"neuron) for sizes {sizes}"
        )
    y = net.check_targets(y_raw, X.shape[0], single, "target")
    if single:
        y = y[0]
    lr = spec.get("learning_rate", DEFAULT_LR)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr < 0:
        raise _SpecError(f"learning_rate is {_short(lr)}; expected a number >= 0 such as 0.5")
    return Example(net=net, x=x, y=y, lr=float(lr))


def _canonical_spec(raw: dict) -> dict[str, Any]:
    """The example's keys under their canonical names (aliases resolved, notes dropped)."""
    spec = {}
    for key, value in raw.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), list(_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(k for k, v in _KEYS.items() if v == k)
            raise _SpecError(f"unknown key {key!r}{hint}; expected keys: {known}")
        canon = _KEYS[key]
        if canon is None:
            continue
        if canon in spec:
            raise _SpecError(f"keys {canon!r} and {key!r} both given; expected one of them")
        spec[canon] = value
    for key, what in (
        ("weights", "a list of per-layer weight matrices, shape (n_l, n_{l-1})"),
        ("input", "the input x: a list of n_0 numbers (or of samples)"),
        ("target", "the target y: a list of n_L numbers (or of samples)"),
    ):
        if key not in spec:
            raise _SpecError(f"missing key {key!r}; expected {what}")
    if "biases" not in spec and spec.get("bias", True) is not False:
        raise _SpecError(
            "missing key 'biases'; expected a list of per-layer bias vectors, length n_l "
            "(or bias = false for a network without biases)"
        )
    return spec


def _example_weights(spec: dict[str, Any]) -> tuple[list[int], list[np.ndarray], str]:
    """(sizes, weight matrices, origin) checked against each other; origin notes inferred sizes."""
    weights = spec["weights"]
    if not isinstance(weights, (list, tuple, np.ndarray)) or len(weights) == 0:
        raise _SpecError(
            f"weights is {_short(weights)}; expected a non-empty list of "
            f"per-layer weight matrices, shape (n_l, n_{{l-1}})"
        )
    Ws = [_numbers(w, f"weights[{i}]", 2) for i, w in enumerate(weights)]
    if "sizes" in spec:
        sizes, origin = _example_sizes(spec["sizes"]), ""
    else:
        sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
        origin = " (inferred from the weights' rows)"
    L = len(sizes) - 1
    if len(Ws) != L:
        raise _SpecError(
            f"weights has {len(Ws)} matrices; expected {L} (one per layer after "
            f"the input) for sizes {sizes}"
        )
    for i, W in enumerate(Ws):
        want = (sizes[i + 1], sizes[i])
        if W.shape != want:
            raise _SpecError(
                f"weights[{i}] has shape {W.shape}; expected {want} for sizes {sizes}{origin}"
            )
    return sizes, Ws, origin


def _example_sizes(sizes: Any) -> list[int]:
    """The example's layer sizes: at least 2 positive integers."""
    if (
        not isinstance(sizes, (list, tuple))
        or len(sizes) < 2
        or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1
            for n in sizes
        )
    ):
        raise _SpecError(
            f"sizes is {_short(sizes)}; expected a list of at least 2 "
            f"positive integers such as [2, 2, 2]"
        )
    return [int(n) for n in sizes]


def _example_bias_modes(bias: Any, L: int) -> list[str]:
    """The example's bias mode per layer ("neuron", "shared", "none"), as Network reads it."""
    try:
        return Network([1] * (L + 1), bias=bias).bias_modes
    except (ValueError, TypeError) as exc:
        raise _SpecError(str(exc)) from None


def _example_biases(
    biases: Any, sizes: list[int], origin: str, modes: list[str]
) -> list[np.ndarray]:
    """The bias vectors, one per layer after the input, checked against the sizes and modes:
    n_l entries, one for a shared bias (or a bare number), none ([] or absent) without."""
    L = len(sizes) - 1
    if biases is None and all(m == "none" for m in modes):
        return [np.zeros(0) for _ in modes]
    if not isinstance(biases, (list, tuple, np.ndarray)) or len(biases) != L:
        n = len(biases) if isinstance(biases, (list, tuple, np.ndarray)) else None
        got = f"has {n} vectors" if n is not None else f"is {_short(biases)}"
        raise _SpecError(
            f"biases {got}; expected a list of {L} vectors (one per layer after "
            f"the input) for sizes {sizes}"
        )
    bs = []
    for i, (b, mode) in enumerate(zip(biases, modes)):
        if mode == "none":
            if not (b is None or (isinstance(b, (list, tuple)) and len(b) == 0)):
                raise _SpecError(
                    f"biases[{i}] is {_short(b)} but layer {i + 1} has no bias "
                    f"(bias); expected [] there"
                )
            bs.append(np.zeros(0))
            continue
        arr = _numbers(b, f"biases[{i}]", (0, 1) if mode == "shared" else 1).reshape(-1)
        want = 1 if mode == "shared" else sizes[i + 1]
        if arr.shape != (want,):
            why = "one bias shared by the layer" if mode == "shared" else f"sizes {sizes}{origin}"
            raise _SpecError(f"biases[{i}] has {arr.shape[0]} entries; expected {want} for {why}")
        bs.append(arr)
    return bs


def _example_network(
    spec: dict[str, Any], sizes: list[int], Ws: list[np.ndarray], bs: list[np.ndarray]
) -> Network:
    """A float64 Network with the example's activations, loss and parameters."""
    hidden, output = _example_activations(
        spec.get("activation", "sigmoid"), spec.get("output_activation"), len(sizes) - 1
    )
    loss = spec.get("loss", "quadratic")
    try:
        loss = _losses.get(loss)
    except ValueError as exc:
        raise _SpecError(str(exc)) from None
    try:
        net = Network(sizes, activation=hidden, output_activation=output, loss=loss, seed=0,
                      bias=spec.get("bias", True))  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise _SpecError(f"loss/activation: {exc}") from None
    try:
        net.train_biases = spec.get("train_biases", True)
    except (ValueError, TypeError) as exc:
        raise _SpecError(str(exc)) from None
    net.weights = Ws
    net.biases = bs
    return net


def _example_activations(activation, output_activation, L):
    """(hidden, output) for the Network constructor from the example's activation keys."""

    def one(value, key):
        try:
            return _activations.get(value)
        except (ValueError, TypeError) as exc:
            raise _SpecError(f"{key}: {exc}") from None

    out = one(output_activation, "output_activation") if output_activation is not None else None
    if isinstance(activation, (list, tuple)):
        acts = [one(a, f"activation[{i}]") for i, a in enumerate(activation)]
        if len(acts) == L:
            if out is not None and out != acts[-1]:
                raise _SpecError(
                    f"activation[{L - 1}] is {acts[-1].name!r} but "
                    f"output_activation is {out.name!r}; expected them to agree "
                    f"(or {L - 1} hidden activations in the list)"
                )
            return acts[:-1], acts[-1]
        if len(acts) == L - 1 and out is not None:
            return acts, out
        raise _SpecError(
            f"activation has {len(acts)} names; expected {L} (one per layer, output "
            f"included) or {L - 1} with output_activation"
        )
    act = one(activation, "activation")
    return act, out if out is not None else act


def _numbers(value, key: str, ndim) -> np.ndarray:
    """A nested list of finite numbers as a float64 array with one of the allowed ``ndim``."""
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if isinstance(value, np.ndarray):
        value = value.tolist()

    def walk(v, path, depth):
        if depth > max(ndims):  # bounded: a list nested 900 deep never reaches the recursion limit
            raise _SpecError(
                f"{key} is nested {depth + 1} or more levels deep; expected "
                f"{' or '.join(_NDIM_WORDS[d] for d in ndims)}"
            )
        if isinstance(v, (list, tuple)):
            if len(v) == 0:
                raise _SpecError(f"{path} is empty; expected numbers")
            shapes = [walk(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v)]
            for i, shp in enumerate(shapes[1:], 1):
                if shp != shapes[0]:
                    raise _SpecError(
                        f"{path}[{i}] has {_describe(shp)}; expected "
                        f"{_describe(shapes[0])} like {path}[0] (rows must have "
                        f"equal length)"
                    )
            return (len(v),) + shapes[0]
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise _SpecError(f"{path} is {_short(v)}; expected a number")
        if not math.isfinite(v):
            raise _SpecError(f"{path} is {v}; expected a finite number")
        return ()

    shape = walk(value, key, 0)
    if len(shape) not in ndims:
        want = " or ".join(_NDIM_WORDS[d] for d in ndims)
        raise _SpecError(f"{key} has shape {shape}; expected {want}")
    return np.asarray(value, dtype=np.float64)


_NDIM_WORDS = {0: "a number", 1: "a list of numbers", 2: "a list of lists of numbers (rows)"}


def _describe(shape):
    """A nested list's shape in words for messages about ragged rows."""
    return (
        "a number"
        if shape == ()
        else f"{shape[0]} entries"
        if len(shape) == 1
        else f"shape {shape}"
    )


def builtin_examples() -> list[str]:
    """Names of the examples shipped with deltaprop (for ``builtin_example``)."""
    return sorted(p.stem for p in _examples_dir().iterdir() if p.suffix in (".json", ".toml"))


def builtin_example_path(name: str = "mazur") -> Path:
    """The file of a shipped example (copy it to start your own)."""
    names = builtin_examples()
    if not isinstance(name, str) or name not in names:
        raise DeltapropError(
            f"example {_short(name)} is unknown; expected one of: {', '.join(names)}"
        )
    for suffix in (".json", ".toml"):
        path = _examples_dir() / f"{name}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(name)  # pragma: no cover - names come from the directory


def builtin_example(name: str = "mazur") -> Example:
    """A shipped example as (net, x, y, lr).

    "mazur": Matt Mazur's step-by-step example, a 2-2-2 sigmoid network with biases and the
    quadratic cost, x = (0.05, 0.10), y = (0.01, 0.99), η = 0.5 (C = 0.298371109; after the
    step w^2_11 = 0.35891648). "relu-softmax": a 2-2-2 network with a ReLU hidden layer (one
    unit dead), softmax output and cross-entropy, worked by hand in the tests. "shared-bias":
    Mazur's network as he draws it, one bias shared by each layer. "no-bias": a 2-3-1 network
    without biases, tanh hidden layer and linear output, E = ½(d − y)².
    """
    return load_example(builtin_example_path(name))


def _examples_dir() -> Path:
    """The folder holding the shipped example files."""
    return Path(__file__).resolve().parent
