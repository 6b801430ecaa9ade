#!/usr/bin/env bash
# Installs what the console's browser tests need and pip cannot: Debian's chromium.
# Called by the browser test fixture (tests/console/browser.py); safe to run again.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "console tests: /usr/bin/chromium is missing; as root run: apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
