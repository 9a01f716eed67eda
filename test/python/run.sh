#!/usr/bin/env bash
# Cross-checks pg_unlearn against scikit-learn; skips (exit 0) when numpy or
# scikit-learn are not importable by Debian's python3.
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c "import numpy, sklearn" 2>/dev/null; then
    echo "skipped: numpy/scikit-learn not installed for $py"
    exit 0
fi
exec "$py" "$(dirname "$0")/check_sklearn.py"
