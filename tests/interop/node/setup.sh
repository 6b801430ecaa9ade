#!/bin/sh
# Install the pinned npm packages for the RFC 9421 interop tests (idempotent: does nothing
# when node_modules already matches package-lock.json).
set -eu
cd "$(dirname "$0")"
command -v npm >/dev/null 2>&1 || { echo "setup.sh: npm is not installed" >&2; exit 127; }
if [ -f node_modules/.package-lock.json ] && [ -d node_modules/http-message-signatures ] \
   && cmp -s package-lock.json node_modules/.package-lock.json.src 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.package-lock.json.src
