# How many of 150 single-row DELETEs on scikit-learn's breast-cancer data take the
# certified Newton path, raw and z-scored: python3 bench/certified_paths.py (PG* env set)
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "python"))
from sklearn.datasets import load_breast_cancer
import check_sklearn as c
subprocess.run(["psql", "-X", "-q", "-c", f"DROP DATABASE IF EXISTS {c.DB}", "-d", "postgres"], check=True)
subprocess.run(["psql", "-X", "-q", "-c", f"CREATE DATABASE {c.DB}", "-d", "postgres"], check=True)
c.psql("CREATE EXTENSION pg_unlearn")
d = load_breast_cancer()
for name, x in [("raw", d.data), ("z5", ((d.data - d.data.mean(0)) / d.data.std(0))[:, :5])]:
    c.load("bc", x, d.target.astype(float))
    feats = ", ".join(f"'f{j+1}'" for j in range(x.shape[1]))
    c.psql(f"SELECT unlearn.train('bc_{name}', 'bc', 'y', ARRAY[{feats}], 'logistic_regression', 'certified')")
    rng = np.random.default_rng(1)
    for i in rng.permutation(len(d.target))[:150]:
        c.psql(f"DELETE FROM bc WHERE id = {i + 1}")
    rows = c.psql(f"SELECT details->>'path', count(*) FROM unlearn.audit WHERE model = 'bc_{name}' AND event = 'unlearn' GROUP BY 1")
    ver = c.psql(f"SELECT bool_and(passed) FROM unlearn.verify('bc_{name}')")
    print(name, rows, "verify", ver)
    c.psql(f"SELECT unlearn.drop_model('bc_{name}')")
subprocess.run(["psql", "-X", "-q", "-c", f"DROP DATABASE {c.DB}", "-d", "postgres"], check=True)
