"""What network.py and network2.py share: the book's attributes on top of deltaprop's engine.

The book keeps ``weights`` as a list of (n_l, n_{l−1}) arrays and ``biases`` as a list of
(n_l, 1) columns, and trains one column-vector sample at a time. Here both lists are views into
one deltaprop ``Network``'s flat parameter vector (the weights have the same orientation; each
bias column is a reshaped view of b^l), so reading, changing or reassigning them changes the
network that the fast step trains. A mini-batch of m pairs (x, y) becomes one (m, n_0) matrix
X and one (m, n_L) matrix Y (the book's columns stacked as rows) and goes through the training
kernel's ``Workspace`` in one forward and one backward pass.
"""

from __future__ import annotations

import contextlib
import random
import weakref

import numpy as np

from .. import losses as _losses
from .._kernel import Workspace
from .._validation import DeltapropError, DeltapropTypeError, check_int
from ..network import Network as _Engine

__all__ = [
    "BookNetwork", "BookCost", "RowPairs", "as_list", "check_sgd_arguments", "labels_of",
    "owner_of", "replaced",
]  # fmt: skip


class _Views(list):
    """The book's list of weights or biases; each item is a view into the engine's parameters.

    Assigning an item copies into the view (after a shape check), so ``net.weights[0] = W``
    keeps the list and the network in step, as ``net.weights[0][...] = W`` does.
    """

    def __init__(self, views, kind):
        super().__init__(views)
        self.kind = kind

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise DeltapropTypeError(
                f"{self.kind} cannot be assigned by slice; assign the whole list "
                f"(net.{self.kind} = [...]) or one layer at a time"
            )
        target = list.__getitem__(self, index)
        _copy_into(target, value, f"{self.kind}[{index}]")


def _copy_into(target, value, name):
    """Copy `value` into the view `target`; a (n,) bias is accepted for a (n, 1) column."""
    arr = np.asarray(value)
    if arr.shape != target.shape and arr.size == target.size and arr.ndim == 1:
        arr = arr.reshape(target.shape)
    if arr.shape != target.shape:
        raise DeltapropError(
            f"{name} has shape {arr.shape}; expected {target.shape} to match sizes"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DeltapropTypeError(f"{name} has dtype {arr.dtype}; expected real numbers")
    target[...] = arr


class BookCost(_losses.Loss):
    """A network2-style cost class as a deltaprop Loss, so that its mini-batches stay matrices.

    ``delta(z, a, y)`` receives (n_L, m) arrays, one column per sample (the book's layout, m
    columns at once); ``fn(a, y)`` is called on each sample's (n_L, 1) columns.
    """

    def __init__(self, cost):
        self.cost = cost
        self.name = f"book:{getattr(cost, '__name__', type(cost).__name__)}"

    def value(self, a, y):
        fn = self.cost.fn
        return np.array([fn(ai[:, None], yi[:, None]) for ai, yi in zip(a, y)], dtype=a.dtype)

    def output_delta(self, z, a, y, activation):
        return np.array(self.cost.delta(z.T, a.T, y.T), dtype=a.dtype).T.copy()

    def sample_costs(self, z, a, y, activation):
        return self.value(a, y)

    def delta_ops(self, D, Z, A, Y, activation, T, one, one_hot=False):
        return [(self.write_delta, (D, Z, A, Y))], 1.0

    def write_delta(self, D, Z, A, Y):
        """δ^L of the batch, written into the kernel's buffer D."""
        np.copyto(D, np.asarray(self.cost.delta(Z.T, A.T, Y.T)).T)


class RowPairs(list):
    """The book's list of (x, y) pairs, each pair knowing its row in two matrices X and Y.

    Made from X (n, n_0) and Y (n, n_L): pair i is x, an (n_0, 1) view of row i of X, and y,
    an (n_L, 1) view of row i of Y (or, for Y of shape (n,), the label Y[i], as the book's
    validation and test data), and i is recorded under ``id(pair)``. The fast step then
    gathers a shuffled mini-batch with one ``take`` of its rows, and evaluation a block of
    inputs, instead of reading each tuple and each array (scattered in memory, they cost a
    cache miss apiece: a fifth of a chapter-1 step). The list behaves as the book's in every
    other way: ``random.shuffle`` shuffles it in place, and a copy (``list(data)``, a slice)
    is a plain list whose pairs are still found here (`owner_of`). The pairs are kept alive
    here, so no other object can come to carry one of their ids while this list lives; the
    views read X and Y live, so a changed x or y is seen.
    """

    def __init__(self, X, Y):
        # The pairs are made here, so each one is row i of X and Y by construction.
        X, Y = np.asarray(X), np.asarray(Y)
        if X.ndim != 2 or Y.ndim not in (1, 2) or len(X) != len(Y):
            raise DeltapropError(
                f"RowPairs takes X of shape (n, n_0) and Y of shape (n, n_L) or (n,); got "
                f"{X.shape} and {Y.shape}"
            )
        xs = (x.reshape(-1, 1) for x in X)
        ys = (y.reshape(-1, 1) for y in Y) if Y.ndim == 2 else iter(Y)
        super().__init__(zip(xs, ys))
        self.X, self.Y = X, Y
        self._pairs = tuple(self)  # keeps every id in `rows` unique to its pair
        self.rows = {id(pair): i for i, pair in enumerate(self._pairs)}
        ids = list(self.rows)
        ref = weakref.ref(self, lambda _ref: _forget(ids, _ref))
        for i in ids:
            _OWNERS[i] = ref

    def __reduce__(self):
        # Ids mean nothing in another process: pickled and copied, it is a plain list.
        return list, (list(self),)

    def __copy__(self):
        return list(self)


#: id(pair) → weak reference to the RowPairs holding that pair (removed when it goes: its
#: callback runs before the pairs it holds can be freed and their ids reused).
_OWNERS: dict = {}


def _forget(ids, ref):
    for i in ids:
        if _OWNERS.get(i) is ref:
            del _OWNERS[i]


def owner_of(data):
    """The RowPairs that holds the pairs of `data` (itself, or the one its first pair came
    from), or None."""
    if isinstance(data, RowPairs):
        return data
    if not data:
        return None
    ref = _OWNERS.get(id(data[0]))
    return None if ref is None else ref()


def _rows_of(data, rows):
    """The rows of `data`'s pairs in `rows` (a RowPairs' map) as an array, or None if one of
    them is not there."""
    try:
        return np.fromiter((rows[id(pair)] for pair in data), np.intp, len(data))
    except KeyError:
        return None


def as_list(data, name):
    """The book's data as a list (Python 3's zip objects become lists); None stays None."""
    if data is None or isinstance(data, list):
        return data
    try:
        return list(data)
    except TypeError:
        raise DeltapropTypeError(
            f"{name} is a {type(data).__name__}; expected a list of (x, y) tuples"
        ) from None


def labels_of(data, name):
    """The integer labels of (x, label) pairs, as an (n,) array."""
    labels = np.array([y for _, y in data])
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.number):
        raise DeltapropError(
            f"{name} holds labels of shape {labels.shape[1:]} and dtype {labels.dtype}; "
            f"expected (x, label) pairs with integer labels, as the book's validation and "
            f"test data (one-hot columns are the training data's format)"
        )
    return labels


def check_sgd_arguments(epochs, mini_batch_size):
    """The two counts of SGD, checked (the book's code fails later, inside range)."""
    check_int(epochs, "epochs", minimum=0)
    check_int(mini_batch_size, "mini_batch_size", minimum=1)


def replaced(net, base, *names):
    """Whether the class of `net` (a subclass of `base`) defines its own method of one of
    `names` (looked up once per class: this runs once per mini-batch)."""
    if type(net) is base:  # the book's own class, the common case
        return False
    key = (type(net), base, names)
    found = _REPLACED.get(key)
    if found is None:
        cls = type(net)
        found = _REPLACED[key] = any(getattr(cls, n) is not getattr(base, n) for n in names)
    return found


_REPLACED: dict = {}
_concatenate, _subtract, _copyto = np.concatenate, np.subtract, np.copyto
_BLOCK = 1000  # rows per forward pass when a whole data set is evaluated


class BookNetwork:
    """The inside shared by the book's two Network classes.

    Subclasses set ``sizes`` and then assign ``biases`` and ``weights`` (as the book's
    constructors do); the first assignment builds the engine, a deltaprop ``Network`` with
    sigmoid layers in float64.
    """

    #: The engine's loss until ``use_loss`` says otherwise.
    engine_loss: object = "quadratic"

    # ------------------------------------------------------------------ parameters
    @property
    def weights(self):
        """W^l for l = 2..L in the book's numbering: (n_l, n_{l−1}) views, writable in place."""
        return self._engine_views()[0]

    @weights.setter
    def weights(self, values):
        self._assign(values, 0, "weights")

    @property
    def biases(self):
        """b^l as (n_l, 1) columns: views, writable in place."""
        return self._engine_views()[1]

    @biases.setter
    def biases(self, values):
        self._assign(values, 1, "biases")

    def _engine_views(self):
        engine = self.__dict__.get("_engine")
        if engine is None or engine.sizes != [int(n) for n in self.sizes]:
            self._build_engine()
        return self._views

    def _build_engine(self):
        self._engine = _Engine(
            list(self.sizes), activation="sigmoid", loss=self.engine_loss, init="normal",
            dtype="float64", seed=0,
        )  # fmt: skip
        self._bind_views()

    def _bind_views(self):
        """The book's lists as views into the engine's parameters; no buffers yet."""
        Ws = list(self._engine.weights)
        bs = [b.reshape(-1, 1) for b in self._engine.biases]  # views: b^l is contiguous
        self._views = (_Views(Ws, "weights"), _Views(bs, "biases"))
        self._engine_theta = self._engine.parameters  # the live flat vector, weights first
        self._engine_weights = self._engine_theta[: self._engine.num_weights]
        self._workspaces = {}
        self._steps = {}

    def __getstate__(self):
        # Views and kernel buffers are rebuilt from the engine: copied or pickled on their own
        # they would come back detached from the parameters that training updates.
        state = self.__dict__.copy()
        for key in ("_views", "_engine_theta", "_engine_weights", "_workspaces", "_steps", "_rows",
                    "_matrices", "_order", "_batch_rows"):  # fmt: skip
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_engine" in state:
            self._bind_views()

    def _assign(self, values, which, kind):
        views = self._engine_views()[which]
        values = list(values)
        if len(values) != len(views):
            raise DeltapropError(
                f"{kind} has {len(values)} arrays; expected {len(views)} (one per layer "
                f"after the input, for sizes={list(self.sizes)})"
            )
        for i, v in enumerate(values):
            _copy_into(views[i], v, f"{kind}[{i}]")

    def use_loss(self, loss):
        """Train with `loss` (a name or a Loss) from now on."""
        self.engine_loss = loss
        engine = self.__dict__.get("_engine")
        if engine is not None:
            engine.loss = _losses.get(loss)
            self._workspaces = {}
            self._steps = {}

    # ------------------------------------------------------------------ the fast step
    def _workspace(self, m):
        self._engine_views()
        ws = self._workspaces.get(m)
        if ws is None:
            ws = self._workspaces[m] = Workspace(self._engine, m)
        return ws

    def _fast_step(self, mini_batch, eta, decay=1.0):
        """θ ← θ − η ∂C/∂θ for the batch mean C (weights first scaled by `decay`).

        The mini-batch's m columns x become the rows of the kernel's X buffer, its columns y the
        rows of Y: one forward and one backward pass of (m, n) matrices. (This runs once per
        mini-batch, about 60 µs at m = 10: each attribute lookup saved counts.)
        """
        m = len(mini_batch)
        step = self._steps.get(m)
        if step is None:
            if not m:
                raise DeltapropError("mini_batch is empty; expected at least one (x, y) pair")
            step = self._steps[m] = self._step_buffers(m)
        ws, XT, YT, stage = step
        rows, ready = self._rows, self._batch_rows
        try:
            if rows is None:
                raise KeyError
            if ready is not None and ready[0] is mini_batch:
                idx = ready[1]  # a slice of the epoch's rows (`batches`)
            else:
                idx = [rows[id(pair)] for pair in mini_batch]  # the pairs' rows of X and Y
        except KeyError:  # not SGD over mnist_loader's pairs, or a pair from elsewhere
            try:
                xs, ys = zip(*mini_batch)
                _concatenate(xs, 1, XT)  # the columns x side by side: X's rows
                _concatenate(ys, 1, YT)
            except (ValueError, TypeError):
                self._explain_bad_pairs(mini_batch, "mini_batch")
                raise
        else:
            X, Y = self._matrices
            if stage is None:
                X.take(idx, 0, ws.X, "clip")
            else:  # X's dtype is not the engine's: gathered, then converted
                X.take(idx, 0, stage, "clip")
                _copyto(ws.X, stage)
            Y.take(idx, 0, ws.Y, "clip")
        ws.scale = eta  # the gradient buffer then holds η ∂C/∂θ = (η/m) Σ_x ∂C_x/∂θ
        ws.forward()
        grad = ws.backward()
        if decay != 1.0:
            self._engine_weights *= decay  # (1 − ηλ/n) w, before the step
        _subtract(self._engine_theta, grad, self._engine_theta)

    def _step_buffers(self, m):
        """(Workspace, Xᵀ, Yᵀ, staging rows or None) for mini-batches of m pairs: the X and Y
        buffers seen as columns, and a buffer of the RowPairs' X dtype where it differs."""
        ws = self._workspace(m)
        stage = None
        if self._matrices is not None and self._matrices[0].dtype != ws.X.dtype:
            stage = np.empty(ws.X.shape, dtype=self._matrices[0].dtype)
        return ws, ws.X.T, ws.Y.T, stage

    _rows = None  # RowPairs.rows while SGD trains on RowPairs, else None
    _matrices = None  # their (X, Y)
    _order = None  # the rows of training_data's pairs in its current order, or None
    _batch_rows = None  # (mini-batch, its rows) while `batches` hands that mini-batch out

    def shuffle(self, training_data):
        """``random.shuffle(training_data)``, as the book's SGD calls it each epoch.

        While the rows of the pairs are followed (``training_on(..., follow=True)``), a list of
        positions is shuffled instead and the pairs put in that order: ``random.shuffle`` draws
        the same numbers for any list of the same length, so the order and the random state
        are the book's. The rows follow in one array, and each mini-batch's rows are a slice of
        it (`batches`), with no per-pair lookups: a sixth of a chapter-1 epoch.
        """
        order = self._order
        if order is not None and not self._order_holds(training_data, order):
            order = self._order = _rows_of(training_data, self._rows)
        if order is None:
            random.shuffle(training_data)
            return
        positions = list(range(len(training_data)))
        random.shuffle(positions)
        training_data[:] = [training_data[i] for i in positions]
        self._order = order[positions]

    def _order_holds(self, data, order):
        """A cheap check that `order` still lists the rows of `data` (its length, its ends)."""
        if len(order) != len(data) or not len(data):
            return len(order) == len(data)
        rows = self._rows
        return rows.get(id(data[0])) == order[0] and rows.get(id(data[-1])) == order[-1]

    def batches(self, mini_batches):
        """Yield `mini_batches` (the epoch's slices of the shuffled list, in order), each with
        its rows ready when they are followed."""
        order = self._order
        if order is None:
            yield from mini_batches
            return
        start = 0
        try:
            for mb in mini_batches:
                self._batch_rows = (mb, order[start : start + len(mb)])
                start += len(mb)
                yield mb
        finally:
            self._batch_rows = None

    @contextlib.contextmanager
    def training_on(self, training_data, follow=False):
        """A context in which the fast step gathers `training_data`'s rows (its pairs are a
        RowPairs' or a copy of one's, with X and Y of this network's widths), or reads its
        pairs one by one (any other list). With `follow` (the book's own update_mini_batch
        takes the fast step), ``shuffle`` and ``batches`` keep the rows in the list's order."""
        data = owner_of(training_data)
        if data is not None:
            self._engine_views()
            usable = (
                data.X.shape[1:] == (self.sizes[0],)
                and data.Y.shape[1:] == (self.sizes[-1],)
                and data.Y.dtype == self._engine.dtype  # gathered straight into the Y buffer
            )
            if not usable:
                data = None
        if data is None:
            yield
            return
        self._matrices, self._rows = (data.X, data.Y), data.rows
        self._steps = {}  # staging buffers of X's dtype
        if follow:
            self._order = _rows_of(training_data, data.rows)
        try:
            yield
        finally:
            self._rows = self._matrices = self._order = self._batch_rows = None
            self._steps = {}

    def _explain_bad_pairs(self, pairs, name):
        """Raise a DeltapropError naming the first pair whose x or y is not a column."""
        n0, nL = self.sizes[0], self.sizes[-1]
        for i, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise DeltapropTypeError(
                    f"{name}[{i}] is a {type(pair).__name__}; expected an (x, y) tuple"
                )
            for what, value, n in (("x", pair[0], n0), ("y", pair[1], nL)):
                shape = np.shape(value)
                if shape != (n, 1):
                    raise DeltapropError(
                        f"{name}[{i}]: {what} has shape {shape}; expected ({n}, 1), a column "
                        f"vector as the book uses (np.reshape(v, ({n}, 1)))"
                    )

    # ------------------------------------------------------------------ whole data sets
    def outputs(self, data, name):
        """a^L of every x in (x, y) pairs, as the rows of an (n, n_L) matrix.

        The x columns go through the kernel's forward pass in blocks of up to `_BLOCK` rows,
        each stacked straight into the X buffer of a Workspace kept for evaluation (never a
        training step's).
        """
        n = len(data)
        out = np.empty((n, self.sizes[-1]))
        if n == 0:
            return out
        m = min(n, _BLOCK)
        self._engine_views()
        ws = self._workspaces.get(("evaluation", m))
        if ws is None:
            ws = self._workspaces[("evaluation", m)] = Workspace(self._engine, m)
        owner = owner_of(data)
        if owner is not None and owner.X.shape[1:] != (self.sizes[0],):
            owner = None
        with np.errstate(over="ignore"):
            for start in range(0, n, m):
                block = data[start : start + m]
                try:
                    if owner is None:
                        raise KeyError
                    idx = [owner.rows[id(pair)] for pair in block]  # their rows (RowPairs)
                except KeyError:
                    try:  # (1, n_0) rows, concatenated along axis 0: contiguous copies
                        _concatenate([x.T for x, _ in block], 0, ws.X[: len(block)])
                    except (ValueError, TypeError, AttributeError):
                        self._explain_bad_inputs(block, name, start)
                        raise
                else:
                    ws.X[: len(block)] = owner.X[idx]  # converted to the engine's dtype
                ws.X[len(block) :] = 0.0  # a last, shorter block: the rows past it are unused
                out[start : start + len(block)] = ws.forward()[: len(block)]
        return out

    def _explain_bad_inputs(self, data, name, offset=0):
        n0 = self.sizes[0]
        for i, pair in enumerate(data, start=offset):
            shape = np.shape(pair[0]) if isinstance(pair, tuple) and len(pair) == 2 else None
            if shape != (n0, 1):
                raise DeltapropError(
                    f"{name}[{i}] is not an (x, y) pair with x of shape ({n0}, 1): "
                    f"got {type(pair).__name__}"
                    + ("" if shape is None else f" with x of shape {shape}")
                )

    def engine_feedforward(self, a):
        """The output for a column (n_0, 1), or for k columns (n_0, k)."""
        arr = np.asarray(a)
        n0 = self.sizes[0]
        if arr.ndim not in (1, 2) or arr.shape[0] != n0:
            raise DeltapropError(
                f"a has shape {arr.shape}; expected ({n0}, 1), a column vector (or "
                f"({n0}, k) for k inputs as columns)"
            )
        self._engine_views()
        if arr.ndim == 1:
            return self._engine.forward(arr)
        return self._engine.forward(arr.T).T.copy()

    def engine_backprop(self, x, y):
        """(nabla_b, nabla_w) of C_x for one column-vector sample, through Network.backprop."""
        x, y = np.asarray(x), np.asarray(y)
        n0, nL = self.sizes[0], self.sizes[-1]
        if x.shape != (n0, 1) or y.shape != (nL, 1):
            raise DeltapropError(
                f"backprop(x, y) got x of shape {x.shape} and y of shape {y.shape}; expected "
                f"({n0}, 1) and ({nL}, 1), one sample as column vectors"
            )
        self._engine_views()
        with np.errstate(over="ignore"):
            g = self._engine.backprop(x.T, y.T)
        return [b.reshape(-1, 1) for b in g.biases], list(g.weights)

    def per_sample_step(self, mini_batch, eta, decay=1.0):
        """The book's loop, for a subclass that replaced backprop: Σ_x over self.backprop."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        m = len(mini_batch)
        self.weights = [decay * w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]
