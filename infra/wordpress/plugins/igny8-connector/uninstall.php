<?php
/**
 * Runs when the plugin is deleted in wp-admin: forgets the connection
 * settings, the delivery status and the pending retries. The
 * _igny8_content_id markers on posts stay: they are part of the posts IGNY8
 * published, and keep a later push from duplicating a post if the plugin is
 * installed again.
 *
 * @package Igny8_Connector
 */

if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}

delete_option('igny8_connector_settings');
delete_option('igny8_connector_status');
wp_unschedule_hook('igny8_connector_deliver');
