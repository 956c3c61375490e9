#!/usr/bin/env bash
# Create (or reuse) the local virtual environment .venv with everything the book and the
# tests need. Re-running is cheap: pip is only called when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=.venv/.sevec-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # torch/torchvision pinned to the releases that install from this machine's disk
  .venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
  .venv/bin/python -m pip install -q -e ".[book,test,real]"
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
  echo "$want" > "$stamp"
fi
# the photo testbed's data (three Debian packages, fetched once into .cache/sevec-data; quick when
# present). Without them the book says the photo testbed is unavailable, so a failure only warns.
if ! bash scripts/fetch_photos.sh; then
  echo "warning: the photo testbed's files could not be fetched (see above); the book and tests run without it." \
       "Retry with: bash scripts/fetch_photos.sh" >&2
fi
