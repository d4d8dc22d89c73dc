<?php
/*
 * Installed by infra/wordpress/start.sh as /etc/wordpress/config-igny8-e2e.php.
 *
 * WHY: Debian's /usr/share/wordpress/wp-config.php only loads configs from
 * /etc/wordpress/config-<name>.php, where <name> comes from
 * $_SERVER['WORDPRESS_CONFIG'] (our router.php and cli-bootstrap.php set it
 * to "igny8-e2e") or from the Host header. This stub is the only file the
 * loopback site puts outside its state dir: it forwards to the config that
 * start.sh renders into the state dir named by the IGNY8_WP_STATE
 * environment variable, so any number of state dirs share this one stub.
 */
$igny8_wp_state = getenv('IGNY8_WP_STATE');
if (!$igny8_wp_state || !is_file($igny8_wp_state . '/wp-config.php')) {
    header('HTTP/1.0 500 Internal Server Error');
    echo "igny8-e2e: IGNY8_WP_STATE must name a state dir made by infra/wordpress/start.sh\n";
    exit(1);
}
require $igny8_wp_state . '/wp-config.php';
