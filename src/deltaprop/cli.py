"""The ``deltaprop`` command: train, evaluate, predict, inspect and explain networks.

Every error the user can cause (bad options, missing or corrupt files, data that does not fit
the network) ends as one line on stderr and exit code 2: the library's own errors
(`DeltapropError` and its subclasses), click's usage errors and OSError. Any other exception is
a bug and surfaces as one, with its traceback. Ctrl-C during training saves the last completed
epoch's model and exits with 130.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import types

import click

from ._validation import DeltapropError, DeltapropTypeError
from .bench import command as bench_command
from .export.command import export as export_command

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Fail(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _fail(message):
    raise _Fail(message)


# ---------------------------------------------------------------------- option parsing
def _parse_layers(text):
    parts = text.replace(",", "-").split("-")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        _fail(f"--layers {text!r} is malformed; expected widths joined by '-', e.g. 784-30-10")
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        _fail(
            f"--layers {text!r} is invalid; expected at least two positive widths, e.g. 784-30-10"
        )
    return sizes


def _load_data(dataset, data, target, data_dir, seed):
    """A Dataset from a named set or a user file."""
    from . import datasets

    if data is not None:
        if not os.path.exists(data):
            _fail(f"--data {data!r} does not exist; expected a CSV or NPZ file")
        if data.lower().endswith(".npz"):
            X, y = datasets.load_npz(data)
        else:
            if target is None:
                _fail("--target is required with a CSV file; expected the name of the label column")
            X, y = datasets.load_csv(data, target)[:2]
        return datasets.from_arrays(X, y, name=os.path.basename(data), seed=seed)
    kwargs = {"path": data_dir} if dataset == "mnist" and data_dir else {}
    if dataset in ("xor", "moons", "circles", "spirals"):
        # Generated sets follow --seed; the digits split stays fixed so that test accuracies
        # of different runs are comparable.
        kwargs["seed"] = seed if seed is not None else 0
    return datasets.load(dataset, **kwargs)


class _Progress:
    """A rich progress bar per epoch: batches done, running cost, samples per second."""

    def __init__(self, console, batch_size):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]:>3}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cost {task.fields[cost]}"),
            TextColumn("{task.fields[speed]} samples/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self.batch_size = batch_size
        self.task = None

    header = None

    def on_train_begin(self, info):
        if self.header:
            self.progress.console.print(self.header)
        self.progress.start()

    def on_epoch_begin(self, epoch, n_batches):
        self._costs = []
        self._t0 = time.perf_counter()
        self.task = self.progress.add_task("", total=n_batches, epoch=epoch, cost="-", speed="-")

    def on_batch_end(self, batch, cost):
        fields = {}
        if cost is not None:
            self._costs.append(cost)
            fields["cost"] = f"{sum(self._costs) / len(self._costs):.4f}"
            elapsed = time.perf_counter() - self._t0
            fields["speed"] = f"{batch * self.batch_size / max(elapsed, 1e-9):,.0f}"
        self.progress.update(self.task, completed=batch, **fields)

    def on_epoch_end(self, epoch, logs):
        pass

    def stop(self):
        self.progress.stop()


def _history_table(history):
    from rich.table import Table

    table = Table(title="training history")
    cols = [
        ("epoch", "epoch", "{}"),
        ("lr", "η", "{:g}"),
        ("cost", "cost", "{:.4f}"),
        ("accuracy", "accuracy", "{:.2%}"),
        ("val_cost", "val cost", "{:.4f}"),
        ("val_accuracy", "val accuracy", "{:.2%}"),
        ("time", "time (s)", "{:.3f}"),
    ]
    cols = [
        c
        for c in cols
        if getattr(history, c[0]) and all(v is not None for v in getattr(history, c[0]))
    ]
    for _, title, _ in cols:
        table.add_column(title, justify="right")
    for i in range(len(history.epoch)):
        style = "bold green" if history.epoch[i] == history.best_epoch else None
        table.add_row(*[fmt.format(getattr(history, key)[i]) for key, _, fmt in cols], style=style)
    return table


def _write_json(obj):
    click.echo(json.dumps(obj, indent=None, default=_json_default))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise DeltapropTypeError(f"not JSON serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------- commands
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deltaprop")
def main():
    """deltaprop: dense neural networks trained by backpropagation (BP1-BP4)."""


_CHOICE_ACTIVATIONS = [
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "swish",
    "softplus",
    "softmax",
]


@main.command()
@click.option("--preset", default=None, help="Named configuration (see `deltaprop presets`).")
@click.option(
    "--dataset",
    default=None,
    help="digits (embedded, default), mnist, xor, moons, circles, spirals.",
)
@click.option("--data", "data", default=None, help="A CSV or NPZ file of your own.")
@click.option("--target", default=None, help="Label column of --data CSV.")
@click.option("--data-dir", default=None, help="Directory holding the MNIST IDX files.")
@click.option("--layers", default=None, help="Widths joined by '-', e.g. 784-30-10.")
@click.option("--activation", default=None, help="Hidden layers' activation.")
@click.option("--output-activation", default=None, help="Output layer's activation.")
@click.option("--loss", default=None, help="quadratic, mse, binary_cross_entropy, cross_entropy.")
@click.option(
    "--init",
    "init",
    default=None,
    help="normal, scaled_normal, glorot_uniform, glorot_normal, he_normal, he_uniform, auto.",
)
@click.option("--optimizer", default=None, help="sgd, momentum, nesterov, adam.")
@click.option("--momentum", type=float, default=None, help="μ for momentum/nesterov.")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--lr", type=float, default=None, help="Learning rate η.")
@click.option("--l2", type=float, default=None, help="L2 λ (cost + λ/2n Σw²).")
@click.option("--l1", type=float, default=None, help="L1 λ.")
@click.option("--dropout", type=float, default=None, help="Dropout rate of hidden layers.")
@click.option("--schedule", default=None, help="constant, step, cosine, plateau.")
@click.option("--patience", type=int, default=None, help="Early stopping patience (epochs).")
@click.option(
    "--restore-best/--no-restore-best",
    default=None,
    help="Keep the weights of the best validation epoch.",
)
@click.option(
    "--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    default="deltaprop-model.npz",
    show_default=True,
    help="Where to write the trained model ('' for nowhere).",
)
@click.option("--checkpoint", default=None, help="Write a resumable checkpoint here.")
@click.option("--checkpoint-every", type=int, default=1, show_default=True)
@click.option("--resume", default=None, help="Continue the run saved in this checkpoint.")
@click.option("--diagnostics", is_flag=True, help="Record per-layer statistics.")
@click.option("--plots", default=None, help="Write plots into this directory.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or table.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
def train(**opts):
    """Train a network; with no options, on the embedded 8x8 digits."""
    o = types.SimpleNamespace(**opts)
    cfg = _train_config(o)
    for option, path in (("--out", o.out), ("--checkpoint", o.checkpoint)):
        _check_writable(option, path)
    ds = _load_data(cfg.get("dataset") or "digits", o.data, o.target, o.data_dir, o.seed)
    sizes = _train_sizes(cfg, ds)
    config = _fit_config(cfg, o)
    progress = None
    if not (o.quiet or o.as_json):
        from rich.console import Console

        progress = _Progress(Console(stderr=True), cfg["batch_size"])
    net = _new_network(cfg, sizes, o)
    if progress is not None:
        # Printed once fit has accepted every argument.
        progress.header = (
            f"[bold]deltaprop[/] training {sizes} on {ds.name}: "
            f"{ds.X_train.shape[0]} training samples"
            + (f", {ds.X_val.shape[0]} validation" if ds.X_val is not None else "")
        )
    t0 = time.perf_counter()
    net, history, interrupted = _run_fit(net, ds, config, progress, o)
    wall = time.perf_counter() - t0
    metrics = _train_metrics(net, ds, history, wall)
    saved = str(net.save(o.out)) if o.out and net is not None else None
    if o.as_json:
        _write_json(_train_json(o, ds, sizes, net, history, metrics, saved))
    elif not o.quiet:
        _print_training(history, metrics, wall, saved)
    if o.diagnostics and history.diagnostics and not (o.quiet or o.as_json):
        from .diagnostics import format_table

        click.echo(format_table(history, epochs="last"))
    if o.plots and net is not None:
        _write_plots(net, history, o, ds)
    if interrupted:
        click.echo(
            "interrupted: kept the last completed epoch" + (f", saved to {saved}" if saved else ""),
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)


def _train_config(o):
    """The preset's configuration with the options given on the command line applied."""
    from . import presets

    cfg = presets.get(o.preset or "default")
    if o.dataset or o.data:
        # A user data set replaces the preset's, and with it the preset's layer widths.
        cfg["dataset"] = o.dataset
        cfg.pop("layers", None)
    given = {
        "layers": _parse_layers(o.layers) if o.layers else None,
        "activation": o.activation,
        "output_activation": o.output_activation,
        "loss": o.loss,
        "init": o.init,
        "optimizer": o.optimizer,
        "epochs": o.epochs,
        "batch_size": o.batch_size,
        "lr": o.lr,
        "l2": o.l2,
        "l1": o.l1,
        "dropout": o.dropout,
        "schedule": o.schedule,
        "early_stopping": o.patience,
        "restore_best": o.restore_best,
        "momentum": o.momentum,
    }
    cfg.update({k: v for k, v in given.items() if v is not None})
    return cfg


def _train_sizes(cfg, ds):
    """The layer widths: --layers (or the preset's) checked against the data, or a default."""
    n_features = ds.X_train.shape[1]
    n_out = ds.n_classes if ds.n_classes else 1
    sizes = cfg.get("layers") or [n_features, 30, n_out]
    if sizes[0] != n_features:
        _fail(
            f"--layers starts with {sizes[0]} inputs but the data have {n_features} features; "
            f"expected {n_features}-..."
        )
    if sizes[-1] != n_out:
        _fail(
            f"--layers ends with {sizes[-1]} outputs but the data have {n_out} classes; "
            f"expected ...-{n_out}"
        )
    return sizes


def _fit_config(cfg, o):
    """The run's TrainingConfig from the preset, the command's options and their checks."""
    from .history import TrainingConfig

    opt = cfg.get("optimizer", "sgd")
    if cfg.get("momentum") is not None:
        if opt not in ("momentum", "nesterov"):
            _fail(f"--momentum needs --optimizer momentum or nesterov, not {opt!r}")
        from .optimizers import get as get_optimizer

        opt = get_optimizer(opt, lr=cfg["lr"], momentum=cfg["momentum"])
    return TrainingConfig(
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        lr=cfg["lr"],
        optimizer=opt,
        l2=cfg.get("l2", 0.0),
        l1=cfg.get("l1", 0.0),
        dropout=cfg.get("dropout", 0.0),
        schedule=cfg.get("schedule"),
        early_stopping=cfg.get("early_stopping"),
        restore_best=cfg.get("restore_best"),
        seed=o.seed,
        diagnostics=o.diagnostics or bool(o.plots),
        checkpoint=o.checkpoint,
        checkpoint_every=o.checkpoint_every,
    ).validate()


def _new_network(cfg, sizes, o):
    """The network to train, or None when --resume continues a saved run."""
    from . import Network

    if o.resume:
        if not os.path.exists(o.resume):
            _fail(f"--resume {o.resume!r} does not exist; expected a checkpoint file")
        return None
    return Network(
        sizes,
        activation=cfg.get("activation", "sigmoid"),
        output_activation=cfg.get("output_activation"),
        loss=cfg.get("loss", "quadratic"),
        init=cfg.get("init", "auto"),
        dtype=o.dtype,
        seed=o.seed,
    )


def _run_fit(net, ds, config, progress, o):
    """Train (or resume); (net, history, interrupted). Ctrl-C keeps the last epoch."""
    import dataclasses

    from .training import TrainingInterrupted, fit_config, resume

    callbacks = [progress] if progress is not None else []
    validation = (ds.X_val, ds.y_val) if ds.X_val is not None else None
    try:
        if o.resume:
            config.checkpoint = o.checkpoint or o.resume
            options = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
            net, history = resume(
                o.resume, ds.X_train, ds.y_train, callbacks=callbacks,
                validation_data=validation, **options,
            )  # fmt: skip
        else:
            history = fit_config(
                net, ds.X_train, ds.y_train, config, validation_data=validation,
                callbacks=callbacks,
            )  # fmt: skip
    except TrainingInterrupted as exc:
        return net, exc.history, True
    finally:
        if progress is not None:
            progress.stop()
    return net, history, False


def _train_metrics(net, ds, history, wall):
    """Wall time, best epoch, stop reason, and the test and validation cost and accuracy."""
    from .training import evaluate

    metrics = {
        "wall_time": wall,
        "best_epoch": history.best_epoch,
        "stop_reason": history.stop_reason,
    }
    if ds.X_test is not None and net is not None:
        metrics["test_cost"], metrics["test_accuracy"] = evaluate(net, ds.X_test, ds.y_test)
    if ds.X_val is not None and net is not None:
        metrics["val_cost"], metrics["val_accuracy"] = evaluate(net, ds.X_val, ds.y_val)
    return metrics


def _train_json(o, ds, sizes, net, history, metrics, saved):
    """The --json object of a training run."""
    arch = net.config() if net is not None else {}
    return {
        "config": {
            "preset": o.preset,
            "dataset": ds.name,
            "sizes": sizes,
            "dtype": o.dtype,
            "seed": o.seed,
            **arch,
            "training": net.training_config if net is not None else {},
        },
        "history": history.to_dict(),
        "metrics": metrics,
        "model": saved,
    }


def _print_training(history, metrics, wall, saved):
    """The history table and a summary line."""
    from rich.console import Console

    out_console = Console()
    out_console.print(_history_table(history))
    summary = [f"best epoch {history.best_epoch}"]
    if "test_accuracy" in metrics and metrics["test_accuracy"] is not None:
        summary.append(f"test accuracy {metrics['test_accuracy']:.2%}")
    if "test_cost" in metrics:
        summary.append(f"test cost {metrics['test_cost']:.4f}")
    summary.append(f"{wall:.1f} s")
    out_console.print(", ".join(summary))
    if saved:
        out_console.print(f"model saved to {saved}")


def _write_plots(net, history, o, ds):
    try:
        from .plots import write_plots

        written = write_plots(net, history, o.plots, dataset=ds)
    except ImportError as exc:
        _fail(str(exc))
    if not (o.quiet or o.as_json):
        click.echo(f"{len(written)} plots written to {o.plots}")


@main.command()
def presets():
    """List the named training configurations."""
    from .presets import PRESETS

    for name, cfg in PRESETS.items():
        click.echo(f"{name:12s} {cfg['description']}")


@main.command()
@click.argument("model")
@click.option("--dataset", default=None, help="Evaluate on a named data set's test split.")
@click.option("--data", default=None, help="A CSV or NPZ file.")
@click.option("--target", default=None, help="Label column of a CSV file.")
@click.option("--data-dir", default=None)
@click.option("--json", "as_json", is_flag=True)
def evaluate(model, dataset, data, target, data_dir, as_json):
    """Cost and accuracy of a saved model on test data."""
    from .training import evaluate as evaluate_net

    net = _load_model(model)
    if dataset is None and data is None:
        _fail("evaluate needs --dataset NAME or --data FILE; expected one of them")
    ds = _load_data(dataset, data, target, data_dir, 0)
    X, y = (ds.X_test, ds.y_test) if ds.X_test is not None else (ds.X_train, ds.y_train)
    cost, acc = evaluate_net(net, X, y)
    if as_json:
        _write_json({"cost": cost, "accuracy": acc, "samples": int(X.shape[0])})
    else:
        click.echo(
            f"cost {cost:.6f}"
            + (f"  accuracy {acc:.4%}" if acc is not None else "")
            + f"  ({X.shape[0]} samples)"
        )


@main.command()
@click.argument("model")
@click.option("--input", "input_path", required=True, help="CSV (numbers only) or .npy/.npz file.")
@click.option("--proba", is_flag=True, help="Print the output activations instead of classes.")
def predict(model, input_path, proba):
    """Predict classes (or outputs) for the rows of a file."""
    import numpy as np

    net = _load_model(model)
    X = _read_matrix(input_path)
    out = net.predict_proba(X) if proba else net.predict(X)
    for row in np.atleast_1d(out):
        click.echo(" ".join(f"{v:.6g}" for v in np.atleast_1d(row)))


@main.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True)
def info(model, as_json):
    """Architecture, parameter count, training configuration and history of a model file."""
    net = _load_model(model)
    hist = net.history.to_dict() if hasattr(net.history, "to_dict") else net.history
    data = {
        "path": model,
        **net.config(),
        "parameters": net.num_parameters,
        "training": net.training_config,
        "history": hist,
    }
    if as_json:
        _write_json(data)
        return
    click.echo(f"model      {model}")
    click.echo(f"sizes      {net.sizes}")
    click.echo(f"activations {[a.name for a in net.layer_activations]}")
    click.echo(f"loss       {net.loss.name}")
    click.echo(f"dtype      {net.dtype.name}")
    click.echo(f"parameters {net.num_parameters}")
    if net.training_config:
        click.echo(f"training   {json.dumps(net.training_config, default=_json_default)}")
    if hist and hist.get("epoch"):
        last = {
            k: hist[k][-1]
            for k in ("epoch", "cost", "accuracy", "val_cost", "val_accuracy")
            if hist.get(k)
        }
        click.echo(f"last epoch {json.dumps(last)}; best epoch {hist.get('best_epoch')}")


@main.command()
@click.argument("example", required=False)
@click.option(
    "--builtin", "builtin", default=None, help="A built-in worked example (mazur, relu-softmax)."
)
@click.option("--model", default=None, help="A saved model file instead of an example file.")
@click.option(
    "--input",
    "input_values",
    default=None,
    help="With --model: the input x as comma-separated numbers.",
)
@click.option(
    "--target",
    "target_values",
    default=None,
    help="With --model: the target y as comma-separated numbers or one class label.",
)
@click.option("--lr", type=float, default=None, help="Learning rate η of the step shown.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "latex", "html"]),
    default="text",
    show_default=True,
)
@click.option(
    "--precision", type=int, default=6, show_default=True, help="Digits after the decimal point."
)
@click.option(
    "--nudge",
    "nudge_spec",
    default=None,
    help="LAYER,NEURON[,DELTA]: nudge z_j^l and compare ΔC with δ_j^l Δ.",
)
@click.option(
    "--gradients", is_flag=True, help="Show finite differences beside backprop for every parameter."
)
@click.option("--out", default=None, help="Write the rendering to this file.")
@click.option(
    "--max-parameters",
    type=int,
    default=2000,
    show_default=True,
    help="Refuse to list more parameters than this (0: no limit).",
)
def explain(
    example,
    builtin,
    model,
    input_values,
    target_values,
    lr,
    fmt,
    precision,
    nudge_spec,
    gradients,
    out,
    max_parameters,
):
    """Show one gradient step worked out: every z, a, δ and ∂C/∂w (BP1-BP4)."""
    from .explain import explain as trace_step
    from .explain import gradient_table, nudge, nudge_series, parse_nudge, render, to_rich

    if precision < 0 or precision > 17:
        _fail(f"--precision {precision} is invalid; expected 0..17 digits")
    net, x, y, step_lr = _explain_source(example, builtin, model, input_values, target_values, lr)
    if nudge_spec:
        layer, neuron, delta = parse_nudge(nudge_spec)
        obj = (
            nudge(net, x, y, layer, neuron, delta)
            if delta is not None
            else nudge_series(net, x, y, layer, neuron)
        )
    elif gradients:
        obj = gradient_table(net, x, y)
    else:
        if max_parameters < 0:
            _fail(f"--max-parameters {max_parameters} is invalid; expected a count >= 0")
        try:
            obj = trace_step(net, x, y, lr=step_lr, max_parameters=max_parameters or None)
        except DeltapropError as exc:
            _fail(
                str(exc)
                .replace("max_parameters=None", "--max-parameters 0")
                .replace("max_parameters=", "--max-parameters ")
            )
    if out:
        from .io import atomic_write_bytes

        atomic_write_bytes(out, render(obj, fmt, precision).encode("utf-8"))
        click.echo(f"written to {out}")
    elif fmt == "text" and sys.stdout.isatty():
        from rich.console import Console

        Console().print(to_rich(obj, precision))
    else:
        click.echo(render(obj, fmt, precision))


def _explain_source(example, builtin, model, input_values, target_values, lr):
    """(net, x, y, lr) of the step to explain: an example file, a built-in one or a model."""
    from .explain import builtin_example, load_example

    sources = [s for s in (example, builtin, model) if s]
    if len(sources) > 1:
        _fail("give one of EXAMPLE, --builtin or --model; expected a single source")
    if model:
        if not input_values or target_values is None:
            _fail("--model needs --input X1,X2,... and --target Y1,... (or a class label)")
        net = _load_model(model)
        x = _parse_numbers(input_values, "--input")
        y = _parse_numbers(target_values, "--target")
        if y.size == 1 and net.sizes[-1] > 1:
            y = net.one_hot(y, "--target")[0]
        return net, x, y, 0.5 if lr is None else lr
    if example:
        if not os.path.exists(example):
            _fail(f"example file {example!r} does not exist; expected a JSON or TOML file")
        ex = load_example(example)
    else:
        ex = builtin_example(builtin or "mazur")
    return ex.net, ex.x, ex.y, (ex.lr if lr is None else lr)


@main.command()
@click.argument("model")
@click.option("--out", "-o", default=None, help="HTML file (default: MODEL with .html).")
@click.option(
    "--dataset", default=None, help="Add test metrics, confusion matrix and misclassified images."
)
@click.option("--data", default=None, help="A CSV or NPZ file instead of --dataset.")
@click.option("--target", default=None, help="Label column of a CSV file.")
@click.option("--data-dir", default=None, help="Directory holding the MNIST IDX files.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Split seed of generated data sets (use train's).",
)
@click.option("--title", default=None)
def report(model, out, dataset, data, target, data_dir, seed, title):
    """Write a self-contained HTML report of a saved model and its training run."""
    from .report import write_report

    net = _load_model(model)
    ds = _load_data(dataset, data, target, data_dir, seed) if (dataset or data) else None
    if ds is not None and ds.X_train.shape[1] != net.sizes[0]:
        _fail(
            f"the data have {ds.X_train.shape[1]} features but the model's input layer has "
            f"{net.sizes[0]} neurons; expected data of the kind the model was trained on"
        )
    path = write_report(model, out or os.path.splitext(model)[0] + ".html", dataset=ds, title=title)
    click.echo(f"report written to {path}")


main.add_command(bench_command, name="bench")
main.add_command(export_command, name="export")


def _parse_numbers(text, option):
    import numpy as np

    try:
        return np.array([float(v) for v in text.split(",")], dtype=float)
    except ValueError:
        _fail(f"{option} {text!r} is malformed; expected comma-separated numbers")


def _load_model(path):
    from .io import load

    if not os.path.exists(path):
        _fail(f"model file {path!r} does not exist")
    if os.path.isdir(path):
        _fail(
            f"model file {path!r} is a directory; expected a model file written by "
            f"`deltaprop train --out`"
        )
    return load(path)


def _check_writable(option, path):
    """Fail before training when an output path cannot be written."""
    if not path:
        return
    if os.path.isdir(path):
        _fail(f"{option} {path!r} is a directory; expected a file path")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        _fail(f"{option} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        _fail(f"{option} {path!r}: directory {parent!r} is not writable")


# API argument names as the train command spells its options, for error messages.
_OPTION_NAMES = {
    "early_stopping": "--patience",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "epochs": "--epochs",
    "l2": "--l2",
    "l1": "--l1",
    "dropout": "--dropout",
    "momentum": "--momentum",
    "checkpoint_every": "--checkpoint-every",
    "seed": "--seed",
}


def _option_message(message):
    """'lr=-0.5 is invalid; ...' → '--lr -0.5 is invalid; ...' for the train command's options."""
    match = re.match(r"(\w+)=", message)
    if match and match.group(1) in _OPTION_NAMES:
        return f"{_OPTION_NAMES[match.group(1)]} {message[match.end() :]}"
    return message


def _read_matrix(path):
    import numpy as np

    if not os.path.exists(path):
        _fail(f"--input {path!r} does not exist; expected a CSV, .npy or .npz file")
    if path.lower().endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            _fail(f"--input {path!r} is not a valid .npy file ({exc})")
    if path.lower().endswith(".npz"):
        from .datasets import load_npz

        return load_npz(path, require_y=False)[0]
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as exc:
        _fail(f"--input {path!r} is not a numeric CSV file ({exc}); expected numbers only")


def run(argv=None):
    """Entry point: click's parsing with deltaprop's one-line errors and exit codes."""
    try:
        main.main(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        # The group's own context (no parent) carries the program name, not a subcommand.
        cmd = (
            f"deltaprop {ctx.info_name}"
            if ctx is not None and ctx.parent is not None
            else "deltaprop"
        )
        click.echo(f"error: {exc.format_message()} (see `{cmd} --help`)", err=True)
        return EXIT_USAGE
    except (_Fail, DeltapropError, OSError) as exc:
        # Only errors raised on purpose (and the system's): any other exception is a bug and
        # propagates with its traceback.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, _Fail):
            message = _option_message(message)
        click.echo(f"error: {message}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    return 0


def entry():
    sys.exit(run())


if __name__ == "__main__":
    entry()
