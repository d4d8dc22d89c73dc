<?php
/*
 * Router for `php -S 127.0.0.1:PORT -t /usr/share/wordpress router.php`
 * (started by infra/wordpress/start.sh with IGNY8_WP_STATE in the env).
 * It replaces what Apache + .htaccess do for WordPress:
 *   - select our config in Debian's wp-config.php (WORDPRESS_CONFIG);
 *   - serve /wp-content/* from the private content dir in the state dir;
 *   - let existing core files (wp-admin/, wp-login.php, assets) through;
 *   - send every other path to index.php: pretty permalinks and /wp-json/.
 * $_SERVER changes made here survive `return false` (same request).
 */
$_SERVER['WORDPRESS_CONFIG'] = 'igny8-e2e';

$igny8_docroot = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$igny8_path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?: '/');

// Never map "../" outside the two trees we serve.
if (preg_match('#(^|/)\.\.(/|$)#', $igny8_path)) {
    http_response_code(400);
    return true;
}

// Prepare running a PHP file as if the web server had picked it (WordPress reads
// PHP_SELF / SCRIPT_NAME to work out what page it is on).
function igny8_run_php(string $file, string $urlPath): void
{
    $_SERVER['SCRIPT_FILENAME'] = $file;
    $_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = $urlPath;
    chdir(dirname($file));
}

if (str_starts_with($igny8_path, '/wp-content/')) {
    $igny8_file = getenv('IGNY8_WP_STATE') . $igny8_path;
    if (is_file($igny8_file) && str_ends_with($igny8_file, '.php')) {
        igny8_run_php($igny8_file, $igny8_path);
        require $igny8_file; // top-level scope: WordPress relies on globals
        return true;
    }
    if (is_file($igny8_file)) {
        // php -S only serves files under its docroot: serve these ourselves.
        $igny8_types = [
            'css' => 'text/css', 'js' => 'text/javascript', 'json' => 'application/json',
            'svg' => 'image/svg+xml', 'woff' => 'font/woff', 'woff2' => 'font/woff2',
            'ttf' => 'font/ttf', 'map' => 'application/json', 'txt' => 'text/plain',
            'html' => 'text/html',
        ];
        $igny8_ext = strtolower(pathinfo($igny8_file, PATHINFO_EXTENSION));
        header('Content-Type: ' . ($igny8_types[$igny8_ext] ?? (mime_content_type($igny8_file) ?: 'application/octet-stream')));
        header('Content-Length: ' . filesize($igny8_file));
        readfile($igny8_file);
        return true;
    }
    // Missing upload/asset: fall through so WordPress answers its 404.
} elseif ($igny8_path !== '/' && (is_file($igny8_docroot . $igny8_path) || is_file(rtrim($igny8_docroot . $igny8_path, '/') . '/index.php'))) {
    return false; // core file or dir with index.php: php -S serves/runs it
}

igny8_run_php($igny8_docroot . '/index.php', '/index.php');
require $igny8_docroot . '/index.php';
return true;
