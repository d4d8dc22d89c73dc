<?php
/**
 * Signs and sends deliveries (Standard Webhooks) and retries failed ones
 * with WP-Cron single events.
 *
 * A delivery keeps its webhook-id across retries (so IGNY8 drops a copy it
 * already accepted) and gets a fresh timestamp and signature at every
 * attempt (IGNY8 refuses timestamps more than 5 minutes off). Only network
 * errors, 429 and 5xx are retried; any other answer is final (a 401/403
 * means the settings are wrong, and retrying would not change that).
 *
 * WHY wp_remote_post and not wp_safe_remote_post: the safe variant refuses
 * every port but 80, 443 and 8080, and the endpoint is whatever IGNY8
 * configured (the local stack listens on :3001). The URL only ever comes
 * from an administrator (the config route or the settings page).
 *
 * @package Igny8_Connector
 */

if (!defined('ABSPATH')) {
    exit;
}

class Igny8_Connector_Sender
{
    const CRON_HOOK = 'igny8_connector_deliver';

    /**
     * Seconds to wait before attempt N+1 after attempt N failed: attempt 2
     * after 5 s, then 5 min, 30 min, 2 h and 5 h (the start of the Standard
     * Webhooks schedule); 6 attempts in all, about 7.6 hours.
     */
    const RETRY_DELAYS = array(5, 300, 1800, 7200, 18000);

    /** A Retry-After longer than this is capped (seconds). */
    const MAX_RETRY_AFTER = 21600;

    /**
     * At most this many deliveries wait in WP-Cron (the cron option is
     * autoloaded on every request, so it must stay small). Beyond it a failed
     * delivery is dropped and recorded; IGNY8's scheduled sync catches up.
     */
    const MAX_PENDING = 250;

    /** Seconds to wait for IGNY8's answer (it answers within milliseconds). */
    const TIMEOUT = 5;

    /**
     * Unix time until which this PHP request sends nothing more: set when an
     * attempt fails in a retryable way (IGNY8 is down, overloaded or asks to
     * slow down), so the request's other deliveries wait in WP-Cron instead
     * of each paying a timeout or another 429. They keep their attempt count.
     *
     * @var int
     */
    private static $paused_until = 0;

    public static function register()
    {
        add_action(self::CRON_HOOK, array(__CLASS__, 'run_scheduled'), 10, 1);
    }

    /** A first attempt of a new delivery. */
    public static function new_delivery($payload, $coalesced)
    {
        return array(
            'webhook_id' => 'msg_' . bin2hex(random_bytes(16)),
            'attempt' => 1,
            'coalesced' => max(1, (int) $coalesced),
            'payload' => $payload,
        );
    }

    /**
     * Sends this request's deliveries, after the response has gone out where
     * the server allows it (PHP-FPM, LiteSpeed), so editors never wait. Once
     * one fails in a retryable way the rest go to WP-Cron (see $paused_until).
     *
     * @param array[] $deliveries From new_delivery().
     */
    public static function send_batch($deliveries)
    {
        if (!$deliveries) {
            return;
        }
        if (function_exists('fastcgi_finish_request')) {
            fastcgi_finish_request();
        } elseif (function_exists('litespeed_finish_request')) {
            litespeed_finish_request();
        }
        ignore_user_abort(true);
        foreach ($deliveries as $delivery) {
            self::send_or_defer($delivery);
        }
    }

    /** Sends now, or, while this request is paused, schedules for later. */
    private static function send_or_defer($delivery)
    {
        $wait = self::$paused_until - time();
        if (self::$paused_until > 0 && $wait > 0) {
            if (!self::schedule($delivery, $wait)) {
                self::record_dropped($delivery);
            }
            return 'deferred';
        }
        return self::attempt($delivery);
    }

    /** WP-Cron callback: one scheduled (re)try. */
    public static function run_scheduled($delivery)
    {
        if (!is_array($delivery) || !isset($delivery['webhook_id'], $delivery['attempt'], $delivery['payload'])
            || !is_string($delivery['webhook_id']) || !preg_match('/^msg_[0-9a-f]{32}$/', $delivery['webhook_id'])
            || !is_array($delivery['payload'])) {
            return;
        }
        self::send_or_defer($delivery);
    }

    /**
     * One attempt: sign with the current secret, send, record the outcome,
     * schedule the next attempt when the failure is retryable.
     *
     * @return string delivered | rejected | retrying | network_error | gave_up | dropped
     */
    public static function attempt($delivery)
    {
        $settings = Igny8_Connector_Settings::get();
        $key = Igny8_Connector_Settings::signing_key($settings['secret']);
        $payload = $delivery['payload'];
        if ($settings['endpoint'] === '' || $key === null
            || !isset($payload['integration_id']) || $payload['integration_id'] !== $settings['integration_id']) {
            // Disconnected, or connected to another integration since: the
            // delivery belongs to a connection that no longer exists.
            return 'dropped';
        }
        $attempt = max(1, (int) $delivery['attempt']);
        $timestamp = time();
        $body = self::body($delivery, $timestamp);
        $response = wp_remote_post($settings['endpoint'], array(
            'timeout' => (float) apply_filters('igny8_connector_timeout', self::TIMEOUT),
            'redirection' => 0,
            'blocking' => true,
            'user-agent' => 'IGNY8-Connector/' . IGNY8_CONNECTOR_VERSION . '; ' . home_url('/'),
            'limit_response_size' => 65536,
            'data_format' => 'body',
            'headers' => self::headers($delivery['webhook_id'], $timestamp, $body, $key),
            'body' => $body,
        ));

        $record = array(
            'at' => $timestamp,
            'webhook_id' => $delivery['webhook_id'],
            'action' => isset($payload['action']) ? (string) $payload['action'] : '',
            'post_id' => isset($payload['post_id']) ? (int) $payload['post_id'] : 0,
            'attempt' => $attempt,
            'http_status' => 0,
            'error' => '',
            'outcome' => '',
        );
        $retry_after = 0;
        if (is_wp_error($response)) {
            $record['error'] = $response->get_error_message();
            $result = 'network_error';
        } else {
            $code = (int) wp_remote_retrieve_response_code($response);
            $record['http_status'] = $code;
            if ($code >= 200 && $code < 300) {
                $result = 'delivered';
            } elseif ($code === 429 || $code >= 500) {
                $result = 'retrying';
                $retry_after = self::retry_after(wp_remote_retrieve_header($response, 'retry-after'), $timestamp);
                $record['error'] = self::answer_summary($response);
            } else {
                $result = 'rejected';
                $record['error'] = self::answer_summary($response);
            }
        }

        $record['outcome'] = $result === 'network_error' ? 'retrying' : $result;
        if ($result === 'network_error' || $result === 'retrying') {
            self::$paused_until = $timestamp + max(self::RETRY_DELAYS[0], min($retry_after, self::MAX_RETRY_AFTER));
            if ($attempt > count(self::RETRY_DELAYS)) {
                $record['outcome'] = 'gave_up';
                $result = 'gave_up';
            } else {
                $delay = max(self::RETRY_DELAYS[$attempt - 1], min($retry_after, self::MAX_RETRY_AFTER));
                $delivery['attempt'] = $attempt + 1;
                if (!self::schedule($delivery, $delay)) {
                    $record['outcome'] = 'dropped';
                    $record['error'] = trim($record['error'] . ' (retry queue full: delivery dropped)');
                }
            }
        }
        Igny8_Connector_Settings::record_attempt($record);
        return $result;
    }

    /** Records a delivery dropped because the retry queue is full. */
    private static function record_dropped($delivery)
    {
        $payload = $delivery['payload'];
        Igny8_Connector_Settings::record_attempt(array(
            'at' => time(),
            'webhook_id' => $delivery['webhook_id'],
            'action' => isset($payload['action']) ? (string) $payload['action'] : '',
            'post_id' => isset($payload['post_id']) ? (int) $payload['post_id'] : 0,
            'attempt' => max(1, (int) $delivery['attempt']),
            'http_status' => 0,
            'error' => 'retry queue full: delivery dropped',
            'outcome' => 'dropped',
        ));
    }

    /** The JSON body of one attempt: the payload plus delivery metadata. */
    public static function body($delivery, $timestamp)
    {
        $body = $delivery['payload'];
        $body['delivery'] = array(
            'attempt' => max(1, (int) $delivery['attempt']),
            'coalesced' => isset($delivery['coalesced']) ? max(1, (int) $delivery['coalesced']) : 1,
            'plugin_version' => IGNY8_CONNECTOR_VERSION,
            'sent_at' => (int) $timestamp,
        );
        return wp_json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }

    /** The Standard Webhooks headers for one attempt. */
    public static function headers($webhook_id, $timestamp, $body, $key)
    {
        return array(
            'Content-Type' => 'application/json',
            'webhook-id' => $webhook_id,
            'webhook-timestamp' => (string) $timestamp,
            'webhook-signature' => self::signature($webhook_id, $timestamp, $body, $key),
        );
    }

    /** "v1," + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")). */
    public static function signature($webhook_id, $timestamp, $body, $key)
    {
        return 'v1,' . base64_encode(hash_hmac('sha256', $webhook_id . '.' . $timestamp . '.' . $body, $key, true));
    }

    /** Seconds a Retry-After header asks for (delta seconds or an HTTP date); 0 if none. */
    public static function retry_after($header, $now)
    {
        if (is_array($header)) {
            $header = reset($header);
        }
        $header = trim((string) $header);
        if ($header === '') {
            return 0;
        }
        if (ctype_digit($header)) {
            return (int) $header;
        }
        $at = strtotime($header);
        return $at === false ? 0 : max(0, $at - $now);
    }

    /** A short, tag-free summary of a refusal for the settings page. */
    private static function answer_summary($response)
    {
        $code = (int) wp_remote_retrieve_response_code($response);
        $text = wp_remote_retrieve_body($response);
        $decoded = json_decode($text, true);
        if (is_array($decoded)) {
            foreach (array('detail', 'title', 'message', 'code') as $field) {
                if (isset($decoded[$field]) && is_string($decoded[$field]) && $decoded[$field] !== '') {
                    $text = $decoded[$field];
                    break;
                }
            }
        }
        $text = trim(preg_replace('/\s+/', ' ', wp_strip_all_tags((string) $text)));
        if (strlen($text) > 200) {
            $text = substr($text, 0, 200) . '…';
        }
        return trim('HTTP ' . $code . ($text !== '' ? ': ' . $text : ''));
    }

    /** Queues an attempt in WP-Cron; false when the queue is full. */
    public static function schedule($delivery, $delay)
    {
        if (self::pending_count() >= self::MAX_PENDING) {
            return false;
        }
        // Jitter on the long waits, so many sites do not retry in step.
        $delay = (int) $delay;
        if ($delay >= 60) {
            $delay += wp_rand(0, (int) ($delay / 10));
        }
        return wp_schedule_single_event(time() + $delay, self::CRON_HOOK, array($delivery)) === true;
    }

    /** Deliveries waiting in WP-Cron. */
    public static function pending_count()
    {
        $count = 0;
        $crons = _get_cron_array();
        if (!is_array($crons)) {
            return 0;
        }
        foreach ($crons as $hooks) {
            if (is_array($hooks) && isset($hooks[self::CRON_HOOK])) {
                $count += count($hooks[self::CRON_HOOK]);
            }
        }
        return $count;
    }

    /** Drops every pending delivery (disconnect, deactivation, uninstall). */
    public static function unschedule_all()
    {
        wp_unschedule_hook(self::CRON_HOOK);
    }
}
