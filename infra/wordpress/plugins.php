<?php
/*
 * Activates the plugins start.sh linked from infra/wordpress/plugins/.
 * Args: plugin directory names. For each, activates every file in it that
 * carries a "Plugin Name:" header (normally one). Already-active plugins
 * are left alone, so running it on every start is cheap. Runs as a normal
 * (non-installing) load so the activation hooks see the full WordPress.
 */
require __DIR__ . '/cli-bootstrap.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$status = 0;
foreach (array_slice($argv, 1) as $dir) {
    $found = get_plugins('/' . $dir);
    if (!$found) {
        fwrite(STDERR, "plugins.php: no plugin header in plugins/$dir/*.php\n");
        $status = 1;
    }
    foreach (array_keys($found) as $file) {
        $plugin = $dir . '/' . $file;
        if (is_plugin_active($plugin)) {
            continue;
        }
        $result = activate_plugin($plugin);
        if (is_wp_error($result)) {
            fwrite(STDERR, "plugins.php: $plugin: " . $result->get_error_message() . "\n");
            $status = 1;
        } else {
            fwrite(STDERR, "plugins.php: activated $plugin\n");
        }
    }
}
exit($status);
