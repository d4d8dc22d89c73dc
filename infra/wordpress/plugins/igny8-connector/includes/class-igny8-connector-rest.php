<?php
/**
 * REST surface: the igny8/v1/config route IGNY8 calls when a site is
 * connected (so the plugin configures itself), the _igny8_content_id post
 * meta marker IGNY8 writes when it pushes a post, and the igny8_content_id
 * collection parameter that finds such a post again (so a retried push never
 * creates a second post).
 *
 * @package Igny8_Connector
 */

if (!defined('ABSPATH')) {
    exit;
}

class Igny8_Connector_Rest
{
    const NAMESPACE_V1 = 'igny8/v1';
    const META_KEY = '_igny8_content_id';
    const QUERY_PARAM = 'igny8_content_id';
    const MAX_CONTENT_ID_LENGTH = 191;

    public static function register()
    {
        add_action('rest_api_init', array(__CLASS__, 'register_routes'));
        add_action('rest_api_init', array(__CLASS__, 'register_query_params'));
        // Late, so custom post types registered on init are there.
        add_action('init', array(__CLASS__, 'register_meta'), 100);
    }

    public static function register_routes()
    {
        register_rest_route(self::NAMESPACE_V1, '/config', array(
            array(
                'methods' => WP_REST_Server::READABLE,
                'callback' => array(__CLASS__, 'get_config'),
                'permission_callback' => array(__CLASS__, 'can_manage'),
            ),
            array(
                'methods' => WP_REST_Server::CREATABLE,
                'callback' => array(__CLASS__, 'update_config'),
                'permission_callback' => array(__CLASS__, 'can_manage'),
                'args' => array(
                    'endpoint' => array(
                        'description' => 'The full URL deliveries are POSTed to.',
                        'type' => 'string',
                        'required' => true,
                    ),
                    'integration_id' => array(
                        'description' => 'The IGNY8 integration this site is connected as.',
                        'type' => 'string',
                        'required' => true,
                    ),
                    'secret' => array(
                        'description' => 'The signing secret, whsec_…; may be omitted to keep the current one for the same integration.',
                        'type' => 'string',
                    ),
                ),
            ),
            array(
                'methods' => WP_REST_Server::DELETABLE,
                'callback' => array(__CLASS__, 'delete_config'),
                'permission_callback' => array(__CLASS__, 'can_manage'),
            ),
            'schema' => array(__CLASS__, 'config_schema'),
        ));
    }

    public static function can_manage()
    {
        if (current_user_can('manage_options')) {
            return true;
        }
        return new WP_Error(
            'rest_forbidden',
            'Only an administrator (manage_options) can read or change the IGNY8 connection.',
            array('status' => rest_authorization_required_code())
        );
    }

    public static function get_config()
    {
        return rest_ensure_response(self::config_response());
    }

    public static function update_config(WP_REST_Request $request)
    {
        $settings = Igny8_Connector_Settings::validate(array(
            'endpoint' => $request->get_param('endpoint'),
            'integration_id' => $request->get_param('integration_id'),
            'secret' => $request->get_param('secret'),
        ), Igny8_Connector_Settings::get());
        if (is_wp_error($settings)) {
            return $settings;
        }
        Igny8_Connector_Settings::save($settings);
        return rest_ensure_response(self::config_response());
    }

    /** Disconnects: forgets the settings and drops pending retries. */
    public static function delete_config()
    {
        Igny8_Connector_Settings::clear();
        Igny8_Connector_Sender::unschedule_all();
        return rest_ensure_response(self::config_response());
    }

    /** The config as the routes show it: never the secret itself. */
    public static function config_response()
    {
        $settings = Igny8_Connector_Settings::get();
        $status = Igny8_Connector_Settings::status();
        return array(
            'endpoint' => $settings['endpoint'],
            'integration_id' => $settings['integration_id'],
            'secret_set' => $settings['secret'] !== '',
            'plugin_version' => IGNY8_CONNECTOR_VERSION,
            'delivery_status' => array(
                'last_attempt' => $status['last_attempt'],
                'last_success_at' => $status['last_success_at'],
                'last_failure' => $status['last_failure'],
                'pending' => Igny8_Connector_Sender::pending_count(),
            ),
        );
    }

    public static function config_schema()
    {
        $nullable_object = array('type' => array('object', 'null'), 'readonly' => true);
        return array(
            '$schema' => 'http://json-schema.org/draft-04/schema#',
            'title' => 'igny8-connector-config',
            'type' => 'object',
            'properties' => array(
                'endpoint' => array('type' => 'string', 'format' => 'uri'),
                'integration_id' => array('type' => 'string'),
                'secret_set' => array('type' => 'boolean', 'readonly' => true),
                'plugin_version' => array('type' => 'string', 'readonly' => true),
                'delivery_status' => array(
                    'type' => 'object',
                    'readonly' => true,
                    'properties' => array(
                        'last_attempt' => $nullable_object,
                        'last_success_at' => array('type' => 'integer'),
                        'last_failure' => $nullable_object,
                        'pending' => array('type' => 'integer'),
                    ),
                ),
            ),
        );
    }

    /** The post types the marker and the lookup parameter apply to. */
    private static function rest_post_types()
    {
        return get_post_types(array('show_in_rest' => true), 'names');
    }

    /**
     * Registers the marker for every REST-visible type. It shows in the
     * "edit" context only (authorised users), and only types that support
     * custom-fields expose post meta over REST at all (posts and pages do).
     */
    public static function register_meta()
    {
        foreach (self::rest_post_types() as $type) {
            register_post_meta($type, self::META_KEY, array(
                'type' => 'string',
                'description' => 'The IGNY8 content item this post was published from.',
                'single' => true,
                'sanitize_callback' => array(__CLASS__, 'sanitize_content_id'),
                'auth_callback' => array(__CLASS__, 'can_edit_marker'),
                'show_in_rest' => array(
                    'schema' => array(
                        'type' => 'string',
                        'maxLength' => self::MAX_CONTENT_ID_LENGTH,
                        'context' => array('edit'),
                    ),
                ),
            ));
        }
    }

    public static function sanitize_content_id($value)
    {
        return substr(sanitize_text_field((string) $value), 0, self::MAX_CONTENT_ID_LENGTH);
    }

    /** auth_callback: who may write the marker (REST shows it in the edit context only). */
    public static function can_edit_marker($allowed, $meta_key, $object_id, $user_id)
    {
        return user_can($user_id, 'edit_posts');
    }

    /** Adds ?igny8_content_id= to every REST post collection. */
    public static function register_query_params()
    {
        foreach (self::rest_post_types() as $type) {
            add_filter('rest_' . $type . '_collection_params', array(__CLASS__, 'add_collection_param'));
            add_filter('rest_' . $type . '_query', array(__CLASS__, 'filter_query'), 10, 2);
        }
    }

    public static function add_collection_param($params)
    {
        $params[self::QUERY_PARAM] = array(
            'description' => 'Limit the result to posts IGNY8 published from this content ID (needs edit_posts).',
            'type' => 'string',
            'minLength' => 1,
            'maxLength' => self::MAX_CONTENT_ID_LENGTH,
        );
        return $params;
    }

    public static function filter_query($args, $request)
    {
        $content_id = $request->get_param(self::QUERY_PARAM);
        if (!is_string($content_id) || $content_id === '') {
            return $args;
        }
        if (!current_user_can('edit_posts')) {
            // The marker is not public: anonymous lookups match nothing.
            $args['post__in'] = array(0);
            return $args;
        }
        $clause = array('key' => self::META_KEY, 'value' => $content_id, 'compare' => '=');
        if (!empty($args['meta_query']) && is_array($args['meta_query'])) {
            $args['meta_query'] = array('relation' => 'AND', $args['meta_query'], $clause);
        } else {
            $args['meta_query'] = array($clause);
        }
        return $args;
    }
}
