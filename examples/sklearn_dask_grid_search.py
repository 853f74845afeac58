"""A hyperparameter search on a Dask cluster, through joblib's Dask backend.

    python examples/sklearn_dask_grid_search.py                  # a LocalCluster on loopback
    python examples/sklearn_dask_grid_search.py tcp://scheduler:8786   # a real cluster

Nothing in the search is deltaprop-specific: GridSearchCV hands each (candidate, fold) fit to
joblib, and inside ``joblib.parallel_backend("dask")`` joblib sends them to the Dask workers.
On a real cluster, every worker needs the same environment (``pip install deltaprop[sklearn]``
and dask[distributed]); start a scheduler (``dask scheduler``) and workers
(``dask worker tcp://scheduler:8786 --nthreads 1``) and pass the scheduler's address here.
"""

import sys
import time
import warnings

import joblib
from dask.distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import MLPClassifier


def main(address=None):
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=40, random_state=0))
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(32,), (64,), (128,)],
        "mlpclassifier__activation": ["relu", "tanh"],
        "mlpclassifier__alpha": [1e-4, 1e-2],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=-1)

    if address is None:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0"
        )
        client = Client(cluster)
    else:
        cluster, client = None, Client(address)
    try:
        print(f"cluster: {client}")
        t0 = time.perf_counter()
        with joblib.parallel_backend("dask"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        print(
            f"{len(search.cv_results_['params'])} candidates x 3 folds in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        print(f"best: {search.best_params_}, cv accuracy {search.best_score_:.3f}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
