#!/usr/bin/env bash
# Build the whole book on the embedded default (offline, CPU): every chapter is executed,
# and any execution error or Sphinx warning fails the build. HTML lands in _build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
mkdir -p book/_static
.venv/bin/python - <<'PY'
import os, shutil, plotly
src = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
shutil.copyfile(src, "book/_static/plotly.min.js")
PY
rm -rf notebooks/_results
start=$(date +%s)
SEVEC_STATIC_BOOK=1 .venv/bin/jupyter-book build . --all -W -n --keep-going
echo "book built in $(( $(date +%s) - start ))s: open _build/html/index.html"
