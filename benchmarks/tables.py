"""deltaprop's command with its defaults against scikit-learn's MLP, on the same split.

For each table: ``deltaprop train --data FILE --target COL --json`` (no architecture options),
then scikit-learn's MLPClassifier/MLPRegressor with its own defaults on the same training
rows, preprocessed by the same fitted Preprocessor (so both see identical inputs). Prints one
row per table: test accuracy (or R²) of each and the wall time of each fit.

    python benchmarks/tables.py DIR            # DIR holds the CSV files written by --write
    python benchmarks/tables.py DIR --write    # write wine, iris, breast_cancer, diabetes,
                                               # fruit (categories), prices (categories,
                                               # regression) first; needs scikit-learn, pandas
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

TABLES = {
    "wine": "cultivar",
    "iris": "species",
    "breast_cancer": "diagnosis",
    "diabetes": "progression",
    "fruit": "fruit",
    "prices": "price",
}


def write_tables(where: str) -> None:
    import pandas as pd
    from sklearn import datasets as skd

    os.makedirs(where, exist_ok=True)
    loaders = {"wine": skd.load_wine, "iris": skd.load_iris,
               "breast_cancer": skd.load_breast_cancer, "diabetes": skd.load_diabetes}  # fmt: skip
    for name, load in loaders.items():
        d = load(as_frame=True, **({"scaled": False} if name == "diabetes" else {}))
        df = d.frame.rename(columns={"target": TABLES[name]})
        if name in ("wine", "iris"):
            df[TABLES[name]] = [str(d.target_names[i]) for i in d.target]
        df.to_csv(os.path.join(where, f"{name}.csv"), index=False)
    rng = np.random.default_rng(0)
    n = 1200
    color = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(50, 20, n)
    shape = rng.choice(["round", "long"], n)
    score = 1.5 * (color == "red") - (shape == "long") + (size - 50) / 20 + rng.normal(0, 0.5, n)
    fruit = np.where(score > 0.8, "apple", np.where(score > -0.5, "banana", "cherry"))
    base = {"color": color, "size_g": size.round(1), "shape": shape}
    pd.DataFrame({**base, "fruit": fruit}).to_csv(os.path.join(where, "fruit.csv"), index=False)
    price = 1000 + 300 * (color == "red") + 12.5 * size - 200 * (shape == "long")
    price = price + rng.normal(0, 50, n)
    pd.DataFrame({**base, "price": price.round(2)}).to_csv(
        os.path.join(where, "prices.csv"), index=False
    )


def sklearn_score(path: str, target: str, seed: int) -> tuple[float, float]:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from deltaprop.datasets import load_table

    ds, prep = load_table(path, target, seed=seed, dtype="float64")
    X = np.vstack([ds.X_train, ds.X_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    model = (MLPRegressor if prep.classes is None else MLPClassifier)(max_iter=500, random_state=0)
    t0 = time.perf_counter()
    model.fit(X, y)
    took = time.perf_counter() - t0
    if prep.classes is None:
        return float(model.score(ds.X_test, ds.y_test)), took
    return float((model.predict(ds.X_test) == ds.y_test).mean()), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.write:
        write_tables(args.dir)
    print(f"{'table':14} {'metric':8} {'deltaprop':>9} {'sklearn':>8} {'dp s':>6} {'sk s':>6}")
    for name, target in TABLES.items():
        path = os.path.join(args.dir, f"{name}.csv")
        cmd = [sys.executable, "-m", "deltaprop", "train", "--data", path, "--target", target,
               "--seed", str(args.seed), "--json", "--quiet"]  # fmt: skip
        out = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
        metric = "R²" if "test_r2" in out else "accuracy"
        ours = out.get("test_r2", out.get("test_accuracy"))
        theirs, took = sklearn_score(path, target, args.seed)
        print(f"{name:14} {metric:8} {ours:9.4f} {theirs:8.4f} "
              f"{out['metrics']['wall_time']:6.2f} {took:6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
