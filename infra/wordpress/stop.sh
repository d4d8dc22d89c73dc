#!/usr/bin/env bash
# Stops the loopback WordPress started by start.sh: the PHP server (its
# whole process group: the forked workers would keep serving otherwise),
# then MariaDB (SIGTERM = clean shutdown, up to 30 s). Idempotent: fine
# when nothing runs. Same WP_STATE_DIR as start.sh.
#
#   infra/wordpress/stop.sh           # keep data and credentials
#   infra/wordpress/stop.sh --purge   # also delete the state dir (reset)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=""
case "${1:-}" in
"") ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac

if [[ -f $STATE_MARKER ]]; then
	# Wait for a start.sh in progress rather than stopping under its feet.
	exec 9>>"$WP_STATE_DIR/.lock"
	flock -w 120 9 || die "another start.sh/stop.sh holds $WP_STATE_DIR/.lock"
	stop_pid "$RUN_DIR/php.pid" router.php 10 group
	stop_db
	log "stopped (state kept in $WP_STATE_DIR)"
fi

if [[ -n $purge && -e $WP_STATE_DIR ]]; then
	# Only ever delete a dir that start.sh made (WP_STATE_DIR typos).
	[[ -f $STATE_MARKER ]] || die "$WP_STATE_DIR has no $(basename "$STATE_MARKER"): not deleting it"
	rm -rf "$WP_STATE_DIR"
	log "deleted $WP_STATE_DIR"
fi
