#!/bin/sh
# Build the independent Go verifier (golang.org/x/mod/sumdb/{note,tlog}) into ./bin/verify.
# Offline, GOPATH mode, from Debian's packages; installs them when missing. Idempotent:
# rebuilds only when verify.go is newer than the binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode
if ! command -v go >/dev/null 2>&1 || [ ! -d "$gocode/src/golang.org/x/mod/sumdb/note" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: need golang-go and golang-golang-x-mod-dev (apt-get, as root)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null
fi
mkdir -p "$here/bin"
if [ -x "$here/bin/verify" ] && [ "$here/bin/verify" -nt "$here/verify.go" ]; then
    exit 0
fi
export GO111MODULE=off GOPATH="$gocode" GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$here/bin/.cache}"
cd "$here"
go build -o "$here/bin/verify.tmp" verify.go
mv "$here/bin/verify.tmp" "$here/bin/verify"
