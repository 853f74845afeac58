"""Train on a Dask array block by block with partial_fit.

    python examples/sklearn_partial_fit_dask.py

A Dask array describes data that may not fit in memory (here: generated lazily, block by
block; in practice ``dask.array.from_zarr``, ``from_npy_stack`` or a Parquet reader). The loop
computes one block at a time and hands it to ``partial_fit``, so memory holds one block plus
the network. The same loop works when the blocks are computed on a Dask cluster.
"""

import dask.array as da
import numpy as np

from deltaprop.sklearn import MLPRegressor

n_rows, n_features, block = 400_000, 20, 20_000
w_true = np.random.default_rng(1).normal(size=n_features)

X = da.random.default_rng(0).normal(size=(n_rows, n_features), chunks=(block, n_features))
y = da.sin(X @ w_true) + 0.1 * X[:, 0] ** 2  # a nonlinear target, lazily defined
print(
    f"X: {X.shape} in {X.numblocks[0]} blocks of {block} rows "
    f"({X.nbytes / 2**20:.0f} MiB if materialised)"
)

X_test, y_test = X.blocks[0].compute(), y.blocks[0].compute()
reg = MLPRegressor(
    hidden_layer_sizes=(64, 32), activation="tanh", learning_rate_init=3e-3, random_state=0
)
for p in range(2):
    for i in range(1, X.numblocks[0]):
        Xb, yb = da.compute(X.blocks[i], y.blocks[i])
        reg.partial_fit(Xb, yb)
    print(
        f"pass {p + 1}: {reg.t_} samples seen, R² on the held-out block "
        f"{reg.score(X_test, y_test):.3f}"
    )
