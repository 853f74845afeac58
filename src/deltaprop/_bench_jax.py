"""JAX as a benchmark system: the same network trained by ``jax.jit`` + ``lax.scan`` epochs.

This is JAX's idiomatic fast form on a CPU: the whole epoch is one compiled XLA program. Inside
it the sample indices are shuffled (``jax.random.permutation``), reshaped into (batches, m),
and ``lax.scan`` carries the parameters through one plain SGD step per batch (the batch rows
gathered by indexing, the gradient by ``jax.grad`` of the same batch-mean cost); a last,
smaller batch takes the remaining samples so that every system trains on all of them. Weights
are stored (n_in, n_out) and applied as ``x @ W + b``, JAX's usual layout. The program is
compiled ahead of time (``jit(...).lower(...).compile()``) in ``warmup``, so no measurement
includes compilation.

JAX is optional (``pip install jax``): nothing else in deltaprop imports it.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["JaxSystem"]


def _one_hot(y, dtype):
    Y = np.zeros((y.size, 10), dtype=dtype)
    Y[np.arange(y.size), y] = 1
    return Y


def _init_params(sizes, hidden, dtype, seed):
    """He-normal weights for ReLU, N(0, 1/n_in) for sigmoid; zero biases; (n_in, n_out) layout."""
    rng = np.random.default_rng(seed)
    gain = 2.0 if hidden == "relu" else 1.0
    return [
        (
            (rng.standard_normal((a, b)) * math.sqrt(gain / a)).astype(dtype),
            np.zeros(b, dtype=dtype),
        )
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


def _programs(jax, cfg, n):
    """The jitted forward pass and the epoch function for `n` samples of configuration `cfg`."""
    jnp = jax.numpy
    act = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[cfg["hidden"]]
    quadratic = cfg["loss"] == "quadratic"
    bs, lr = cfg["batch"], cfg["lr"]
    full, rest = divmod(n, bs)

    def forward(params, x):
        for W, b in params[:-1]:
            x = act(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def cost(params, x, y):
        z = forward(params, x)
        if quadratic:  # ½‖σ(z) − y‖², the batch mean
            return 0.5 * jnp.sum((jax.nn.sigmoid(z) - y) ** 2) / x.shape[0]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z), axis=-1))

    def step(params, X, Y, idx):
        grads = jax.grad(cost)(params, X[idx], Y[idx])
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    def epoch(params, X, Y, key):
        perm = jax.random.permutation(key, n)
        batches = perm[: full * bs].reshape(full, bs)
        params, _ = jax.lax.scan(lambda p, idx: (step(p, X, Y, idx), None), params, batches)
        if rest:
            params = step(params, X, Y, perm[full * bs :])
        return params

    return jax.jit(forward), jax.jit(epoch)


class JaxSystem:
    """The benchmark's JAX trainer: ``warmup()`` compiles and runs one epoch, ``run()`` times."""

    name = "jax"

    def __init__(self, cfg, X, y, epochs, seed=0):
        import jax

        if cfg["dtype"] == "float64":
            jax.config.update("jax_enable_x64", True)
        self.jax, self.cfg, self.epochs, self.n = jax, cfg, epochs, X.shape[0]
        dt = np.dtype(cfg["dtype"])
        params = _init_params(cfg["sizes"], cfg["hidden"], dt, seed)
        self.params = jax.device_put(params)
        self.X = jax.device_put(np.ascontiguousarray(X, dtype=dt))
        self.Y = jax.device_put(_one_hot(np.asarray(y), dt))
        self.key = jax.random.PRNGKey(seed)
        self.forward, self._epoch_fn = _programs(jax, cfg, self.n)
        self.compiled = None
        loss = "½‖σ(z)−y‖² batch mean" if cfg["loss"] == "quadratic" else "log_softmax CE mean"
        self.note = (
            f"jax {jax.__version__}: jit of a whole epoch, lax.scan over shuffled index batches, "
            f"SGD on jax.grad of the {loss}, (n_in, n_out) weights; compiled before timing"
        )

    def _next_key(self):
        self.key, sub = self.jax.random.split(self.key)
        return sub

    def _epoch(self):
        self.params = self.compiled(self.params, self.X, self.Y, self._next_key())
        self.jax.block_until_ready(self.params)

    def warmup(self):
        args = (self.params, self.X, self.Y, self._next_key())
        self.compiled = self._epoch_fn.lower(*args).compile()
        self._epoch()

    def run(self):
        t0 = time.perf_counter()
        for _ in range(self.epochs):
            self._epoch()
        return time.perf_counter() - t0, self.epochs * self.n

    def accuracy(self, X, y):
        """Fraction of `X`'s rows whose largest output is the label `y`."""
        z = np.asarray(self.forward(self.params, np.asarray(X, dtype=self.cfg["dtype"])))
        return float(np.mean(np.argmax(z, axis=1) == np.asarray(y)))
