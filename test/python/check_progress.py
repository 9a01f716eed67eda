#!/usr/bin/env python3
"""Long work shows progress: a training that lasts a few seconds sends NOTICE
lines every unlearn.progress_interval and, while it runs, another session
reads its progress in unlearn.progress; once it ends the entry is gone.
Standard library only; talks to the server through psql (PG* environment)."""
import os
import subprocess
import sys
import time

DB = "unlearn_progress_check"
ADMIN_DB = os.environ.get("PGDATABASE", "postgres")
results = []


def psql(sql, db=DB):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{sql}\n{out.stderr}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else f": {detail}"))


TRAIN = ("SET unlearn.progress_interval = '{interval}'; "
         "SELECT rows_trained FROM unlearn.train('{name}', 'prog', 'y', ARRAY['x1', 'x2', 'x3'], 'mlp', shards => 2, "
         "slices => 2, options => '{{\"hidden\": 64, \"epochs\": {epochs}, \"n_iter_no_change\": 10000}}')")


def run_training():
    proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
                             TRAIN.format(interval="250ms", name="prog_mlp", epochs=120)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    while proc.poll() is None:
        rows = psql("SELECT model, operation, phase, coalesce(shard, 0), shards, coalesce(epoch, 0), "
                    "elapsed_s, coalesce(remaining_s, -1), role FROM unlearn.progress")
        seen.extend(rows)
        time.sleep(0.1)
    out, err = proc.communicate()
    return proc.returncode, seen, err


def main():
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db=ADMIN_DB)
    psql(f"CREATE DATABASE {DB}", db=ADMIN_DB)
    try:
        psql("CREATE EXTENSION pg_unlearn")
        psql("CREATE TABLE prog (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, y int); "
             "INSERT INTO prog SELECT i, sin(i), cos(i * 0.7), sin(i * 0.3), "
             "(sin(i) + sin(i * 0.3) * cos(i * 0.7) > 0)::int FROM generate_series(1, 30000) i")
        started = time.time()
        code, seen, err = run_training()
        took = time.time() - started
        check(f"the training ran ({took:.1f} s)", code == 0, err)
        notices = [l for l in err.splitlines() if l.startswith("NOTICE:") and 'train of model "prog_mlp"' in l]
        check(f"it sent progress NOTICEs ({len(notices)}), with shard, slice, epoch, loss, elapsed and time left",
              len(notices) >= 3 and any("epoch" in l and "loss" in l and "s elapsed" in l and "s left" in l
                                        and "shard" in l and "slice" in l for l in notices),
              "\n".join(err.splitlines()[:5]))
        if notices:
            print("# e.g. " + notices[len(notices) // 2])
        training = [r for r in seen if r[0] == "prog_mlp" and r[2] == "train"]
        check(f"another session read its progress in unlearn.progress while it ran ({len(seen)} readings)",
              len(training) >= 2 and any(int(r[5]) > 0 for r in training) and all(r[1] == "train" for r in training)
              and all(r[8] == "postgres" or r[8] for r in training), str(seen[:3]))
        if training:
            print("# e.g. " + " | ".join(training[len(training) // 2]))
        check("the epochs it reported grow", [int(r[5]) for r in training if r[3] == training[0][3]][:2] != [] and
              max(int(r[5]) for r in training) > min(int(r[5]) for r in training), str(training[:5]))
        check("no entry is left once it ended", psql("SELECT count(*) FROM unlearn.progress") == [["0"]])
        # a cancelled training leaves no entry behind (the entry goes as the error unwinds)
        proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
                                 TRAIN.format(interval="100ms", name="prog_cancelled", epochs=400)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid = None
        while proc.poll() is None and pid is None:
            rows = psql("SELECT pid FROM unlearn.progress WHERE model = 'prog_cancelled'")
            pid = rows[0][0] if rows else None
            time.sleep(0.05)
        if pid:
            psql(f"SELECT pg_cancel_backend({pid})")
        _, err = proc.communicate()
        check("a cancelled training stops (57014) and leaves no progress entry",
              pid is not None and "canceling statement" in err and psql("SELECT count(*) FROM unlearn.progress") == [["0"]]
              and psql("SELECT count(*) FROM unlearn.models WHERE name = 'prog_cancelled'") == [["0"]], err[-300:])
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
                              TRAIN.format(interval="-1", name="prog_quiet", epochs=20)],
                             capture_output=True, text=True)
        check("unlearn.progress_interval = -1: no NOTICE", out.returncode == 0 and "NOTICE" not in out.stderr, out.stderr)
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
                              TRAIN.format(interval="5s", name="prog_short", epochs=5)],
                             capture_output=True, text=True)
        check("work shorter than the interval (default 5 s) prints nothing", out.returncode == 0 and "NOTICE" not in out.stderr,
              out.stderr)
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db=ADMIN_DB)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
