"""deltaprop's MLPClassifier where scikit-learn's stands: a pipeline, a grid search, a comparison.

    python examples/sklearn_quickstart.py

Trains on scikit-learn's 8×8 digits: a StandardScaler + MLPClassifier pipeline, tuned by
GridSearchCV, then the same architecture and optimizer settings in scikit-learn's own
MLPClassifier for comparison, and finally the deltaprop extras (per-layer activations,
momentum, a cosine schedule, dropout, float32, per-layer diagnostics).
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

# 1. A pipeline and a grid search, exactly as with scikit-learn's estimator.
pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=50, random_state=0))
search = GridSearchCV(
    pipe,
    {"mlpclassifier__hidden_layer_sizes": [(32,), (100,)], "mlpclassifier__alpha": [1e-4, 1e-2]},
    cv=3,
    n_jobs=1,
)
search.fit(X_train, y_train)
print(
    f"grid search: best {search.best_params_}, cv accuracy {search.best_score_:.3f}, "
    f"test accuracy {search.score(X_test, y_test):.3f}"
)

# 2. The same architecture and optimizer settings in both libraries.
params = dict(
    hidden_layer_sizes=(100,),
    activation="relu",
    solver="adam",
    alpha=1e-4,
    batch_size=200,
    learning_rate_init=1e-3,
    max_iter=50,
    random_state=0,
)
for name, cls in [("deltaprop", MLPClassifier), ("scikit-learn", SkMLPClassifier)]:
    model = make_pipeline(StandardScaler(), cls(**params))
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    print(
        f"{name:>12}: test accuracy {model.score(X_test, y_test):.3f} "
        f"in {time.perf_counter() - t0:.2f} s"
    )

# 3. What scikit-learn's MLP does not have.
clf = MLPClassifier(
    (64, 32),
    activation=["relu", "tanh"],
    solver="nesterov",
    momentum=0.9,
    learning_rate_init=0.05,
    schedule="cosine",
    dropout=[0.2, 0.0],
    dtype="float32",
    diagnostics=True,
    max_iter=40,
    random_state=0,
)
clf.fit(StandardScaler().fit(X_train).transform(X_train), y_train)
print(f"extras: {clf.network_}")
last = clf.diagnostics_[-1]
print("‖∂C/∂W‖ per layer after the last epoch:", ", ".join(f"{g:.2e}" for g in last["grad_w_norm"]))
print("coefs_ shapes (scikit-learn's (n_in, n_out) layout):", [c.shape for c in clf.coefs_])
