#!/usr/bin/env bash
# Run the whole test suite: unit tests, cross-checks against Captum, and the notebook
# smoke runs (papermill, tiny CI parameters). Creates .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
