#!/usr/bin/env bash
# Fetch the photo testbed's files: three Debian packages (tuxpaint-stamps-default, mate-backgrounds,
# gimp-data) with `apt-get download` (no system install), only the files the testbed uses kept, each
# checked against its sha256 in sevec_helpers/sources/photo_testbed/manifest.json. They go to
# $SEVEC_DATA_DIR/photo_testbed, or .cache/sevec-data/photo_testbed in this checkout. Quick when they
# are already there; `--status` only says whether they are ready.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || PY=${PYTHON:-python3}
# the fetcher uses only the standard library: it runs before (or without) the project's environment
exec "$PY" sevec_helpers/sources/photo_testbed/fetch.py "$@"
