#!/bin/sh
# Makes sure Debian's chromium is installed: test/e2e/ui-browser.test.ts drives it with playwright-core
# (no browser download). Needs apt-get and root (or sudo). Idempotent: does nothing when it is there.
#
#   scripts/ensure-chromium.sh        # then: npx jest test/e2e/ui-browser
set -eu

CHROMIUM=${DESK_CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "No $CHROMIUM and no apt-get: install Chromium and set DESK_CHROMIUM_PATH, or set DESK_SKIP_BROWSER=1." >&2
  exit 1
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "Installing Debian's chromium (apt-get install -y chromium)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null)"
