# shellcheck shell=bash disable=SC2034 # variables are used by the scripts sourcing this
# Shared settings and helpers for start.sh and stop.sh (sourced, not run).
# Everything that is per-site lives in the state dir, so several state dirs
# (with different WP_PORT / WP_DB_PORT) can coexist on one machine.

WP_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WP_REPO=$(cd "$WP_HERE/../.." && pwd)

# realpath -m: absolute even if the dir does not exist yet (stop.sh must
# not create it), so pid files and the env file never depend on the cwd.
WP_STATE_DIR=$(realpath -m "${WP_STATE_DIR:-$WP_REPO/.local/wordpress}")
WP_HOST=127.0.0.1
WP_PORT=${WP_PORT:-8089}
WP_DB_PORT=${WP_DB_PORT:-3307}
WP_URL="http://$WP_HOST:$WP_PORT"

WP_DOCROOT=/usr/share/wordpress   # Debian's read-only WordPress core
RUN_DIR=$WP_STATE_DIR/run         # our pid files
LOG_DIR=$WP_STATE_DIR/logs
DB_DIR=$WP_STATE_DIR/mysql        # private MariaDB datadir
CONTENT_DIR=$WP_STATE_DIR/wp-content
# Written by start.sh, checked by stop.sh --purge before rm -rf.
STATE_MARKER=$WP_STATE_DIR/.igny8-wordpress-state

log() { printf '[wordpress] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# live_pid PIDFILE PATTERN: print the pid if it is alive AND its command
# line matches PATTERN. The pattern guards against a stale pid file whose
# pid was reused by an unrelated process (we would otherwise kill it).
live_pid() {
	local pid
	[[ -s $1 ]] && pid=$(<"$1") && [[ $pid =~ ^[0-9]+$ ]] || return 1
	running "$pid" "$2" && echo "$pid"
}

# running PID|-PGID [PATTERN]: a non-zombie process with that pid / in that
# process group (and a command line containing PATTERN) exists.
# Not `kill -0`: dead servers are reparented to PID 1, and in containers
# that PID 1 may leave them as zombies for seconds before reaping them.
running() {
	local id=${1#-} f line state pgrp cmd files=("/proc/${1#-}/stat")
	[[ $1 == -* ]] && files=(/proc/[0-9]*/stat)
	for f in "${files[@]}"; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		read -r state _ pgrp _ <<<"${line##*) }" # fields after "(comm)"
		[[ $state != Z && ($1 != -* || $pgrp == "$id") ]] || continue
		[[ -z ${2:-} ]] && return 0
		cmd=$(tr '\0' ' ' 2>/dev/null <"${f%/stat}/cmdline") || continue
		[[ $cmd == *"$2"* ]] && return 0
	done
	return 1
}

# stop_pid PIDFILE PATTERN SECONDS [group]: SIGTERM, wait, then SIGKILL.
# With "group", the whole process group, even if its leader died: php -S
# forks workers that keep serving when only the parent is gone.
stop_pid() {
	local pidfile=$1 pattern=$2 secs=$3 group=${4:-} target i
	if [[ -s $pidfile ]] && target=$(<"$pidfile") && [[ $target =~ ^[0-9]+$ ]]; then
		[[ $group == group ]] && target=-$target
		if running "$target" "$pattern"; then
			kill -TERM -- "$target" 2>/dev/null || true
			for ((i = 0; i < secs * 10; i++)); do
				running "$target" || break
				sleep 0.1
			done
			if running "$target"; then
				log "$pattern (pid ${target#-}) did not stop in ${secs}s, killing"
				kill -KILL -- "$target" 2>/dev/null || true
			fi
		fi
	fi
	rm -f "$pidfile"
}

# stop_db: stop our MariaDB cleanly. MariaDB 10.11 hangs for good (neither
# serves nor exits) on a SIGTERM that arrives while it is still starting
# (measured), so let it get ready first; one that never does is killed.
stop_db() {
	local pid i
	if pid=$(live_pid "$RUN_DIR/mariadb.pid" mariadbd); then
		for ((i = 0; i < 150; i++)); do
			if db_ready_logged || ! running "$pid"; then break; fi
			sleep 0.1
		done
		if db_ready_logged; then
			stop_pid "$RUN_DIR/mariadb.pid" mariadbd 30
		else
			log "MariaDB (pid $pid) never got ready: killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$RUN_DIR/mariadb.pid"
}

# db_ready_logged: the log says "ready" after start.sh's last start marker.
db_ready_logged() {
	tail -n 300 "$LOG_DIR/mariadb.log" 2>/dev/null |
		awk '/^=== start.sh/ { r = 0 } /ready for connections/ { r = 1 } END { exit !r }'
}

# port_busy PORT: something accepts TCP connections on loopback PORT.
port_busy() { (exec 3<>"/dev/tcp/$WP_HOST/$1") 2>/dev/null; }

log_tail() { [[ -f $1 ]] && { log "last lines of $1:"; tail -n "${2:-30}" "$1" >&2; }; return 0; }
