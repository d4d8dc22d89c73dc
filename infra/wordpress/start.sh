#!/usr/bin/env bash
# Starts a real WordPress (Debian's wordpress 6.1 package under PHP 8.2's
# built-in server) with a private MariaDB, both on loopback, for end-to-end
# tests and for trying the product. Idempotent: installs / initialises only
# what is missing and starts only what is not running and healthy, so it is
# safe (and fast) to call before every test run. See README.md.
#
#   infra/wordpress/start.sh && . .local/wordpress/env
#   WP_STATE_DIR=/tmp/wp2 WP_PORT=8090 WP_DB_PORT=3308 infra/wordpress/start.sh
#
# Env: WP_STATE_DIR (default <repo>/.local/wordpress), WP_PORT (8089),
# WP_DB_PORT (3307), WP_SEED (1: seed on first install; 0: don't),
# WP_START_TIMEOUT (60 s per server), WP_PLUGIN_ZIPS (space-separated plugin
# zips to install as wp-admin's upload would, instead of the symlinks).
set -euo pipefail
shopt -s inherit_errexit # set -e inside $(...) too
export DEBIAN_FRONTEND=noninteractive
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started_at=$(date +%s.%N)
START_TIMEOUT=${WP_START_TIMEOUT:-60}
SECRETS=$WP_STATE_DIR/secrets.env
ENV_FILE=$WP_STATE_DIR/env
STUB=/etc/wordpress/config-igny8-e2e.php
# Recommends are skipped (l10n, apache extras); the theme is named
# explicitly because the core package ships none.
PACKAGES=(wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl
	php-xml php-mbstring mariadb-server mariadb-client curl)

[[ $WP_PORT =~ ^[0-9]+$ && $WP_DB_PORT =~ ^[0-9]+$ ]] || die "WP_PORT and WP_DB_PORT must be numbers"
# The state dir is pasted into PHP strings and sed replacements.
[[ $WP_STATE_DIR != *[\'\|\&\\]* ]] || die "WP_STATE_DIR must not contain ' | & or \\"

SUDO=()
[[ $EUID -eq 0 ]] || SUDO=(sudo) # only apt-get and the /etc/wordpress stub need root

ensure_packages() {
	local installed missing=() p made_policy="" rc=0
	installed=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' "${PACKAGES[@]}" 2>/dev/null | sed -n 's/^ii *|//p' | tr '\n' ' ') || true
	for p in "${PACKAGES[@]}"; do
		[[ " $installed " == *" $p "* ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing Debian packages: ${missing[*]} (log: $LOG_DIR/apt.log)"
	# Package scripts would start apache2 (pulled in by wordpress) and the
	# system MariaDB; neither is used. 101 = "action forbidden".
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	{
		"${SUDO[@]}" apt-get update -q &&
			"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
	} >"$LOG_DIR/apt.log" 2>&1 || rc=$?
	[[ -z $made_policy ]] || "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
	((rc == 0)) || { log_tail "$LOG_DIR/apt.log"; die "apt-get failed (exit $rc)"; }
}

rand_alnum() { tr -dc 'a-zA-Z0-9' </dev/urandom | head -c "$1" || true; }

# Generated once per state dir, then reused: credentials survive restarts.
load_secrets() {
	DB_PASSWORD="" ADMIN_PASSWORD="" APP_PASSWORD=""
	if [[ ! -f $SECRETS && -f $WP_STATE_DIR/.db-initialised ]]; then
		die "$SECRETS is gone but the database is not: reset with $WP_HERE/stop.sh --purge"
	fi
	if [[ -f $SECRETS ]]; then
		DB_PASSWORD=$(sed -n 's/^WP_DB_PASSWORD=//p' "$SECRETS")
		ADMIN_PASSWORD=$(sed -n 's/^WP_ADMIN_PASSWORD=//p' "$SECRETS")
		APP_PASSWORD=$(sed -n 's/^WP_APP_PASSWORD=//p' "$SECRETS")
	fi
	[[ -n $DB_PASSWORD ]] || DB_PASSWORD=$(rand_alnum 24)
	[[ -n $ADMIN_PASSWORD ]] || ADMIN_PASSWORD=$(rand_alnum 24)
	save_secrets
}
save_secrets() {
	(umask 077 && printf 'WP_DB_PASSWORD=%s\nWP_ADMIN_PASSWORD=%s\nWP_APP_PASSWORD=%s\n' \
		"$DB_PASSWORD" "$ADMIN_PASSWORD" "$APP_PASSWORD" >"$SECRETS.tmp")
	mv "$SECRETS.tmp" "$SECRETS"
}

render_config() {
	# Debian's wp-config.php only reads /etc/wordpress/config-*.php.
	cmp -s "$WP_HERE/debian-config-stub.php" "$STUB" ||
		"${SUDO[@]}" install -D -m 644 "$WP_HERE/debian-config-stub.php" "$STUB"
	(umask 077 && sed -e "s|@@DB_PASSWORD@@|$DB_PASSWORD|g" -e "s|@@DB_PORT@@|$WP_DB_PORT|g" \
		-e "s|@@WP_URL@@|$WP_URL|g" -e "s|@@STATE_DIR@@|$WP_STATE_DIR|g" \
		"$WP_HERE/wp-config.php.tmpl" >"$WP_STATE_DIR/wp-config.php.tmp")
	mv "$WP_STATE_DIR/wp-config.php.tmp" "$WP_STATE_DIR/wp-config.php"
}

# Private wp-content: Debian's themes linked in, our mu-plugin, and every
# directory of infra/wordpress/plugins/ (companion plugins) linked so edits
# are live. Prints the plugin dir names for plugins.php to activate.
sync_content() {
	local src=$WP_HERE/plugins d link
	mkdir -p "$CONTENT_DIR"/{plugins,themes,uploads,mu-plugins}
	for d in "$WP_DOCROOT"/wp-content/themes/*/; do
		[[ -d $d ]] && ln -sfn "${d%/}" "$CONTENT_DIR/themes/$(basename "$d")"
	done
	ln -sfn "$WP_HERE/mu-plugin.php" "$CONTENT_DIR/mu-plugins/igny8-local.php"
	for link in "$CONTENT_DIR"/plugins/*; do # drop links to removed plugins
		[[ -L $link && ! -e $link ]] && rm -f "$link"
	done
	[[ -d $src ]] || return 0
	for d in "$src"/*/; do
		[[ -d $d ]] || continue
		link=$CONTENT_DIR/plugins/$(basename "$d")
		# A copy installed from a zip by an earlier run: back to the link.
		[[ -L $link || ! -e $link ]] || rm -rf "$link"
		ln -sfn "${d%/}" "$link"
		basename "$d"
	done
}

# WP_PLUGIN_ZIPS: install each zip over its development link (see
# install-plugin-zip.php) and print the installed directory names.
install_plugin_zips() {
	local zips=() z
	read -r -a zips <<<"${WP_PLUGIN_ZIPS:-}"
	((${#zips[@]})) || return 0
	for z in "${zips[@]}"; do
		[[ -f $z ]] || die "WP_PLUGIN_ZIPS: $z: no such file (make plugin builds it)"
	done
	wp_php install-plugin-zip.php "${zips[@]}" || die "installing ${zips[*]} failed"
}

# MariaDB drops root privileges to mysql, which must reach the datadir. A
# repo under a 0700 home dir is not reachable: run it as root there.
db_os_user() {
	if [[ $EUID -ne 0 ]]; then
		id -un
	elif runuser -u mysql -- test -x "$WP_STATE_DIR" 2>/dev/null; then
		echo mysql
	else
		echo root
	fi
}

db_socket() {
	local sock=$DB_DIR/mariadbd.sock
	((${#sock} < 100)) || sock=/tmp/igny8-wp-mariadb-$WP_DB_PORT.sock # sun_path limit
	echo "$sock"
}

db_alive() {
	MYSQL_PWD=$DB_PASSWORD mariadb --no-defaults --protocol=tcp -h "$WP_HOST" -P "$WP_DB_PORT" \
		-u wordpress --connect-timeout=2 -e 'SELECT 1' wordpress >/dev/null 2>&1
}

php_alive_long() { php_alive 10; } # first requests compile everything

php_alive() {
	local body
	body=$(curl -fsS --max-time "${1:-3}" "$WP_URL/wp-json/" 2>/dev/null) || return 1
	[[ $body == *'"namespaces"'* ]]
}

# wait_healthy NAME PIDFILE PATTERN LOG CHECK: poll CHECK until it passes;
# fail fast with the log tail if the process dies or the timeout expires.
wait_healthy() {
	local name=$1 pidfile=$2 pattern=$3 logfile=$4 check=$5 deadline=$((SECONDS + START_TIMEOUT))
	until "$check"; do
		live_pid "$pidfile" "$pattern" >/dev/null || { log_tail "$logfile"; die "$name exited during startup"; }
		((SECONDS < deadline)) || { log_tail "$logfile"; die "$name not healthy after ${START_TIMEOUT}s"; }
		sleep 0.1
	done
}

start_db() {
	local user sock
	user=$(db_os_user)
	sock=$(db_socket)
	if [[ ! -f $WP_STATE_DIR/.db-initialised ]]; then
		log "initialising MariaDB datadir $DB_DIR"
		rm -rf "$DB_DIR" && mkdir -p "$DB_DIR" && chown "$user" "$DB_DIR"
		# The database and the user WordPress connects with over TCP, made
		# at bootstrap. (Not --init-file at each start: a SIGTERM that
		# arrives while an init file runs leaves mariadbd hung for good.)
		# FLUSH PRIVILEGES loads the grant tables, which bootstrap skips.
		(umask 077 && cat >"$RUN_DIR/db-init.sql") <<-SQL
			FLUSH PRIVILEGES;
			CREATE DATABASE wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
			CREATE USER 'wordpress'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
			GRANT ALL PRIVILEGES ON wordpress.* TO 'wordpress'@'127.0.0.1';
		SQL
		mariadb-install-db --no-defaults --datadir="$DB_DIR" --user="$user" --skip-test-db \
			--skip-name-resolve --auth-root-authentication-method=socket \
			--extra-file="$RUN_DIR/db-init.sql" >"$LOG_DIR/mariadb-install.log" 2>&1 ||
			{ log_tail "$LOG_DIR/mariadb-install.log"; die "mariadb-install-db failed"; }
		rm -f "$RUN_DIR/db-init.sql"
		touch "$WP_STATE_DIR/.db-initialised"
	fi
	if live_pid "$RUN_DIR/mariadb.pid" mariadbd >/dev/null && db_alive; then
		log "MariaDB already running on $WP_HOST:$WP_DB_PORT"
		return
	fi
	stop_db # hung or stale: start afresh
	! port_busy "$WP_DB_PORT" || die "port $WP_DB_PORT is taken by another process: set WP_DB_PORT"
	log "starting MariaDB on $WP_HOST:$WP_DB_PORT"
	echo "=== start.sh $(date -u +%FT%TZ) ===" >>"$LOG_DIR/mariadb.log"
	# --no-defaults: ignore /etc/mysql (system instance's port, socket,
	# datadir). setsid: own session, survives this script, one group to stop.
	# flush_log_at_trx_commit=2: durability is not needed, speed is.
	# 9>&-: the server must not inherit our lock fd, or it would hold the
	# lock for its lifetime and the next start.sh/stop.sh would wait forever.
	setsid mariadbd --no-defaults --datadir="$DB_DIR" --user="$user" \
		--bind-address="$WP_HOST" --port="$WP_DB_PORT" --socket="$sock" \
		--pid-file="$DB_DIR/mariadbd.pid" --skip-name-resolve \
		--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
		>>"$LOG_DIR/mariadb.log" 2>&1 </dev/null 9>&- &
	echo $! >"$RUN_DIR/mariadb.pid"
	wait_healthy MariaDB "$RUN_DIR/mariadb.pid" mariadbd "$LOG_DIR/mariadb.log" db_alive
}

# wp_php SCRIPT ARGS...: run a helper against this site (see cli-bootstrap.php).
wp_php() {
	IGNY8_WP_STATE=$WP_STATE_DIR IGNY8_WP_ADMIN_PASSWORD=$ADMIN_PASSWORD \
		IGNY8_WP_APP_PASSWORD=$APP_PASSWORD php -d memory_limit=256M "$WP_HERE/$1" "${@:2}"
}

setup_wordpress() {
	local out fresh plugins=()
	# Content first: wp_install() picks the default theme from it.
	out=$(sync_content)
	[[ -z $out ]] || mapfile -t plugins <<<"$out"
	out=$(wp_php install.php) || { printf '%s\n' "$out" >&2; die "install.php failed"; }
	fresh=$(sed -n 's/^WP_FRESH_INSTALL=//p' <<<"$out")
	APP_PASSWORD=$(sed -n 's/^WP_APP_PASSWORD=\([a-zA-Z0-9]\{24\}\)$/\1/p' <<<"$out")
	[[ -n $APP_PASSWORD ]] || { printf '%s\n' "$out" >&2; die "install.php printed no application password"; }
	save_secrets
	if [[ $fresh == 1 ]]; then
		log "installed WordPress $(wp_version)"
		[[ ${WP_SEED:-1} == 0 ]] || touch "$WP_STATE_DIR/.seed-pending"
	fi
	# After the install: the upgrader needs a working site.
	out=$(install_plugin_zips)
	[[ -z $out ]] || mapfile -t -O "${#plugins[@]}" plugins <<<"$out"
	if ((${#plugins[@]})); then
		mapfile -t plugins < <(printf '%s\n' "${plugins[@]}" | sort -u)
		wp_php plugins.php "${plugins[@]}" || die "plugin activation failed"
	fi
	# Seed once, on first initialisation; the marker makes an interrupted
	# seed resume on the next start (seed.php is idempotent).
	if [[ -f $WP_STATE_DIR/.seed-pending ]]; then
		wp_php seed.php || die "seed.php failed"
		rm -f "$WP_STATE_DIR/.seed-pending"
	fi
}

start_php() {
	if live_pid "$RUN_DIR/php.pid" router.php >/dev/null && php_alive; then
		log "PHP server already running on $WP_URL"
		return
	fi
	stop_pid "$RUN_DIR/php.pid" router.php 10 group
	! port_busy "$WP_PORT" || die "port $WP_PORT is taken by another process: set WP_PORT"
	log "starting PHP server on $WP_URL"
	echo "=== start.sh $(date -u +%FT%TZ) ===" >>"$LOG_DIR/php-server.log"
	# 4 workers: WordPress calls itself (REST preloading, loopback checks);
	# one worker would deadlock. No display_errors: it would corrupt JSON.
	IGNY8_WP_STATE=$WP_STATE_DIR PHP_CLI_SERVER_WORKERS=4 setsid php \
		-d display_errors=0 -d log_errors=1 -d memory_limit=256M \
		-d upload_max_filesize=64M -d post_max_size=64M \
		-S "$WP_HOST:$WP_PORT" -t "$WP_DOCROOT" "$WP_HERE/router.php" \
		>>"$LOG_DIR/php-server.log" 2>&1 </dev/null 9>&- &
	echo $! >"$RUN_DIR/php.pid"
	wait_healthy "PHP server" "$RUN_DIR/php.pid" router.php "$LOG_DIR/php-server.log" php_alive_long
}

wp_version() { sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$WP_DOCROOT/wp-includes/version.php"; }

write_env() {
	(umask 077 && cat >"$ENV_FILE.tmp") <<-EOF
		# Written by infra/wordpress/start.sh; KEY=VALUE, no quotes, shell-sourceable.
		# WP_APP_PASSWORD is WordPress's application password without the spaces.
		WP_URL=$WP_URL
		WP_USERNAME=admin
		WP_APP_PASSWORD=$APP_PASSWORD
		WP_ADMIN_PASSWORD=$ADMIN_PASSWORD
		WP_ADMIN_EMAIL=admin@example.com
		WP_VERSION=$(wp_version)
		WP_PORT=$WP_PORT
		WP_STATE_DIR=$WP_STATE_DIR
		WP_DB_HOST=$WP_HOST
		WP_DB_PORT=$WP_DB_PORT
		WP_DB_NAME=wordpress
		WP_DB_USER=wordpress
		WP_DB_PASSWORD=$DB_PASSWORD
	EOF
	mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# check_port PORT PIDFILE PATTERN VAR: fail before any slow work if a
# program other than our own server (group) holds a port we need.
check_port() {
	local pgid=""
	[[ -s $RUN_DIR/$2 ]] && pgid=$(<"$RUN_DIR/$2")
	[[ $pgid =~ ^[0-9]+$ ]] && running "-$pgid" "$3" && return 0
	! port_busy "$1" || die "port $1 is taken by another process: set $4"
}

mkdir -p "$WP_STATE_DIR" "$RUN_DIR" "$LOG_DIR"
touch "$STATE_MARKER"
# One start.sh/stop.sh at a time per state dir (parallel test packages).
exec 9>"$WP_STATE_DIR/.lock"
flock -w 600 9 || die "another start.sh/stop.sh holds $WP_STATE_DIR/.lock"

check_port "$WP_DB_PORT" mariadb.pid mariadbd WP_DB_PORT
check_port "$WP_PORT" php.pid router.php WP_PORT
ensure_packages
load_secrets
render_config
start_db
setup_wordpress
start_php
write_env

elapsed=$(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "WordPress $(wp_version) ready at $WP_URL (admin UI: $WP_URL/wp-admin/, user admin) in ${elapsed}s"
echo "env file: $ENV_FILE"
