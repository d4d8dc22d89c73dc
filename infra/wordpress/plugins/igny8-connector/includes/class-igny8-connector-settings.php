<?php
/**
 * The connection settings (endpoint, integration ID, signing secret) and the
 * last delivery outcome, kept in two options. The settings option is
 * autoloaded because every request that saves a post reads it; the status
 * option is not (only the settings page and the config route read it).
 *
 * @package Igny8_Connector
 */

if (!defined('ABSPATH')) {
    exit;
}

class Igny8_Connector_Settings
{
    const OPTION = 'igny8_connector_settings';
    const STATUS_OPTION = 'igny8_connector_status';

    const MAX_ENDPOINT_LENGTH = 2048;
    const MAX_INTEGRATION_ID_LENGTH = 128;
    // Standard Webhooks: secrets are 24 to 64 bytes of random data.
    const MIN_KEY_BYTES = 24;
    const MAX_KEY_BYTES = 64;

    /**
     * The stored settings, every key present.
     *
     * @return array{endpoint: string, integration_id: string, secret: string}
     */
    public static function get()
    {
        $stored = get_option(self::OPTION, array());
        if (!is_array($stored)) {
            $stored = array();
        }
        $out = array();
        foreach (array('endpoint', 'integration_id', 'secret') as $key) {
            $out[$key] = isset($stored[$key]) && is_string($stored[$key]) ? $stored[$key] : '';
        }
        return $out;
    }

    /** Whether deliveries can be sent: all three settings present. */
    public static function is_configured()
    {
        $s = self::get();
        return $s['endpoint'] !== '' && $s['integration_id'] !== '' && self::signing_key($s['secret']) !== null;
    }

    /**
     * Validates new settings against the current ones. The secret may be
     * left empty to keep the current one, but only for the same integration
     * (a secret belongs to one integration).
     *
     * @param array $input   endpoint, integration_id, secret (strings).
     * @param array $current What get() returns.
     * @return array|WP_Error The settings to save, or an error naming the field.
     */
    public static function validate($input, $current)
    {
        $endpoint = isset($input['endpoint']) && is_string($input['endpoint']) ? trim($input['endpoint']) : '';
        $integration_id = isset($input['integration_id']) && is_string($input['integration_id']) ? trim($input['integration_id']) : '';
        $secret = isset($input['secret']) && is_string($input['secret']) ? trim($input['secret']) : '';

        $problem = self::endpoint_problem($endpoint);
        if ($problem !== '') {
            return self::invalid('endpoint', $problem);
        }
        if ($integration_id === '' || strlen($integration_id) > self::MAX_INTEGRATION_ID_LENGTH
            || !preg_match('/^[A-Za-z0-9][A-Za-z0-9._:-]*$/', $integration_id)) {
            return self::invalid('integration_id', sprintf(
                'The integration ID must be 1 to %d letters, digits, or . _ : - characters.',
                self::MAX_INTEGRATION_ID_LENGTH
            ));
        }
        if ($secret === '') {
            if ($current['secret'] === '' || $current['integration_id'] !== $integration_id) {
                return self::invalid('secret', 'The signing secret is required (it starts with whsec_).');
            }
            $secret = $current['secret'];
        } elseif (self::signing_key($secret) === null) {
            return self::invalid('secret', sprintf(
                'The signing secret must be "whsec_" followed by base64 of %d to %d bytes.',
                self::MIN_KEY_BYTES,
                self::MAX_KEY_BYTES
            ));
        }
        return array('endpoint' => $endpoint, 'integration_id' => $integration_id, 'secret' => $secret);
    }

    /** Why an endpoint URL is unusable, or '' when it is fine. */
    private static function endpoint_problem($endpoint)
    {
        if ($endpoint === '') {
            return 'The endpoint URL is required.';
        }
        if (strlen($endpoint) > self::MAX_ENDPOINT_LENGTH || preg_match('/[\s\x00-\x1f\x7f]/', $endpoint)) {
            return 'The endpoint must be an http or https URL without spaces, at most 2048 characters.';
        }
        $parts = wp_parse_url($endpoint);
        if (!is_array($parts) || empty($parts['scheme']) || empty($parts['host'])
            || !in_array(strtolower($parts['scheme']), array('http', 'https'), true)) {
            return 'The endpoint must be an http or https URL.';
        }
        if (isset($parts['user']) || isset($parts['pass'])) {
            return 'The endpoint must not contain a user name or password.';
        }
        if (isset($parts['fragment'])) {
            return 'The endpoint must not contain a #fragment.';
        }
        return '';
    }

    private static function invalid($param, $message)
    {
        return new WP_Error('igny8_invalid_' . $param, $message, array('status' => 400, 'param' => $param));
    }

    /**
     * Stores validated settings. A new integration starts clean: no status,
     * and no retries of deliveries meant for the previous one.
     */
    public static function save($settings)
    {
        $current = self::get();
        update_option(self::OPTION, $settings, true);
        if ($current['integration_id'] !== $settings['integration_id']) {
            delete_option(self::STATUS_OPTION);
            Igny8_Connector_Sender::unschedule_all();
        }
    }

    /** Forgets the connection (Disconnect, DELETE config, uninstall). */
    public static function clear()
    {
        delete_option(self::OPTION);
        delete_option(self::STATUS_OPTION);
    }

    /**
     * The HMAC key: base64-decoded secret after "whsec_", or null when the
     * secret is not of that form.
     */
    public static function signing_key($secret)
    {
        if (!is_string($secret) || strpos($secret, 'whsec_') !== 0) {
            return null;
        }
        $key = base64_decode(substr($secret, 6), true);
        if ($key === false || strlen($key) < self::MIN_KEY_BYTES || strlen($key) > self::MAX_KEY_BYTES) {
            return null;
        }
        return $key;
    }

    /** The last four characters of the secret, for "set, ending in …abcd". */
    public static function secret_last4($secret)
    {
        return strlen($secret) >= 4 ? substr($secret, -4) : '';
    }

    /**
     * The last delivery outcome.
     *
     * @return array{last_attempt: ?array, last_success_at: int, last_failure: ?array}
     */
    public static function status()
    {
        $stored = get_option(self::STATUS_OPTION, array());
        if (!is_array($stored)) {
            $stored = array();
        }
        return array(
            'last_attempt' => isset($stored['last_attempt']) && is_array($stored['last_attempt']) ? $stored['last_attempt'] : null,
            'last_success_at' => isset($stored['last_success_at']) ? (int) $stored['last_success_at'] : 0,
            'last_failure' => isset($stored['last_failure']) && is_array($stored['last_failure']) ? $stored['last_failure'] : null,
        );
    }

    /**
     * Records one delivery attempt.
     *
     * @param array $attempt at, webhook_id, action, post_id, attempt, http_status, error, outcome.
     */
    public static function record_attempt($attempt)
    {
        $status = self::status();
        $status['last_attempt'] = $attempt;
        if ($attempt['outcome'] === 'delivered') {
            $status['last_success_at'] = $attempt['at'];
        } else {
            $status['last_failure'] = $attempt;
        }
        update_option(self::STATUS_OPTION, $status, false);
    }
}
