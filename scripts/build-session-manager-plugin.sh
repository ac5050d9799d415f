#!/bin/sh
# Builds AWS's session-manager-plugin from its public source, through the Go
# module proxy, into OUT (default bin/session-manager-plugin): the official
# client berth's ECS Exec tests run against, for machines without it.
#
# The plugin's source has no go.mod: this pins the commit, and the one
# revision of its uuid dependency whose API it was written against; the
# rest resolve to their current versions.
set -eu
out=${1:-bin/session-manager-plugin}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
commit=v0.0.0-20260401221635-b79d06c1d3a2
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
go mod init berth.local/fetch >/dev/null 2>&1
GOFLAGS=-mod=mod go mod download -json "github.com/aws/session-manager-plugin@$commit" > fetch.json
src=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' fetch.json)
cp -r "$src" plugin
chmod -R u+w plugin
cd plugin
go mod init github.com/aws/session-manager-plugin >/dev/null 2>&1
GOFLAGS=-mod=mod go get github.com/twinj/uuid@v0.0.0-20151029044442-89173bcdda19 >/dev/null 2>&1
mkdir -p "$(dirname "$out")"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$out" ./src/sessionmanagerplugin-main/ 2>build.log || { cat build.log >&2; exit 1; }
"$out" --version
