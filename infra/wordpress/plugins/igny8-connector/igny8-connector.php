<?php
/**
 * Plugin Name:       IGNY8 Connector
 * Plugin URI:        https://github.com/igny8/integrations
 * Description:       Tells IGNY8 within seconds when a post is created, updated, trashed or deleted: signed webhook deliveries (Standard Webhooks), configured automatically when the site is connected in IGNY8.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            IGNY8
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       igny8-connector
 *
 * This program is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the Free
 * Software Foundation; either version 2 of the License, or (at your option)
 * any later version. This program is distributed in the hope that it will be
 * useful, but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General
 * Public License for more details.
 */

if (!defined('ABSPATH')) {
    exit;
}

define('IGNY8_CONNECTOR_VERSION', '1.0.0');
define('IGNY8_CONNECTOR_FILE', __FILE__);

require_once __DIR__ . '/includes/class-igny8-connector-settings.php';
require_once __DIR__ . '/includes/class-igny8-connector-sender.php';
require_once __DIR__ . '/includes/class-igny8-connector-events.php';
require_once __DIR__ . '/includes/class-igny8-connector-rest.php';
require_once __DIR__ . '/includes/class-igny8-connector-admin.php';

Igny8_Connector_Events::register();
Igny8_Connector_Sender::register();
Igny8_Connector_Rest::register();
Igny8_Connector_Admin::register();

// Pending retries would fire into a plugin that is no longer loaded.
register_deactivation_hook(__FILE__, array('Igny8_Connector_Sender', 'unschedule_all'));
