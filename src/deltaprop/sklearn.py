"""scikit-learn estimators backed by deltaprop: ``MLPClassifier`` and ``MLPRegressor``.

Importing this module imports scikit-learn (the optional extra ``deltaprop[sklearn]``);
``import deltaprop`` alone does not.

The estimators take the parameters of ``sklearn.neural_network.MLPClassifier``/``MLPRegressor``
where the idea is the same, so that they drop into code written for those, and add deltaprop's
own beside them (any activation per hidden layer, every loss of the engine, the momentum and
Nesterov solvers, learning-rate schedules, dropout, L1, float32, diagnostics). They pass
scikit-learn's conformance suite (``sklearn.utils.estimator_checks``); the checks that cannot
pass by design would be listed in `EXPECTED_FAILED_CHECKS`, which is empty.

How scikit-learn's parameters map onto the engine
-------------------------------------------------
``alpha`` (L2).
    scikit-learn computes each mini-batch's loss as C_batch + (α / 2m) Σ w², with m the rows of
    that batch (``_backprop`` divides by the batch's sample count), so each step adds (α/m) W to
    ∂C/∂W. deltaprop's ``fit`` uses the textbook's λ/2n with n the size of the training set,
    adding (λ/n) W. The two agree when λ = α n / m, which is what is passed to ``fit``: the decay
    per step is then scikit-learn's for every full batch. (Only with full-batch training,
    m = n, is α the textbook's λ itself.) Biases are not decayed, in either library.
``solver``.
    "adam" → ``optimizers.Adam(lr=learning_rate_init, beta1=beta_1, beta2=beta_2, eps=epsilon)``;
    "sgd" → ``Nesterov(lr, momentum)`` when ``nesterovs_momentum`` and momentum > 0,
    ``Momentum(lr, momentum)`` when momentum > 0, plain ``SGD(lr)`` when momentum == 0 (the
    three update rules are scikit-learn's own); "momentum" and "nesterov" name the two
    directly. "lbfgs" is not available (deltaprop trains by mini-batch gradient descent only).
``learning_rate`` ("constant", "invscaling", "adaptive") and ``power_t``.
    As in scikit-learn, for the SGD-family solvers only: "invscaling" sets
    η = η₀ / (t + 1)^power_t after each epoch, t the samples seen; "adaptive" divides η by 5
    each time the stopping criterion below fires, and stops once η ≤ 1e-6. A deltaprop
    ``schedule`` ("step", "cosine", "plateau", ... or a dict) replaces ``learning_rate``.
``coefs_`` / ``intercepts_``.
    ``coefs_[l]`` has scikit-learn's layout (n_in, n_out): it is ``network_.weights[l].T``, the
    transpose of the textbook's W^l of shape (n_out, n_in). Both lists are views of the live
    parameters, so writing into them changes the network.
``loss_curve_``.
    The epoch's mean over mini-batches of the batch cost C (evaluated before each step, weighted
    by batch size) plus the regularisation term with the epoch's final weights,
    (α / 2m) Σ w² (+ (l1 / m) Σ |w|). For one output it is scikit-learn's figure; with several
    regression outputs the quadratic cost ½‖y − a‖² sums over outputs where scikit-learn's
    reported loss averages over them (the gradients are the same).
Stopping.
    scikit-learn's rule: without ``early_stopping``, an epoch counts as "no improvement" when its
    training loss exceeds ``best_loss_ − tol``; with it, when the validation score (accuracy or
    R²) is below ``best_validation_score_ + tol``. Training stops when more than
    ``n_iter_no_change`` epochs in a row made no improvement; reaching ``max_iter`` first emits
    ``ConvergenceWarning``. With ``early_stopping`` the weights of the best validation epoch
    are restored.

Beyond scikit-learn's MLP: ``sample_weight`` is not supported, and sparse input is refused
(deltaprop multiplies dense matrices; stream large sparse data through ``partial_fit`` after
densifying each chunk).
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import activations as _activations
from . import callbacks as _callbacks
from . import losses as _losses
from . import optimizers as _optimizers
from . import schedules as _schedules
from . import training as _training
from ._validation import DeltapropError, _short, check_array
from .network import Network

__all__ = ["MLPClassifier", "MLPRegressor", "EXPECTED_FAILED_CHECKS"]

#: Checks of ``sklearn.utils.estimator_checks`` that the estimators fail by design, as
#: {estimator class name: {check name: reason}}; pass ``EXPECTED_FAILED_CHECKS[name]`` as
#: ``expected_failed_checks``. Every check passes, so both entries are empty.
EXPECTED_FAILED_CHECKS: dict = {"MLPClassifier": {}, "MLPRegressor": {}}

# scikit-learn's names for the activations it shares with deltaprop.
_SKLEARN_NAMES = {"sigmoid": "logistic"}
_FROM_SKLEARN = {"logistic": "sigmoid"}
_SOLVERS = ("sgd", "adam", "momentum", "nesterov")
_SGD_FAMILY = ("sgd", "momentum", "nesterov")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _activation_name(name, what):
    """A deltaprop activation name from a scikit-learn or deltaprop one."""
    if not isinstance(name, str):
        raise DeltapropError(
            f"{what}={_short(name)} is invalid; expected an activation name such as "
            f"'relu', 'tanh', 'logistic' or one of {sorted(_activations.ACTIVATIONS)}"
        )
    key = _FROM_SKLEARN.get(name.lower(), name.lower())
    if key not in _activations.ACTIVATIONS:
        valid = sorted([*_activations.ACTIVATIONS, "logistic"])
        raise DeltapropError(f"{what}={name!r} is unknown; expected one of: {', '.join(valid)}")
    return key


def _get_loss(name, given, default):
    """A deltaprop Loss, or an error that lists scikit-learn's name beside deltaprop's."""
    try:
        return _losses.get(name)
    except ValueError:
        valid = ", ".join([default, *map(repr, sorted(_losses.LOSSES))])
        raise DeltapropError(f"loss={_short(given)} is unknown; expected one of: {valid}") from None


def _check_number(value, name, low, high=np.inf, low_open=False, high_open=False):
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high)
    )
    if not ok:
        lb = "(" if low_open else "["
        rb = ")" if high_open or high == np.inf else "]"
        hi = "inf" if high == np.inf else f"{high:g}"
        raise DeltapropError(
            f"{name}={_short(value)} is invalid; expected a number in {lb}{low:g}, {hi}{rb}"
        )
    return float(value)


def _dtype_or_none(dtype):
    try:
        return np.dtype(dtype)
    except TypeError:
        return None


def _check_count(value, name, allow_inf=False):
    if allow_inf and isinstance(value, numbers.Real) and value == np.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        extra = " or numpy.inf" if allow_inf else ""
        raise DeltapropError(f"{name}={_short(value)} is invalid; expected an integer >= 1{extra}")
    return int(value)


class _StoppingRule(_callbacks.Callback):
    """scikit-learn's epoch logic as a callback of one call of ``training.fit``.

    Before each epoch it sets η (constant, "invscaling", "adaptive" or a wrapped deltaprop
    schedule); during the epoch it accumulates the batch costs (scikit-learn's ``loss_``);
    after it, it scores the validation split, keeps the best weights, and stops training once
    more than ``n_iter_no_change`` epochs in a row improved by less than ``tol``.
    """

    def __init__(self, est, n, m, X_val, y_val, recorder):
        self._est, self._n, self._m = est, n, m
        self._X_val, self._y_val, self._recorder = X_val, y_val, recorder
        self._n_batches = -(-n // m)
        self._total = 0.0
        self.stop_reason = "completed"
        self.best_theta = None

    def _lr(self):
        est = self._est
        if est._schedule is not None:
            est._lr = est._schedule.lr(len(est.loss_curve_))
        return est._lr

    def _stop(self, reason):
        self.stop_reason = reason
        self.run.stop(reason)

    def on_epoch_begin(self, epoch, n_batches):
        self._total = 0.0
        self.run.optimizer.lr = self._lr()

    def on_batch_end(self, batch, cost):
        size = self._m if batch < self._n_batches else self._n - (self._n_batches - 1) * self._m
        self._total += cost * size

    def on_epoch_end(self, epoch, logs):
        est = self._est
        est.n_iter_ += 1
        est.t_ += self._n
        est.loss_ = self._total / self._n + est._regularisation(self._m)
        est.loss_curve_.append(est.loss_)
        if self._recorder is not None:
            est.__dict__.setdefault("diagnostics_", []).append(
                self._recorder.record(len(est.loss_curve_))
            )
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")

        if self._X_val is not None:
            score = est._validation_score(self._X_val, self._y_val)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_theta = est.network_.get_flat()
        else:
            if est.loss_ > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, est.loss_)

        sgd_family = est.solver in _SGD_FAMILY
        if est._schedule is not None:
            metrics = {"cost": est.loss_}
            if self._X_val is not None:
                metrics["val_accuracy"] = est.validation_scores_[-1]
            if est._schedule.end_epoch(len(est.loss_curve_) - 1, metrics):
                self._stop("the schedule stopped training")
                return
        elif sgd_family and est.learning_rate == "invscaling":
            est._lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t

        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self._X_val is not None else "Training loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if (
                sgd_family
                and est._schedule is None
                and est.learning_rate == "adaptive"
                and est._lr > 1e-6
            ):
                est._lr /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {est._lr:f}")
            else:
                self._stop(f"converged: {msg}")
                if est.verbose:
                    print(f"{msg} Stopping.")


class _BaseMLP(BaseEstimator):
    """Shared fitting machinery; use `MLPClassifier` or `MLPRegressor`."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        loss=None,
        output_activation=None,
        init="auto",
        dtype=None,
        dropout=0.0,
        l1=0.0,
        schedule=None,
        diagnostics=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.loss = loss
        self.output_activation = output_activation
        self.init = init
        self.dtype = dtype
        self.dropout = dropout
        self.l1 = l1
        self.schedule = schedule
        self.diagnostics = diagnostics

    # ------------------------------------------------------------------ fitted attributes
    def __sklearn_is_fitted__(self):
        return "network_" in self.__dict__

    def _net(self, attr):
        if "network_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute {attr!r} before fit")
        return self.__dict__["network_"]

    @property
    def coefs_(self):
        """Weight matrices in scikit-learn's layout (n_in, n_out): ``network_.weights[l].T``."""
        return [W.T for W in self._net("coefs_").weights]

    @coefs_.setter
    def coefs_(self, values):
        self._net("coefs_").weights = [np.asarray(v).T for v in values]

    @property
    def intercepts_(self):
        """Bias vectors b^l, shape (n_out,): ``network_.biases[l]`` (views). A network_ with a
        bias shared by a layer, or none, gives that layer's n_out equal entries, or zeros (a
        copy): scikit-learn's y = x C + b computes the same outputs."""
        net = self._net("intercepts_")
        return [
            b if b.shape == (n,) else np.broadcast_to(b if b.size else 0.0, (n,)).astype(b.dtype)
            for b, n in zip(net.biases, net.sizes[1:])
        ]

    @intercepts_.setter
    def intercepts_(self, values):
        self._net("intercepts_").biases = values

    @property
    def n_layers_(self):
        """Layers including input and output (scikit-learn's count): len(hidden) + 2."""
        return len(self._net("n_layers_").sizes)

    @property
    def out_activation_(self):
        """Name of the output activation ('logistic' for the sigmoid, as scikit-learn says)."""
        name = self._net("out_activation_").layer_activations[-1].name
        return _SKLEARN_NAMES.get(name, name)

    # ------------------------------------------------------------------ parameters
    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        if isinstance(h, numbers.Integral) and not isinstance(h, bool):
            h = [h]
        if isinstance(h, (str, bytes)) or not hasattr(h, "__iter__"):
            raise DeltapropError(
                f"hidden_layer_sizes={_short(h)} is invalid; expected a sequence of "
                f"positive integers such as (100,) or (64, 32)"
            )
        h = list(h)
        for i, n in enumerate(h):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
                raise DeltapropError(
                    f"hidden_layer_sizes={_short(self.hidden_layer_sizes)} has "
                    f"{_short(n)} at position {i}; expected positive integers"
                )
        return [int(n) for n in h]

    def _check_params(self):
        """Validate every hyperparameter (at fit time, as scikit-learn requires)."""
        hidden = self._hidden_sizes()
        if isinstance(self.activation, (list, tuple)):
            if len(self.activation) != len(hidden):
                raise DeltapropError(
                    f"activation has {len(self.activation)} names but "
                    f"hidden_layer_sizes has {len(hidden)} layers; expected one "
                    f"name per hidden layer or a single name"
                )
            acts = [_activation_name(a, f"activation[{i}]") for i, a in enumerate(self.activation)]
        else:
            acts = [_activation_name(self.activation, "activation")] * len(hidden)
        if self.solver not in _SOLVERS:
            hint = (
                " (deltaprop trains by mini-batch gradient descent; L-BFGS is not available)"
                if self.solver == "lbfgs"
                else ""
            )
            raise DeltapropError(
                f"solver={_short(self.solver)} is invalid{hint}; expected one of "
                f"{', '.join(map(repr, _SOLVERS))}"
            )
        if self.learning_rate not in _LEARNING_RATES:
            raise DeltapropError(
                f"learning_rate={_short(self.learning_rate)} is invalid; expected one "
                f"of {', '.join(map(repr, _LEARNING_RATES))}"
            )
        _check_number(self.alpha, "alpha", 0)
        _check_number(self.l1, "l1", 0)
        _check_number(self.learning_rate_init, "learning_rate_init", 0, low_open=True)
        _check_number(self.power_t, "power_t", 0)
        _check_number(self.tol, "tol", 0)
        _check_number(self.momentum, "momentum", 0, 1, high_open=True)
        _check_number(self.beta_1, "beta_1", 0, 1, high_open=True)
        _check_number(self.beta_2, "beta_2", 0, 1, high_open=True)
        _check_number(self.epsilon, "epsilon", 0, low_open=True)
        _check_count(self.max_iter, "max_iter")
        _check_count(self.n_iter_no_change, "n_iter_no_change", allow_inf=True)
        if not (
            self.batch_size == "auto"
            or (
                isinstance(self.batch_size, numbers.Integral)
                and not isinstance(self.batch_size, bool)
                and self.batch_size >= 1
            )
        ):
            raise DeltapropError(
                f"batch_size={_short(self.batch_size)} is invalid; expected 'auto' "
                f"or an integer >= 1"
            )
        if self.early_stopping:
            _check_number(
                self.validation_fraction, "validation_fraction", 0, 1, low_open=True, high_open=True
            )
        if isinstance(self.dropout, (list, tuple)):
            if len(self.dropout) != len(hidden):
                raise DeltapropError(
                    f"dropout has {len(self.dropout)} rates but hidden_layer_sizes "
                    f"has {len(hidden)} layers; expected one rate per hidden layer "
                    f"or one number"
                )
            for i, p in enumerate(self.dropout):
                _check_number(p, f"dropout[{i}]", 0, 1, high_open=True)
        else:
            _check_number(self.dropout, "dropout", 0, 1, high_open=True)
        if self.dtype is not None and _dtype_or_none(self.dtype) not in (np.float32, np.float64):
            raise DeltapropError(
                f"dtype={_short(self.dtype)} is invalid; expected None (follow X), "
                f"'float32' or 'float64'"
            )
        if self.schedule is not None:
            _schedules.get(copy.deepcopy(self.schedule))
        return hidden, acts

    def _make_optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "adam":
            return _optimizers.Adam(lr=lr, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon)
        if self.solver == "momentum":
            return _optimizers.Momentum(lr=lr, momentum=self.momentum)
        if self.solver == "nesterov" or (self.momentum > 0 and self.nesterovs_momentum):
            return _optimizers.Nesterov(lr=lr, momentum=self.momentum)
        if self.momentum > 0:
            return _optimizers.Momentum(lr=lr, momentum=self.momentum)
        return _optimizers.SGD(lr=lr)

    def _net_dtype(self, X):
        if self.dtype is None:
            return np.float32 if X.dtype == np.float32 else np.float64
        return np.dtype(self.dtype).type

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, incremental=False):
        hidden, acts = self._check_params()
        if self.early_stopping and incremental:
            raise DeltapropError(
                "partial_fit does not support early_stopping=True; use fit, or set "
                "early_stopping=False"
            )
        first_pass = "network_" not in self.__dict__ or (not self.warm_start and not incremental)
        X, Y, y_labels = self._validate_input(X, y, incremental, reset=first_pass)
        if first_pass:
            self._initialize(X, Y, hidden, acts)
        else:
            want = [X.shape[1], *hidden, Y.shape[1]]
            if self.network_.sizes != want:
                raise DeltapropError(
                    f"the fitted network has layer sizes {self.network_.sizes} but "
                    f"the current parameters and data need {want}; set "
                    f"warm_start=False to start a new network"
                )
        net = self.network_
        # in the network's dtype, a value beyond float32's range named (not a cast warning)
        X = np.ascontiguousarray(check_array(X, "X", dtype=net.dtype))
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        rs = check_random_state(self.random_state)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
            self._lr = float(self.learning_rate_init)
            self._schedule = None
            if self.schedule is not None:
                self._schedule = _schedules.get(copy.deepcopy(self.schedule))
                self._schedule.start(self.learning_rate_init, self.max_iter)
        X_val = y_val = None
        if self.early_stopping:
            X, X_val, Y, Y_val, y_labels, y_val = self._split(X, Y, y_labels, rs)
        self._run(X, Y, X_val, y_val, incremental)
        return self

    def _split(self, X, Y, y_labels, rs):
        """scikit-learn's early-stopping split: validation_fraction held out, seeded by rs."""
        stratify = self._stratify_labels(y_labels)
        seed = rs.randint(np.iinfo(np.int32).max)
        try:
            parts = train_test_split(
                X,
                Y,
                y_labels,
                random_state=seed,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
        except ValueError:
            # A class too small to appear on both sides: split without stratifying.
            parts = train_test_split(
                X, Y, y_labels, random_state=seed, test_size=self.validation_fraction
            )
        if parts[1].shape[0] < 2:
            raise DeltapropError(
                f"validation_fraction={self.validation_fraction} leaves "
                f"{parts[1].shape[0]} validation samples out of {X.shape[0]}; "
                f"expected at least 2. Increase validation_fraction or the data set"
            )
        return parts

    def _stratify_labels(self, y_labels):
        return None

    def _initialize(self, X, Y, hidden, acts):
        dtype = self._net_dtype(X)
        out_act, loss = self._output_and_loss(Y)
        rs = check_random_state(self.random_state)
        seed = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
        self.network_ = Network(
            [X.shape[1], *hidden, Y.shape[1]],
            activation=acts or "identity",
            output_activation=out_act,
            loss=loss,
            init=self.init,
            dtype=dtype,
            seed=seed,
        )
        self.n_outputs_ = Y.shape[1]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self.__dict__.pop("diagnostics_", None)
        for attr in ("_optimizer", "_lr", "_schedule"):
            self.__dict__.pop(attr, None)

    def _regularisation(self, m):
        """(α/2m) Σ w² + (l1/m) Σ |w| for the current weights, batch size m."""
        if not (self.alpha or self.l1):
            return 0.0
        w = self.network_.parameters[: self.network_.num_weights]
        return (0.5 * self.alpha * float(np.dot(w, w)) + self.l1 * float(np.abs(w).sum())) / m

    def _run(self, X, Y, X_val, y_val, incremental):
        net = self.network_
        n = X.shape[0]
        if self.batch_size == "auto":
            m = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    f"batch_size={self.batch_size} is larger than the {n} training "
                    f"samples; using batch_size={n}",
                    UserWarning,
                    stacklevel=4,
                )
            m = min(int(self.batch_size), n)
        recorder = None
        if self.diagnostics:
            from .diagnostics import Recorder

            recorder = Recorder(net, X, Y, seed=0)
        rule = _StoppingRule(self, n, m, X_val, y_val, recorder)
        self.n_iter_ = 0
        # One call of the engine's fit; the rule is a callback that sets η per epoch, records
        # the epoch's loss, scores and best weights, and stops training.
        # scikit-learn's per-batch decay α/m is passed as the textbook's λ/n: λ = α n / m.
        _training.fit(
            net,
            X,
            Y,
            epochs=1 if incremental else self.max_iter,
            batch_size=m,
            lr=self._lr,
            optimizer=self._optimizer,
            l2=self.alpha * n / m,
            l1=self.l1 * n / m,
            dropout=self.dropout,
            shuffle=self.shuffle,
            train_metrics=False,
            callbacks=(rule,),
            cost_every=1,
        )
        if net.history is not None:
            net.history.stop_reason = rule.stop_reason
        if rule.best_theta is not None:
            net.set_flat(rule.best_theta)
        if not incremental and rule.stop_reason == "completed":
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                f"and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ prediction
    def _forward(self, X):
        """a^L for validated X, shape (m, n_L)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_.predict_proba(X)

    def fit(self, X, y):
        """Fit the network to (X, y) by mini-batch gradient descent.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classification) or real targets (regression).

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Neurons per hidden layer; () gives a network without hidden layers.
    activation : str or list of str, default "relu"
        Hidden-layer activation, one for all or one per hidden layer: scikit-learn's
        "identity", "logistic", "tanh", "relu", or any deltaprop activation ("sigmoid",
        "leaky_relu", "swish", "softplus", ...).
    solver : {"adam", "sgd", "momentum", "nesterov"}, default "adam"
        "sgd" is scikit-learn's: Nesterov momentum when ``nesterovs_momentum`` (and
        momentum > 0), classical momentum otherwise, plain SGD when momentum == 0.
    alpha : float, default 1e-4
        L2 strength in scikit-learn's convention: each step adds (alpha / m) W to ∂C/∂W for a
        batch of m rows, i.e. the textbook's λ = alpha · n / m (see the module notes).
    batch_size : int or "auto", default "auto"
        Rows per mini-batch; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        scikit-learn's schedules, for the SGD-family solvers.
    learning_rate_init : float, default 1e-3
        η₀.
    power_t : float, default 0.5
        Exponent of "invscaling".
    max_iter : int, default 200
        Epochs (passes over the training data) at most.
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    random_state : int, RandomState or None
        Seeds initialisation, shuffling, dropout and the early-stopping split.
    tol : float, default 1e-4
        Minimum improvement of the training loss (or validation score) that counts.
    verbose : bool, default False
        Print the loss after each epoch.
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting afresh.
    momentum : float in [0, 1), default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, stop when its score stops improving and
        keep the best weights.
    validation_fraction : float in (0, 1), default 0.1
    beta_1, beta_2, epsilon : floats, defaults 0.9, 0.999, 1e-8
        Adam's β₁, β₂ and ε.
    n_iter_no_change : int or numpy.inf, default 10
        Epochs without improvement by ``tol`` before stopping (or, with "adaptive", before
        dividing η by 5).
    loss : str
        LOSS_DOC
    output_activation : str, optional
        OUT_DOC
    init : str or callable, default "auto"
        deltaprop initialiser: "auto" (He for ReLU-like layers, Glorot uniform otherwise),
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "scaled_normal",
        "normal", or a function (rng, W, b).
    dtype : {None, "float32", "float64"}, default None
        The network's floating type; None follows X (float32 stays float32, anything else
        becomes float64).
    dropout : float or list of float, default 0.0
        Inverted-dropout rate of the hidden layers during training.
    l1 : float, default 0.0
        L1 strength in the same convention as ``alpha``: each step adds (l1 / m) sgn(W).
    schedule : str, dict or Schedule, optional
        A deltaprop learning-rate schedule ("step", "cosine", "plateau", ...) replacing
        ``learning_rate``; epochs count across the fit.
    diagnostics : bool, default False
        Record deltaprop's per-layer statistics (``deltaprop.diagnostics.Recorder``: mean |δ|,
        gradient and weight norms, saturated and dead units per layer) after every epoch in
        ``diagnostics_``, a list of dicts whose ``epoch`` counts over all calls.
"""


def _params_doc(loss_doc, out_doc):
    return _PARAMS_DOC.replace("LOSS_DOC", loss_doc).replace("OUT_DOC", out_doc)


_ATTRS_DOC = """
    Attributes
    ----------
    network_ : deltaprop.Network
        The trained network (textbook layout: W^l has shape (n_out, n_in)).
    coefs_ : list of ndarray
        ``coefs_[l]`` has shape (n_in, n_out), scikit-learn's layout: the transpose of
        ``network_.weights[l]``, as a view.
    intercepts_ : list of ndarray
        Biases, shape (n_out,), views of ``network_.biases``.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 after ``partial_fit``).
    t_ : int
        Training samples seen, over all calls.
    loss_ : float
        The last epoch's loss (see ``loss_curve_``).
    loss_curve_ : list of float
        Per epoch: mean batch cost plus the regularisation term.
    best_loss_ : float or None
        Lowest ``loss_curve_`` value (None with early stopping).
    validation_scores_ : list of float or None
        Score on the held-out data per epoch (early stopping only).
    best_validation_score_ : float or None
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    n_layers_ : int
        Layers counted scikit-learn's way, input and output included.
    n_outputs_ : int
        Neurons of the output layer.
    out_activation_ : str
        The output activation ("logistic" for the sigmoid, as scikit-learn names it).
    diagnostics_ : list of dict
        With ``diagnostics=True``: one ``deltaprop.diagnostics`` record per epoch.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """A multi-layer perceptron classifier trained by deltaprop's backpropagation.

    A drop-in for ``sklearn.neural_network.MLPClassifier`` (solvers "adam" and "sgd"), with
    deltaprop's extras. Binary targets get one sigmoid output and binary cross-entropy;
    multiclass targets a softmax layer and cross-entropy; multilabel indicator matrices one
    sigmoid per label and binary cross-entropy (``predict`` then returns an indicator matrix).
    Labels may be any hashable values (strings included).
    """
        + _params_doc(
            'default "log_loss": binary cross-entropy for sigmoid outputs, cross-entropy '
            'for softmax; or a deltaprop loss ("quadratic", "mse", "cross_entropy", '
            '"binary_cross_entropy").',
            "None picks the sigmoid for binary and multilabel targets and softmax for "
            'multiclass; "softmax" on binary targets uses two output neurons, "sigmoid" on '
            "multiclass targets one-vs-rest outputs (``predict_proba`` normalises them).",
        )
        + _ATTRS_DOC
        + """    classes_ : ndarray
        The class labels (for multilabel targets, the label indices).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        loss="log_loss",
        output_activation=None,
        init="auto",
        dtype=None,
        dropout=0.0,
        l1=0.0,
        schedule=None,
        diagnostics=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            loss=loss,
            output_activation=output_activation,
            init=init,
            dtype=dtype,
            dropout=dropout,
            l1=l1,
            schedule=schedule,
            diagnostics=diagnostics,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if "classes_" not in self.__dict__ or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise DeltapropError(
                        f"warm_start=True needs y with the classes of the previous "
                        f"fit; previously got {self.classes_}, y has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_)):
                raise DeltapropError(
                    f"y has classes {np.setdiff1d(classes, self.classes_)} that are "
                    f"not in classes_={self.classes_}; expected labels from the "
                    f"classes given on the first call to partial_fit"
                )
        Y = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "binary" and self._two_column_binary():
            Y = np.hstack([1 - Y, Y])
        return X, Y, y

    def _two_column_binary(self):
        """Binary targets with a softmax output use two neurons (softmax of one is constant)."""
        out = self.output_activation
        return (
            out is not None
            and _activation_name(out, "output_activation") == "softmax"
            and len(self.classes_) == 2
        )

    def _output_and_loss(self, Y):
        kind = self._label_binarizer.y_type_
        out = self.output_activation
        if out is None:
            out = "softmax" if kind == "multiclass" else "sigmoid"
        out = _activation_name(out, "output_activation")
        if out not in ("sigmoid", "softmax"):
            raise DeltapropError(
                f"output_activation={self.output_activation!r} is invalid for a "
                f"classifier; expected 'logistic' (sigmoid), 'softmax' or None, "
                f"whose outputs are class probabilities"
            )
        if out == "softmax" and kind == "multilabel-indicator":
            raise DeltapropError(
                "output_activation='softmax' is invalid for multilabel targets: "
                "softmax makes the labels compete for one unit of probability; "
                "expected 'logistic' (one sigmoid per label) or None"
            )
        loss = self.loss
        if loss in (None, "log_loss"):
            loss = "cross_entropy" if out == "softmax" else "binary_cross_entropy"
        elif loss == "squared_error":
            loss = "quadratic"
        return out, _get_loss(loss, self.loss, "'log_loss'")

    def _stratify_labels(self, y_labels):
        return y_labels if y_labels.ndim == 1 else None

    def _validation_score(self, X_val, y_val):
        return accuracy_score(y_val, self._decode(self.network_.predict_proba(X_val)))

    def _decode(self, A):
        if self._two_column_binary():
            return self.classes_[np.argmax(A, axis=1)]
        if A.shape[1] == 1:
            A = A.ravel()
        return self._label_binarizer.inverse_transform(A)

    def fit(self, X, y):
        """Fit the network to (X, y) by mini-batch gradient descent.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel targets.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
        classes : array-like, shape (n_classes,)
            Every class of the whole data set; required on the first call (a chunk need not
            contain all of them), ignored or checked afterwards.

        Returns
        -------
        self
        """
        first = "classes_" not in self.__dict__
        if first:
            if classes is None:
                raise DeltapropError(
                    "classes must be passed on the first call to partial_fit "
                    "(every label of the whole data set, e.g. np.unique(y_all))"
                )
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise DeltapropError(
                f"classes={_short(classes)} differs from classes_={self.classes_} "
                f"set on the first call to partial_fit; expected the same classes"
            )
        try:
            return self._fit(X, y, incremental=True)
        except Exception:
            if first:
                # A failed first call leaves the estimator as unfitted as it found it.
                for attr in ("classes_", "_label_binarizer", "network_", "_optimizer"):
                    self.__dict__.pop(attr, None)
            raise

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) (or (n_samples, n_labels), 0/1, for multilabel targets)
        """
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples, n_classes)
            Rows sum to 1 (for multilabel targets: the probability of each label, independently).
        """
        A = self._forward(X)
        kind = self._label_binarizer.y_type_
        if len(self.classes_) == 1:
            return np.ones((A.shape[0], 1), dtype=A.dtype)
        if kind == "binary" and A.shape[1] == 1:
            return np.hstack([1 - A, A])
        if kind == "multiclass" and self.network_.layer_activations[-1].name != "softmax":
            total = A.sum(axis=1, keepdims=True)
            return np.divide(A, total, out=np.full_like(A, 1.0 / A.shape[1]), where=total > 0)
        return A

    def predict_log_proba(self, X):
        """ln of ``predict_proba(X)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """A multi-layer perceptron regressor trained by deltaprop's backpropagation.

    A drop-in for ``sklearn.neural_network.MLPRegressor`` (solvers "adam" and "sgd"), with
    deltaprop's extras. One or several outputs; by default an identity output layer and the
    textbook's quadratic cost ½‖y − a‖², whose gradient a − y is scikit-learn's squared
    error. The first positional parameter is ``loss``, as in scikit-learn.
    """
        + _params_doc(
            'default "squared_error" (deltaprop\'s "quadratic", ½‖y − a‖² per sample); '
            'or "mse" ((1/n_out)‖y − a‖², Keras\'s), or another deltaprop loss.',
            'default "identity"; any deltaprop activation (e.g. "sigmoid" for targets in '
            '[0, 1] or "softplus" for positive ones).',
        )
        + _ATTRS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.sklearn import MLPRegressor
    >>> X = np.linspace(-3, 3, 300)[:, None]
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", batch_size=32,
    ...                    learning_rate_init=0.01, random_state=0).fit(X, np.sin(X[:, 0]))
    >>> reg.score(X, np.sin(X[:, 0])) > 0.95
    True
    """
    )

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        output_activation=None,
        init="auto",
        dtype=None,
        dropout=0.0,
        l1=0.0,
        schedule=None,
        diagnostics=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            loss=loss,
            output_activation=output_activation,
            init=init,
            dtype=dtype,
            dropout=dropout,
            l1=l1,
            schedule=schedule,
            diagnostics=diagnostics,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, Y, y

    def _output_and_loss(self, Y):
        out = _activation_name(self.output_activation or "identity", "output_activation")
        loss = "quadratic" if self.loss in (None, "squared_error") else self.loss
        return out, _get_loss(loss, self.loss, "'squared_error'")

    def _validation_score(self, X_val, y_val):
        return r2_score(y_val, self._shape_output(self.network_.predict_proba(X_val)))

    def _shape_output(self, A):
        return A.ravel() if A.shape[1] == 1 else A

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray, shape (n_samples,) for one output, (n_samples, n_outputs) otherwise
        """
        return self._shape_output(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
