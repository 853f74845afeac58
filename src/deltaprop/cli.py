"""The ``deltaprop`` command: train, evaluate, predict, inspect and explain networks.

Every error the user can cause (bad options, missing or corrupt files, data that does not fit
the network) ends as one line on stderr and exit code 2: the library's own errors
(`DeltapropError` and its subclasses), click's usage errors and OSError. Any other exception is
a bug and surfaces as one, with its traceback. Ctrl-C or SIGTERM during training saves the last
completed epoch's model (where --out says, resumed runs included) and exits with 130; Ctrl-C
before training is the one line "interrupted", exit 130.

`train` checks every output path before it loads data. `--resume CK` continues CK's run with
CK's configuration: an option given with a different value than CK's is exit 2 naming both;
only `--epochs` may grow (below the epochs done: exit 2). A finished run (stopped early, or all
its epochs done) prints "nothing to do", writes its model to --out when given and exits 0. A
diverging run writes the weights it kept to --out and exits 2. A checkpoint that cannot be
written is a warning line naming the file; training continues and --out is still written.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import re
import signal
import sys
import time
import types
import warnings

import click

from . import _cli_data
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
    try:
        return datasets.load(dataset, **kwargs)
    except datasets.DatasetError as exc:
        if dataset == "mnist":
            _fail(_mnist_message(str(exc), data_dir))
        raise


def _mnist_message(message, data_dir):
    """The library's MNIST error in the command's terms (--data-dir, $DELTAPROP_DATA)."""
    if message.startswith("path="):
        return (
            f"--data-dir {data_dir!r} is not a directory; expected the directory holding "
            f"the four MNIST files"
        )
    if not message.startswith("MNIST files not found"):
        return message
    from .datasets import mnist_cache_dir

    env = os.environ.get("DELTAPROP_DATA")
    where = [f"--data-dir {data_dir}"] if data_dir else []
    where += [f"$DELTAPROP_DATA ({env})" if env else "$DELTAPROP_DATA (not set)"]
    where += [str(mnist_cache_dir())]
    partial = re.search(r"([^\s(]+) \([^()]*\): only (\d) of 4 files", message)
    found = f"; {partial.group(1)} has only {partial.group(2)} of the 4" if partial else ""
    failed = re.search(r"downloading failed \((.*)\)\. To use", message)
    reason = failed.group(1).split("; ")[0] if failed else "not attempted"
    reason = re.sub(r"(https?://\S+|\S+\.gz): ", "", reason).strip("<>")[:100]
    return (
        f"MNIST files not found in {', '.join(where)}{found}, and the download failed "
        f"({reason}); expected train-images-idx3-ubyte.gz and the 3 other MNIST files in "
        f"--data-dir DIR or $DELTAPROP_DATA"
    )


def _write_json(obj):
    """One JSON object; NaN and infinities (not JSON) become null."""
    text = json.dumps(obj, indent=None, default=_json_default)
    if re.search(r"\b(NaN|-?Infinity)\b", text):
        text = json.dumps(_json_finite(json.loads(text)), allow_nan=False)
    click.echo(text)


def _json_finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_finite(v) for v in value]
    return value


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise DeltapropTypeError(f"not JSON serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------- commands
@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,
)
@click.version_option(package_name="deltaprop")
@click.pass_context
def main(ctx):
    """deltaprop: dense neural networks trained by backpropagation (BP1-BP4).

    Start with `deltaprop train` (the embedded 8x8 digits, no download); `deltaprop COMMAND
    --help` describes each command.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


# ---------------------------------------------------------------------- option types
class _Choice(click.Choice):
    """A registry's names, case-insensitive, '-' for '_'; `resolve` maps an alias to its name
    (aliases are accepted but not listed). A typo is answered with the valid names and the
    closest one."""

    def __init__(self, choices, resolve=None):
        super().__init__(list(choices), case_sensitive=False)
        self.resolve = resolve

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            text = value.strip().lower()
            for key in (text, text.replace("-", "_")):
                if key not in self.choices and self.resolve is not None:
                    key = self.resolve(key) or key
                if key in self.choices:
                    return key
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            valid = [str(c) for c in self.choices]
            near = difflib.get_close_matches(str(value).lower(), valid, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            self.fail(f"{value!r} is not one of {', '.join(valid)}{hint}", param, ctx)


def _alias_of(registry, name_of):
    """A resolver: the canonical name of a registry entry, or None for an unknown key."""

    def resolve(key):
        entry = registry.get(key)
        return name_of(entry) if entry is not None else None

    return resolve


def _registry_choices():
    """The option types of train, built from the library's registries."""
    from . import init
    from .activations import ACTIVATIONS
    from .datasets import DATASETS
    from .losses import LOSSES
    from .optimizers import OPTIMIZERS
    from .presets import PRESETS
    from .schedules import SCHEDULES

    def init_name(key):
        try:
            return init.get(key).__name__
        except DeltapropError:
            return None

    canonical = [n for n, cls in ACTIVATIONS.items() if cls.name == n]
    activation = _alias_of(ACTIVATIONS, lambda cls: cls.name)
    inits = [n for n, f in init.INITIALIZERS.items() if f.__name__ == n]
    return {
        "activation": _Choice([n for n in canonical if ACTIVATIONS[n].elementwise], activation),
        "output_activation": _Choice(canonical, activation),
        "loss": _Choice(LOSSES),
        "init": _Choice([*inits, "auto"], init_name),
        "optimizer": _Choice(OPTIMIZERS),
        "schedule": _Choice(SCHEDULES),
        "dataset": _Choice(DATASETS),
        "preset": _Choice(PRESETS),
    }


_TYPES = _registry_choices()


class _SectionedCommand(click.Command):
    """A command whose help lists its options in sections (``sections``: title → names)."""

    sections: dict = {}

    def format_options(self, ctx, formatter):
        rows = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        placed = set()
        for title, names in self.sections.items():
            with formatter.section(title):
                formatter.write_dl([rows[n] for n in names if rows.get(n)])
            placed.update(names)
        rest = [r for n, r in rows.items() if n not in placed and r]
        if rest:
            with formatter.section("Other"):
                formatter.write_dl(rest)


class _TrainCommand(_SectionedCommand):
    sections = {
        "Data": ["preset", "dataset", "data", "target", "data_dir", "scale", "impute",
                 "unknown", "task"],
        "Network": ["layers", "activation", "output_activation", "loss", "init", "bias",
                    "dtype"],
        "Training": ["epochs", "batch_size", "lr", "optimizer", "momentum", "schedule", "l2",
                     "l1", "dropout", "patience", "restore_best", "seed", "resume"],
        "Output": ["out", "checkpoint", "checkpoint_every", "plots", "diagnostics", "quiet",
                   "as_json", "dashboard", "dashboard_keep"],
    }  # fmt: skip


class _Opt(click.Option):
    """An option whose help shows `shown` as its default: the value the preset gives it."""

    def __init__(self, *args, shown=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown = shown

    def get_help_extra(self, ctx):
        extra = super().get_help_extra(ctx)
        if self.shown is not None:
            extra["default"] = self.shown
        return extra


def _option(*names, shown=None, preset=None, choices=None, help="", **kwargs):
    """A train option. The help shows `shown` as its default, or the default preset's value of
    `preset` (the options default to None, so that a preset given by --preset can fill them);
    with `choices`, the names of that registry are its values."""
    from .presets import PRESETS

    if choices is not None:
        kwargs.update(type=_TYPES[choices], metavar="NAME")
        help = f"{help} {', '.join(_TYPES[choices].choices)}.".strip()
    if preset is not None:
        shown = str(PRESETS["default"][preset])
    return click.option(*names, cls=_Opt, shown=shown, help=help, **kwargs)


@main.command(cls=_TrainCommand)
@_option(
    "--preset",
    choices="preset",
    shown="default",
    help="Named configuration, setting every default below (`deltaprop presets`):",
)
@_option(
    "--dataset",
    choices="dataset",
    shown="digits",
    help="A named data set (digits is embedded; mnist is read or downloaded):",
)
@_option("--data", "data", metavar="FILE", help="A CSV or NPZ file of your own.")
@_option("--target", metavar="COLUMN", help="Label column of a --data CSV file.")
@_option(
    "--data-dir",
    metavar="DIR",
    shown="$DELTAPROP_DATA, then ~/.cache/deltaprop/mnist",
    help="Directory holding the MNIST IDX files.",
)
@_option(
    "--scale",
    type=click.Choice(["standard", "minmax", "none"], case_sensitive=False),
    shown="standard",
    help="Scaling of a --data file's numeric columns, fitted on the training rows.",
)
@_option(
    "--impute",
    type=click.Choice(["mean", "most_frequent"], case_sensitive=False),
    shown="none: an empty cell is an error",
    help="How empty cells of a --data file are filled.",
)
@_option(
    "--unknown",
    type=click.Choice(["error", "zeros"], case_sensitive=False),
    shown="error",
    help="A category unseen in training, later: an error, or all-zero inputs.",
)
@_option(
    "--task",
    type=click.Choice(["auto", "classification", "regression"], case_sensitive=False),
    shown="auto: regression for a numeric target with over 20 values",
    help="What the target column is.",
)
@_option(
    "--layers",
    metavar="WIDTHS",
    shown="64-30-10 for digits, chosen from the data for --data, else INPUTS-30-OUTPUTS",
    help="Widths joined by '-', e.g. 784-30-10.",
)
@_option(
    "--activation", choices="activation", preset="activation", help="Hidden layers' activation:"
)
@_option(
    "--output-activation",
    choices="output_activation",
    shown="--activation",
    help="Output layer's activation:",
)
@_option("--loss", choices="loss", preset="loss", help="The cost C:")
@_option("--init", "init", choices="init", preset="init", help="Weight initialisation:")
@_option(
    "--bias",
    metavar="MODES",
    shown="neuron",
    help="Biases: neuron (one per neuron), shared (one for the whole layer) or none; one for "
    "every layer, or one per layer joined by '-', e.g. shared-none.",
)
@_option(
    "--dtype",
    type=click.Choice(["float32", "float64"], case_sensitive=False),
    shown="float32",
    help="Floating-point type of the parameters.",
)
@_option("--epochs", type=int, preset="epochs", help="Passes over the training data.")
@_option("--batch-size", type=int, preset="batch_size", help="m, samples per mini-batch.")
@_option("--lr", type=float, preset="lr", help="Learning rate η.")
@_option("--optimizer", choices="optimizer", preset="optimizer", help="The update rule:")
@_option("--momentum", type=float, shown="0.9", help="μ for --optimizer momentum or nesterov.")
@_option("--schedule", choices="schedule", shown="constant", help="How η changes:")
@_option("--l2", type=float, shown="0", help="L2 λ (cost + λ/2n Σw²).")
@_option("--l1", type=float, shown="0", help="L1 λ (cost + λ/n Σ|w|).")
@_option("--dropout", type=float, shown="0", help="Dropout rate of the hidden layers.")
@_option(
    "--patience",
    type=int,
    shown="none",
    help="Stop when validation accuracy has not improved for this many epochs.",
)
@_option(
    "--restore-best/--no-restore-best",
    default=None,
    shown="--restore-best",
    help="End with the weights of the best validation epoch.",
)
@_option(
    "--seed",
    type=int,
    shown="0",
    help="Seeds initialisation, shuffling, dropout and the generated data sets.",
)
@_option("--resume", metavar="CHECKPOINT", help="Continue the run saved in this checkpoint.")
@_option(
    "--out",
    metavar="FILE",
    shown="none: the model is not saved",
    help="Write the trained model to this file.",
)
@_option("--checkpoint", metavar="FILE", help="Write a resumable checkpoint here.")
@_option(
    "--checkpoint-every", type=int, default=1, show_default=True, help="Epochs between checkpoints."
)
@_option("--plots", metavar="DIR", help="Write plots into this directory.")
@_option("--diagnostics", is_flag=True, help="Record and print per-layer statistics.")
@_option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@_option(
    "--dashboard",
    is_flag=True,
    help="Follow the run in a browser page: cost and accuracy, gradient norms, saturated and "
    "dead units per layer, weights, epoch by epoch (needs deltaprop[web]; records the "
    "diagnostics). The first line on stderr is 'dashboard: URL' (127.0.0.1, with its token); "
    "stdout (epoch lines, --json) is unchanged.",
)
@_option(
    "--dashboard-keep",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    show_default=False,
    shown="300 at a terminal; 0 with --quiet, --json or stderr not a terminal",
    help="Keep serving the finished run this long (Ctrl-C stops sooner); open pages keep it.",
)
def train(**opts):
    """Train a network; with no options, on the embedded 8x8 digits.

    The defaults shown are the default preset's; --preset NAME replaces them with that
    preset's (`deltaprop presets` lists them), and the options given override both. Prints one
    line per epoch (with a live bar in a terminal) and a results table; the model is written
    only where --out says.
    """
    o = types.SimpleNamespace(**opts)
    cfg = _train_config(o)
    _check_outputs(o)
    if o.dashboard_keep is not None and not o.dashboard:
        _fail("--dashboard-keep needs --dashboard")
    if o.dashboard:
        _need_web("--dashboard")
    if o.resume:
        _check_resume(cfg, o)
    o.seed = 0 if o.seed is None else o.seed
    o.dtype = o.dtype or "float32"
    prep = None
    if o.data:
        # a resumed run reads the file with the checkpoint's preprocessing, split by its seed
        ds, prep = _cli_data.train_data(o, o.seed, o.dtype, getattr(o, "resume_prep", None))
        if not o.resume:
            _table_choices(cfg, o, prep, ds)
    else:
        ds = _load_data(cfg.get("dataset") or "digits", o.data, o.target, o.data_dir, o.seed)
    sizes = _train_sizes(cfg, ds, prep)
    config = _fit_config(cfg, o)
    with _warnings_as_lines():  # a bias that cannot learn, said as the network is built
        net = _new_network(cfg, sizes, o)
    if net is not None:
        net.preprocessor = prep
    title = _train_title(cfg, sizes, ds, config, o, net)
    with _sigterm_as_interrupt(), _warnings_as_lines(), _dashboard(o, title):
        _train_and_report(cfg, o, ds, sizes, config, net, title)


@contextlib.contextmanager
def _dashboard(o, title):
    """With --dashboard: serve the run's page while it trains (o.callbacks gets its feed)."""
    if not o.dashboard:
        yield
        return
    from .web.server import follow

    keep = o.dashboard_keep
    if keep is None:
        keep = 0.0 if o.quiet or o.as_json or not sys.stderr.isatty() else 300.0
    with follow(title, keep=keep, echo=lambda line: click.echo(line, err=True)) as callback:
        o.callbacks = [callback]
        yield


# train options a user's table may choose when the command line leaves them out
_TABLE_CHOSEN = ("layers", "activation", "output_activation", "loss", "init", "optimizer", "lr",
                 "batch_size", "epochs", "restore_best")  # fmt: skip


def _table_choices(cfg, o, prep, ds):
    """With --data and no --preset: the network and run the table suggests, for every option
    the command line left out; the choices are printed (unless --quiet or --json)."""
    if o.preset:
        return
    given = {k for k in _TABLE_CHOSEN if getattr(o, k, None) is not None}
    if o.patience is not None:
        given.add("early_stopping")
    defaults = _cli_data.table_defaults(prep, ds.X_train.shape[0])
    if "optimizer" in given and "lr" not in given:
        defaults.pop("lr")  # set by the optimizer rule in _train_config
    chosen = {k: v for k, v in defaults.items() if k not in given}
    if "layers" in given:
        chosen.pop("layers", None)
    cfg.update(chosen)
    o.table_note = _cli_data.describe_table(prep, ds)
    shown = [f"--{k.replace('_', '-')} {'-'.join(map(str, v)) if isinstance(v, list) else v}"
             for k, v in chosen.items() if k != "restore_best"]  # fmt: skip
    if shown:
        o.table_note += "\nchosen for this table: " + " ".join(shown)


def _train_and_report(cfg, o, ds, sizes, config, net, title):
    """Run the training and print (or write) what it gave, below `title` (`_train_title`)."""
    display = None
    if not (o.quiet or o.as_json):
        from .progress import progress

        display = progress(1, sys.stdout, title=title)
    t0 = time.perf_counter()
    net, history, interrupted = _run_fit(net, ds, config, display, o)
    wall = time.perf_counter() - t0
    metrics = _train_metrics(net, ds, history, wall, config)
    if net is not None:
        net.training_config.update(_provenance(ds))
    saved = _save_model(net, o.out)
    warning = _chance_warning(cfg, o, ds, metrics)
    if o.as_json:
        _write_json(_train_json(o, ds, sizes, net, history, metrics, saved and saved[0]))
    elif not o.quiet:
        _print_training(history, metrics, saved, interrupted, display.first_epoch)
    if warning and not o.quiet:
        click.echo(f"warning: {warning}", err=True)
    if o.diagnostics and history.diagnostics and not (o.quiet or o.as_json):
        from .diagnostics import format_table

        click.echo(format_table(history, epochs="last"))
    if o.plots and net is not None:
        _write_plots(net, history, o, ds)
    if interrupted:
        last = history.epoch[-1] if history.epoch else 0
        click.echo(
            f"interrupted: kept epoch {last}, the last completed one"
            + (
                f", saved to {saved[0]}"
                if saved
                else "; not saved" + ("" if o.out else " (no --out)")
            ),
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)


def _chance_warning(cfg, o, ds, metrics):
    """For a classifier: say so when it ends no better than guessing the commonest class
    (after a run that trained; not after an interruption or before any epoch ended)."""
    if metrics.get("val_accuracy") is None or ds.y_val is None:
        return ""
    if metrics.get("stop_reason") == "interrupted" or not metrics.get("kept_epoch"):
        return ""
    return _cli_data.chance_warning(metrics["val_accuracy"], ds.y_val, cfg, o.scale or "standard")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM during training acts as Ctrl-C: the last completed epoch is kept and saved."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _warnings_as_lines():
    """The library's warnings (a checkpoint not written, an idle bias) as one line each."""

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"warning: {message}", err=True)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _diverged(net, exc, o):
    """A diverged run: the kept weights go where --out says; one line, exit 2."""
    saved = _save_model(net, o.out)
    where = f"; saved to {saved[0]}" if saved else "; not saved (no --out)"
    _fail(str(exc).splitlines()[0] + where)


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
    if o.optimizer and o.lr is None and o.optimizer != cfg.get("optimizer", "sgd"):
        # η belongs to the update rule: Adam's 0.001 is not SGD's 3.0
        from .optimizers import get as get_optimizer

        cfg["lr"] = get_optimizer(o.optimizer).lr
    cfg.update({k: v for k, v in given.items() if v is not None})
    return cfg


def _check_resume(cfg, o):
    """--resume: the options given must agree with the checkpoint, whose configuration then
    replaces the preset's in `cfg`; a finished run ends here with "nothing to do"."""
    from .training import check_resume

    if not os.path.exists(o.resume):
        _fail(f"--resume {o.resume!r} does not exist; expected a checkpoint file")
    given = {"sizes": cfg.get("layers") if o.layers else None, "dtype": o.dtype, "seed": o.seed}
    names = {"early_stopping": "patience", "layers": None, "momentum": None}
    keys = ("activation", "output_activation", "loss", "optimizer", "batch_size", "lr", "l2",
            "l1", "dropout", "schedule", "early_stopping", "restore_best", "epochs")  # fmt: skip
    for key in keys:
        given[key] = getattr(o, names.get(key) or key)
    if o.momentum is not None:
        given["optimizer"] = {"name": o.optimizer or "momentum", "momentum": o.momentum}
    if o.init is not None:
        _fail(f"--init {o.init} has no effect with --resume: the checkpoint holds the weights")
    if o.bias is not None:
        _fail(f"--bias {o.bias} has no effect with --resume: the checkpoint holds the network")
    info = check_resume(o.resume, **given)
    _cli_data.check_resumed_table(o, info["preprocessor"], o.resume)
    o.resume_prep = info["preprocessor"]
    if o.seed is None:  # the run's own seed: the same split of a table, the same shuffles
        o.seed = info["fit"].get("seed")
    if o.epochs is not None and o.epochs < info["epoch"]:
        _fail(
            f"--epochs {o.epochs} is below the {info['epoch']} epochs done in {o.resume}; "
            f"expected more than {info['epoch']} to continue the run"
        )
    if info["finished"]:
        _nothing_to_do(info, o)
    fit = info["fit"]
    optimizer = fit.get("optimizer", "sgd")
    cfg.update(
        layers=info["network"]["sizes"], activation=info["network"]["activation"],
        output_activation=info["network"]["output_activation"], loss=info["network"]["loss"],
        epochs=info["epochs"], batch_size=fit["batch_size"], lr=fit["lr"], momentum=None,
        optimizer=optimizer["name"] if isinstance(optimizer, dict) else optimizer,
    )  # fmt: skip
    o.dtype = info["network"]["dtype"]


def _nothing_to_do(info, o):
    """A finished run resumed: write its model where --out says, say so, exit 0."""
    from .training import resume

    net = resume(o.resume, None, None)[0]
    saved = _save_model(net, o.out)
    reason = info["stop_reason"]
    why = (
        f"stopped at epoch {info['epoch']} ({reason})"
        if reason not in (None, "completed")
        else f"did all its {info['epoch']} epochs; --epochs N > {info['epoch']} continues it"
    )
    if not o.quiet:
        click.echo(f"nothing to do: the run in {o.resume} {why}")
        if saved:
            click.echo(f"model written to {saved[0]} ({_size_text(saved[1])})")
    sys.exit(0)


def _train_sizes(cfg, ds, prep=None):
    """The layer widths: --layers (or the preset's) checked against the data, or a default."""
    n_features = ds.X_train.shape[1]
    n_out = prep.n_outputs if prep is not None else ds.n_classes if ds.n_classes else 1
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
        diagnostics=o.diagnostics or bool(o.plots) or o.dashboard,
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
        bias=_bias_option(o.bias, len(sizes) - 1),
    )


_BIAS_MODES = ("neuron", "shared", "none")


def _bias_option(text, L):
    """--bias MODES as Network's `bias`: one mode for every layer, or L joined by '-'."""
    if text is None:
        return True
    modes = text.strip().lower().split("-")
    bad = [m for m in modes if m not in _BIAS_MODES]
    if bad or len(modes) not in (1, L):
        why = f"{bad[0]!r} is not a mode" if bad else f"it names {len(modes)} layers, not {L}"
        _fail(
            f"--bias {text} is invalid: {why}; expected one of {', '.join(_BIAS_MODES)}, for "
            f"every layer or one per layer joined by '-' ({L} layers with weights here)"
        )
    return modes[0] if len(modes) == 1 else modes


def _run_fit(net, ds, config, display, o):
    """Train (or resume); (net, history, interrupted). Ctrl-C keeps the last epoch."""
    from .training import TrainingDiverged, TrainingInterrupted, fit_config, resume

    callbacks = [display] if display is not None else []
    callbacks += getattr(o, "callbacks", [])  # the --dashboard feed
    validation = (ds.X_val, ds.y_val) if ds.X_val is not None else None
    try:
        if o.resume:
            # The checkpoint's configuration, with a longer run and the outputs asked for.
            options = {"epochs": o.epochs, "checkpoint": o.checkpoint or o.resume,
                       "checkpoint_every": o.checkpoint_every,
                       "diagnostics": config.diagnostics}  # fmt: skip
            options = {k: v for k, v in options.items() if v is not None}
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
        return getattr(exc, "network", net), exc.history, True
    except TrainingDiverged as exc:
        _diverged(getattr(exc, "network", net), exc, o)
    finally:
        if display is not None and hasattr(display, "close"):
            display.close()  # the live bar, when an error or Ctrl-C ended the epoch
    return net, history, False


def _train_metrics(net, ds, history, wall, config):
    """Wall time, best epoch, stop reason, the epoch whose weights the network kept, and
    their cost and accuracy on the training, validation and test data."""
    from .training import evaluate

    last = history.epoch[-1] if history.epoch else None
    # an interrupted run keeps its last completed epoch: nothing was restored
    restored = config.restore_best and history.best_epoch is not None
    restored = restored and history.stop_reason != "interrupted"
    metrics = {
        "wall_time": wall,
        "best_epoch": history.best_epoch,
        "stop_reason": history.stop_reason,
        "kept_epoch": history.best_epoch if restored else last,
    }
    if net is None:
        return metrics
    regression = not net.is_classifier
    for split in ("test", "val", "train"):
        X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
        if X is not None:
            metrics[f"{split}_cost"], metrics[f"{split}_accuracy"] = evaluate(net, X, y)
            if regression:
                for key, value in _cli_data.regression_metrics(net, X, y).items():
                    metrics[f"{split}_{key}"] = value
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
        **{
            k: metrics[k]
            for k in ("test_accuracy", "test_r2", "test_mae")
            if metrics.get(k) is not None
        },
        "model": saved,
    }


def _train_title(cfg, sizes, ds, config, o, net=None):
    """The lines above the epoch lines: what is trained, on what, how (and the biases, where
    they are not one per neuron)."""
    n_val = ds.X_val.shape[0] if ds.X_val is not None else 0
    act = cfg.get("activation", "sigmoid")
    out = cfg.get("output_activation") or act
    what = f"resuming {o.resume}" if o.resume else "training " + "-".join(map(str, sizes))
    note = getattr(o, "table_note", "")
    biases = ""
    if net is not None and any(mode != "neuron" for mode in net.bias_modes):
        biases = f"; biases: {net.bias_description()}"
    return (note + "\n" if note else "") + (
        f"deltaprop: {what} ({act}/{out}, {cfg.get('loss', 'quadratic')} cost{biases}) on "
        f"{ds.name}\n"
        f"{ds.X_train.shape[0]} training and {n_val} validation samples; {config.epochs} "
        f"epochs of batch {config.batch_size}, {cfg.get('optimizer', 'sgd')} η {config.lr:g}"
    )


def _results_table(metrics):
    """Cost and accuracy of the weights the run ended with, on each data split."""
    from rich.table import Table

    table = Table(title=f"results (weights of epoch {metrics['kept_epoch']})", title_justify="left")
    regression = any(k.endswith("_r2") for k in metrics)
    titles = ("data", "cost", "R²", "MAE") if regression else ("data", "cost", "accuracy")
    for title in titles:
        table.add_column(title, justify="left" if title == "data" else "right")
    for split, name in (("train", "training"), ("val", "validation"), ("test", "test")):
        if f"{split}_cost" not in metrics:
            continue
        cost = f"{metrics[split + '_cost']:.4f}"
        if regression:
            table.add_row(name, cost, f"{metrics[split + '_r2']:.4f}",
                          f"{metrics[split + '_mae']:.4g}")  # fmt: skip
        else:
            acc = metrics[f"{split}_accuracy"]
            table.add_row(name, cost, "-" if acc is None else f"{acc:.2%}")
    return table


def _print_training(history, metrics, saved, interrupted, first_epoch):
    """The results table, the time taken and where the model went."""
    from rich.console import Console

    from .progress import format_duration

    console = Console(highlight=False)
    if "train_cost" in metrics:
        console.print(_results_table(metrics))
    last = history.epoch[-1] if history.epoch else 0
    took = format_duration(metrics["wall_time"], fine=True)
    if first_epoch > 1:  # resumed
        console.print(f"epochs {first_epoch} to {last} in {took}")
    else:
        console.print(f"{last} epoch{'s' if last != 1 else ''} in {took}")
    if saved:
        path, size, replaced = saved
        note = ", replacing the file that was there" if replaced else ""
        console.print(f"model written to {path} ({_size_text(size)}){note}")
    elif not interrupted:
        console.print("model not saved (--out FILE writes it)")


def _size_text(n):
    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB" if n < 1e6 else f"{n / 1e6:.1f} MB"


def _provenance(ds):
    """Where a model came from, kept with its settings for the report's title."""
    import datetime
    import shlex

    return {
        "dataset": ds.name,
        "command": shlex.join(["deltaprop", *_ARGV]),
        "date": datetime.datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
    }


def _save_model(net, out):
    """Write the model where --out says: (path, size in bytes, replaced an existing file)."""
    if not out or net is None:
        return None
    replaced = os.path.exists(out)
    path = str(net.save(out))
    return path, os.path.getsize(path), replaced


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
    """List the named training configurations and their values, as train's options."""
    import shutil
    import textwrap

    from .presets import PRESETS

    width = min(shutil.get_terminal_size().columns, 100) - 1
    for i, (name, cfg) in enumerate(PRESETS.items()):
        click.echo(("\n" if i else "") + f"{name}: {cfg['description']}")
        if cfg.get("book_accuracy"):
            click.echo(f"  the book's accuracy: {cfg['book_accuracy']:.2%}")
        # A no-break space keeps each option with its value when the line wraps.
        text = " ".join(o.replace(" ", "\xa0") for o in _preset_options(cfg))
        lines = textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="  ",
                              break_on_hyphens=False)  # fmt: skip
        click.echo("\n".join(lines).replace("\xa0", " "))


def _preset_options(cfg):
    """A preset's values written as train's options, e.g. ['--layers 784-30-10', ...]."""
    out = []
    for key, value in cfg.items():
        if key in ("description", "book_accuracy"):
            continue
        option = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(option if value else "--no-" + option[2:])
        elif isinstance(value, (list, tuple)):
            out.append(f"{option} {'-'.join(map(str, value))}")
        else:
            out.append(f"{option} {value}")
    return out


@main.command()
@click.argument("model")
@click.option("--dataset", default=None, help="Evaluate on a named data set's test split.")
@click.option("--data", default=None, help="A CSV or NPZ file: every row is scored.")
@click.option(
    "--target", default=None, help="Label column of a CSV file (default: the model's target)."
)
@click.option(
    "--split",
    type=click.Choice(["all", "train", "val", "test"], case_sensitive=False),
    default="all",
    show_default=True,
    help="With --data: score only this part of train's split of the same file.",
)
@click.option("--data-dir", default=None)
@click.option("--json", "as_json", is_flag=True)
def evaluate(model, dataset, data, target, split, data_dir, as_json):
    """Cost and accuracy (or R² for regression) of a saved model on labelled data."""
    from .training import evaluate as evaluate_net

    net = _load_model(model)
    if dataset is None and data is None:
        _fail("evaluate needs --dataset NAME or --data FILE; expected one of them")
    if data is not None:
        prep = net.preprocessor
        seed = net.training_config.get("seed", 0) if isinstance(net.training_config, dict) else 0
        target = target or (prep.target if prep is not None else None)
        X, y = _cli_data.model_table(net, data, target, split, seed or 0)
        where = "every row" if split == "all" else f"the {split} split"
    else:
        ds = _load_data(dataset, None, None, data_dir, 0)
        X, y = (ds.X_test, ds.y_test) if ds.X_test is not None else (ds.X_train, ds.y_train)
        where = "the test split" if ds.X_test is not None else "the training data"
    cost, acc = evaluate_net(net, X, y)
    result = {"cost": cost, "accuracy": acc, "samples": int(X.shape[0])}
    if not net.is_classifier:
        del result["accuracy"]
        result.update(_cli_data.regression_metrics(net, X, y))
    if as_json:
        _write_json(result)
        return
    scores = (
        f"  accuracy {acc:.4%}"
        if acc is not None
        else f"  R² {result['r2']:.4f}  MAE {result['mae']:.4g}"
        if "r2" in result
        else ""
    )
    click.echo(f"cost {cost:.6f}{scores}  ({X.shape[0]} samples, {where})")


@main.command()
@click.argument("model")
@click.option(
    "--input",
    "input_path",
    required=True,
    help="CSV with a header row (columns matched by name), or a .npy/.npz file.",
)
@click.option(
    "--proba",
    is_flag=True,
    help="Print the output activations (a header row of class names) instead of labels.",
)
@click.option(
    "--backend",
    type=click.Choice(["deltaprop", "onnxruntime"], case_sensitive=False),
    default="deltaprop",
    show_default=True,
    help="Run MODEL (or an exported .onnx file) through ONNX Runtime instead.",
)
def predict(model, input_path, proba, backend):
    """Predict one label (or value) per input row, one per line."""
    import numpy as np

    if backend == "onnxruntime" or model.lower().endswith(".onnx"):
        _predict_onnx(model, input_path, proba)
        return
    net = _load_model(model)
    prep = net.preprocessor
    if prep is None and not input_path.lower().endswith((".npy", ".npz")):
        X = _read_matrix(input_path)  # a model without stored preprocessing: numbers only
    else:
        X = _cli_data.model_inputs(net, input_path)
    if proba:
        out = net.predict_proba(X)
        if prep is not None and prep.classes is not None:
            names = prep.classes if len(prep.classes) > 2 else prep.classes[1:]
            click.echo(",".join(str(c) for c in names))
        for row in np.atleast_2d(out):
            click.echo(",".join(f"{v:.6g}" for v in row))
        return
    out = net.predict(X)
    if prep is not None and prep.target is not None:
        out = prep.labels(out) if prep.classes is not None else prep.values(out)
        for v in np.atleast_1d(out):
            click.echo(f"{v:.6g}" if isinstance(v, float) else str(v))
        return
    for row in np.atleast_1d(out):
        click.echo(" ".join(f"{v:.6g}" for v in np.atleast_1d(row)))


def _predict_onnx(model, input_path, proba):
    """predict through ONNX Runtime: a .onnx file, or a model file exported in memory."""
    import numpy as np

    from .export.onnx_runtime import class_names, run_onnx, session

    if not os.path.exists(model):
        _fail(f"model file {model!r} does not exist")
    try:
        sess = session(model if model.lower().endswith(".onnx") else _load_model(model))
    except ImportError as exc:
        _fail(str(exc))
    reads_x = [i.name for i in sess.get_inputs()] == ["x"]
    if reads_x and not input_path.lower().endswith((".npy", ".npz")):
        data = _read_matrix(input_path)
    else:
        table = _cli_data.read_user_table(input_path, "--input")
        data = np.column_stack([table[k] for k in table.names]) if reads_x else table
    out = run_onnx(sess, data)
    if proba:
        names = class_names(sess)
        if names:
            click.echo(",".join(str(c) for c in (names if len(names) > 2 else names[1:])))
        for row in np.atleast_2d(out["probabilities"]):
            click.echo(",".join(f"{v:.6g}" for v in row))
        return
    values = out.get("label", out.get("value", out["probabilities"]))
    for v in values:
        click.echo(" ".join(f"{x:.6g}" for x in v) if np.ndim(v) else _plain(v))


def _plain(v):
    """One predicted label or value as predict prints it."""
    import numpy as np

    if isinstance(v, (bytes, str)):
        return v.decode() if isinstance(v, bytes) else v
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)


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
    click.echo(f"model {model}")
    net.summary(print_fn=click.echo)
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
    "--builtin",
    "builtin",
    default=None,
    help="A built-in worked example (mazur, relu-softmax, shared-bias, no-bias).",
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
@click.option(
    "--freeze-biases",
    is_flag=True,
    help="A weights-only step: the biases keep their values (as in Mazur's example).",
)
@click.option("--out", default=None, help="Write the rendering to this file.")
@click.option(
    "--diagram/--no-diagram",
    default=None,
    help="Draw the network with the step's numbers (HTML: SVG, the default; LaTeX: TikZ; "
    "Markdown: Mermaid).",
)
@click.option(
    "--naming",
    type=click.Choice(["textbook", "mazur", "rowvector"]),
    default="textbook",
    show_default=True,
    help="mazur: the classic tutorial's names (w1…w8, net_h1, out_h1); rowvector: the "
    "row-vector tutorials' (x, h′, h = Φ(x W¹), y, W_kj from k to j, as seed 002 writes "
    "them); in the drawing and a table of them.",
)
@click.option(
    "--matrix-form",
    is_flag=True,
    help="Add the step in matrix form (Z = W A + b, δ^L = Σ′(z^L) ∇_a C, "
    "δ^l = Σ′(z^l) (W^{l+1})ᵀ δ^{l+1}) with the step's own matrices.",
)
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
    freeze_biases,
    out,
    max_parameters,
    diagram=None,
    naming="textbook",
    matrix_form=False,
):
    """Show one gradient step worked out: every z, a, δ and ∂C/∂w (BP1-BP4)."""
    from .explain import explain as trace_step
    from .explain import gradient_table, nudge, nudge_series, parse_nudge, render, to_rich

    if precision < 0 or precision > 17:
        _fail(f"--precision {precision} is invalid; expected 0..17 digits")
    if matrix_form and (nudge_spec or gradients):
        _fail(
            "--matrix-form writes out a traced step; it cannot be combined with --nudge "
            "or --gradients"
        )
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
            obj = trace_step(
                net, x, y, lr=step_lr, max_parameters=max_parameters or None,
                freeze_biases=freeze_biases,
            )  # fmt: skip
        except DeltapropError as exc:
            _fail(
                str(exc)
                .replace("max_parameters=None", "--max-parameters 0")
                .replace("max_parameters=", "--max-parameters ")
            )
    if out:
        from .io import atomic_write_bytes

        text = render(obj, fmt, precision, diagram=diagram, naming=naming, matrix_form=matrix_form)
        atomic_write_bytes(out, text.encode("utf-8"))
        click.echo(f"written to {out}")
    elif fmt == "text" and sys.stdout.isatty() and naming == "textbook" and not matrix_form:
        from rich.console import Console

        Console().print(to_rich(obj, precision))
    else:
        click.echo(
            render(obj, fmt, precision, diagram=diagram, naming=naming, matrix_form=matrix_form)
        )


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
        if net.preprocessor is not None and net.preprocessor.target is not None:
            x, y = _cli_data.explain_row(net, input_values, target_values)
            return net, x, y, 0.5 if lr is None else lr
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

    out = out or os.path.splitext(model)[0] + ".html"
    _check_writable("--out", out)
    net = _load_model(model)
    if data and net.preprocessor is not None:
        ds = _cli_data.model_dataset(net, data, target, seed)
    else:
        ds = _load_data(dataset, data, target, data_dir, seed) if (dataset or data) else None
    if ds is not None and ds.X_train.shape[1] != net.sizes[0]:
        _fail(
            f"the data have {ds.X_train.shape[1]} features but the model's input layer has "
            f"{net.sizes[0]} neurons; expected data of the kind the model was trained on"
        )
    path = write_report(model, out, dataset=ds, title=title)
    click.echo(f"report written to {path}")


@main.command()
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: a free one).")
@click.option("--host", default=None, help="Listen address (default 127.0.0.1, this machine).")
@click.option("--no-browser", is_flag=True, help="Print the URL without opening a browser.")
def playground(port, host, no_browser):
    """Train a small network in the browser and watch δ flow back (needs deltaprop[web]).

    The first line printed is the page's URL with its access token. Ctrl-C stops the server.
    """
    _need_web("the playground")
    if not 0 <= port <= 65535:
        _fail(f"--port {port} is invalid; expected 0..65535 (0: a free port)")
    from .web.server import is_loopback, serve

    if host is not None and not is_loopback(host):
        click.echo(
            f"warning: --host {host} lets other machines reach the playground; anyone with "
            f"the URL and its token can use it",
            err=True,
        )
    # Ctrl-C: the server closes its connections, then the interrupt ends the command as
    # every command's does ("interrupted", exit code 130).
    serve(host or "127.0.0.1", port, open_browser=not no_browser, echo=_echo_flush)


def _need_web(what):
    """Exit 2 unless the web extra (Starlette, uvicorn, websockets) is installed."""
    import importlib.util

    needed = ("starlette", "uvicorn", "websockets")
    if any(importlib.util.find_spec(m) is None for m in needed):
        _fail(f'{what} needs starlette, uvicorn, websockets; pip install "deltaprop[web]"')


def _echo_flush(text):
    click.echo(text)
    sys.stdout.flush()


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


def _check_outputs(o):
    """Fail before any work when an output of train cannot be written."""
    for option, path in (("--out", o.out), ("--checkpoint", o.checkpoint)):
        _check_writable(option, path)
    for option, path in (("--checkpoint", o.checkpoint), ("--resume", o.resume)):
        if o.out and path and _same_file(o.out, path):
            _fail(f"--out and {option} are both {o.out!r}; expected two different files")
    if o.plots:
        _check_directory("--plots", o.plots)
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            _fail(
                '--plots needs matplotlib; expected it installed (pip install "deltaprop[plots]")'
            )


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _check_writable(option, path):
    """Fail before training when an output file cannot be written."""
    if not path:
        return
    if path.endswith(("/", os.sep)):
        _fail(f"{option} {path!r} names a directory; expected a file path")
    if os.path.isdir(path):
        _fail(f"{option} {path!r} is a directory; expected a file path")
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
        _fail(f"{option} {path!r} is a link or a special file; expected a regular file path")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        _fail(f"{option} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        _fail(f"{option} {path!r}: directory {parent!r} is not writable")


def _check_directory(option, path):
    """Fail unless `path` is a writable directory, or a new one in an existing directory.

    The one rule for every output: its parent directory must exist (as for --out, report -o
    and explain --out); a directory output such as --plots is itself created, like mkdir.
    """
    if os.path.lexists(path) and not os.path.isdir(path):
        _fail(f"{option} {path!r} is not a directory; expected a directory path")
    existing = os.path.abspath(path)
    if not os.path.exists(existing):
        existing = os.path.dirname(existing)
        if os.path.exists(existing) and not os.path.isdir(existing):
            _fail(f"{option} {path!r}: {existing!r} is not a directory")
        if not os.path.isdir(existing):
            _fail(f"{option} {path!r}: directory {existing!r} does not exist")
    if not os.access(existing, os.W_OK | os.X_OK):
        _fail(f"{option} {path!r}: directory {existing!r} is not writable")


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
    from .datasets import load_npy, load_npz

    if path.lower().endswith(".npy"):
        X = load_npy(path)
    elif path.lower().endswith(".npz"):
        X = load_npz(path, require_y=False)[0]
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty file: the error below says it
                X = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as exc:
            _fail(f"--input {path!r} is not a numeric CSV file ({exc}); expected numbers only")
    if X.size == 0:
        _fail(f"--input {path!r} holds no values; expected rows of numbers")
    return X


#: The arguments of the running command, recorded with a trained model (``_provenance``).
_ARGV: list[str] = sys.argv[1:]


def run(argv=None):
    """Entry point: click's parsing with deltaprop's one-line errors and exit codes."""
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
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
