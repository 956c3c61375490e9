#!/usr/bin/env bash
# Build the whole book on the embedded default (offline, CPU): every chapter is executed,
# and any execution error or Sphinx warning fails the build. HTML lands in _build/html.
#
#   bash scripts/build_book.sh          # the book
#   bash scripts/build_book.sh --small  # the tiny sizes of params/ci.yaml, into _build/small/_build/html
#                                       # (what the browser tests check; built from a copy of the
#                                       # sources, so it never touches the full build's results)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
mkdir -p book/_static
.venv/bin/python - <<'PY'
import os, shutil, plotly
src = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
shutil.copyfile(src, "book/_static/plotly.min.js")
PY
start=$(date +%s)
if [ "${1:-}" = "--small" ]; then
  digest=$(.venv/bin/python scripts/book_digest.py)   # of the sources as copied below
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  tar --exclude=./.venv --exclude=./_build --exclude=./.git --exclude='./notebooks/_results' \
      --exclude='./notebooks/_cache' --exclude=./.cache -cf - . | tar -xf - -C "$src"
  # the photo testbed's fetched files stay where set-up put them
  if [ -z "${SEVEC_DATA_DIR:-}" ] && [ -d .cache/sevec-data ]; then export SEVEC_DATA_DIR="$PWD/.cache/sevec-data"; fi
  export SEVEC_SIZES
  SEVEC_SIZES=$(.venv/bin/python -c 'import json, yaml; p = yaml.safe_load(open("params/ci.yaml")); print(json.dumps({**p["sizes"], "photos": p["photos_sizes"]}))')
  rm -rf _build/small
  SEVEC_STATIC_BOOK=1 .venv/bin/jupyter-book build "$src" --path-output _build/small --all -W -n --keep-going
  # the chapters' saved records, read by the notebook tests (every chapter on every network)
  if [ -d "$src/notebooks/_results" ]; then cp -r "$src/notebooks/_results" _build/small/results; fi
  echo "$digest" > _build/small/sources.sha256   # what the tests compare with the sources
  echo "small book built in $(( $(date +%s) - start ))s: _build/small/_build/html/index.html"
else
  rm -rf notebooks/_results
  SEVEC_STATIC_BOOK=1 .venv/bin/jupyter-book build . --all -W -n --keep-going
  echo "book built in $(( $(date +%s) - start ))s: open _build/html/index.html"
fi
