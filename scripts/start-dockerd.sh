#!/usr/bin/env bash
# Start the Docker daemon unless one already answers, and wait (up to
# DOCKERD_TIMEOUT seconds, default 60) until `docker info` works.
# Uses systemd when it is running, else starts dockerd in the background
# (log: /var/log/dockerd.log). Runs as root or through sudo.
set -euo pipefail

timeout=${DOCKERD_TIMEOUT:-60}
log=/var/log/dockerd.log

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The pid file, not pgrep: procps is missing on minimal Debian.
dockerd_running() {
	local pid
	pid=$(cat /var/run/docker.pid 2>/dev/null) && [ -n "$pid" ] && [ -d "/proc/$pid" ]
}

if docker info >/dev/null 2>&1; then
	exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
	echo "start-dockerd: dockerd is not installed (apt-get install docker.io)" >&2
	exit 1
fi

# A daemon may already run and only deny this user the socket; a second one
# would fail on its pid file, so start one only if none is running.
if ! dockerd_running; then
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		echo "start-dockerd: systemctl start docker" >&2
		as_root systemctl start docker
	else
		echo "start-dockerd: starting dockerd (log: $log)" >&2
		as_root sh -c "nohup dockerd >>'$log' 2>&1 </dev/null &"
	fi
fi

for _ in $(seq "$timeout"); do
	if docker info >/dev/null 2>&1; then
		exit 0
	fi
	sleep 1
done

echo "start-dockerd: docker info still fails after ${timeout}s:" >&2
docker info 2>&1 | tail -n 5 >&2 || true
if [ -r "$log" ]; then
	echo "--- last lines of $log:" >&2
	tail -n 20 "$log" >&2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "start-dockerd: if the daemon runs but denies you its socket: sudo usermod -aG docker $USER (then log in again)" >&2
fi
exit 1
