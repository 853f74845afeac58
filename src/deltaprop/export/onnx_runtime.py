"""Running an exported model through ONNX Runtime, for comparison with deltaprop's own predict.

``run_onnx(model, data)`` takes an .onnx file (or a ModelProto, or a deltaprop Network, which
is exported in memory) and either the network's input matrix (a model read through ``"x"``) or
a table of raw columns (a model exported with its preprocessing: each column is fed to the
graph input of its name, text as strings, numbers as float64). It returns the graph's outputs by
name: ``probabilities`` and ``label`` for a classifier, ``value`` for a regression table model.

Importing this module does not import onnxruntime; the functions do.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._validation import DeltapropError
from ..datasets.preprocessor import as_table
from ..network import Network
from .onnx import onnx_model

__all__ = ["session", "run_onnx", "class_names"]


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(
            "running an ONNX model needs onnxruntime, which is not installed; expected "
            "`pip install 'deltaprop[onnx]'`"
        ) from exc
    return onnxruntime


def session(model: Any) -> Any:
    """An ``onnxruntime.InferenceSession`` on the CPU for a path, a ModelProto or a Network."""
    ort = _ort()
    if isinstance(model, Network):
        model = onnx_model(model)
    if isinstance(model, (str, os.PathLike)):
        source: Any = os.fspath(model)
    else:
        source = model.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise DeltapropError(f"ONNX Runtime cannot load the model: {exc}") from None


def class_names(sess: Any) -> list | None:
    """The class names stored in a deltaprop ONNX model's metadata, or None."""
    meta = sess.get_modelmeta().custom_metadata_map
    return json.loads(meta["classes"]) if "classes" in meta else None


def _feeds(sess: Any, data: Any) -> dict[str, np.ndarray]:
    inputs = sess.get_inputs()
    if [i.name for i in inputs] == ["x"]:
        X = np.asarray(data)
        elem = np.float64 if "double" in inputs[0].type else np.float32
        return {"x": np.atleast_2d(X).astype(elem)}
    table = as_table(data)
    feeds = {}
    for spec in inputs:
        if spec.name not in table:
            raise DeltapropError(
                f"{table.source}: no column named {spec.name!r}; the ONNX model reads "
                f"{', '.join(repr(i.name) for i in inputs)}"
            )
        col = table[spec.name]
        if "string" in spec.type:
            values = ["" if v is None else str(v) for v in col.tolist()]
            if table.kind(spec.name) == "numeric":
                values = [_number_text(v) for v in col.tolist()]
            feeds[spec.name] = np.array(values, dtype=object).reshape(-1, 1)
        else:
            feeds[spec.name] = np.asarray(col, dtype=np.float64).reshape(-1, 1)
    return feeds


def _number_text(v: float) -> str:
    """A category written as a number, as the preprocessor names it ('1' for 1.0)."""
    if np.isnan(v):
        return ""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def run_onnx(model: Any, data: Any) -> dict[str, np.ndarray]:
    """The ONNX model's outputs for `data`, by name.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto, Network or an InferenceSession
    data : array (for a graph reading "x") or a table (DataFrame, Table) of raw columns

    Examples
    --------
    >>> net = Network([2, 3, 2], output_activation="softmax", loss="cross_entropy", seed=0)
    >>> out = run_onnx(net, [[0.5, -1.0]])                            # doctest: +SKIP
    >>> np.allclose(out["probabilities"], net.predict_proba([[0.5, -1.0]]))  # doctest: +SKIP
    True
    """
    sess = model if hasattr(model, "get_inputs") else session(model)
    feeds = _feeds(sess, data)
    try:
        values = sess.run(None, feeds)
    except Exception as exc:  # an unseen category, a wrong shape: onnxruntime's own errors
        raise DeltapropError(f"ONNX Runtime failed: {str(exc).splitlines()[0]}") from None
    return {o.name: v for o, v in zip(sess.get_outputs(), values)}
