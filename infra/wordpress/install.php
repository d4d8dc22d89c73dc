<?php
/*
 * Installs WordPress into the (empty) database if needed and (re)applies
 * what the loopback site relies on, idempotently, on every start.sh run:
 *   - core install with user "admin" (what install.php?step=2 would do,
 *     minus HTML scraping and the loopback permalink probe);
 *   - options: pretty permalinks (else /wp-json/ serves the home page);
 *   - the admin password from the state dir;
 *   - an Application Password named igny8-e2e: kept if the one in the
 *     state dir still matches, else replaced (plain text is only visible
 *     at creation time, so start.sh stores it).
 * In:  env IGNY8_WP_ADMIN_PASSWORD, IGNY8_WP_APP_PASSWORD (may be empty).
 * Out: KEY=VALUE lines on stdout: WP_FRESH_INSTALL, WP_APP_PASSWORD.
 */

// Loading a not-yet-installed site would redirect to install.php and die.
define('WP_INSTALLING', true);
require __DIR__ . '/cli-bootstrap.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

const IGNY8_ADMIN = 'admin';
const IGNY8_APP_NAME = 'igny8-e2e';
const IGNY8_PERMALINKS = '/%postname%/';

function igny8_fail(string $msg): never
{
    fwrite(STDERR, "install.php: $msg\n");
    exit(1);
}

$admin_password = getenv('IGNY8_WP_ADMIN_PASSWORD') ?: igny8_fail('IGNY8_WP_ADMIN_PASSWORD is empty');

$fresh = !is_blog_installed();
if ($fresh) {
    // wp_install() would otherwise fire HTTP requests at the site (not
    // running yet) to probe permalinks, and try to mail the admin.
    add_filter('pre_option_permalink_structure', fn () => IGNY8_PERMALINKS);
    add_filter('pre_wp_mail', '__return_false');
    $result = wp_install('igny8 loopback WordPress', IGNY8_ADMIN, 'admin@example.com', false, '', $admin_password);
    remove_all_filters('pre_option_permalink_structure');
    if (empty($result['user_id'])) {
        igny8_fail('wp_install failed');
    }
}

if (get_option('permalink_structure') !== IGNY8_PERMALINKS) {
    update_option('permalink_structure', IGNY8_PERMALINKS);
}
// Soft flush: regenerates the rewrite_rules option only (no .htaccess).
flush_rewrite_rules(false);

$user = get_user_by('login', IGNY8_ADMIN) ?: igny8_fail('user admin missing');
if (!wp_check_password($admin_password, $user->user_pass, $user->ID)) {
    wp_set_password($admin_password, $user->ID);
}

$app_password = getenv('IGNY8_WP_APP_PASSWORD') ?: '';
$keep = false;
foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
    if ($item['name'] !== IGNY8_APP_NAME) {
        continue;
    }
    if (!$keep && $app_password !== '' && wp_check_password($app_password, $item['password'], $user->ID)) {
        $keep = true;
        continue;
    }
    WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
}
if (!$keep) {
    $created = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => IGNY8_APP_NAME]);
    if (is_wp_error($created)) {
        igny8_fail('application password: ' . $created->get_error_message());
    }
    $app_password = $created[0]; // 24 letters/digits; WordPress shows it in groups of 4
}

echo 'WP_FRESH_INSTALL=', $fresh ? 1 : 0, "\n";
echo 'WP_APP_PASSWORD=', $app_password, "\n";
