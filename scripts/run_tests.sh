#!/usr/bin/env bash
# Run the whole test suite: unit tests, cross-checks against Captum, the notebook smoke runs
# (papermill, tiny CI parameters) and the small book checked in Chromium. Creates .venv and
# installs Chromium (Debian package) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
bash scripts/install_browser.sh   # Chromium from Debian for tests/test_browser.py
.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
