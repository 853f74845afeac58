"""ONNX export: the forward pass of a Network as standard ONNX operators.

The graph is built in two steps so that more can be put in front of the network later:
``network_graph`` turns the network into nodes and initialisers that read a tensor of any name
(the graph input ``"x"`` today), and ``onnx_model`` wraps them into a model with its inputs,
outputs and metadata. A preprocessing step (standardization, one-hot of categories) becomes
nodes from the raw input to an intermediate tensor, whose name ``network_graph`` then takes as
its input: raw rows in, probabilities and labels out.

Importing this module does not import onnx; the functions do (``pip install 'deltaprop[onnx]'``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_write_bytes, check_path
from .._validation import DeltapropError, check_int
from .._version import __version__
from ..network import Network
from . import onnx_table

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "GraphParts", "network_graph", "onnx_model", "to_onnx"]

#: The opset written when none is asked for (ONNX Runtime has supported it since 1.14).
DEFAULT_OPSET = 17
#: Softmax over axis −1 of any rank, GreaterOrEqual and Relu for doubles need opset 13.
MIN_OPSET = 13

#: Outputs: a^L always (``predict_proba``), the predicted label for a classifier.
PROBABILITIES, LABEL = "probabilities", "label"


@dataclass
class GraphParts:
    """Nodes and initialisers of a graph fragment, as plain data before onnx builds it.

    Attributes
    ----------
    nodes : list of (op_type, inputs, outputs, attributes)
        The activations' ``onnx_nodes`` form.
    initializers : dict of name -> ndarray
    """

    nodes: list = field(default_factory=list)
    initializers: dict = field(default_factory=dict)


def _onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs onnx, which is not installed; expected "
            "`pip install 'deltaprop[onnx]'` (or `pip install onnx onnxruntime`)"
        ) from exc
    return onnx


def network_graph(net: Network, x: str = "x", y: str = PROBABILITIES) -> GraphParts:
    """The forward pass from tensor `x` to tensor `y`: one Gemm and σ's nodes per layer.

    Parameters
    ----------
    net : Network
    x : str
        Name of the tensor of shape (m, n_0) the network reads: the graph input, or the output
        of a preprocessing fragment placed before it.
    y : str
        Name of a^L, shape (m, n_L).

    Returns
    -------
    GraphParts

    Notes
    -----
    Layer l is Z^l = Gemm(A^{l−1}, W^l, b^l, transB=1) = A^{l−1} (W^l)ᵀ + b^l, the engine's
    own formula with W^l stored as (n_l, n_{l−1}), followed by ``σ_l.onnx_nodes``. A layer
    without bias has Gemm without its C input; a bias shared by the layer is stored repeated
    n_l times (the same forward pass). An
    activation without an ONNX form makes the export fail, naming every such layer.
    """
    parts, missing = GraphParts(), []
    a = x
    L = len(net.weights)
    for l, (W, b, act) in enumerate(zip(net.weights, net.biases, net.layer_activations), 1):
        z, out = f"z{l}", (y if l == L else f"a{l}")
        parts.initializers[f"W{l}"] = np.array(W)
        gemm_inputs = [a, f"W{l}"]
        if b.size:  # a shared b^l is written out per neuron: the same z^l; no bias: no C input
            parts.initializers[f"b{l}"] = np.broadcast_to(b, (W.shape[0],)).copy()
            gemm_inputs.append(f"b{l}")
        parts.nodes.append(("Gemm", gemm_inputs, [z], {"transB": 1}))
        try:
            parts.nodes.extend(act.onnx_nodes(z, out))
        except NotImplementedError:
            missing.append(f"layer {l} ({act.name!r}, {type(act).__name__})")
        a = out
    if missing:
        raise DeltapropError(
            f"cannot export to ONNX: no ONNX form for the activation of {', '.join(missing)}; "
            f"expected built-in activations or a class that defines onnx_nodes(x, y)"
        )
    return parts


def label_graph(net: Network, a: str = PROBABILITIES, label: str = LABEL) -> GraphParts:
    """``Network.predicted_labels`` as nodes: ArgMax over several outputs, a ≥ 0.5 for one."""
    if net.sizes[-1] > 1:
        return GraphParts([("ArgMax", [a], [label], {"axis": 1, "keepdims": 0})])
    nodes = [
        ("Constant", [], ["label_half"], {"value_float": 0.5}),
        ("GreaterOrEqual", [a, "label_half"], ["label_ge"], {}),
        ("Cast", ["label_ge"], ["label_2d"], {"to": "int64"}),
        ("Constant", [], ["label_axis"], {"value_ints": [1]}),
        ("Squeeze", ["label_2d", "label_axis"], [label], {}),
    ]
    return GraphParts(nodes)


def _double_forms(op_type, inputs, outputs, attrs):
    """Equivalent nodes for operators ONNX Runtime lacks in float64 or computes in float32.

    LeakyRelu's α is a float32 attribute (an error of |z|·1e-10 in a float64 graph) and
    Softplus has no float64 kernel; both are rewritten with float64 constants.
    """
    x, y = inputs[0] if inputs else None, outputs[0]
    if op_type == "LeakyRelu":
        return [
            ("Constant", [], [f"{y}_zero"], {"value_float": 0.0}),
            ("Constant", [], [f"{y}_alpha"], {"value_float": attrs.get("alpha", 0.01)}),
            ("Greater", [x, f"{y}_zero"], [f"{y}_pos"], {}),
            ("Mul", [x, f"{y}_alpha"], [f"{y}_neg"], {}),
            ("Where", [f"{y}_pos", x, f"{y}_neg"], [y], {}),
        ]
    if op_type == "Softplus":  # ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), as np.logaddexp
        return [
            ("Relu", [x], [f"{y}_max"], {}),
            ("Abs", [x], [f"{y}_abs"], {}),
            ("Neg", [f"{y}_abs"], [f"{y}_nabs"], {}),
            ("Exp", [f"{y}_nabs"], [f"{y}_exp"], {}),
            ("Constant", [], [f"{y}_one"], {"value_float": 1.0}),
            ("Add", [f"{y}_exp", f"{y}_one"], [f"{y}_sum"], {}),
            ("Log", [f"{y}_sum"], [f"{y}_log"], {}),
            ("Add", [f"{y}_max", f"{y}_log"], [y], {}),
        ]
    return [(op_type, inputs, outputs, attrs)]


def _make_node(onnx, index, op_type, inputs, outputs, attrs, dtype):
    """One NodeProto; float constants take the network's dtype, Cast's "to" may be a name."""
    attrs = dict(attrs)
    if op_type == "Constant" and ("value_float" in attrs or "value_floats" in attrs):
        value = attrs.pop("value_float", None)
        value = attrs.pop("value_floats", value)
        attrs["value"] = onnx.numpy_helper.from_array(np.asarray(value, dtype=dtype))
    if op_type == "Cast" and isinstance(attrs.get("to"), str):
        attrs["to"] = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(attrs["to"]))
    name = f"{op_type}_{index}"
    return onnx.helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs)


def _metadata(net: Network) -> dict[str, str]:
    prep = net.preprocessor
    table = {}
    if prep is not None:
        table = {
            "inputs": json.dumps([c["name"] for c in prep.columns]),
            "target": json.dumps(prep.target),
            "classes": json.dumps(prep.classes),
            "preprocessor": json.dumps(prep.to_dict()),
        }
    return {
        **table,
        "deltaprop_version": __version__,
        "sizes": json.dumps(net.sizes),
        "activations": json.dumps([a.config() for a in net.layer_activations]),
        "loss": json.dumps(net.loss.config()),
        "dtype": net.dtype.name,
        "is_classifier": json.dumps(bool(net.is_classifier)),
        "label_rule": "argmax" if net.sizes[-1] > 1 else "a >= 0.5",
    }


def onnx_model(net: Network, opset: int | None = None, *, check: bool = True) -> Any:
    """The network as an ``onnx.ModelProto`` (in memory; ``to_onnx`` writes it).

    Parameters
    ----------
    net : Network
    opset : int, optional
        ONNX operator set, from ``MIN_OPSET`` (13) to the installed onnx's newest;
        default ``DEFAULT_OPSET`` (17).
    check : bool, default True
        Run ``onnx.checker.check_model(full_check=True)`` (types and shapes) on the result.

    Returns
    -------
    onnx.ModelProto
        Input ``"x"`` of shape (batch, n_0), ``"probabilities"`` a^L of shape (batch, n_L)
        in the network's dtype, and for a classifier ``"label"`` (int64, shape (batch,)):
        ``Network.predicted_labels``. ``metadata_props`` hold the deltaprop version, sizes,
        activations, loss, dtype and the label rule.
    """
    onnx = _onnx()
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else check_int(opset, "opset", minimum=MIN_OPSET)
    if opset > newest:
        raise DeltapropError(f"opset={opset} is newer than the installed onnx's {newest}")
    prep = net.preprocessor
    parts, prefix = GraphParts(), ""
    inputs = [("x", net.dtype.name, net.sizes[0])]
    if prep is not None:
        # raw columns in: the preprocessing's nodes produce the network's input x
        outs = (PROBABILITIES, LABEL, onnx_table.VALUE)
        prefix = onnx_table.internal_prefix(prep, outs)
        parts.nodes, parts.initializers = onnx_table.table_graph(
            prep, net.dtype, prefix + "x", prefix
        )
        inputs = [(name, elem, 1) for name, elem in onnx_table.table_inputs(prep)]
    rest = _network_parts(net, prep)
    if net.dtype == np.float64:
        rest.nodes = [s for n in rest.nodes for s in _double_forms(*n)]
    rest = _prefixed(rest, prefix, keep={PROBABILITIES, LABEL, onnx_table.VALUE})
    parts.nodes += rest.nodes
    parts.initializers.update(rest.initializers)
    outputs = [(PROBABILITIES, net.dtype.name, net.sizes[-1])]
    if net.is_classifier:
        named = prep is not None and prep.classes is not None
        elem = onnx_table.label_names_graph(prep, "", "")[1] if named else "int64"
        outputs.append((LABEL, elem, None))
    elif prep is not None and prep.target is not None:
        outputs.append((onnx_table.VALUE, "float64", None))
    return _assemble(onnx, net, parts, inputs, outputs, opset, check)


def _network_parts(net: Network, prep: Any) -> GraphParts:
    """The network from "x" to the outputs: a^L, and the label or the value in target units."""
    parts = GraphParts()
    network = network_graph(net, "x", PROBABILITIES)
    parts.nodes += network.nodes
    parts.initializers.update(network.initializers)
    if net.is_classifier:
        named = prep is not None and prep.classes is not None
        index = onnx_table.RAW_INDEX if named else LABEL
        parts.nodes += label_graph(net, PROBABILITIES, index).nodes
        if named:
            (nodes, _), _ = onnx_table.label_names_graph(prep, index, LABEL)
            parts.nodes += nodes
    elif prep is not None and prep.target is not None:
        nodes, inits = onnx_table.value_graph(prep, PROBABILITIES)
        parts.nodes += nodes
        parts.initializers.update(inits)
    return parts


def _prefixed(parts: GraphParts, prefix: str, keep: set[str]) -> GraphParts:
    """The same parts with every tensor name but those in `keep` starting with `prefix`."""
    if not prefix:
        return parts

    def name(n: str) -> str:
        return n if n in keep or not n else prefix + n

    nodes = [(op, [name(i) for i in ins], [name(o) for o in outs], attrs)
             for op, ins, outs, attrs in parts.nodes]  # fmt: skip
    return GraphParts(nodes, {name(k): v for k, v in parts.initializers.items()})


def _tensor(onnx, name, elem, width):
    """A graph input or output: (batch, width), or (batch,) when width is None."""
    code = (
        onnx.TensorProto.STRING
        if elem == "string"
        else onnx.helper.np_dtype_to_tensor_dtype(np.dtype(elem))
    )
    shape = ["batch", width] if width else ["batch"]
    return onnx.helper.make_tensor_value_info(name, code, shape)


def _assemble(onnx, net, parts, inputs, outputs, opset, check):
    """The ModelProto from graph parts; inputs and outputs are (name, element type, width)."""
    helper, dtype = onnx.helper, net.dtype
    specs = [s for n in parts.nodes for s in (_double_forms(*n) if dtype == np.float64 else [n])]
    nodes = [_make_node(onnx, i, *spec, dtype=dtype) for i, spec in enumerate(specs)]
    inits = [onnx.numpy_helper.from_array(v, name=k) for k, v in parts.initializers.items()]
    outs = [_tensor(onnx, *spec) for spec in outputs]
    ins = [_tensor(onnx, *spec) for spec in inputs]
    graph = helper.make_graph(nodes, "deltaprop_network", ins, outs, initializer=inits)
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == onnx_table.ML_DOMAIN for n in nodes):
        opsets.append(helper.make_opsetid(onnx_table.ML_DOMAIN, onnx_table.ML_OPSET))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="deltaprop")
    model.producer_version = __version__
    model.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(model, _metadata(net))
    if check:
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as exc:
            acts = ", ".join(a.name for a in net.layer_activations)
            raise DeltapropError(
                f"the ONNX graph of activations ({acts}) is invalid: {str(exc).splitlines()[0]}"
            ) from None
    return model


def to_onnx(net: Network, path: str | os.PathLike, opset: int | None = None) -> Path:
    """Write the network as an ONNX model file (atomically); see ``onnx_model``.

    Parameters
    ----------
    net : Network
    path : str or os.PathLike
        The .onnx file to write; its directory must exist.
    opset : int, optional
        Default ``DEFAULT_OPSET``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> net = Network([2, 3, 2], activation="relu", output_activation="softmax", seed=0)
    >>> to_onnx(net, "model.onnx")                                  # doctest: +SKIP
    PosixPath('model.onnx')
    """
    path = check_path(path)
    if os.path.isdir(path):
        raise DeltapropError(f"path={path!r} is a directory; expected an .onnx file path")
    model = onnx_model(net, opset)
    return atomic_write_bytes(path, model.SerializeToString())
