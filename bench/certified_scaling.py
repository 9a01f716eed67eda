# Certified removal on raw and on standardised features (scikit-learn's
# breast-cancer data, 569 rows, 30 features with standard deviations from
# 0.0026 to 569): the intercept and the labels the objective's noise flips
# against the unperturbed optimum (noise 1e-9), the train WARNING, and the
# bound one DELETE of the row nearest the boundary reaches against the
# budget. python3 bench/certified_scaling.py (PG* env set)
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
print("| features | intercept, noise 1 | intercept, unperturbed | labels flipped (of 569) | train WARNING | DELETE nearest the boundary: path, bound reached / budget |")
print("|---|---|---|---|---|---|")
for name, x in [("raw", d.data), ("standardised", (d.data - d.data.mean(0)) / d.data.std(0))]:
    c.load("bc", x, d.target.astype(float))
    feats = ", ".join(f"'f{j+1}'" for j in range(x.shape[1]))
    arr = "ARRAY[" + ", ".join(f"f{j+1}" for j in range(x.shape[1])) + "]"
    out = subprocess.run(["psql", "-X", "-q", "-d", c.DB, "-c",
                          f"SELECT unlearn.train('bc_cert', 'bc', 'y', ARRAY[{feats}], 'logistic_regression', 'certified')"],
                         capture_output=True, text=True)
    warned = "WARNING" in out.stderr
    c.psql(f"SELECT unlearn.train('bc_exact', 'bc', 'y', ARRAY[{feats}], 'logistic_regression', 'certified', "
           "options => '{\"noise\": 1e-9}')")
    b = {m: float(c.psql(f"SELECT coefficient FROM unlearn.coefficients('{m}') WHERE feature = '(intercept)'")[0][0])
         for m in ("bc_cert", "bc_exact")}
    flipped = int(c.psql(f"SELECT count(*) FROM bc WHERE unlearn.predict('bc_cert', {arr}) <> unlearn.predict('bc_exact', {arr})")[0][0])
    # the row the certified model is least sure of
    near = c.psql(f"SELECT id FROM bc ORDER BY abs((unlearn.predict_proba('bc_cert', {arr}))[2] - 0.5) LIMIT 1")[0][0]
    c.psql(f"SELECT unlearn.drop_model('bc_exact')")
    c.psql(f"DELETE FROM bc WHERE id = {near}")
    path, reached, after, budget = c.psql("SELECT details->>'path', coalesce(details->>'bound_reached', details->>'bound_after'), "
                                          "details->>'bound_after', details->>'budget' FROM unlearn.audit "
                                          "WHERE model = 'bc_cert' AND event = 'unlearn' ORDER BY event_id DESC LIMIT 1")[0]
    print(f"| {name} | {b['bc_cert']:.1f} | {b['bc_exact']:.1f} | {flipped} | {'yes' if warned else 'no'} | "
          f"{path}, {float(reached):.3g} / {float(budget):.3g} |")
    c.psql("SELECT unlearn.drop_model('bc_cert')")
subprocess.run(["psql", "-X", "-q", "-c", f"DROP DATABASE {c.DB}", "-d", "postgres"], check=True)
