<?php
/*
 * In-process tests of the igny8-connector plugin against the real loopback
 * WordPress (its database, its hooks), without any network: outgoing HTTP is
 * captured with pre_http_request, WP-Cron scheduling with
 * pre_schedule_event, and the connection settings are supplied through
 * pre_option_* filters so the running site's own settings stay untouched.
 * Each Igny8_Connector_Events::flush() call stands for the end of one PHP
 * request. Run by infra/e2e (TestConnectorPluginUnit), or by hand:
 *
 *   IGNY8_WP_STATE=.local/wordpress php infra/wordpress/tests/connector-test.php
 *
 * Prints one line per check; exits 1 if any failed.
 */
require dirname(__DIR__) . '/cli-bootstrap.php';

if (!class_exists('Igny8_Connector_Events')) {
    fwrite(STDERR, "connector-test.php: the igny8-connector plugin is not active on this site\n");
    exit(1);
}

$failures = 0;
function check($cond, $what, $detail = '')
{
    global $failures;
    if ($cond) {
        echo "ok   $what\n";
        return;
    }
    $failures++;
    echo "FAIL $what" . ($detail !== '' ? ": $detail" : '') . "\n";
}
function same($got, $want, $what)
{
    check($got === $want, $what, 'got ' . var_export($got, true) . ', want ' . var_export($want, true));
}

// --- fixtures -------------------------------------------------------------

const T_SECRET = 'whsec_aWdueTgtY29ubmVjdG9yLXRlc3Qta2V5LTAxMjM0NTY=';
const T_ENDPOINT = 'http://127.0.0.1:9/igny8-test-hook';
$integration = 'php-test-' . bin2hex(random_bytes(4));
$configured = true;
add_filter('pre_option_' . Igny8_Connector_Settings::OPTION, function () use (&$configured, &$integration) {
    return $configured ? array('endpoint' => T_ENDPOINT, 'integration_id' => $integration, 'secret' => T_SECRET) : array();
});
add_filter('pre_option_' . Igny8_Connector_Settings::STATUS_OPTION, function () {
    return array();
});
add_filter('pre_update_option_' . Igny8_Connector_Settings::STATUS_OPTION, function ($value, $old) {
    return $old; // keep the site's real status untouched
}, 10, 2);

// Captured HTTP requests; $answers is a queue of canned responses (an array
// with code and headers, or a WP_Error); empty queue = 202.
$sent = array();
$answers = array();
add_filter('pre_http_request', function ($pre, $args, $url) use (&$sent, &$answers) {
    $sent[] = array('url' => $url, 'args' => $args);
    $answer = $answers ? array_shift($answers) : array('code' => 202);
    if (is_wp_error($answer)) {
        return $answer;
    }
    return array(
        'headers' => isset($answer['headers']) ? $answer['headers'] : array(), // lower-case names
        'body' => isset($answer['body']) ? $answer['body'] : '{"status":"accepted"}',
        'response' => array('code' => $answer['code'], 'message' => ''),
        'cookies' => array(),
        'filename' => null,
    );
}, 10, 3);

// Captured WP-Cron events.
$scheduled = array();
add_filter('pre_schedule_event', function ($pre, $event) use (&$scheduled) {
    $scheduled[] = $event;
    return true;
}, 10, 2);

/** Ends the simulated request; returns the decoded bodies it sent. */
function end_request()
{
    global $sent;
    $sent = array();
    Igny8_Connector_Events::flush();
    return array_map(function ($r) {
        return json_decode($r['args']['body'], true);
    }, $sent);
}

$created_ids = array();
function new_post($args)
{
    global $created_ids;
    $id = wp_insert_post(wp_slash($args + array('post_title' => 'connector test', 'post_content' => 'x', 'post_author' => 1)), true);
    if (is_wp_error($id)) {
        fwrite(STDERR, 'wp_insert_post: ' . $id->get_error_message() . "\n");
        exit(1);
    }
    $created_ids[] = $id;
    return $id;
}

wp_set_current_user(1);

// --- signatures: the Standard Webhooks spec's vector and one from openssl ---

same(
    Igny8_Connector_Sender::signature('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}',
        Igny8_Connector_Settings::signing_key('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    'signature matches the Standard Webhooks test vector'
);
// printf '%s' 'msg_0123456789abcdef0123456789abcdef.1795860000.{"action":"post_updated","post_id":123}' |
//   openssl dgst -sha256 -mac HMAC -macopt hexkey:$(base64 -d <<<aWdue…NTY= | xxd -p -c 256) -binary | base64
same(
    Igny8_Connector_Sender::signature('msg_0123456789abcdef0123456789abcdef', 1795860000, '{"action":"post_updated","post_id":123}',
        Igny8_Connector_Settings::signing_key(T_SECRET)),
    'v1,9zmyF++pa4ESq7Bv2yCTFjpFG7mwHbmvoBTvV0eFzLE=',
    'signature matches openssl dgst -hmac'
);

// --- settings validation -----------------------------------------------------

$none = array('endpoint' => '', 'integration_id' => '', 'secret' => '');
$have = array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-a', 'secret' => T_SECRET);
$valid_cases = array(
    // name, input, current, wanted error param ('' = valid)
    array('http URL with a port', array('endpoint' => 'http://127.0.0.1:3001/api/v1/integration/webhook/wordpress/', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, ''),
    array('https URL', array('endpoint' => 'https://hooks.example.com/x', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, ''),
    array('empty endpoint', array('endpoint' => '', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('ftp endpoint', array('endpoint' => 'ftp://example.com/x', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('relative endpoint', array('endpoint' => '/hook', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('endpoint with credentials', array('endpoint' => 'https://u:p@example.com/x', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('endpoint with a space', array('endpoint' => 'https://example.com/a b', 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('endpoint too long', array('endpoint' => 'https://example.com/' . str_repeat('a', 2048), 'integration_id' => 'int-a', 'secret' => T_SECRET), $none, 'endpoint'),
    array('empty integration ID', array('endpoint' => T_ENDPOINT, 'integration_id' => '', 'secret' => T_SECRET), $none, 'integration_id'),
    array('integration ID with a slash', array('endpoint' => T_ENDPOINT, 'integration_id' => 'a/b', 'secret' => T_SECRET), $none, 'integration_id'),
    array('integration ID too long', array('endpoint' => T_ENDPOINT, 'integration_id' => str_repeat('a', 129), 'secret' => T_SECRET), $none, 'integration_id'),
    array('secret without whsec_', array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-a', 'secret' => substr(T_SECRET, 6)), $none, 'secret'),
    array('secret not base64', array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-a', 'secret' => 'whsec_!!!!'), $none, 'secret'),
    array('secret too short', array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-a', 'secret' => 'whsec_' . base64_encode('short')), $none, 'secret'),
    array('no secret and none stored', array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-a', 'secret' => ''), $none, 'secret'),
    array('no secret: keeps the stored one', array('endpoint' => 'https://new.example.com/x', 'integration_id' => 'int-a', 'secret' => ''), $have, ''),
    array('no secret for another integration', array('endpoint' => T_ENDPOINT, 'integration_id' => 'int-b', 'secret' => ''), $have, 'secret'),
);
foreach ($valid_cases as $case) {
    list($name, $input, $current, $want) = $case;
    $got = Igny8_Connector_Settings::validate($input, $current);
    if ($want === '') {
        check(!is_wp_error($got), "validate: $name", is_wp_error($got) ? $got->get_error_message() : '');
    } else {
        $data = is_wp_error($got) ? $got->get_error_data() : array();
        check(is_wp_error($got) && $data['param'] === $want && $data['status'] === 400, "validate: $name is refused for $want");
    }
}
$kept = Igny8_Connector_Settings::validate(array('endpoint' => 'https://new.example.com/x', 'integration_id' => 'int-a', 'secret' => ''), $have);
same($kept['secret'], T_SECRET, 'validate: the kept secret is the stored one');

// --- events: what is sent, how it is coalesced, what is skipped ----------------

$cat = wp_insert_term('connector-test-cat-' . $integration, 'category');
$post_id = new_post(array('post_status' => 'publish', 'post_category' => array($cat['term_id']), 'tags_input' => array('connector-test')));
$bodies = end_request();
same(count($bodies), 1, 'create: one delivery');
$b = $bodies[0];
same($b['action'], 'post_created', 'create: action');
same($b['post_id'], $post_id, 'create: post_id');
same(array($b['post_type'], $b['rest_base'], $b['status']), array('post', 'posts', 'publish'), 'create: type, REST base, status');
same($b['site_url'], untrailingslashit(home_url()), 'create: site_url is home_url()');
same($b['integration_id'], $integration, 'create: integration_id');
same($b['modified_gmt'], str_replace(' ', 'T', get_post($post_id)->post_modified_gmt), 'create: modified_gmt in REST format');
check($b['delivery']['coalesced'] >= 2, 'create: the transition and the insert are one delivery', 'coalesced ' . $b['delivery']['coalesced']);
same(array($b['delivery']['attempt'], $b['delivery']['plugin_version']), array(1, IGNY8_CONNECTOR_VERSION), 'create: attempt 1, plugin version');
$first = $sent ? $sent[0] : null;
$h = $first ? $first['args']['headers'] : array();
same($first ? $first['url'] : '', T_ENDPOINT, 'create: sent to the endpoint');
check(isset($h['webhook-id']) && preg_match('/^msg_[0-9a-f]{32}$/', $h['webhook-id']), 'create: webhook-id msg_…');
same(isset($h['webhook-timestamp']) ? (int) $h['webhook-timestamp'] : 0, $b['delivery']['sent_at'], 'create: webhook-timestamp = delivery.sent_at');
same(isset($h['webhook-signature']) ? $h['webhook-signature'] : '',
    Igny8_Connector_Sender::signature($h['webhook-id'], $h['webhook-timestamp'], $first['args']['body'], Igny8_Connector_Settings::signing_key(T_SECRET)),
    'create: signature over id.timestamp.body');
same($first ? $first['args']['timeout'] : 0.0, 5.0, 'create: 5 s timeout');
same($first ? $first['args']['redirection'] : -1, 0, 'create: redirects not followed');

wp_update_post(array('ID' => $post_id, 'post_title' => 'connector test 2'));
wp_update_post(array('ID' => $post_id, 'post_content' => 'y'));
$bodies = end_request();
same(count($bodies), 1, 'two updates in one request: one delivery');
same(array($bodies[0]['action'], $bodies[0]['delivery']['coalesced']), array('post_updated', 2), 'two updates: post_updated, coalesced 2');

wp_update_post(array('ID' => $post_id, 'post_status' => 'draft'));
$bodies = end_request();
same(array($bodies[0]['action'], $bodies[0]['status']), array('post_status_changed', 'draft'), 'publish → draft: post_status_changed');

wp_update_post(array('ID' => $post_id, 'post_status' => 'publish'));
wp_update_post(array('ID' => $post_id, 'post_status' => 'draft'));
$bodies = end_request();
same(array(count($bodies), $bodies[0]['action']), array(1, 'post_updated'), 'draft → publish → draft in one request: back where it was, post_updated');

wp_trash_post($post_id);
$bodies = end_request();
same(array($bodies[0]['action'], $bodies[0]['status']), array('post_trashed', 'trash'), 'trash: post_trashed');

wp_untrash_post($post_id);
$bodies = end_request();
same(array($bodies[0]['action'], $bodies[0]['status']), array('post_status_changed', 'draft'), 'untrash: post_status_changed to draft');

wp_delete_post($post_id, true);
$bodies = end_request();
same(count($bodies), 1, 'delete: one delivery (revisions are not reported)');
same(array($bodies[0]['action'], $bodies[0]['status'], $bodies[0]['post_id'], $bodies[0]['rest_base']), array('post_deleted', '', $post_id, 'posts'), 'delete: post_deleted, status ""');

$page_id = new_post(array('post_type' => 'page', 'post_status' => 'draft'));
wp_delete_post($page_id, true);
$bodies = end_request();
same(count($bodies), 1, 'created and deleted in one request: one delivery');
same(array($bodies[0]['action'], $bodies[0]['post_type'], $bodies[0]['rest_base']), array('post_deleted', 'page', 'pages'), 'created and deleted: post_deleted of a page');

// A scheduled post published by WordPress's cron (wp_publish_post, which
// changes only the status): post_status_changed, modified_gmt unchanged.
$future = new_post(array('post_status' => 'future', 'post_date_gmt' => gmdate('Y-m-d H:i:s', time() + 3600)));
$bodies = end_request();
same(array(count($bodies), $bodies[0]['action'] ?? '', $bodies[0]['status'] ?? ''), array(1, 'post_created', 'future'), 'scheduled post: post_created, status future');
$modified = $bodies[0]['modified_gmt'] ?? '';
wp_publish_post($future);
$bodies = end_request();
same(array(count($bodies), $bodies[0]['action'] ?? '', $bodies[0]['status'] ?? '', $bodies[0]['modified_gmt'] ?? ''),
    array(1, 'post_status_changed', 'publish', $modified), 'published by cron: post_status_changed to publish, same modified_gmt');

// Skipped: auto-drafts, revisions, non-REST types, internal REST types.
$auto = new_post(array('post_status' => 'auto-draft'));
same(count(end_request()), 0, 'auto-draft: nothing sent');
wp_update_post(array('ID' => $auto, 'post_status' => 'draft', 'post_title' => 'from auto-draft'));
$bodies = end_request();
same(array(count($bodies), $bodies[0]['action'] ?? ''), array(1, 'post_created'), "auto-draft's first save: post_created");
$revision = wp_save_post_revision($auto);
same(count(end_request()), 0, 'revision: nothing sent');
register_post_type('igny8_hidden', array('public' => false, 'show_in_rest' => false));
new_post(array('post_type' => 'igny8_hidden', 'post_status' => 'publish'));
same(count(end_request()), 0, 'type without show_in_rest: nothing sent');
register_post_type('igny8_book', array('public' => true, 'show_in_rest' => true, 'rest_base' => 'books'));
$book = new_post(array('post_type' => 'igny8_book', 'post_status' => 'publish'));
$bodies = end_request();
same(array(count($bodies), $bodies[0]['post_type'] ?? '', $bodies[0]['rest_base'] ?? ''), array(1, 'igny8_book', 'books'), 'custom REST type: sent with its rest_base');
new_post(array('post_type' => 'wp_block', 'post_status' => 'publish'));
same(count(end_request()), 0, 'reusable block (wp_block): nothing sent');

// Several posts in one request: one delivery each.
$a = new_post(array('post_status' => 'publish'));
$b2 = new_post(array('post_status' => 'draft'));
wp_update_post(array('ID' => $a, 'post_title' => 'again'));
$bodies = end_request();
same(array_map(function ($x) {
    return array($x['post_id'], $x['action']);
}, $bodies), array(array($a, 'post_created'), array($b2, 'post_created')), 'two posts in one request: one delivery each, in order');

// Not configured: nothing queued.
$configured = false;
wp_update_post(array('ID' => $a, 'post_title' => 'unconfigured'));
same(count(Igny8_Connector_Events::queued()), 0, 'not configured: nothing queued');
$configured = true;

// --- sending: outcomes, retries, the retry schedule --------------------------

function delivery_for($post_id, $attempt = 1)
{
    global $integration;
    $d = Igny8_Connector_Sender::new_delivery(array(
        'action' => 'post_updated', 'post_id' => $post_id, 'post_type' => 'post', 'rest_base' => 'posts',
        'site_url' => untrailingslashit(home_url()), 'integration_id' => $integration,
        'status' => 'publish', 'modified_gmt' => '2026-11-28T10:00:00',
    ), 1);
    $d['attempt'] = $attempt;
    return $d;
}
$outcomes = array(
    // name, answer, attempt, result, retry scheduled after (seconds, -1 = none)
    array('202', array('code' => 202), 1, 'delivered', -1),
    array('200 duplicate', array('code' => 200, 'body' => '{"duplicate":true}'), 1, 'delivered', -1),
    array('503', array('code' => 503), 1, 'retrying', 5),
    array('500 on attempt 3', array('code' => 500), 3, 'retrying', 1800),
    array('429 with Retry-After 600', array('code' => 429, 'headers' => array('retry-after' => '600')), 1, 'retrying', 600),
    array('429 with a huge Retry-After', array('code' => 429, 'headers' => array('retry-after' => '999999')), 1, 'retrying', Igny8_Connector_Sender::MAX_RETRY_AFTER),
    array('network error', new WP_Error('http_request_failed', 'cURL error 7: Failed to connect'), 2, 'network_error', 300),
    array('400', array('code' => 400), 1, 'rejected', -1),
    array('401', array('code' => 401, 'body' => '{"code":"invalid_signature","detail":"The signature does not match."}'), 1, 'rejected', -1),
    array('403', array('code' => 403), 1, 'rejected', -1),
    array('413', array('code' => 413), 1, 'rejected', -1),
    array('301', array('code' => 301, 'headers' => array('location' => 'https://elsewhere.example/')), 1, 'rejected', -1),
    array('503 on the last attempt', array('code' => 503), 6, 'gave_up', -1),
);
foreach ($outcomes as $case) {
    list($name, $answer, $attempt, $want, $after) = $case;
    $answers = array($answer);
    $scheduled = array();
    $sent = array();
    $d = delivery_for(9999, $attempt);
    $before = time();
    $got = Igny8_Connector_Sender::attempt($d);
    same($got, $want, "answer $name: $want");
    if ($after < 0) {
        same(count($scheduled), 0, "answer $name: no retry");
        continue;
    }
    $event = $scheduled ? $scheduled[0] : null;
    $retry = $event ? $event->args[0] : array();
    check($event && $event->hook === Igny8_Connector_Sender::CRON_HOOK && count($scheduled) === 1, "answer $name: one retry scheduled");
    same(array($retry['webhook_id'] ?? '', $retry['attempt'] ?? 0), array($d['webhook_id'], $attempt + 1), "answer $name: the retry keeps the webhook-id, next attempt");
    $delay = $event ? $event->timestamp - $before : -1;
    // Waits of a minute or more get up to 10% jitter; allow 1 s of clock tick.
    check($delay >= $after && $delay <= $after + (int) ($after / 10) + 1, "answer $name: retry after about {$after}s", "after {$delay}s");
}

/** Starts a new simulated request: not paused by an earlier failure. */
function unpause()
{
    $paused = new ReflectionProperty('Igny8_Connector_Sender', 'paused_until');
    $paused->setAccessible(true);
    $paused->setValue(null, 0);
}

// A retry is signed afresh: new timestamp, same id, attempt in the body.
unpause();
$answers = array();
$sent = array();
$d = delivery_for(9999, 2);
Igny8_Connector_Sender::run_scheduled($d);
$body = json_decode($sent[0]['args']['body'], true);
same(array($sent[0]['args']['headers']['webhook-id'], $body['delivery']['attempt']), array($d['webhook_id'], 2), 'scheduled retry: same webhook-id, attempt 2 in the body');

// A retry for a connection that changed since is dropped without a request.
$sent = array();
$integration_before = $integration;
$d = delivery_for(9999, 2);
$integration = 'php-test-other';
same(Igny8_Connector_Sender::attempt($d), 'dropped', 'retry after reconnecting to another integration: dropped');
same(count($sent), 0, 'dropped retry: nothing sent');
$integration = $integration_before;

// Garbage cron args are ignored.
$sent = array();
Igny8_Connector_Sender::run_scheduled(array('webhook_id' => 'x', 'attempt' => 1, 'payload' => array()));
same(count($sent), 0, 'malformed scheduled delivery: ignored');

// An unreachable endpoint costs one timeout per request, not one per post.
unpause();
$answers = array(new WP_Error('http_request_failed', 'cURL error 28: timed out'));
$sent = array();
$scheduled = array();
Igny8_Connector_Sender::send_batch(array(delivery_for(1), delivery_for(2), delivery_for(3)));
same(count($sent), 1, 'unreachable endpoint: one request per batch');
same(array_map(function ($e) {
    return $e->args[0]['attempt'];
}, $scheduled), array(2, 1, 1), 'unreachable endpoint: the failed one retried, the rest deferred as first attempts');

// A 429 pauses the rest of the request for its Retry-After: no more
// requests, the others wait in WP-Cron with their attempt count unchanged.
unpause();
$answers = array(array('code' => 202), array('code' => 429, 'headers' => array('retry-after' => '30')));
$sent = array();
$scheduled = array();
$before = time();
Igny8_Connector_Sender::send_batch(array(delivery_for(1), delivery_for(2), delivery_for(3), delivery_for(4)));
same(count($sent), 2, '429 in a batch: the rest are not sent');
same(array_map(function ($e) {
    return $e->args[0]['attempt'];
}, $scheduled), array(2, 1, 1), '429 in a batch: the refused one retried, the rest deferred as first attempts');
check($scheduled && min(array_map(function ($e) {
    return $e->timestamp;
}, $scheduled)) >= $before + 30, '429 in a batch: nothing before Retry-After');
$sent = array();
$scheduled = array();
Igny8_Connector_Sender::run_scheduled(delivery_for(5, 3));
same(array(count($sent), $scheduled ? $scheduled[0]->args[0]['attempt'] : 0), array(0, 3), 'a due retry while paused: deferred, same attempt');
unpause();

// The retry queue is bounded.
add_filter('pre_option_cron', function () {
    $events = array();
    for ($i = 0; $i < Igny8_Connector_Sender::MAX_PENDING; $i++) {
        $events['k' . $i] = array('schedule' => false, 'args' => array());
    }
    return array(time() + 3600 => array(Igny8_Connector_Sender::CRON_HOOK => $events), 'version' => 2);
});
same(Igny8_Connector_Sender::pending_count(), Igny8_Connector_Sender::MAX_PENDING, 'pending_count counts scheduled deliveries');
$answers = array(array('code' => 503));
$scheduled = array();
Igny8_Connector_Sender::attempt(delivery_for(9999));
same(count($scheduled), 0, 'full retry queue: no more retries scheduled');
remove_all_filters('pre_option_cron');

// Retry-After parsing.
same(Igny8_Connector_Sender::retry_after('120', 1000), 120, 'Retry-After: seconds');
same(Igny8_Connector_Sender::retry_after(gmdate('D, d M Y H:i:s', 1795860060) . ' GMT', 1795860000), 60, 'Retry-After: HTTP date');
same(Igny8_Connector_Sender::retry_after('soon', 1000), 0, 'Retry-After: garbage is ignored');

// --- cleanup: the fixtures go, and their deletions are not sent anywhere -------

$configured = false;
foreach (array_reverse($created_ids) as $id) {
    if (get_post($id)) {
        wp_delete_post($id, true);
    }
}
wp_delete_term($cat['term_id'], 'category');
$tag = get_term_by('name', 'connector-test', 'post_tag');
if ($tag) {
    wp_delete_term($tag->term_id, 'post_tag');
}
same(count(Igny8_Connector_Events::queued()), 0, 'cleanup: nothing queued');

// --- uninstall: WordPress's own uninstall_plugin() runs uninstall.php --------
// The site's real options and cron events are saved first and put back.

remove_all_filters('pre_option_' . Igny8_Connector_Settings::OPTION);
remove_all_filters('pre_option_' . Igny8_Connector_Settings::STATUS_OPTION);
remove_all_filters('pre_update_option_' . Igny8_Connector_Settings::STATUS_OPTION);
remove_all_filters('pre_schedule_event');
$saved = array();
foreach (array(Igny8_Connector_Settings::OPTION, Igny8_Connector_Settings::STATUS_OPTION, 'cron') as $option) {
    $saved[$option] = get_option($option, null);
}
update_option(Igny8_Connector_Settings::OPTION, array('endpoint' => T_ENDPOINT, 'integration_id' => $integration, 'secret' => T_SECRET));
update_option(Igny8_Connector_Settings::STATUS_OPTION, array('last_success_at' => time()));
wp_schedule_single_event(time() + 3600, Igny8_Connector_Sender::CRON_HOOK, array(delivery_for(1)));
$before_uninstall = Igny8_Connector_Sender::pending_count();
require_once ABSPATH . 'wp-admin/includes/plugin.php';
uninstall_plugin('igny8-connector/igny8-connector.php');
same(array(get_option(Igny8_Connector_Settings::OPTION, 'gone'), get_option(Igny8_Connector_Settings::STATUS_OPTION, 'gone')), array('gone', 'gone'), 'uninstall: the options are removed');
same(array($before_uninstall >= 1, Igny8_Connector_Sender::pending_count()), array(true, 0), 'uninstall: pending retries are removed');
foreach ($saved as $option => $value) {
    if ($value === null) {
        delete_option($option);
    } else {
        update_option($option, $value);
    }
}

echo $failures ? "connector-test.php: $failures FAILED\n" : "connector-test.php: all passed\n";
exit($failures ? 1 : 0);
