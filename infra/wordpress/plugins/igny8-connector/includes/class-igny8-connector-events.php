<?php
/**
 * Watches post changes and queues one delivery per post per PHP request.
 *
 * WHY these hooks: wp_after_insert_post runs after the REST API (and the
 * editor) has saved terms and meta, so IGNY8 fetching the post sees it
 * whole; save_post runs before REST assigns terms. transition_post_status
 * tells the status before the request; trashed_post and before_delete_post /
 * deleted_post cover trash and permanent deletion (the post row is gone by
 * then, so before_delete_post keeps what the payload needs).
 *
 * A single save fires several of these hooks, and a request may touch one
 * post several times (REST batch, bulk edit): the queue keeps one entry per
 * post and the shutdown hook sends one delivery for each, naming the most
 * significant change (deleted > trashed > created > status changed >
 * updated) and how many hook calls it stands for (delivery.coalesced).
 *
 * @package Igny8_Connector
 */

if (!defined('ABSPATH')) {
    exit;
}

class Igny8_Connector_Events
{
    /**
     * REST-visible types that are not content IGNY8 syncs: media, menus,
     * reusable blocks and the block theme's templates and styles. Filter:
     * igny8_connector_skipped_post_types.
     */
    const SKIPPED_POST_TYPES = array(
        'attachment', 'nav_menu_item', 'wp_block', 'wp_template', 'wp_template_part',
        'wp_navigation', 'wp_global_styles', 'wp_font_family', 'wp_font_face',
    );

    /** @var array<int, array> post ID => pending change, in first-seen order. */
    private static $queue = array();

    /** @var array<int, array> post ID => what before_delete_post saw. */
    private static $deleting = array();

    public static function register()
    {
        add_action('transition_post_status', array(__CLASS__, 'on_transition_post_status'), 10, 3);
        add_action('wp_after_insert_post', array(__CLASS__, 'on_after_insert_post'), 10, 4);
        add_action('trashed_post', array(__CLASS__, 'on_trashed_post'), 10, 1);
        add_action('before_delete_post', array(__CLASS__, 'on_before_delete_post'), 10, 2);
        add_action('deleted_post', array(__CLASS__, 'on_deleted_post'), 10, 2);
        // Late: after WordPress has flushed the response (priority 1).
        add_action('shutdown', array(__CLASS__, 'flush'), 100);
    }

    public static function on_transition_post_status($new_status, $old_status, $post)
    {
        if ($new_status === $old_status) {
            // A plain save: wp_after_insert_post reports it. Remember the status
            // the post had before this request, though.
            self::note($post, false, array('old_status' => $old_status));
            return;
        }
        self::note($post, true, array(
            'old_status' => $old_status,
            'created' => in_array($old_status, array('new', 'auto-draft'), true),
        ));
    }

    public static function on_after_insert_post($post_id, $post, $update, $post_before)
    {
        $facts = array('created' => !$update);
        if ($post_before instanceof WP_Post) {
            $facts['old_status'] = $post_before->post_status;
            if ($post_before->post_status === 'auto-draft') {
                $facts['created'] = true; // the editor's first save of a new post
            }
        }
        self::note($post, true, $facts);
    }

    public static function on_trashed_post($post_id)
    {
        $post = get_post($post_id);
        if ($post instanceof WP_Post) {
            self::note($post, true, array());
        }
    }

    public static function on_before_delete_post($post_id, $post = null)
    {
        if (!$post instanceof WP_Post) {
            $post = get_post($post_id);
        }
        if ($post instanceof WP_Post && self::trackable($post)) {
            self::$deleting[(int) $post->ID] = self::describe($post);
        }
    }

    public static function on_deleted_post($post_id, $post = null)
    {
        $post_id = (int) $post_id;
        if (!isset(self::$deleting[$post_id])) {
            return; // not a post we report (or a revision, an auto-draft…)
        }
        $described = self::$deleting[$post_id];
        unset(self::$deleting[$post_id]);
        if (!Igny8_Connector_Settings::is_configured()) {
            return;
        }
        $entry = isset(self::$queue[$post_id]) ? self::$queue[$post_id] : self::new_entry($described);
        $entry['deleted'] = true;
        $entry['status'] = '';
        $entry['modified_gmt'] = gmdate('Y-m-d\TH:i:s'); // the deletion is the latest change
        $entry['events']++;
        self::$queue[$post_id] = $entry;
    }

    /**
     * Records one hook call about a post.
     *
     * @param WP_Post $post
     * @param bool    $counts Whether this call is an event of its own (coalesced count).
     * @param array   $facts  old_status (first one wins), created (sticky).
     */
    private static function note($post, $counts, $facts)
    {
        if (!$post instanceof WP_Post || !Igny8_Connector_Settings::is_configured() || !self::trackable($post)) {
            return;
        }
        $id = (int) $post->ID;
        $entry = isset(self::$queue[$id]) ? self::$queue[$id] : self::new_entry(self::describe($post));
        if (!empty($entry['deleted'])) {
            return; // a later hook of the deletion itself
        }
        $described = self::describe($post);
        $entry['status'] = $described['status'];
        $entry['modified_gmt'] = $described['modified_gmt'];
        if ($entry['old_status'] === null && isset($facts['old_status'])) {
            $entry['old_status'] = $facts['old_status'];
        }
        if (!empty($facts['created'])) {
            $entry['created'] = true;
        }
        if ($counts) {
            $entry['events']++;
        }
        self::$queue[$id] = $entry;
    }

    private static function new_entry($described)
    {
        return $described + array('old_status' => null, 'created' => false, 'deleted' => false, 'events' => 0);
    }

    /** What the payload needs from a post, read while it still exists. */
    private static function describe($post)
    {
        $type = get_post_type_object($post->post_type);
        $rest_base = $type && !empty($type->rest_base) && is_string($type->rest_base) ? $type->rest_base : $post->post_type;
        $modified = $post->post_modified_gmt;
        $modified = ($modified && $modified !== '0000-00-00 00:00:00')
            ? str_replace(' ', 'T', $modified)
            : gmdate('Y-m-d\TH:i:s');
        return array(
            'post_id' => (int) $post->ID,
            'post_type' => $post->post_type,
            'rest_base' => $rest_base,
            'status' => $post->post_status,
            'modified_gmt' => $modified,
        );
    }

    /**
     * Whether a change to this post is reported: content types exposed over
     * REST, and not revisions, autosaves or auto-drafts.
     */
    public static function trackable($post)
    {
        if (!$post instanceof WP_Post || (int) $post->ID <= 0) {
            return false;
        }
        if ($post->post_type === 'revision' || wp_is_post_revision($post) || wp_is_post_autosave($post)) {
            return false;
        }
        if (defined('DOING_AUTOSAVE') && DOING_AUTOSAVE) {
            return false;
        }
        if (in_array($post->post_status, array('auto-draft', 'inherit'), true)) {
            return false;
        }
        $skipped = (array) apply_filters('igny8_connector_skipped_post_types', self::SKIPPED_POST_TYPES);
        if (in_array($post->post_type, $skipped, true)) {
            return false;
        }
        $type = get_post_type_object($post->post_type);
        $track = $type !== null && !empty($type->show_in_rest);
        /**
         * Filters whether a change to a post is sent to IGNY8.
         *
         * @param bool    $track
         * @param WP_Post $post
         */
        return (bool) apply_filters('igny8_connector_track_post', $track, $post);
    }

    /** The action a queue entry reports. */
    public static function action($entry)
    {
        if (!empty($entry['deleted'])) {
            return 'post_deleted';
        }
        if ($entry['status'] === 'trash' && $entry['old_status'] !== 'trash') {
            return 'post_trashed';
        }
        if (!empty($entry['created'])) {
            return 'post_created';
        }
        if ($entry['old_status'] !== null && $entry['old_status'] !== $entry['status']) {
            return 'post_status_changed';
        }
        return 'post_updated';
    }

    /**
     * Sends the queued deliveries (shutdown). Also callable directly, e.g. by
     * long-running CLI imports that want to send before they exit.
     */
    public static function flush()
    {
        if (!self::$queue) {
            return;
        }
        $queue = self::$queue;
        self::$queue = array();
        $settings = Igny8_Connector_Settings::get();
        $deliveries = array();
        foreach ($queue as $entry) {
            if ($entry['events'] === 0) {
                continue; // only a same-status transition was seen: nothing saved
            }
            $payload = array(
                'action' => self::action($entry),
                'post_id' => $entry['post_id'],
                'post_type' => $entry['post_type'],
                'rest_base' => $entry['rest_base'],
                'site_url' => untrailingslashit(home_url()),
                'integration_id' => $settings['integration_id'],
                'status' => $entry['status'],
                'modified_gmt' => $entry['modified_gmt'],
            );
            $deliveries[] = Igny8_Connector_Sender::new_delivery($payload, $entry['events']);
        }
        Igny8_Connector_Sender::send_batch($deliveries);
    }

    /** The queued entries (tests). */
    public static function queued()
    {
        return self::$queue;
    }
}
