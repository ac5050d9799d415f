#!/usr/bin/env bash
# Set up berth on a Debian machine and start it: install what is missing,
# start Docker, build bin/berth and start `bin/berth server` in the
# background. Safe to run again: it skips what is already done.
#
# Run as root, or as a user who may sudo (for apt-get and dockerd).
# BERTH_LISTEN (default 127.0.0.1:4566) and BERTH_DATA_DIR (default
# $XDG_DATA_HOME/berth or ~/.local/share/berth) move the server;
# BERTH_ACCOUNT_ID (default 000000000000) is the account it acts as.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if ! command -v apt-get >/dev/null 2>&1; then
	echo "setup: this script is for Debian (no apt-get here)" >&2
	exit 1
fi

# Packages: Docker, the AWS CLI v2 the tests use, a static busybox for
# offline test images, and the tools this script and the Makefile use.
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/aws ] || missing+=(awscli)
installed busybox-static || missing+=(busybox-static)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v nft >/dev/null 2>&1 || missing+=(nftables) # security groups
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# Go: Debian's golang package is too old to build berth (Go >= 1.26), so it
# is not installed from here. A Go >= 1.21 fetches the toolchain go.mod asks
# for by itself; an older one cannot.
go_bin=$(command -v go || true)
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then
	go_bin=/usr/local/go/bin/go # sudo's secure_path leaves it off PATH
fi
go_minor=0
if [ -n "$go_bin" ]; then
	go_minor=$(GOTOOLCHAIN=local "$go_bin" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p')
fi
if [ "${go_minor:-0}" -lt 21 ]; then
	if [ -n "$go_bin" ]; then
		found="$go_bin is $(GOTOOLCHAIN=local "$go_bin" env GOVERSION 2>/dev/null || echo too old)"
	else
		found="go is not installed"
	fi
	arch=$(dpkg --print-architecture)
	cat >&2 <<MSG
setup: berth needs Go >= 1.26, but $found.
Install a Go 1.26.x release from https://go.dev/dl/ (Debian's golang is older):

  curl -fLO https://go.dev/dl/go1.26.0.linux-$arch.tar.gz
  sudo rm -rf /usr/local/go && sudo tar -C /usr/local -xzf go1.26.0.linux-$arch.tar.gz
  export PATH=/usr/local/go/bin:\$PATH

then run $0 again.
MSG
	exit 1
fi
export PATH="$(dirname "$go_bin"):$PATH"

scripts/start-dockerd.sh

echo "setup: building bin/berth"
make build

listen=${BERTH_LISTEN:-127.0.0.1:4566}
if [ -n "${BERTH_DATA_DIR:-}" ]; then
	data_dir=$BERTH_DATA_DIR
elif [[ ${XDG_DATA_HOME:-} == /* ]]; then
	data_dir=$XDG_DATA_HOME/berth
else
	data_dir=$HOME/.local/share/berth
fi
# The server answers on loopback when it listens on every address.
port=${listen##*:}
host=${listen%:*}
case "$host" in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
health="http://$host:$port/_berth/health"
log=$data_dir/server.log
pidfile=$data_dir/server.pid

if curl -fsS -o /dev/null "$health" 2>/dev/null; then
	echo "setup: berth is already running on $listen (restart it to use the new build)"
else
	mkdir -p -m 0700 "$data_dir"
	echo "setup: starting bin/berth server on $listen (log: $log)"
	# The server's agent runs tasks: it manages the task bridge, task
	# cgroups and the metadata endpoint on 169.254.170.2, which needs root.
	# Started through sudo, the server hands the admin key to you.
	server=(bin/berth server --listen "$listen" --data-dir "$data_dir")
	if [ "$(id -u)" -ne 0 ]; then
		sudo -v
		server=(sudo "${server[@]}")
	fi
	nohup "${server[@]}" >>"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidfile"
	for _ in $(seq 300); do
		if curl -fsS -o /dev/null "$health" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "setup: berth server exited; last lines of $log:" >&2
			tail -n 20 "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if ! curl -fsS -o /dev/null "$health" 2>/dev/null; then
		echo "setup: berth server is not healthy after 30s; see $log" >&2
		exit 1
	fi
fi

flags=""
[ -n "${BERTH_LISTEN:-}" ] && flags+=" --listen $listen"
[ -n "${BERTH_DATA_DIR:-}" ] && flags+=" --data-dir $data_dir"
cat <<MSG

berth is running at http://$host:$port (data: $data_dir, log: $log).
Stop it with: $( [ "$(id -u)" -eq 0 ] || printf 'sudo ' )kill \$(cat $pidfile)

Point the aws CLI and SDKs at it (from $repo):

  eval "\$(bin/berth env$flags)"
MSG
