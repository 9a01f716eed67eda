#!/usr/bin/env python3
"""unlearn.report renders: a SISA model with holdout rows and a monitored
group, three forgetting events with metrics refreshed after each; the page
is opened in headless Chromium (Debian's chromium package, installed by
scripts/deps.sh), whose DOM must hold the charts and whose screenshot must
be a page-sized image; the page must fetch nothing and carry no key or
feature value of any row. python3 test/python/check_report.py [screenshot.png]
(PG* environment set; the screenshot path keeps the image, e.g. for docs/)."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

DB = "unlearn_report_check"
ADMIN_DB = os.environ.get("PGDATABASE", "postgres")
results = []


def psql(sql, db=DB):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{sql}\n{out.stderr}")
    return out.stdout


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else f": {detail}"))


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


SETUP = """
CREATE TABLE schools (id text PRIMARY KEY, district text, x1 float8, x2 float8, y int);
INSERT INTO schools SELECT 'student-' || i, (ARRAY['A','B','C','D'])[1 + i % 4], sin(i) + (i % 4) * 0.3, cos(i * 0.7),
       (sin(i) + 0.5 * cos(i * 0.7) + (i % 4) * 0.2 + 0.4 * sin(i * 5.3) > 0.3)::int FROM generate_series(1, 2000) i;
UPDATE schools SET x1 = 987654.321 WHERE id = 'student-77';  -- a value that must not reach the page
SELECT name FROM unlearn.train('schools_mlp', 'schools', 'y', ARRAY['x1', 'x2'], 'mlp', shards => 4, slices => 2,
                               options => '{"holdout": 0.2, "monitor_group": "district", "hidden": 64, "l2": 0, "retrain": "inline"}');
DELETE FROM schools WHERE right(id, 2) = '97';
SELECT unlearn.refresh_metrics('schools_mlp');
DELETE FROM schools WHERE district = 'A' AND length(id) < 11;
SELECT unlearn.refresh_metrics('schools_mlp');
DELETE FROM schools WHERE id IN ('student-1500', 'student-1501', 'student-1502', 'student-1503', 'student-1504', 'student-77');
SELECT unlearn.refresh_metrics('schools_mlp');
"""


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def main():
    browser = chromium()
    check("chromium is installed (scripts/deps.sh installs Debian's chromium)", browser is not None)
    if browser is None:
        return 1
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db=ADMIN_DB)
    psql(f"CREATE DATABASE {DB}", db=ADMIN_DB)
    tmp = tempfile.mkdtemp(prefix="unlearn_report_")
    os.chmod(tmp, 0o755)
    try:
        psql("CREATE EXTENSION pg_unlearn")
        psql(SETUP)
        html = psql("SELECT unlearn.report('schools_mlp')").rstrip("\n")
        page = os.path.join(tmp, "report.html")
        with open(page, "w") as f:
            f.write(html)
        check("the page is self-contained: nothing fetched (no src, href, url( or script)",
              not re.search(r"\bsrc=|\bhref=|url\(|<script|@import", html))
        check("no key of a row on the page", "student-" not in html)
        check("no feature value of a row on the page", "987654" not in html)
        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                 f"--user-data-dir={os.path.join(tmp, 'profile')}"]
        dom = subprocess.run([browser, *flags, "--dump-dom", "file://" + page], capture_output=True, text=True, timeout=120)
        svgs = dom.stdout.count("<svg")
        check(f"Chromium's DOM holds the charts ({svgs} svg elements: quality, ROC, group impact x3, shards x2)",
              dom.returncode == 0 and svgs >= 7 and dom.stdout.count("<polyline") >= 3 and "<rect class=\"bar" in dom.stdout,
              dom.stderr[-500:])
        for title in ("Quality over time", "Membership inference", "Group impact", "Shards", "Audit events",
                      "loss-threshold attack ROC, AUC", "accuracy per group of district"):
            check(f"the page has \"{title}\"", title in dom.stdout)
        shot = os.path.join(tmp, "report.png")
        r = subprocess.run([browser, *flags, "--window-size=1200,1750", f"--screenshot={shot}", "file://" + page],
                           capture_output=True, text=True, timeout=120)
        size = png_size(shot) if os.path.exists(shot) else None
        nbytes = os.path.getsize(shot) if os.path.exists(shot) else 0
        check(f"a screenshot of plausible size ({size}, {nbytes} bytes)",
              r.returncode == 0 and size == (1200, 1750) and nbytes > 40000, r.stderr[-500:])
        if len(sys.argv) > 1 and os.path.exists(shot):
            shutil.copyfile(shot, sys.argv[1])
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db=ADMIN_DB)
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
