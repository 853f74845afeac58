"""The ``deltaprop export MODEL OUT.onnx`` command (registered by the ``deltaprop`` group)."""

from __future__ import annotations

import json
import os

import click

from ..io import load
from .onnx import DEFAULT_OPSET, MIN_OPSET, to_onnx

__all__ = ["export"]


@click.command(
    name="export",
    short_help="Write a saved model as an ONNX file.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--opset",
    type=click.IntRange(min=MIN_OPSET),
    default=DEFAULT_OPSET,
    show_default=True,
    help="ONNX operator set version.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def export(model, out, opset, as_json):
    """Write the model file MODEL as the ONNX model OUT (needs `pip install 'deltaprop[onnx]'`).

    The graph reads "x" (batch, n_0) and gives "probabilities" (a^L) and, for a classifier,
    "label" (the predicted class); ONNX Runtime's outputs equal `deltaprop predict`'s.
    """
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise click.BadParameter(f"directory {directory!r} does not exist", param_hint="OUT")
    net = load(model)
    try:
        path = to_onnx(net, out, opset=opset)
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    outputs = ["probabilities", "label"] if net.is_classifier else ["probabilities"]
    if as_json:
        info = {"path": str(path), "opset": opset, "sizes": net.sizes, "dtype": net.dtype.name}
        click.echo(json.dumps({**info, "outputs": outputs}))
    else:
        sizes = "-".join(map(str, net.sizes))
        click.echo(f"wrote {path}: {sizes} {net.dtype.name}, opset {opset}, outputs {outputs}")
