# The defaults against scikit-learn's on its bundled data sets: each data set
# split 75/25 (train_test_split, random_state 0, stratified for classifiers),
# the training rows loaded into a table and trained on with pg_unlearn's
# defaults, the test rows measured with unlearn.evaluate; scikit-learn's
# estimator with its defaults fitted on the same rows and scored on the same
# test rows. python3 bench/defaults_vs_sklearn.py (PG* env set)
import json
import os
import subprocess
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "python"))
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
import check_sklearn as c

subprocess.run(["psql", "-X", "-q", "-c", f"DROP DATABASE IF EXISTS {c.DB} WITH (FORCE)", "-d", "postgres"], check=True)
subprocess.run(["psql", "-X", "-q", "-c", f"CREATE DATABASE {c.DB}", "-d", "postgres"], check=True)
c.psql("CREATE EXTENSION pg_unlearn")
cases = [
    ("diabetes", datasets.load_diabetes, "linear_regression", LinearRegression(), "r2"),
    ("breast cancer", datasets.load_breast_cancer, "logistic_regression", LogisticRegression(), "accuracy"),
    ("breast cancer", datasets.load_breast_cancer, "naive_bayes", GaussianNB(), "accuracy"),
    ("wine", datasets.load_wine, "logistic_regression", LogisticRegression(), "accuracy"),
    ("wine", datasets.load_wine, "naive_bayes", GaussianNB(), "accuracy"),
    ("digits", datasets.load_digits, "mlp", MLPClassifier(random_state=0), "accuracy"),
]
print("| data set | rows × features | pg_unlearn default | held-out | scikit-learn default | held-out |")
print("|---|---|---|---|---|---|")
for name, load, algorithm, ref, metric in cases:
    x, y = load(return_X_y=True)
    classifier = metric == "accuracy"
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y if classifier else None)
    c.load("d_train", xtr, ytr.astype(float))
    c.load("d_test", xte, yte.astype(float))
    feats = "ARRAY[" + ",".join(f"'f{j + 1}'" for j in range(x.shape[1])) + "]"
    c.psql(f"SELECT * FROM unlearn.train('d', 'd_train', 'y', {feats}, '{algorithm}')")
    ours = json.loads(c.psql("SELECT unlearn.evaluate('d', 'd_test')::text")[0][0])[metric]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs on raw features warns that it stopped at max_iter: that is its default
        pred = ref.fit(xtr, ytr).predict(xte)
    theirs = accuracy_score(yte, pred) if classifier else r2_score(yte, pred)
    print(f"| {name} | {x.shape[0]} × {x.shape[1]} | `{algorithm}` | {metric} {ours:.4f} | `{type(ref).__name__}()` | {theirs:.4f} |")
    c.psql("SELECT unlearn.drop_model('d')")
subprocess.run(["psql", "-X", "-q", "-c", f"DROP DATABASE {c.DB}", "-d", "postgres"], check=True)
