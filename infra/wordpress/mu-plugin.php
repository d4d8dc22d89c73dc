<?php
/*
 * Plugin Name: igny8 loopback site tweaks
 * Description: Symlinked into the private mu-plugins dir by infra/wordpress/start.sh.
 *
 * WHY: under `php -S` WordPress sees neither Apache mod_rewrite nor nginx,
 * so got_url_rewrite() is false and Settings > Permalinks would offer only
 * /index.php/... structures. router.php does route every non-file path to
 * index.php, so pretty permalinks (/%postname%/, /wp-json/...) do work.
 */
add_filter('got_url_rewrite', '__return_true');
