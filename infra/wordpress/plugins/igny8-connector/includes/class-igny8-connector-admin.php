<?php
/**
 * Settings → IGNY8 Connector: the manual fallback for sites IGNY8 cannot
 * configure itself, and where an administrator sees whether deliveries
 * arrive. The secret is never shown: only whether it is set and its last
 * four characters.
 *
 * @package Igny8_Connector
 */

if (!defined('ABSPATH')) {
    exit;
}

class Igny8_Connector_Admin
{
    const PAGE = 'igny8-connector';
    const NOTICE_TRANSIENT = 'igny8_connector_notice_';

    public static function register()
    {
        add_action('admin_menu', array(__CLASS__, 'add_page'));
        add_action('admin_post_igny8_connector_save', array(__CLASS__, 'handle_save'));
        add_action('admin_post_igny8_connector_disconnect', array(__CLASS__, 'handle_disconnect'));
        add_filter('plugin_action_links_' . plugin_basename(IGNY8_CONNECTOR_FILE), array(__CLASS__, 'action_links'));
    }

    public static function add_page()
    {
        add_options_page('IGNY8 Connector', 'IGNY8 Connector', 'manage_options', self::PAGE, array(__CLASS__, 'render'));
    }

    public static function action_links($links)
    {
        array_unshift($links, sprintf('<a href="%s">%s</a>', esc_url(self::page_url()), esc_html__('Settings', 'igny8-connector')));
        return $links;
    }

    private static function page_url()
    {
        return admin_url('options-general.php?page=' . self::PAGE);
    }

    public static function handle_save()
    {
        self::check_request('igny8_connector_save');
        // Raw strings: validate() accepts only well-formed values, and
        // sanitize_text_field would strip %XX escapes from a URL.
        $input = array();
        foreach (array('endpoint', 'integration_id', 'secret') as $field) {
            $input[$field] = isset($_POST[$field]) && is_string($_POST[$field]) ? trim(wp_unslash($_POST[$field])) : '';
        }
        $settings = Igny8_Connector_Settings::validate($input, Igny8_Connector_Settings::get());
        if (is_wp_error($settings)) {
            self::redirect('error', $settings->get_error_message());
        }
        Igny8_Connector_Settings::save($settings);
        self::redirect('success', __('Settings saved. Changes to posts are now sent to IGNY8.', 'igny8-connector'));
    }

    public static function handle_disconnect()
    {
        self::check_request('igny8_connector_disconnect');
        Igny8_Connector_Settings::clear();
        Igny8_Connector_Sender::unschedule_all();
        self::redirect('success', __('Disconnected: nothing is sent to IGNY8 until the site is connected again.', 'igny8-connector'));
    }

    private static function check_request($action)
    {
        if (!current_user_can('manage_options')) {
            wp_die(esc_html__('You are not allowed to change the IGNY8 connection.', 'igny8-connector'), 403);
        }
        check_admin_referer($action);
    }

    /** Post/redirect/get, with the message kept for the next page view. */
    private static function redirect($type, $message)
    {
        set_transient(self::NOTICE_TRANSIENT . get_current_user_id(), array('type' => $type, 'message' => $message), 60);
        wp_safe_redirect(self::page_url());
        exit;
    }

    public static function render()
    {
        if (!current_user_can('manage_options')) {
            return;
        }
        $settings = Igny8_Connector_Settings::get();
        $status = Igny8_Connector_Settings::status();
        $notice = get_transient(self::NOTICE_TRANSIENT . get_current_user_id());
        delete_transient(self::NOTICE_TRANSIENT . get_current_user_id());
        $secret_set = $settings['secret'] !== '';
        ?>
        <div class="wrap">
            <h1><?php esc_html_e('IGNY8 Connector', 'igny8-connector'); ?></h1>
            <?php if (is_array($notice) && isset($notice['type'], $notice['message'])) : ?>
                <div class="notice notice-<?php echo $notice['type'] === 'error' ? 'error' : 'success'; ?> is-dismissible"><p><?php echo esc_html($notice['message']); ?></p></div>
            <?php endif; ?>
            <p><?php esc_html_e('Connecting this site in IGNY8 with an administrator\'s Application Password fills these settings in automatically. Enter them here only if IGNY8 asks you to.', 'igny8-connector'); ?></p>

            <h2><?php esc_html_e('Status', 'igny8-connector'); ?></h2>
            <table class="widefat striped" style="max-width: 60em">
                <tbody>
                <tr><th scope="row"><?php esc_html_e('Connection', 'igny8-connector'); ?></th>
                    <td><?php echo Igny8_Connector_Settings::is_configured()
                        ? esc_html__('Configured: changes to posts are sent to IGNY8.', 'igny8-connector')
                        : esc_html__('Not configured: nothing is sent.', 'igny8-connector'); ?></td></tr>
                <tr><th scope="row"><?php esc_html_e('Signing secret', 'igny8-connector'); ?></th>
                    <td><?php echo $secret_set
                        /* translators: %s: the last four characters of the secret */
                        ? esc_html(sprintf(__('Set, ending in …%s', 'igny8-connector'), Igny8_Connector_Settings::secret_last4($settings['secret'])))
                        : esc_html__('Not set', 'igny8-connector'); ?></td></tr>
                <tr><th scope="row"><?php esc_html_e('Last successful delivery', 'igny8-connector'); ?></th>
                    <td><?php echo $status['last_success_at'] ? esc_html(self::when($status['last_success_at'])) : esc_html__('None yet', 'igny8-connector'); ?></td></tr>
                <tr><th scope="row"><?php esc_html_e('Last failure', 'igny8-connector'); ?></th>
                    <td><?php echo $status['last_failure'] ? esc_html(self::describe_attempt($status['last_failure'])) : esc_html__('None', 'igny8-connector'); ?></td></tr>
                <tr><th scope="row"><?php esc_html_e('Waiting for a retry', 'igny8-connector'); ?></th>
                    <td><?php echo esc_html((string) Igny8_Connector_Sender::pending_count()); ?></td></tr>
                <tr><th scope="row"><?php esc_html_e('Plugin version', 'igny8-connector'); ?></th>
                    <td><?php echo esc_html(IGNY8_CONNECTOR_VERSION); ?></td></tr>
                </tbody>
            </table>

            <h2><?php esc_html_e('Settings', 'igny8-connector'); ?></h2>
            <form method="post" action="<?php echo esc_url(admin_url('admin-post.php')); ?>">
                <input type="hidden" name="action" value="igny8_connector_save">
                <?php wp_nonce_field('igny8_connector_save'); ?>
                <table class="form-table" role="presentation">
                    <tr>
                        <th scope="row"><label for="igny8-endpoint"><?php esc_html_e('Endpoint URL', 'igny8-connector'); ?></label></th>
                        <td><input type="url" id="igny8-endpoint" name="endpoint" class="regular-text code" value="<?php echo esc_attr($settings['endpoint']); ?>" required>
                            <p class="description"><?php esc_html_e('Where deliveries are sent, e.g. https://…/api/v1/integration/webhook/wordpress/', 'igny8-connector'); ?></p></td>
                    </tr>
                    <tr>
                        <th scope="row"><label for="igny8-integration"><?php esc_html_e('Integration ID', 'igny8-connector'); ?></label></th>
                        <td><input type="text" id="igny8-integration" name="integration_id" class="regular-text code" value="<?php echo esc_attr($settings['integration_id']); ?>" required></td>
                    </tr>
                    <tr>
                        <th scope="row"><label for="igny8-secret"><?php esc_html_e('Signing secret', 'igny8-connector'); ?></label></th>
                        <td><input type="password" id="igny8-secret" name="secret" class="regular-text code" value="" autocomplete="off" placeholder="<?php echo $secret_set ? esc_attr__('Leave empty to keep the current secret', 'igny8-connector') : 'whsec_…'; ?>">
                            <p class="description"><?php esc_html_e('Starts with whsec_. It is stored, never shown again.', 'igny8-connector'); ?></p></td>
                    </tr>
                </table>
                <?php submit_button(__('Save settings', 'igny8-connector')); ?>
            </form>

            <?php if ($settings['endpoint'] !== '' || $secret_set) : ?>
                <form method="post" action="<?php echo esc_url(admin_url('admin-post.php')); ?>">
                    <input type="hidden" name="action" value="igny8_connector_disconnect">
                    <?php wp_nonce_field('igny8_connector_disconnect'); ?>
                    <?php submit_button(__('Disconnect', 'igny8-connector'), 'delete', 'disconnect', false); ?>
                </form>
            <?php endif; ?>
        </div>
        <?php
    }

    private static function when($timestamp)
    {
        return wp_date(get_option('date_format') . ' ' . get_option('time_format'), (int) $timestamp);
    }

    private static function describe_attempt($a)
    {
        $what = sprintf('%s (%s #%d, attempt %d)', self::when(isset($a['at']) ? $a['at'] : 0),
            isset($a['action']) ? $a['action'] : '', isset($a['post_id']) ? $a['post_id'] : 0, isset($a['attempt']) ? $a['attempt'] : 1);
        $error = isset($a['error']) && $a['error'] !== '' ? $a['error'] : '';
        $outcome = isset($a['outcome']) ? $a['outcome'] : '';
        $outcomes = array(
            'retrying' => __('will be retried', 'igny8-connector'),
            'rejected' => __('refused, not retried: check the settings', 'igny8-connector'),
            'gave_up' => __('gave up after the last retry', 'igny8-connector'),
            'dropped' => __('dropped', 'igny8-connector'),
        );
        return trim($what . ': ' . $error . (isset($outcomes[$outcome]) ? ' — ' . $outcomes[$outcome] : ''));
    }
}
