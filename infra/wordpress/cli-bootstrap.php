<?php
/*
 * Loads WordPress for this loopback site from the PHP command line; the
 * helper scripts (install.php, plugins.php, seed.php) require it at top
 * level. WHY each line: Debian's wp-config.php reads HTTP_HOST (undefined
 * in the CLI) and picks /etc/wordpress/config-$WORDPRESS_CONFIG.php; the
 * stub there needs IGNY8_WP_STATE. Defaults match start.sh, so
 * `php infra/wordpress/seed.php` works from the repo root as is.
 */
if (PHP_SAPI !== 'cli') {
    exit(1);
}
$igny8_state = getenv('IGNY8_WP_STATE') ?: dirname(__DIR__, 2) . '/.local/wordpress';
putenv('IGNY8_WP_STATE=' . $igny8_state);
$_SERVER['WORDPRESS_CONFIG'] = 'igny8-e2e';
$_SERVER['HTTP_HOST'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

require '/usr/share/wordpress/wp-load.php';
