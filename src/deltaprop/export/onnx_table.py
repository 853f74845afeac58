"""The model's preprocessing as ONNX nodes: raw columns in, the network's a^0 out.

A model trained on a table (``Network.preprocessor``) exports with one graph input per column,
named as the column: a numeric column is ``tensor(double)`` of shape (batch, 1), a text column
``tensor(string)`` of shape (batch, 1). The nodes repeat the Preprocessor's arithmetic in
float64 (x − center) / scale, an empty numeric cell (NaN) filled with the training value when
the model imputes, each text column one-hot encoded over its stored categories by the
``ai.onnx.ml`` OneHotEncoder (an unseen category is all zeros with ``unknown="zeros"``, else a
runtime error), then one Concat and a Cast to the network's dtype, as the library computes it.

After the network, ``label`` carries the original class labels (a LabelEncoder from class index
to name: strings, or int64/float for numeric labels) and, for regression, ``value`` is a^L in
the target's own units (float64, shape (batch,)).

An empty text cell (the empty string) takes the column's most frequent training category when
the model imputes (a LabelEncoder before the OneHotEncoder); otherwise it is an unseen category.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import DeltapropError

__all__ = [
    "ML_DOMAIN",
    "ML_OPSET",
    "VALUE",
    "internal_prefix",
    "table_inputs",
    "table_graph",
    "label_names_graph",
]

ML_DOMAIN = "ai.onnx.ml"
#: OneHotEncoder-1 and LabelEncoder-2 (keys_int64s → values_strings/int64s/floats).
ML_OPSET = 3
#: Output of a regression model: predictions in the target's own units.
VALUE = "value"
RAW_INDEX = "label_index"

#: Graph fragments as plain data: (nodes, initializers), nodes as (op, inputs, outputs, attrs).
Parts = tuple[list, dict]


def table_inputs(prep: Any) -> list[tuple[str, str]]:
    """The graph inputs: (column name, "double" or "string") in the preprocessor's order."""
    return [(c["name"], "string" if c["kind"] == "text" else "double") for c in prep.columns]


def internal_prefix(prep: Any, outputs: Sequence[str]) -> str:
    """A prefix for the graph's own tensor names that no column name starts with.

    The graph inputs are named as the columns, and a graph is in single static assignment
    form: a column named like a tensor of the graph ("x", "W1", "label") would name two
    tensors. Refuses an empty column name and a column named as a graph output.
    """
    names = [c["name"] for c in prep.columns]
    for j, name in enumerate(names):
        if not name or name in outputs:
            why = "an empty name" if not name else "the name of a graph output"
            raise DeltapropError(
                f"cannot export to ONNX: the model's column {j + 1} is named {name!r}, {why}; "
                f"expected a non-empty name other than {', '.join(map(repr, outputs))} for "
                f"each graph input (rename the column and train again)"
            )
    prefix = "dp_"
    while any(n.startswith(prefix) for n in names):
        prefix += "_"
    return prefix


def table_graph(prep: Any, dtype: np.dtype, x: str = "x", prefix: str = "") -> Parts:
    """Nodes from the raw column inputs to tensor `x` (batch, n_inputs) in `dtype`; the
    tensors in between are named with `prefix` (see `internal_prefix`)."""
    nodes: list = []
    inits: dict = {}
    pieces = []
    for i, c in enumerate(prep.columns):
        name, t = c["name"], f"{prefix}col{i}"
        if c["kind"] == "text":
            cats = list(c["categories"])
            zeros = 1 if prep.unknown == "zeros" else 0
            text = name
            if prep.impute is not None:  # an empty cell ("") becomes the training's fill
                nodes.append(_fill_text(cats, c["fill"], name, f"{t}_filled"))
                text = f"{t}_filled"
            nodes.append(
                (
                    "OneHotEncoder",
                    [text],
                    [f"{t}_hot3"],
                    {"cats_strings": cats, "zeros": zeros, "domain": ML_DOMAIN},
                )
            )
            inits[f"{t}_shape"] = np.array([-1, len(cats)], dtype=np.int64)
            nodes.append(("Reshape", [f"{t}_hot3", f"{t}_shape"], [f"{t}_hot"], {}))
            nodes.append(("Cast", [f"{t}_hot"], [f"{t}_out"], {"to": "float64"}))
        else:
            value = name
            if prep.impute is not None:
                inits[f"{t}_fill"] = np.array(c["fill"], dtype=np.float64)
                nodes.append(("IsNaN", [name], [f"{t}_nan"], {}))
                nodes.append(("Where", [f"{t}_nan", f"{t}_fill", name], [f"{t}_x"], {}))
                value = f"{t}_x"
            inits[f"{t}_center"] = np.array(c["center"], dtype=np.float64)
            inits[f"{t}_scale"] = np.array(c["scale"], dtype=np.float64)
            nodes.append(("Sub", [value, f"{t}_center"], [f"{t}_c"], {}))
            nodes.append(("Div", [f"{t}_c", f"{t}_scale"], [f"{t}_out"], {}))
        pieces.append(f"{t}_out")
    nodes.append(("Concat", pieces, [f"{prefix}x_double"], {"axis": 1}))
    nodes.append(("Cast", [f"{prefix}x_double"], [x], {"to": np.dtype(dtype).name}))
    return nodes, inits


def _fill_text(categories: list, fill: str, text: str, out: str) -> tuple:
    """A LabelEncoder mapping "" (a missing cell) to `fill` and each category to itself.

    Anything else becomes a string that is no category, so the OneHotEncoder after it treats
    an unseen category as before (all zeros, or a runtime error).
    """
    unseen = "<unseen>"
    while unseen in categories:
        unseen += "_"
    keys = [*categories, ""]
    attrs = {
        "keys_strings": keys,
        "values_strings": [*categories, fill],
        "default_string": unseen,
        "domain": ML_DOMAIN,
    }
    return ("LabelEncoder", [text], [out], attrs)


def label_names_graph(prep: Any, index: str, label: str) -> tuple[Parts, str]:
    """Class index → the original label; returns the parts and the label's element type."""
    classes = list(prep.classes)
    keys = list(range(len(classes)))
    if all(isinstance(v, str) for v in classes):
        attrs: dict[str, Any] = {"values_strings": classes, "default_string": ""}
        elem = "string"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in classes):
        attrs = {"values_int64s": classes, "default_int64": -1}
        elem = "int64"
    else:
        attrs = {"values_floats": [float(v) for v in classes], "default_float": float("nan")}
        elem = "float32"
    node = ("LabelEncoder", [index], [label], {"keys_int64s": keys, **attrs, "domain": ML_DOMAIN})
    return ([node], {}), elem


def value_graph(prep: Any, a: str, value: str = VALUE) -> Parts:
    """Regression: a^L (standardized) back in the target's units, float64, shape (batch,)."""
    inits: dict = {}
    inits["value_scale"] = np.array(prep.target_scale, dtype=np.float64)
    inits["value_center"] = np.array(prep.target_center, dtype=np.float64)
    inits["value_shape"] = np.array([-1], dtype=np.int64)
    nodes = [
        ("Cast", [a], ["value_a"], {"to": "float64"}),
        ("Mul", ["value_a", "value_scale"], ["value_scaled"], {}),
        ("Add", ["value_scaled", "value_center"], ["value_2d"], {}),
        ("Reshape", ["value_2d", "value_shape"], [value], {}),
    ]
    return nodes, inits
