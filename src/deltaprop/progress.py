"""The training display: one permanent line per finished epoch and, in a terminal, a live bar.

``progress(verbose)`` picks the display for a stream (``fit(verbose=...)`` and the
``deltaprop train`` command use it):

- ``EpochLog``: one line per finished epoch (cost, accuracy, validation cost and accuracy, η,
  the epoch's time), under a header of column names, each line flushed when its epoch ends so
  that a pipe, a log file or a notebook sees it at once; at the end, why the run stopped and
  which epoch's weights were restored.
- ``ProgressBar``: the same lines, plus one bar under them for the current epoch (batches k/N,
  the running cost, samples per second, the time left for the run), redrawn in place at most
  ten times a second; each redraw first writes the lines of the epochs finished since the last
  one, so the screen always shows the bar of the epoch after the last line.

Both write plain text and a few ANSI sequences straight to the stream: a display that ran
through a layout engine would cost more than the training steps of a small network.
The bar's cost is the mean of the batch costs the loop reports during the epoch (every
``cost_every``-th batch); the epoch's line has the mean over all its batches.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import IO, Any

from .callbacks import Callback

__all__ = ["EpochLog", "ProgressBar", "progress", "format_duration"]

# (log key, column title, width, format spec of a number; None: the time, as format_duration)
_COLUMNS = (
    ("cost", "cost", 8, ".4f"),
    ("accuracy", "accuracy", 8, ".2%"),
    ("val_cost", "val cost", 8, ".4f"),
    ("val_accuracy", "val accuracy", 12, ".2%"),
    ("lr", "η", 7, ".3g"),
    ("time", "time", 7, None),
)


def _cell(value, spec) -> str:
    """One value as its column writes it (the general case; ``EpochLog.line`` has a fast one)."""
    if value is None:
        return "-"
    if spec is None:
        return format_duration(value, fine=True)
    if spec == ".4f":
        return _number(value)
    return format(value, spec)


def _number(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"


def format_duration(seconds: float, fine: bool = False) -> str:
    """'m:ss' (or 'h:mm:ss'); with `fine`, '0.4 ms', '12 ms' or '3.4 s' under a minute.

    Examples
    --------
    >>> format_duration(75), format_duration(3725), format_duration(0.0123, fine=True)
    ('1:15', '1:02:05', '12 ms')
    >>> format_duration(0.00042, fine=True), format_duration(2.345, fine=True)
    ('0.4 ms', '2.3 s')
    """
    if not math.isfinite(seconds):
        return "-:--"
    if fine and seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if fine and seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if fine and seconds < 60:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _encodes(stream: Any, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


class EpochLog(Callback):
    """One line per finished epoch, flushed at once; at the end, how the run ended.

    Parameters
    ----------
    file : text stream, optional
        Where to write (default: ``sys.stdout`` at the time of writing).
    title : str, optional
        A line written before training starts.

    Examples
    --------
    >>> import io, deltaprop as dp
    >>> X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
    >>> out = io.StringIO()
    >>> h = dp.Network([2, 4, 1], seed=1).fit(X, y, epochs=2, batch_size=4,
    ...                                       callbacks=[EpochLog(out)])
    >>> print(out.getvalue().splitlines()[0])
    epoch      cost  accuracy        η     time
    """

    def __init__(self, file: IO[str] | None = None, title: str | None = None):
        self.file, self.title = file, title
        self.header: str | None = None
        self.epochs = 0
        self.first_epoch = 1  # the first epoch of this run (a resumed run starts later)
        self.columns: list = []

    @property
    def stream(self) -> IO[str]:
        return self.file if self.file is not None else sys.stdout

    def write(self, text: str) -> None:
        """Write `text` and a newline, flushed."""
        stream = self.stream
        stream.write(text + "\n")
        stream.flush()

    def on_train_begin(self, info):
        self.epochs, self.first_epoch = info["epochs"], info["start_epoch"] + 1
        self.header = None
        if self.title:
            self.write(self.title)

    def on_epoch_end(self, epoch, logs):
        if self.header is None:
            self.columns, self.header = self._layout(logs)
            self.write(self.header)
        self.write(self.line(epoch, logs))

    def on_train_end(self, history):
        for note in self.notes(history):
            self.write(note)

    # ---- the text
    def _layout(self, logs):
        """The columns present in this run's logs, and the header line naming them."""
        width = max(5, 2 * len(str(self.epochs)) + 1)
        columns = [c for c in _COLUMNS if logs.get(c[0]) is not None]
        eta = "η" if _encodes(self.stream, "η") else "lr"
        titles = [(eta if key == "lr" else title).rjust(w) for key, title, w, _ in columns]
        # one str.format call writes a whole line (a few microseconds an epoch)
        cells = [f"{{:>{w}{spec or ''}}}" for _, _, w, spec in columns]
        self.template = "  ".join([f"{{:>{width}}}", *cells])
        return columns, "  ".join(["epoch".ljust(width), *titles]).rstrip()

    def line(self, epoch: int, logs: dict) -> str:
        """The permanent line of a finished epoch; '*' marks a new best epoch."""
        columns = self.columns
        values: list[Any] = [logs.get(c[0]) for c in columns]
        head = f"{epoch}/{self.epochs}"
        if None in values or any(
            c[3] == ".4f" and abs(v) >= 1e4 for v, c in zip(values, columns)
        ):  # a missing value or a huge cost: cell by cell
            width = max(5, 2 * len(str(self.epochs)) + 1)
            cells = [_cell(v, c[3]).rjust(c[2]) for v, c in zip(values, columns)]
            text = "  ".join([head.rjust(width), *cells])
        else:  # the usual case, in one call
            values = [format_duration(v, fine=True) if c[3] is None else v
                      for v, c in zip(values, columns)]  # fmt: skip
            text = self.template.format(head, *values)
        best = self.run is not None and self.run.history.best_epoch == epoch
        return text + ("  *" if best else "")

    def notes(self, history) -> list:
        """Why the run stopped early, and which epoch's weights it ended with."""
        if not history.epoch:
            return []
        last, notes = history.epoch[-1], []
        reason = history.stop_reason
        if reason.startswith("early stopping: "):
            notes.append(f"stopped at epoch {last}: {reason[len('early stopping: ') :]}")
        elif reason != "completed":
            notes.append(f"stopped at epoch {last}: {reason}")
        best = history.best_epoch
        if self.run is not None and self.run.config.restore_best and best is not None:
            monitor = getattr(self.run, "monitor", self.run.config.monitor)
            detail = _metric_text(history, best, monitor)
            if best == last:
                notes.append(f"kept the last epoch's weights, the best {detail}")
            else:
                notes.append(f"restored epoch {best} (*), the best {detail}")
        return notes


def _metric_text(history, epoch: int, monitor: str) -> str:
    """'val_accuracy 98.00% (val cost 0.0421)' for the given epoch of the history."""
    i = history.epoch.index(epoch)

    def value(key):
        values = history[key]
        return values[i] if i < len(values) and values[i] is not None else None

    text = monitor
    score = value(monitor)
    if score is not None:
        text += f" {score:.2%}" if monitor.endswith("accuracy") else f" {_number(score)}"
    tie = "val_cost" if monitor.startswith("val_") else "cost"
    if tie != monitor and value(tie) is not None:
        text += f" ({tie.replace('_', ' ')} {_number(value(tie))})"
    return text


class ProgressBar(EpochLog):
    """``EpochLog``'s lines with a live bar for the current epoch under them (a terminal).

    Parameters
    ----------
    file : text stream, optional
        A terminal (default: ``sys.stdout``).
    title : str, optional
    interval : float
        The least time in seconds between two redraws of the bar.
    color : bool, optional
        ANSI colours; default: unless $NO_COLOR is set.
    """

    def __init__(self, file=None, title=None, interval: float = 0.1, color: bool | None = None):
        super().__init__(file, title)
        self.interval = interval
        self.color = color if color is not None else not os.environ.get("NO_COLOR")
        self.glyphs = "━╸─" if _encodes(self.stream, "━╸─") else "#>-"
        self.drawn = False
        self.pending: list = []  # lines to write above the bar at its next redraw
        self.batch_size = 1
        self.n_train = 0
        self.n_batches = 0
        self.epoch = 0
        self.epoch_time = [0.0, 0]  # the finished epochs' total seconds, and their number
        self.costs = [0.0, 0]  # sum and count of the batch costs reported this epoch
        self.t_epoch = self.next_draw = 0.0

    def on_train_begin(self, info):
        super().on_train_begin(info)
        self.batch_size, self.n_train = info["batch_size"], info["n_train"]
        self.epoch_time = [0.0, 0]

    def on_epoch_begin(self, epoch, n_batches):
        self.epoch, self.n_batches = epoch, n_batches
        self.costs = [0.0, 0]
        self.t_epoch = now = time.perf_counter()
        if now >= self.next_draw:
            self.draw(0, now)

    def on_batch_end(self, batch, cost):
        if cost is not None:
            self.costs[0] += cost
            self.costs[1] += 1
        now = time.perf_counter()
        if now >= self.next_draw:
            self.draw(batch, now)

    def on_epoch_end(self, epoch, logs):
        self.epoch_time[0] += time.perf_counter() - self.t_epoch
        self.epoch_time[1] += 1
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, history):
        super().on_train_end(history)
        self.clear()

    def write(self, text: str) -> None:
        """Keep `text` for the next redraw, which writes it above the bar in the same write.

        Lines and bar go out together at most ``1 / interval`` times a second: a screen that
        always shows the bar of the epoch after the last line, at the cost of one system call
        per redraw rather than several per epoch (200 short epochs would otherwise spend more
        time writing than training).
        """
        self.pending.append(text)

    def close(self) -> None:
        """Write what is pending and remove the bar (at the end, or after an interruption or
        an error)."""
        self.clear()

    def clear(self) -> None:
        if self.drawn or self.pending:
            self.stream.write("\r\x1b[K" + self._pending())
            self.stream.flush()
            self.drawn = False

    def _pending(self):
        text = "".join(line + "\n" for line in self.pending)
        self.pending.clear()
        return text

    def draw(self, batch: int, now: float) -> None:
        """Redraw the bar in place (never wider than the terminal, so that it never wraps),
        with the lines pending above it."""
        try:
            cols = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            cols = 80
        text = self.bar(batch, now, cols - 1)
        self.stream.write("\r\x1b[K" + self._pending() + "\r" + text + "\x1b[K")
        self.stream.flush()
        self.drawn = True
        self.next_draw = now + self.interval

    def bar(self, batch: int, now: float, width: int) -> str:
        """The bar's text for `batch` of the current epoch, at most `width` columns."""
        elapsed = now - self.t_epoch
        head = f"epoch {self.epoch}/{self.epochs}"
        fields = [f"{batch}/{self.n_batches}"]
        if self.costs[1]:
            fields.append(f"cost {_number(self.costs[0] / self.costs[1])}")
        if batch and elapsed > 0:
            speed = min(batch * self.batch_size, self.n_train) / elapsed
        else:  # the finished epochs'
            total, n = self.epoch_time
            speed = n * self.n_train / total if total else 0.0
        if speed:
            fields.append(f"{speed:,.0f} samples/s")
        fields.append(f"ETA {format_duration(self._eta(batch, elapsed))}")
        while fields:
            tail = "  ".join(fields)
            room = width - len(head) - len(tail) - 4
            if room >= 10:
                return f"{head}  {self._bar(batch, min(room, 40))}  {tail}"
            fields.pop(-2 if len(fields) > 1 else -1)  # the ETA stays longest
        return head[:width]

    def _bar(self, batch, size):
        full, head, empty = self.glyphs
        filled = size * batch / self.n_batches if self.n_batches else 0.0
        n = int(filled)
        text = full * n + (head if n < size and filled - n >= 0.5 else "")
        rest = empty * (size - len(text))
        if not self.color:
            return text + rest
        return f"\x1b[35m{text}\x1b[2m{rest}\x1b[0m"

    def _eta(self, batch, elapsed):
        """Seconds left in the run: this epoch at its own pace, the rest at the mean so far."""
        if self.epoch_time[1]:
            per_epoch = self.epoch_time[0] / self.epoch_time[1]
        elif batch:
            per_epoch = elapsed / batch * self.n_batches
        else:
            return math.nan
        current = (self.n_batches - batch) * elapsed / batch if batch else per_epoch
        return current + (self.epochs - self.epoch) * per_epoch


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError, OSError):
        return False


def progress(verbose: int = 1, file: IO[str] | None = None, title: str | None = None):
    """The display for `verbose`: 1 a live bar in a terminal, else the epoch lines; 2 the lines.

    Parameters
    ----------
    verbose : {1, 2}
    file : text stream, optional
        Default: ``sys.stdout``.
    title : str, optional
        A line written before training starts.

    Returns
    -------
    ProgressBar or EpochLog
    """
    stream = file if file is not None else sys.stdout
    if verbose == 1 and _is_terminal(stream):
        return ProgressBar(file, title)
    return EpochLog(file, title)
