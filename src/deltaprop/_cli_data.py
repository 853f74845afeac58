"""The command's side of a user's table: reading it, the defaults it suggests, its metrics.

`train --data FILE` reads the file into a Table, splits it and fits the preprocessing on the
training rows (`datasets.load_table`); with no architecture options the network is chosen
from the data (`table_defaults`); `evaluate`, `predict` and `report` apply the model's own
preprocessing to whatever file they are given (`model_table`, `model_inputs`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._validation import DeltapropError
from .datasets import load_npy, load_npz
from .datasets.preprocessor import Preprocessor
from .datasets.table import Table, read_table
from .datasets.tabular import load_table, split_rows

NPZ_TARGET = "y"


def read_user_table(path: str, option: str = "--data") -> Table:
    """A CSV file as read; an NPZ file's X as columns x1, x2, ... and its y as column "y"."""
    if not os.path.exists(path):
        raise DeltapropError(f"{option} {path!r} does not exist; expected a CSV or NPZ file")
    lower = path.lower()
    if lower.endswith(".npz") or lower.endswith(".npy"):
        if lower.endswith(".npy"):
            X, y = load_npy(path), None
        else:
            X, y = load_npz(path, require_y=False)[:2]
        table = Table.from_arrays(X, source=path)
        if y is not None and np.ndim(y) == 1:
            table = table.with_columns({**table.columns, NPZ_TARGET: np.asarray(y)})
        return table
    return read_table(path)


def target_of(path: str, target: str | None, option: str = "--target") -> str:
    """The target column: --target, or "y" for an NPZ file."""
    if path.lower().endswith(".npz"):
        return target or NPZ_TARGET
    if target is None:
        raise DeltapropError(
            f"{option} is required with a CSV file; expected the name of the label column"
        )
    return target


def train_data(
    o: Any, seed: int, dtype: str, fitted: Preprocessor | None = None
) -> tuple[Any, Preprocessor]:
    """(Dataset, Preprocessor) of `train --data`: split, then fitted on the training rows (or
    encoded with `fitted`, a resumed run's own preprocessing)."""
    table = read_user_table(o.data)
    target = target_of(o.data, o.target) if fitted is None else str(fitted.target)
    return load_table(
        table,
        target,
        scale=o.scale or "standard",
        impute=o.impute,
        unknown=o.unknown or "error",
        task=o.task or "auto",
        seed=seed,
        dtype=dtype,
        fitted=fitted,
    )


def check_resumed_table(o: Any, prep: Preprocessor | None, path: str) -> None:
    """--resume of a run on a table: --data is needed, and the table options given must be
    the checkpoint's (its preprocessing is reused, never fitted again)."""
    if prep is None:
        return
    if not o.data:
        raise DeltapropError(
            f"{path} was trained on a table (target {prep.target!r}, columns "
            f"{', '.join(repr(c['name']) for c in prep.columns)}); expected --data FILE to "
            f"continue on it"
        )
    given = {"--target": (o.target, prep.target), "--scale": (o.scale, prep.scale),
             "--impute": (o.impute, prep.impute), "--unknown": (o.unknown, prep.unknown),
             "--task": (o.task, prep.task)}  # fmt: skip
    for option, (value, saved) in given.items():
        if value is not None and value != saved and not (option == "--task" and value == "auto"):
            raise DeltapropError(
                f"{option} {value} conflicts with the checkpoint's {saved!r} ({path}); a "
                f"resumed run encodes its data with the checkpoint's own preprocessing"
            )


def model_table(net: Any, path: str, target: str | None, split: str, seed: int) -> Any:
    """(X, y) of a file for a saved model: its own preprocessing, every row or one split."""
    prep = net.preprocessor
    table = read_user_table(path)
    if prep is None:
        name = target_of(path, target)
        columns = {k: v for k, v in table.columns.items() if k != name}
        if name not in table:
            raise DeltapropError(
                f"{path}: no column named {name!r} (--target); the table has "
                f"{', '.join(map(repr, table.names))}"
            )
        if any(table.kind(k) == "text" for k in columns):
            raise DeltapropError(
                f"{path}: a text column; this model has no stored preprocessing, so expected "
                f"numbers only"
            )
        X = np.column_stack([columns[k] for k in columns])
        y = table[name]
        return _pick(X, y, split, seed, None)
    if target is not None and target != prep.target and prep.target not in table:
        table = table.with_columns(
            {(prep.target if k == target else k): v for k, v in table.columns.items()}
        )
    X, y = prep.transform(table), prep.encode_target(table)
    return _pick(X, y, split, seed, y if prep.classes is not None else None)


def _pick(X: np.ndarray, y: np.ndarray, split: str, seed: int, strata: Any) -> Any:
    if split == "all":
        return X, y
    rows = split_rows(len(X), strata, 0.2, 0.2, seed)[split]
    if not len(rows):
        raise DeltapropError(f"--split {split}: the split has no rows for this file")
    return X[rows], y[rows]


def model_inputs(net: Any, path: str) -> np.ndarray:
    """a^0 for every row of a file given to `predict`: through the model's preprocessing."""
    table = read_user_table(path, "--input")
    if net.preprocessor is not None:
        return net.preprocessor.transform(table)
    if any(table.kind(k) == "text" for k in table.names):
        raise DeltapropError(
            f"--input {path!r}: a text column; this model has no stored preprocessing, so "
            f"expected numbers only"
        )
    return np.column_stack([table[k] for k in table.names])


# ---------------------------------------------------------------------- choices
def table_defaults(prep: Preprocessor, n_train: int) -> dict[str, Any]:
    """A network and a training run that suit the table, for options the user left out.

    One hidden ReLU layer of 2·inputs neurons (16 to 128); the output layer and cost by the
    task (softmax + cross-entropy for several classes, sigmoid + binary cross-entropy for
    two, identity + MSE for regression); Adam at its own η = 0.001; batches of 32; epochs
    for about 6,000 updates (20 to 300), keeping the best validation epoch.
    """
    n_in, n_out = prep.n_inputs, prep.n_outputs
    hidden = int(min(128, max(16, 2 * n_in)))
    out, loss = output_for(prep)
    batch = 32
    steps = max(1, math.ceil(n_train / batch))
    epochs = int(min(300, max(20, round(6000 / steps))))
    return {
        "layers": [n_in, hidden, n_out],
        "activation": "relu",
        "output_activation": out,
        "loss": loss,
        "init": "auto",
        "optimizer": "adam",
        "lr": 0.001,
        "batch_size": batch,
        "epochs": epochs,
        "restore_best": True,
    }


def output_for(prep: Preprocessor) -> tuple[str, str]:
    """(output activation, loss) for the table's task: softmax + cross-entropy for several
    classes, sigmoid + binary cross-entropy for two, identity + MSE for regression."""
    if prep.classes is None:
        return "identity", "mse"
    if prep.n_outputs == 1:
        return "sigmoid", "binary_cross_entropy"
    return "softmax", "cross_entropy"


def describe_table(prep: Preprocessor, ds: Any) -> str:
    """One line saying how the table was read and encoded."""
    text = [c["name"] for c in prep.columns if c["kind"] == "text"]
    cats = f", {len(text)} one-hot ({', '.join(text[:4])}{', ...' if len(text) > 4 else ''})"
    what = (
        f"regression of {prep.target!r}"
        if prep.classes is None
        else f"{len(prep.classes)} classes of {prep.target!r}"
    )
    return (
        f"table: {len(prep.columns)} columns -> {prep.n_inputs} inputs (scale "
        f"{prep.scale}{cats if text else ''}); {what}"
    )


# ---------------------------------------------------------------------- metrics
def regression_metrics(net: Any, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """R² and mean absolute error in the target's own units."""
    prep = net.preprocessor
    pred = net.predict(X)
    if prep is not None:
        pred, y = prep.values(pred), prep.values(y)
    y = np.asarray(y, dtype=np.float64).reshape(len(pred), -1)[:, 0]
    ss_tot = float(((y - y.mean()) ** 2).sum())
    ss_res = float(((y - pred) ** 2).sum())
    return {
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "mae": float(np.abs(y - pred).mean()),
    }


def chance_warning(accuracy: float | None, y: Any, cfg: dict[str, Any], scale: str) -> str:
    """A warning when a classifier is no better than always guessing the commonest class."""
    if accuracy is None or y is None or np.ndim(y) != 1:
        return ""
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    chance = counts.max() / counts.sum()
    if accuracy > chance + 0.02:
        return ""
    causes = []
    if scale == "none":
        causes.append("unscaled inputs (drop --scale none)")
    lr, opt = cfg.get("lr"), cfg.get("optimizer", "sgd")
    causes.append(f"η = {lr:g} too large or too small for {opt} (--lr)")
    if cfg.get("activation") == "sigmoid":
        causes.append("saturated sigmoid units (--activation relu, --diagnostics)")
    causes.append("too few epochs (--epochs)")
    return (
        f"validation accuracy {accuracy:.1%} is at chance level (always guessing the most "
        f"frequent class scores {chance:.1%}); likely causes: " + "; ".join(causes)
    )


def explain_row(net: Any, input_text: str, target_text: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of `explain --model` for a model with preprocessing: --input gives one raw value
    per column (text allowed), in the order of the model's columns; --target a class label or
    a value in the target's own units."""
    prep = net.preprocessor
    cells = [c.strip() for c in input_text.split(",")]
    names = [c["name"] for c in prep.columns]
    if len(cells) != len(names):
        raise DeltapropError(
            f"--input {input_text!r} has {len(cells)} values; expected {len(names)}, one per "
            f"column: {', '.join(names)}"
        )
    row = Table(
        {n: [_cell(v)] for n, v in zip(names, cells)} | {prep.target: [_cell(target_text)]},
        ["--input"],
        "explain",
    )
    x = prep.transform(row)[0]
    y = prep.encode_target(row)
    if prep.classes is not None and net.sizes[-1] > 1:
        return x, net.one_hot(y, "--target")[0]
    return x, np.asarray(y, dtype=np.float64).reshape(1)


def _cell(text: str) -> Any:
    """A command-line value as the CSV reader would read it: a number, or text."""
    try:
        return float(text)
    except ValueError:
        return text


def model_dataset(net: Any, path: str, target: str | None, seed: int) -> Any:
    """A file as the Dataset `report` draws: train's split of it, through the model's
    preprocessing (its training rows, and its test rows for the test metrics)."""
    from .datasets import Dataset

    prep = net.preprocessor
    target = target or prep.target
    X_train, y_train = model_table(net, path, target, "train", seed)
    X_test, y_test = model_table(net, path, target, "test", seed)
    return Dataset(
        name=os.path.basename(path),
        X_train=X_train.astype(net.dtype),
        y_train=y_train,
        X_val=None,
        y_val=None,
        X_test=X_test.astype(net.dtype),
        y_test=y_test,
        n_classes=None if prep.classes is None else len(prep.classes),
        feature_names=tuple(prep.input_names),
        classes=None if prep.classes is None else np.array(prep.classes, dtype=object),
    )
