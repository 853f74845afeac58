"""Named training configurations, among them the textbook's MNIST experiments.

Each preset is plain data: the architecture, the data set and the ``fit`` arguments. The MNIST
presets follow the book's protocol: train on the first 50,000 images of the training file,
validate on the last 10,000, report the test accuracy of the weights from the epoch with the
best validation accuracy (``restore_best``).
"""

from __future__ import annotations

from typing import Any

from ._validation import DeltapropError, _short

__all__ = ["PRESETS", "get"]

PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "description": "a one-minute first run on the embedded 8x8 digits (no download)",
        "dataset": "digits",
        "layers": [64, 30, 10],
        "activation": "sigmoid",
        "loss": "quadratic",
        "init": "normal",
        "optimizer": "sgd",
        "lr": 3.0,
        "batch_size": 10,
        "epochs": 30,
        "restore_best": True,
    },
    "nielsen-ch1": {
        "description": "the book's chapter 1 network: [784, 30, 10] sigmoid, quadratic cost",
        "book_accuracy": 0.9542,
        "dataset": "mnist",
        "layers": [784, 30, 10],
        "activation": "sigmoid",
        "loss": "quadratic",
        "init": "normal",
        "optimizer": "sgd",
        "lr": 3.0,
        "batch_size": 10,
        "epochs": 30,
        "restore_best": True,
    },
    "nielsen-ch3": {
        "description": "the book's chapter 3 network: [784, 100, 10], cross-entropy, L2 5.0",
        "book_accuracy": 0.9804,
        "dataset": "mnist",
        "layers": [784, 100, 10],
        "activation": "sigmoid",
        "loss": "binary_cross_entropy",
        "init": "scaled_normal",
        "optimizer": "sgd",
        "lr": 0.1,
        "batch_size": 10,
        "epochs": 60,
        "l2": 5.0,
        "restore_best": True,
    },
    "modern": {
        "description": "ReLU hidden layers, softmax + cross-entropy, He init, Adam, cosine decay",
        "dataset": "mnist",
        "layers": [784, 256, 128, 10],
        "activation": "relu",
        "output_activation": "softmax",
        "loss": "cross_entropy",
        "init": "he_normal",
        "optimizer": "adam",
        "lr": 0.001,
        "schedule": "cosine",
        "batch_size": 64,
        "epochs": 10,
        "restore_best": True,
    },
}


def get(name: str) -> dict[str, Any]:
    """A copy of the preset called `name`."""
    if name not in PRESETS:
        raise DeltapropError(
            f"preset={_short(name)} is unknown; expected one of: {', '.join(sorted(PRESETS))}"
        )
    return dict(PRESETS[name])
