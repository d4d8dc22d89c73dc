<?php
/*
 * Installs plugin zips the way wp-admin's Plugins > Add New > Upload Plugin
 * does (Plugin_Upgrader: unpack, check for a plugin header, copy into
 * wp-content/plugins, replacing an installed copy), so the end-to-end site
 * runs exactly what `make plugin` ships. start.sh calls it when
 * WP_PLUGIN_ZIPS is set; it runs after the development symlinks are made.
 * Args: zip paths. Out: the installed plugin directory names, one a line,
 * for plugins.php to activate.
 */
require __DIR__ . '/cli-bootstrap.php';
require_once ABSPATH . 'wp-admin/includes/file.php';
require_once ABSPATH . 'wp-admin/includes/misc.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';

wp_set_current_user(1);

// A development symlink in the way would make the upgrader clear the
// destination THROUGH the link, deleting the plugin's source in the repo:
// remove the link itself first (the source folder name is known only once
// the zip is unpacked).
add_filter('upgrader_source_selection', function ($source) {
    $target = WP_PLUGIN_DIR . '/' . basename(untrailingslashit($source));
    if (is_link($target) && !unlink($target)) {
        return new WP_Error('igny8_symlink', "cannot remove the symlink $target");
    }
    return $source;
}, 1);

$status = 0;
foreach (array_slice($argv, 1) as $zip) {
    if (!is_file($zip)) {
        fwrite(STDERR, "install-plugin-zip.php: $zip: no such file\n");
        $status = 1;
        continue;
    }
    $skin = new Automatic_Upgrader_Skin();
    $upgrader = new Plugin_Upgrader($skin);
    $result = $upgrader->install($zip, array('overwrite_package' => true, 'clear_update_cache' => false));
    if ($result !== true) {
        $why = is_wp_error($result) ? $result->get_error_message() : implode('; ', $skin->get_upgrade_messages());
        fwrite(STDERR, "install-plugin-zip.php: $zip: $why\n");
        $status = 1;
        continue;
    }
    $name = $upgrader->result['destination_name'];
    fwrite(STDERR, "install-plugin-zip.php: installed $zip into plugins/$name\n");
    echo $name, "\n";
}
exit($status);
