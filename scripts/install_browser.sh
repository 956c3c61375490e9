#!/usr/bin/env bash
# Chromium for the browser tests, from Debian's packages (Playwright drives it through
# executable_path; nothing is downloaded by Playwright). Does nothing when chromium is on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: no chromium on PATH and no apt-get; install Chromium yourself (the browser tests need it)" >&2
  exit 0   # the browser tests then fail with the same message
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null 2>&1 || true
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || echo "install_browser: apt-get install chromium failed" >&2
}
